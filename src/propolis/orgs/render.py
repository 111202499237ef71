from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from propolis.core.render import meta, put
from propolis.orgs import service
from propolis.orgs.models import Organisation


def render_orgs(session: Session, orgs: list[Organisation]) -> list[dict[str, Any]]:
    links = service.links_of(session, [o.id for o in orgs])
    return [_render(o, links[o.id]) for o in orgs]


def render_org(session: Session, org: Organisation) -> dict[str, Any]:
    return render_orgs(session, [org])[0]


def _render(org: Organisation, links: list) -> dict[str, Any]:  # noqa: ANN001
    out = meta(org, "Organisation")
    out.update(
        name=org.name,
        description=org.description,
        taskRule=org.task_rule,
        observableRule=org.observable_rule,
        links=[
            {
                "toOrganisation": other.name,
                "linkType": link.link_type,
                "otherLinkType": _reverse_type(link, other, org),
            }
            for link, other in links
        ],
        locked=org.locked,
        extraData={},
    )
    put(out, "avatar", org.avatar)
    return out


def _reverse_type(link, other, org) -> str:  # noqa: ANN001
    # The reverse direction's type is stored on the other organisation's row; links are
    # always created in pairs, so it exists. Loaded lazily only when links exist.
    from sqlalchemy import select
    from sqlalchemy.orm import object_session

    from propolis.orgs.models import OrganisationLink

    session = object_session(link)
    value = session.scalar(
        select(OrganisationLink.link_type).where(
            OrganisationLink.from_org_id == other.id, OrganisationLink.to_org_id == org.id
        )
    )
    return value or "default"
