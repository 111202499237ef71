"""Signing in and out, the organisation switcher and the analyst's own profile page."""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from propolis.core.errors import AuthenticationError, PropolisError
from propolis.core.web import in_thread, open_session
from propolis.ui.web import (
    ORG_COOKIE,
    Page,
    UiRoute,
    page,
    redirect,
    render,
    safe_next,
    undo,
)
from propolis.users import auth, service
from propolis.users.models import User

router = APIRouter(route_class=UiRoute)

# The sign-in form has no session yet: a double-submit cookie stops another site from
# signing the analyst in under the attacker's account (login CSRF).
LOGIN_CSRF_COOKIE = "PROPOLIS_LOGIN_CSRF"


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    token = secrets.token_urlsafe(24)
    return _login_page(request, token, safe_next(next), login="", error=None, status=200)


def _login_page(
    request: Request, token: str, next_url: str, login: str, error: str | None, status: int
) -> Response:
    response = render(
        None,
        "login.html",
        status_code=status,
        login_csrf=token,
        next_url=next_url,
        login=login,
        error=error,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        path="/login",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    next_url = safe_next(fields.get("next"))
    login_name = fields.get("login", "")[:255]
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    sent = fields.get("login_csrf", "")
    fresh = secrets.token_urlsafe(24)
    if not cookie or not hmac.compare_digest(cookie, sent):
        return _login_page(request, fresh, next_url, login_name, "The form expired: try again", 403)
    try:
        result = await _open_session(request, login_name, fields.get("password", ""))
    except PropolisError as exc:
        message = "Wrong login or password" if isinstance(exc, AuthenticationError) else exc.message
        return _login_page(request, fresh, next_url, login_name, message, exc.status)
    response = redirect(next_url)
    auth.set_session_cookie(response, request, result)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    response.delete_cookie(ORG_COOKIE, path="/")
    return response


async def _open_session(request: Request, login_name: str, password: str) -> auth.Login:
    settings = request.app.state.settings
    return await in_thread(
        auth.login,
        open_session(request),
        request.app.state.db,
        {"user": login_name, "password": password},
        None,
        settings.session_hours,
        auth.client_address(request),
        auth.throttle_of(request),
    )


@router.post("/logout")
def logout(p: Page = Depends(page)) -> Response:
    auth.logout(p.session, p.request.cookies.get(auth.SESSION_COOKIE), p.csrf)
    response = redirect("/login", p)
    response.delete_cookie(auth.SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    response.delete_cookie(ORG_COOKIE, path="/")
    return response


@router.post("/ui/organisation")
def switch_organisation(p: Page = Depends(page)) -> Response:
    """Act in another of the analyst's organisations (checked like ``X-Organisation``)."""
    wanted = p.value("organisation")
    user = p.session.get(User, p.actor.user_id)
    actor = auth.actor_for(p.session, user, wanted)
    response = redirect("/", p)
    response.set_cookie(ORG_COOKIE, actor.org_name, path="/", httponly=True, samesite="lax")
    return response


@router.get("/profile")
def profile(p: Page = Depends(page)) -> Response:
    return _profile_page(p)


def _profile_page(
    p: Page, message: str | None = None, error: str | None = None, new_key: str | None = None
) -> Response:
    user = p.session.get(User, p.actor.user_id)
    return render(
        p,
        "profile.html",
        status_code=400 if error else 200,
        user=user,
        memberships=p.organisations,
        has_key=user.api_key_digest is not None,
        message=message,
        error=error,
        new_key=new_key,
    )


@router.post("/profile/password")
def change_password(p: Page = Depends(page)) -> Response:
    user = p.session.get(User, p.actor.user_id)
    if p.value("password") != p.value("confirm"):
        return _profile_page(p, error="The two new passwords differ")
    data = {"currentPassword": p.value("currentPassword"), "password": p.value("password")}
    try:
        service.change_password(p.session, p.actor, user, data)
    except PropolisError as exc:
        undo(p)
        return _profile_page(p, error=exc.message)
    return _profile_page(p, message="Password changed")


@router.post("/profile/key")
def renew_key(p: Page = Depends(page)) -> Response:
    user = p.session.get(User, p.actor.user_id)
    key = service.renew_api_key(p.session, p.actor, user, p.app_state.sealer)
    return _profile_page(p, message="New API key: copy it now", new_key=key)


@router.post("/profile/key/reveal")
def reveal_key(p: Page = Depends(page)) -> Response:
    user = p.session.get(User, p.actor.user_id)
    key = service.get_api_key(p.session, p.actor, user, p.app_state.sealer)
    return _profile_page(p, new_key=key)
