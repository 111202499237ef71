"""User, profile and browser-session routes (spec §19, §20): parse, call the service, render."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, Response

from propolis.core.errors import missing
from propolis.core.web import (
    JSON,
    Ctx,
    UnitOfWorkRoute,
    context,
    created,
    download,
    is_multipart,
    no_content,
    ok,
    open_session,
    parsed,
    read_json,
    text,
)
from propolis.orgs import avatar
from propolis.users import auth, profiles, service
from propolis.users.models import Profile, User
from propolis.users.render import render_profile, render_user
from propolis.users.schemas import (
    LoginOut,
    PasswordChange,
    PasswordSet,
    ProfileCreate,
    ProfileOut,
    ProfileUpdate,
    UserCreate,
    UserOrganisations,
    UserOrganisationsOut,
    UserOut,
    UserUpdate,
)

router = APIRouter(prefix="/api/v1", route_class=UnitOfWorkRoute)


# --------------------------------------------------------------------------- users


@router.get("/user/current", response_model=UserOut)
def current_user(ctx: Ctx = Depends(context)) -> JSON:
    user = ctx.session.get(User, ctx.actor.user_id)
    response = ok(render_user(ctx.session, ctx.actor, user))
    response.headers["X-Organisation"] = ctx.actor.org_name
    response.headers["X-Permissions"] = ",".join(sorted(ctx.actor.permissions))
    return response


@router.post("/user", response_model=UserOut, status_code=201)
def create_user(
    data: dict = Depends(parsed(UserCreate, required=True)), ctx: Ctx = Depends(context)
) -> JSON:
    user, org = service.create_user(ctx.session, ctx.actor, data)
    ctx.session.flush()
    return created(render_user(ctx.session, ctx.actor, user, context_org_id=org.id))


@router.get("/user/{ref}", response_model=UserOut, status_code=200)
def get_user(ref: str, ctx: Ctx = Depends(context)) -> JSON:
    return ok(render_user(ctx.session, ctx.actor, _user(ctx, ref)))


@router.patch("/user/{ref}", status_code=204)
def update_user(
    ref: str, data: dict = Depends(parsed(UserUpdate, required=True)), ctx: Ctx = Depends(context)
) -> Response:
    service.update_user(ctx.session, ctx.actor, _user(ctx, ref), data)
    return no_content()


@router.delete("/user/{ref}/force", status_code=204)
def delete_user(ref: str, organisation: str | None = None, ctx: Ctx = Depends(context)) -> Response:
    service.delete_user(ctx.session, ctx.actor, _user(ctx, ref), organisation or None)
    return no_content()


@router.delete("/user/{ref}", status_code=204)
def lock_user(ref: str, ctx: Ctx = Depends(context)) -> Response:
    """Deprecated TheHive route: "deleting" a user without ``/force`` locks the account."""
    service.lock_user(ctx.session, ctx.actor, _user(ctx, ref))
    return no_content()


@router.put("/user/{ref}/organisations", response_model=UserOrganisationsOut, status_code=200)
def set_organisations(
    ref: str,
    data: dict = Depends(parsed(UserOrganisations, required=True)),
    ctx: Ctx = Depends(context),
) -> JSON:
    user = _user(ctx, ref)
    result = service.set_organisations(ctx.session, ctx.actor, user, data.get("organisations"))
    return ok({"organisations": result})


@router.post("/user/{ref}/password/set", status_code=204)
def set_password(
    ref: str, data: dict = Depends(parsed(PasswordSet, required=True)), ctx: Ctx = Depends(context)
) -> Response:
    service.set_password(ctx.session, ctx.actor, _user(ctx, ref), data)
    return no_content()


@router.post("/user/{ref}/password/change", status_code=204)
def change_password(
    ref: str,
    data: dict = Depends(parsed(PasswordChange, required=True)),
    ctx: Ctx = Depends(context),
) -> Response:
    service.change_password(ctx.session, ctx.actor, _user(ctx, ref), data)
    return no_content()


@router.get("/user/{ref}/key", response_class=PlainTextResponse, responses=text("The API key"))
def get_api_key(ref: str, ctx: Ctx = Depends(context)) -> PlainTextResponse:
    key = service.get_api_key(ctx.session, ctx.actor, _user(ctx, ref), ctx.app_state.sealer)
    return PlainTextResponse(key)


@router.post(
    "/user/{ref}/key/renew",
    response_class=PlainTextResponse,
    responses=text("The new API key"),
)
def renew_api_key(ref: str, ctx: Ctx = Depends(context)) -> PlainTextResponse:
    """The key is a text/plain body: thehive4py returns non-JSON bodies as text."""
    key = service.renew_api_key(ctx.session, ctx.actor, _user(ctx, ref), ctx.app_state.sealer)
    return PlainTextResponse(key)


@router.delete("/user/{ref}/key", status_code=204)
def remove_api_key(ref: str, ctx: Ctx = Depends(context)) -> Response:
    service.remove_api_key(ctx.session, ctx.actor, _user(ctx, ref))
    return no_content()


@router.get(
    "/user/{ref}/avatar/{file_hash}",
    response_class=Response,
    responses=download("The avatar image", *avatar.MEDIA_TYPES),
)
def get_avatar(ref: str, file_hash: str, ctx: Ctx = Depends(context)) -> Response:
    user = _user(ctx, ref)
    if not user.avatar or avatar.fingerprint(user.avatar) != file_hash:
        raise missing("Avatar", file_hash)
    return avatar.response(user.avatar)


def _user(ctx: Ctx, ref: str) -> User:
    return service.get_visible_user(ctx.session, ctx.actor, ref)


# --------------------------------------------------------------------------- profiles


@router.post("/profile", response_model=ProfileOut, status_code=201)
def create_profile(
    data: dict = Depends(parsed(ProfileCreate, required=True)), ctx: Ctx = Depends(context)
) -> JSON:
    return created(render_profile(profiles.create_profile(ctx.session, ctx.actor, data)))


@router.get("/profile/{ref}", response_model=ProfileOut)
def get_profile(ref: str, ctx: Ctx = Depends(context)) -> JSON:
    return ok(render_profile(_profile(ctx, ref)))


@router.patch("/profile/{ref}", status_code=204)
def update_profile(
    ref: str,
    data: dict = Depends(parsed(ProfileUpdate, required=True)),
    ctx: Ctx = Depends(context),
) -> Response:
    profiles.update_profile(ctx.session, ctx.actor, _profile(ctx, ref), data)
    return no_content()


@router.delete("/profile/{ref}", status_code=204)
def delete_profile(ref: str, ctx: Ctx = Depends(context)) -> Response:
    profiles.delete_profile(ctx.session, ctx.actor, _profile(ctx, ref))
    return no_content()


def _profile(ctx: Ctx, ref: str) -> Profile:
    return profiles.get_profile(ctx.session, ref)


# --------------------------------------------------------------------------- browser sessions


async def login_body(request: Request) -> dict[str, Any]:
    """The login form: JSON ``{"user", "password"}`` or classic form fields."""
    if is_multipart(request) or request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        form = await request.form()
        return {k: v for k, v in form.items() if isinstance(v, str)}
    return await read_json(request, required=True)


@router.post("/login", response_model=LoginOut)
def login(request: Request, data: dict = Depends(login_body)) -> JSON:
    settings = request.app.state.settings
    result = auth.login(
        open_session(request),
        request.app.state.db,
        data,
        request.headers.get("X-Organisation"),
        settings.session_hours,
        auth.client_address(request),
        auth.throttle_of(request),
    )
    body = render_user(open_session(request), result.actor, result.user)
    body["csrfToken"] = result.csrf_token
    response = ok(body)
    response.headers[auth.CSRF_HEADER] = result.csrf_token
    auth.set_session_cookie(response, request, result)
    return response


@router.post("/logout", status_code=204)
def logout(request: Request) -> Response:
    csrf = request.headers.get(auth.CSRF_HEADER) or request.query_params.get("csrf")
    auth.logout(open_session(request), request.cookies.get(auth.SESSION_COOKIE), csrf)
    response = no_content()
    response.delete_cookie(auth.SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response
