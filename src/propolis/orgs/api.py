"""Organisation routes (spec §18): parse, call the service, render."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from propolis.core.errors import missing
from propolis.core.web import (
    JSON,
    Ctx,
    UnitOfWorkRoute,
    context,
    created,
    download,
    no_content,
    ok,
    parsed,
)
from propolis.orgs import avatar, service
from propolis.orgs.render import render_links, render_org
from propolis.orgs.schemas import (
    OrganisationCreate,
    OrganisationLink,
    OrganisationLinkOut,
    OrganisationLinks,
    OrganisationOut,
    OrganisationUpdate,
    SharingProfileOut,
)

router = APIRouter(prefix="/api/v1", route_class=UnitOfWorkRoute)

# Sharing profiles are fixed presets in Propolis (TheHive lets admins define more).
SHARING_PROFILES = [
    {
        "name": "all",
        "description": "Share everything",
        "autoShare": True,
        "editable": False,
        "permissionProfile": "analyst",
        "taskRule": "autoShare",
        "observableRule": "autoShare",
    },
    {
        "name": "none",
        "description": "Share nothing automatically",
        "autoShare": False,
        "editable": False,
        "permissionProfile": "read-only",
        "taskRule": "manual",
        "observableRule": "manual",
    },
]


@router.post("/organisation", response_model=OrganisationOut, status_code=201)
def create_organisation(
    data: dict = Depends(parsed(OrganisationCreate, required=True)), ctx: Ctx = Depends(context)
) -> JSON:
    org = service.create(ctx.session, ctx.actor, data)
    return created(render_org(ctx.session, org))


@router.get("/organisation/{ref}", response_model=OrganisationOut, status_code=200)
def get_organisation(ref: str, ctx: Ctx = Depends(context)) -> JSON:
    return ok(render_org(ctx.session, service.get_visible(ctx.session, ctx.actor, ref)))


@router.patch("/organisation/{ref}", status_code=204)
def update_organisation(
    ref: str,
    data: dict = Depends(parsed(OrganisationUpdate, required=True)),
    ctx: Ctx = Depends(context),
) -> Response:
    service.update(ctx.session, ctx.actor, service.get_visible(ctx.session, ctx.actor, ref), data)
    return no_content()


@router.get(
    "/organisation/{ref}/avatar/{file_hash}",
    response_class=Response,
    responses=download("The avatar image", *avatar.MEDIA_TYPES),
)
def get_avatar(ref: str, file_hash: str, ctx: Ctx = Depends(context)) -> Response:
    org = service.get_visible(ctx.session, ctx.actor, ref)
    if not org.avatar or avatar.fingerprint(org.avatar) != file_hash:
        raise missing("Avatar", file_hash)
    return avatar.response(org.avatar)


@router.put(
    "/organisation/{ref}/link/{other}",
    status_code=201,
    response_class=Response,
    responses={201: {"description": "Linked (no body)"}},
)
def link_organisation(
    ref: str,
    other: str,
    data: dict = Depends(parsed(OrganisationLink)),
    ctx: Ctx = Depends(context),
) -> Response:
    service.link(
        ctx.session, ctx.actor, ref, other, data.get("linkType"), data.get("otherLinkType")
    )
    return Response(status_code=201)


@router.delete("/organisation/{ref}/link/{other}", status_code=204)
def unlink_organisation(ref: str, other: str, ctx: Ctx = Depends(context)) -> Response:
    service.unlink(ctx.session, ctx.actor, ref, other)
    return no_content()


@router.get("/organisation/{ref}/links", response_model=list[OrganisationLinkOut])
def list_links(ref: str, ctx: Ctx = Depends(context)) -> JSON:
    return ok(render_links(ctx.session, service.get_visible(ctx.session, ctx.actor, ref)))


@router.put(
    "/organisation/{ref}/links",
    status_code=201,
    response_class=Response,
    responses={201: {"description": "Links replaced (no body)"}},
)
def bulk_link(
    ref: str,
    data: dict = Depends(parsed(OrganisationLinks, required=True)),
    ctx: Ctx = Depends(context),
) -> Response:
    service.set_links(ctx.session, ctx.actor, ref, data.get("links"))
    return Response(status_code=201)


@router.get("/sharingProfile", response_model=list[SharingProfileOut])
def sharing_profiles(ctx: Ctx = Depends(context)) -> JSON:
    return ok(SHARING_PROFILES)
