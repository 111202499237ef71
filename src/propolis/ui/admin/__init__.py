"""The administration pages (``/admin/...``): accounts, organisations, profiles, case
templates, custom fields, observable types, analyzers and responders, the audit log and the
platform's status.

Every admin route takes :func:`admin_page` with the permissions that open it instead of
:func:`propolis.ui.web.page`: a signed-in user holding none of them gets a 403 page, whatever
the URL. The services still check every write themselves (the page's gate only decides who
sees the page). The section list below is the admin menu; a section shows to those who hold
one of its permissions, and the top bar shows "Admin" to those who see any section.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from propolis.core.errors import AuthorizationError
from propolis.ui.web import TEMPLATES, Page, UiRoute, page, redirect

router = APIRouter(route_class=UiRoute)


@dataclass(frozen=True)
class Section:
    """One entry of the admin menu: the page it opens and who may open it."""

    key: str
    label: str
    url: str
    permissions: tuple[str, ...]

    def visible_to(self, p: Page) -> bool:
        return any(p.can(permission) for permission in self.permissions)


# The admin menu, in the order an administrator sets a platform up.
SECTIONS: list[Section] = [
    Section("users", "Users", "/admin/users", ("manageUser",)),
    Section("organisations", "Organisations", "/admin/organisations", ("manageOrganisation",)),
    Section("profiles", "Profiles", "/admin/profiles", ("manageProfile",)),
    Section("case-templates", "Case templates", "/admin/case-templates", ("manageCaseTemplate",)),
    Section("custom-fields", "Custom fields", "/admin/custom-fields", ("manageCustomField",)),
    Section("case-metrics", "Case metrics", "/admin/case-metrics", ("manageCustomField",)),
    Section(
        "observable-types",
        "Observable types",
        "/admin/observable-types",
        ("manageObservableTemplate",),
    ),
    Section("analyzers", "Analyzers", "/admin/analyzers", ("manageConfig",)),
    Section("responders", "Responders", "/admin/responders", ("manageConfig",)),
    Section("audit", "Audit log", "/admin/audit", ("manageConfig",)),
    Section("status", "Platform status", "/admin/status", ("managePlatform",)),
]
ANY_ADMIN_PERMISSION = tuple(sorted({p for section in SECTIONS for p in section.permissions}))


def visible_sections(p: Page | None) -> list[Section]:
    if p is None:
        return []
    return [section for section in SECTIONS if section.visible_to(p)]


def admin_page(*permissions: str) -> Callable[..., Awaitable[Page]]:
    """FastAPI dependency of an admin page: a signed-in user holding one of ``permissions``.

    The permissions are kept on the dependency (``.permissions``) so that the tests can
    read, from the route table alone, who must be refused each admin page."""

    async def admin(p: Page = Depends(page)) -> Page:
        if not any(p.can(permission) for permission in permissions):
            raise AuthorizationError(
                f"User {p.actor.login} may not open this page in {p.actor.org_name}: "
                f"{' or '.join(permissions)} required"
            )
        return p

    admin.permissions = permissions  # type: ignore[attr-defined]
    return admin


@router.get("/admin")
def admin_home(p: Page = Depends(admin_page(*ANY_ADMIN_PERMISSION))) -> Response:
    """The Admin link of the top bar: the first section the user may open."""
    return redirect(visible_sections(p)[0].url)


TEMPLATES.globals["admin_sections"] = visible_sections
