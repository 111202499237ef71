"""Organisation routes (spec §18)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from propolis.core.errors import missing
from propolis.core.web import (
    JSON,
    Ctx,
    UnitOfWorkRoute,
    body,
    context,
    created,
    no_content,
    ok,
    required_body,
)
from propolis.orgs import service
from propolis.orgs.render import render_org, render_orgs

router = APIRouter(prefix="/api/v1", route_class=UnitOfWorkRoute)


@router.post("/organisation")
def create_organisation(data: dict = Depends(required_body), ctx: Ctx = Depends(context)) -> JSON:
    org = service.create(ctx.session, ctx.actor, data)
    return created(render_org(ctx.session, org))


@router.get("/organisation/{ref}")
def get_organisation(ref: str, ctx: Ctx = Depends(context)) -> JSON:
    return ok(render_org(ctx.session, service.get_visible(ctx.session, ctx.actor, ref)))


@router.patch("/organisation/{ref}")
def update_organisation(ref: str, data: dict = Depends(body), ctx: Ctx = Depends(context)):  # noqa: ANN201
    service.update(ctx.session, ctx.actor, service.get_visible(ctx.session, ctx.actor, ref), data)
    return no_content()


@router.put("/organisation/{ref}/link/{other}")
def link_organisation(
    ref: str, other: str, data: dict = Depends(body), ctx: Ctx = Depends(context)
):  # noqa: ANN201, E501
    org, target = _pair(ctx, ref, other)
    service.link(
        ctx.session,
        ctx.actor,
        org,
        target,
        data.get("linkType") or "default",
        data.get("otherLinkType") or "default",
    )
    return JSON(None, status_code=201)


@router.delete("/organisation/{ref}/link/{other}")
def unlink_organisation(ref: str, other: str, ctx: Ctx = Depends(context)):  # noqa: ANN201
    org, target = _pair(ctx, ref, other)
    service.unlink(ctx.session, ctx.actor, org, target)
    return no_content()


@router.get("/organisation/{ref}/links")
def list_links(ref: str, ctx: Ctx = Depends(context)) -> JSON:
    org = service.get_visible(ctx.session, ctx.actor, ref)
    links = service.links_of(ctx.session, [org.id])[org.id]
    others = render_orgs(ctx.session, [other for _link, other in links])
    return ok(
        [
            {
                "linkType": link.link_type,
                "otherLinkType": rendered["links"]
                and next(
                    (
                        item["linkType"]
                        for item in rendered["links"]
                        if item["toOrganisation"] == org.name
                    ),
                    "default",
                ),
                "organisation": rendered,
            }
            for (link, _other), rendered in zip(links, others, strict=True)
        ]
    )


@router.put("/organisation/{ref}/links")
def bulk_link(ref: str, data: dict = Depends(required_body), ctx: Ctx = Depends(context)):  # noqa: ANN201
    org = service.get_visible(ctx.session, ctx.actor, ref)
    for item in data.get("links") or []:
        target = service.find(ctx.session, str(item.get("toOrganisation", "")))
        if target is None:
            raise missing("Organisation", item.get("toOrganisation"))
        service.link(
            ctx.session,
            ctx.actor,
            org,
            target,
            item.get("linkType") or "default",
            item.get("otherLinkType") or "default",
        )
    return JSON(None, status_code=201)


@router.get("/sharingProfile")
def sharing_profiles(ctx: Ctx = Depends(context)) -> JSON:
    return ok(
        [
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
    )


def _pair(ctx: Ctx, ref: str, other: str):  # noqa: ANN202
    org = service.find(ctx.session, ref)
    target = service.find(ctx.session, other)
    if org is None:
        raise missing("Organisation", ref)
    if target is None:
        raise missing("Organisation", other)
    return org, target
