"""What every web page shares: the signed-in analyst, CSRF, templates, errors, headers.

The pages are a front door like the API: a page route reads its input, calls the same
services (or the same query engine) as the API in the request's unit of work, and renders
a Jinja2 template. :class:`UiRoute` is :class:`UnitOfWorkRoute` (commit before the answer)
that answers errors as pages instead of TheHive's error JSON.

Sign-in is the API's browser session (``POST /api/v1/login`` and ``/login`` open the same
kind of session): a cookie holding a token whose digest is stored, and a CSRF token that
every write must carry, in the ``X-CSRF-Token`` header (htmx, from the page's meta tag) or
in a ``csrf_token`` form field (plain forms).
"""

from __future__ import annotations

import functools
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import ChainableUndefined, Environment, PackageLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from propolis import __version__
from propolis.core import events, validate
from propolis.core.errors import (
    AuthenticationError,
    AuthorizationError,
    BadRequest,
    PropolisError,
)
from propolis.core.security import Actor
from propolis.core.web import UnitOfWorkRoute, in_thread, open_session
from propolis.orgs.models import Organisation
from propolis.ui import filters
from propolis.users.auth import (
    CSRF_HEADER,
    ORG_COOKIE,
    SESSION_COOKIE,
    browser_actor,
    browser_session,
)
from propolis.users.models import Membership, Profile

T = TypeVar("T")
CSRF_FIELD = "csrf_token"
_UNSAFE = ("POST", "PUT", "PATCH", "DELETE")

TEMPLATES = Environment(
    loader=PackageLoader("propolis.ui", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    # A missing key of a rendered object prints nothing instead of failing the page.
    undefined=ChainableUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
filters.install(TEMPLATES)
TEMPLATES.globals["version"] = __version__


class SignInRequired(Exception):
    """No valid browser session: pages redirect to the sign-in form."""


@dataclass
class Page:
    """A page request of a signed-in analyst: the unit of work, who acts, in which
    organisation, and the form that came with a write (already read, after the CSRF check)."""

    session: Session
    actor: Actor
    request: Request
    csrf: str
    name: str
    form: FormData = field(default_factory=FormData)

    def can(self, permission: str) -> bool:
        return self.actor.can(permission)

    @functools.cached_property
    def organisations(self) -> list[tuple[str, str]]:
        """(organisation, profile) of each of the analyst's memberships: the switcher."""
        rows = self.session.execute(
            select(Organisation.name, Profile.name)
            .join(Membership, Membership.org_id == Organisation.id)
            .join(Profile, Profile.id == Membership.profile_id)
            .where(Membership.user_id == self.actor.user_id)
            .order_by(Membership.position, Membership.id)
        ).all()
        return [(org, profile) for org, profile in rows]

    @property
    def htmx(self) -> bool:
        """The request comes from htmx and wants a fragment, not a whole page."""
        return self.request.headers.get("HX-Request") == "true"

    @property
    def app_state(self) -> Any:
        return self.request.app.state

    def value(self, name: str, default: str = "") -> str:
        """A form field (the last one of that name) as text."""
        found = self.form.get(name)
        return found if isinstance(found, str) else default

    def values(self, name: str) -> list[str]:
        return [v for v in self.form.getlist(name) if isinstance(v, str)]


async def page(request: Request) -> Page:
    """FastAPI dependency of every signed-in page: the session cookie, the organisation
    chosen in the switcher, and for writes the CSRF token (header or form field)."""
    signed_in = await in_thread(_signed_in, request)
    if signed_in is None:
        raise SignInRequired()
    actor, csrf, name = signed_in
    form = FormData()
    if request.method in _UNSAFE:
        form = await _checked_form(request, csrf)
    return Page(open_session(request), actor, request, csrf, name, form)


async def signed_in_actor(request: Request) -> Actor:
    """FastAPI dependency of what a script reads rather than a person (the live stream):
    the same sign-in as a page, but a plain 401 instead of a redirect to the form."""
    signed_in = await in_thread(_signed_in, request)
    if signed_in is None:
        raise AuthenticationError("Sign in first")
    return signed_in[0]


def _signed_in(request: Request) -> tuple[Actor, str, str] | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    # A short read transaction of its own, like the API's authentication.
    with request.app.state.db.read_sessions() as auth_session:
        found = browser_session(auth_session, token)
        if found is None:
            return None
        user, csrf = found
        actor = browser_actor(auth_session, user, request.cookies.get(ORG_COOKIE))
        return actor, csrf, user.name or user.login


async def _checked_form(request: Request, csrf: str) -> FormData:
    form = FormData()
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        form = await request.form()
    sent = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD)
    if not isinstance(sent, str) or not hmac.compare_digest(sent, csrf):
        raise AuthorizationError("This form has expired: reload the page and try again")
    typed = [value for value in form.values() if isinstance(value, str)]
    if validate.contains_nul(typed):
        raise BadRequest(validate.NUL_MESSAGE)
    return form


# --------------------------------------------------------------------------- rendering


def undo(p: Page) -> None:
    """Forget a refused write: the transaction and the events it recorded (no subscriber
    may hear of a change that did not happen)."""
    p.session.rollback()
    events.discard_pending(p.session)


def attempt(p: Page, write: Callable[[], Any]) -> str | None:
    """Run a write; when a service refuses it, undo everything it did and return the
    service's message (the page is drawn again with it, and with what was typed)."""
    try:
        write()
        p.session.flush()
    except PropolisError as exc:
        undo(p)
        return exc.message
    return None


def attempt_making(p: Page, make: Callable[[], T]) -> tuple[T | None, str | None]:
    """:func:`attempt` for a write whose result the page needs (what it made): the result,
    or ``None`` and the service's message."""
    made: list[T] = []
    message = attempt(p, lambda: made.append(make()))
    return (made[0] if made else None), message


def render(
    page: Page | None,
    template: str,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """A template rendered for ``page`` (``None`` on the sign-in pages)."""
    html = TEMPLATES.get_template(template).render(page=page, **context)
    return HTMLResponse(html, status_code=status_code, headers=headers)


def redirect(url: str, page: Page | None = None) -> Response:
    """After a write: back to a page (Post/Redirect/Get); htmx follows ``HX-Redirect``."""
    if page is not None and page.htmx:
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def safe_next(url: str | None) -> str:
    """Where to go after signing in: only a path of this site (no ``//evil`` or scheme)."""
    if url and url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    return "/"


class UiRoute(UnitOfWorkRoute):
    """A page route: committed before the answer like the API; errors become pages (a
    fragment for htmx) with the service's message, never a stack trace."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["include_in_schema"] = False
        super().__init__(*args, **kwargs)

    def get_route_handler(self):  # noqa: ANN201
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            started = time.perf_counter()
            response = await _answer(handler, request)
            # The page's own time, shown in the browser's developer tools and read by
            # bench/ui.py: what the server spent, without the network.
            spent_ms = (time.perf_counter() - started) * 1000
            response.headers["Server-Timing"] = f"app;dur={spent_ms:.1f}"
            return response

        return run


async def _answer(handler, request: Request) -> Response:  # noqa: ANN001
    try:
        return await handler(request)
    except SignInRequired:
        return _to_sign_in(request)
    except PropolisError as exc:
        return error_page(request, exc.status, exc.message)
    except RequestValidationError:
        return error_page(request, 400, "Invalid parameters in the address")


def _to_sign_in(request: Request) -> Response:
    target = "/login?next=" + quote(request.url.path + _query(request), safe="/~")
    if request.headers.get("HX-Request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def _query(request: Request) -> str:
    return "?" + request.url.query if request.url.query else ""


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """The error as the user sees it: a flash message for htmx requests (swapped into the
    page's message area), a page of its own otherwise."""
    if request.headers.get("HX-Request") == "true":
        html = TEMPLATES.get_template("_flash.html").render(level="danger", message=message)
        return HTMLResponse(
            html,
            status_code=status,
            headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"},
        )
    html = TEMPLATES.get_template("error.html").render(
        page=None, status=status, message=message, path=request.url.path
    )
    return HTMLResponse(html, status_code=status)


# --------------------------------------------------------------------------- headers

# Scripts only from this site: no inline script or handler can run, whatever a title or a
# report contains. Styles may be inline (progress bars' widths); nothing else is needed.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# The interactive API reference loads Swagger UI from a CDN with an inline script.
_NO_CSP_PATHS = ("/docs", "/redoc")


class SecurityHeaders:
    """ASGI middleware: the Content-Security-Policy and friends on every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with_csp = not scope.get("path", "").startswith(_NO_CSP_PATHS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"referrer-policy", b"same-origin"))
                if with_csp:
                    headers.append((b"content-security-policy", CONTENT_SECURITY_POLICY.encode()))
                    headers.append((b"x-frame-options", b"DENY"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
