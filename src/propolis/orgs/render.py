"""The one rendering of an organisation (``OutputOrganisation``) and of its links."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from propolis.core.render import meta
from propolis.orgs import avatar, service
from propolis.orgs.models import Organisation
from propolis.orgs.service import LinkView


def render_orgs(session: Session, orgs: list[Organisation]) -> list[dict[str, Any]]:
    """Batched: one query for all the links of all the organisations."""
    links = service.links_of(session, [o.id for o in orgs])
    return [_render(o, links[o.id]) for o in orgs]


def render_org(session: Session, org: Organisation) -> dict[str, Any]:
    return render_orgs(session, [org])[0]


def render_links(session: Session, org: Organisation) -> list[dict[str, Any]]:
    """``OutputOrganisationLink`` list: both link types and the other organisation."""
    links = service.links_of(session, [org.id])[org.id]
    others = render_orgs(session, [view.other for view in links])
    return [
        {"linkType": view.link_type, "otherLinkType": view.other_link_type, "organisation": other}
        for view, other in zip(links, others, strict=True)
    ]


def avatar_path(org: Organisation) -> str | None:
    if not org.avatar:
        return None
    return f"/api/v1/organisation/{org.eid}/avatar/{avatar.fingerprint(org.avatar)}"


def _render(org: Organisation, links: list[LinkView]) -> dict[str, Any]:
    out = meta(org, "Organisation")
    out.update(
        name=org.name,
        description=org.description,
        taskRule=org.task_rule,
        observableRule=org.observable_rule,
        links=[_link(view) for view in links],
        locked=org.locked,
        extraData={},
    )
    path = avatar_path(org)
    if path:
        out["avatar"] = path
    return out


def _link(view: LinkView) -> dict[str, Any]:
    item = {
        "toOrganisation": view.other.name,
        "linkType": view.link_type,
        "otherLinkType": view.other_link_type,
    }
    path = avatar_path(view.other)
    if path:
        item["avatar"] = path
    return item
