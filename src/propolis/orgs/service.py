"""Organisations and their links. Platform administration (create, link) happens in the
admin organisation; an organisation's own administrators may edit its description/rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.orm import Session, aliased

from propolis.core import events
from propolis.core.db import now_ms, parse_id
from propolis.core.errors import AuthorizationError, BadRequest, CreateError, invalid, missing
from propolis.core.schemas import check
from propolis.core.security import ADMIN_ORG, Actor
from propolis.orgs import avatar
from propolis.orgs.models import Organisation, OrganisationLink
from propolis.orgs.schemas import (
    OrganisationCreate,
    OrganisationLinks,
    OrganisationUpdate,
)
from propolis.orgs.schemas import (
    OrganisationLink as LinkIn,
)

SHARING_RULES = {"manual", "autoShare", "existingOnly", "upcomingOnly", "all"}


@dataclass(frozen=True)
class LinkView:
    """One link as seen from an organisation: the other side and both directions' types."""

    other: Organisation
    link_type: str
    other_link_type: str


# --------------------------------------------------------------------------- lookups


def find(session: Session, ref: str) -> Organisation | None:
    """By ``~id`` or by name; ``None`` when neither matches."""
    org_id = parse_id(ref)
    if org_id is not None:
        return session.get(Organisation, org_id)
    return session.scalar(select(Organisation).where(Organisation.name == ref))


def visible_ids_stmt(actor: Actor):  # noqa: ANN201
    """Organisations the caller may see: all from the admin org; else itself and its links."""
    if actor.in_admin_org:
        return select(Organisation.id)
    linked = select(OrganisationLink.to_org_id).where(OrganisationLink.from_org_id == actor.org_id)
    return select(Organisation.id).where(
        (Organisation.id == actor.org_id) | Organisation.id.in_(linked)
    )


def is_visible(session: Session, actor: Actor, org_id: int) -> bool:
    if actor.in_admin_org or org_id == actor.org_id:
        return True
    stmt = visible_ids_stmt(actor).where(Organisation.id == org_id)
    return session.scalar(stmt) is not None


def get_visible(session: Session, actor: Actor, ref: str) -> Organisation:
    org = find(session, ref)
    if org is None or not is_visible(session, actor, org.id):
        raise missing("Organisation", ref)
    return org


def get_any(session: Session, ref: str) -> Organisation:
    """Any organisation, for platform administrators (callers check the permission first)."""
    org = find(session, ref)
    if org is None:
        raise missing("Organisation", ref)
    return org


# --------------------------------------------------------------------------- writes


def create(session: Session, actor: Actor, data: dict[str, Any]) -> Organisation:
    _require_platform_admin(actor)
    values = check(OrganisationCreate, data).known()
    name = _checked_name(values["name"])
    if _name_taken(session, name):
        raise CreateError(f"Organisation {name} already exists")
    org = Organisation(
        name=name,
        description=values["description"],
        task_rule=values.get("taskRule") or "manual",
        observable_rule=values.get("observableRule") or "manual",
        locked=bool(values.get("locked")),
        avatar=avatar.checked("avatar", values.get("avatar")),
        created_by=actor.login,
        created_at=now_ms(),
    )
    session.add(org)
    session.flush()
    events.record(session, actor.login, org.id, "create", "Organisation", org.id, {"name": name})
    return org


def update(session: Session, actor: Actor, org: Organisation, data: dict[str, Any]) -> None:
    _require_org_admin(actor, org)
    changes = _validated_changes(session, org, data)
    if org.name == ADMIN_ORG and changes.get("locked"):
        raise BadRequest("The admin organisation cannot be locked")
    if {"name", "locked"} & changes.keys() and not _is_platform_admin(actor):
        # Scripts address organisations by name, and locking shuts the members out: both
        # are platform decisions, not the organisation's own.
        raise AuthorizationError("Only the admin organisation can rename or lock organisations")
    if not changes:
        return
    for attribute, value in changes.items():
        setattr(org, _COLUMNS[attribute], value)
    org.touch(actor.login)
    shown = {k: ("(image)" if k == "avatar" and v else v) for k, v in changes.items()}
    events.record(session, actor.login, org.id, "update", "Organisation", org.id, shown)


_COLUMNS = {
    "name": "name",
    "description": "description",
    "taskRule": "task_rule",
    "observableRule": "observable_rule",
    "locked": "locked",
    "avatar": "avatar",
}


def _validated_changes(session: Session, org: Organisation, data: dict[str, Any]) -> dict:
    """Check every field before touching the entity, so a bad request changes nothing."""
    values = check(OrganisationUpdate, data).known()
    changes = {
        k: values[k] for k in ("description", "taskRule", "observableRule", "locked") if k in values
    }
    if "name" in values:
        name = _checked_name(values["name"])
        if name != org.name:
            if org.name == ADMIN_ORG:
                raise BadRequest("The admin organisation cannot be renamed")
            if _name_taken(session, name):
                raise CreateError(f"Organisation {name} already exists")
            changes["name"] = name
    if "avatar" in values:
        changes["avatar"] = avatar.checked("avatar", values["avatar"])
    return changes


def link(
    session: Session,
    actor: Actor,
    ref: str,
    other_ref: str,
    link_type: Any = None,
    other_link_type: Any = None,
) -> None:
    """Link two organisations both ways (A sees B with ``link_type``, B sees A with the other)."""
    _require_platform_admin(actor)
    org, other = get_any(session, ref), get_any(session, other_ref)
    types = _link_types(check(LinkIn, {"linkType": link_type, "otherLinkType": other_link_type}))
    _check_linkable(org, other)
    existing = _links_touching(session, org.id)
    _put_link(session, existing, org.id, other.id, types[0])
    _put_link(session, existing, other.id, org.id, types[1])
    org.touch(actor.login)
    events.record(
        session,
        actor.login,
        org.id,
        "update",
        "Organisation",
        org.id,
        {"link": other.name, "linkType": types[0], "otherLinkType": types[1]},
    )


def unlink(session: Session, actor: Actor, ref: str, other_ref: str) -> None:
    _require_platform_admin(actor)
    org, other = get_any(session, ref), get_any(session, other_ref)
    removed = session.execute(
        delete(OrganisationLink).where(
            or_(
                and_(
                    OrganisationLink.from_org_id == org.id, OrganisationLink.to_org_id == other.id
                ),
                and_(
                    OrganisationLink.from_org_id == other.id, OrganisationLink.to_org_id == org.id
                ),
            )
        )
    ).rowcount
    if not removed:
        raise missing("Link from organisation", f"{org.name} to {other.name}")
    org.touch(actor.login)
    events.record(
        session, actor.login, org.id, "update", "Organisation", org.id, {"unlink": other.name}
    )


def set_links(session: Session, actor: Actor, ref: str, items: Any) -> None:
    """``PUT /organisation/{id}/links``: the organisation's links become exactly ``items``."""
    _require_platform_admin(actor)
    org = get_any(session, ref)
    links = check(OrganisationLinks, {"links": items}).links
    wanted = _wanted_links(session, org, links)
    existing = _links_touching(session, org.id)
    keep = {other.id for other, _t, _o in wanted}
    for (from_id, to_id), row in list(existing.items()):
        other_id = to_id if from_id == org.id else from_id
        if other_id not in keep:
            session.delete(row)
            del existing[(from_id, to_id)]
    for other, link_type, other_link_type in wanted:
        _put_link(session, existing, org.id, other.id, link_type)
        _put_link(session, existing, other.id, org.id, other_link_type)
    org.touch(actor.login)
    events.record(
        session,
        actor.login,
        org.id,
        "update",
        "Organisation",
        org.id,
        {
            "links": [
                {"organisation": o.name, "linkType": t, "otherLinkType": r} for o, t, r in wanted
            ]
        },
    )


def _wanted_links(
    session: Session, org: Organisation, items: list[Any]
) -> list[tuple[Organisation, str, str]]:
    wanted: dict[int, tuple[Organisation, str, str]] = {}
    for item in items:
        other = get_any(session, item.toOrganisation)
        _check_linkable(org, other)
        if other.id in wanted:
            raise invalid("links", f"organisation {other.name} is listed twice", other.name)
        wanted[other.id] = (other, *_link_types(item))
    return list(wanted.values())


def _link_types(link: LinkIn) -> tuple[str, str]:
    """Both directions' types (validated by the schema), ``default`` when not given."""
    return link.linkType or "default", link.otherLinkType or "default"


def _check_linkable(org: Organisation, other: Organisation) -> None:
    if org.id == other.id:
        raise BadRequest("An organisation cannot be linked to itself")
    if ADMIN_ORG in (org.name, other.name):
        raise BadRequest("The admin organisation cannot be linked")


def _links_touching(session: Session, org_id: int) -> dict[tuple[int, int], OrganisationLink]:
    rows = session.scalars(
        select(OrganisationLink).where(
            or_(OrganisationLink.from_org_id == org_id, OrganisationLink.to_org_id == org_id)
        )
    )
    return {(r.from_org_id, r.to_org_id): r for r in rows}


def _put_link(
    session: Session,
    existing: dict[tuple[int, int], OrganisationLink],
    from_id: int,
    to_id: int,
    link_type: str,
) -> None:
    row = existing.get((from_id, to_id))
    if row is None:
        row = OrganisationLink(from_org_id=from_id, to_org_id=to_id, link_type=link_type)
        session.add(row)
        existing[(from_id, to_id)] = row
    else:
        row.link_type = link_type


# --------------------------------------------------------------------------- reads for rendering


def links_of(session: Session, org_ids: list[int]) -> dict[int, list[LinkView]]:
    """Outgoing links of several organisations, with the reverse direction's type, in one
    query (rendering a list costs the same whatever its length)."""
    out: dict[int, list[LinkView]] = {i: [] for i in org_ids}
    if not org_ids:
        return out
    back = aliased(OrganisationLink)
    rows = session.execute(
        select(
            OrganisationLink.from_org_id, OrganisationLink.link_type, back.link_type, Organisation
        )
        .join(Organisation, Organisation.id == OrganisationLink.to_org_id)
        .outerjoin(
            back,
            and_(
                back.from_org_id == OrganisationLink.to_org_id,
                back.to_org_id == OrganisationLink.from_org_id,
            ),
        )
        .where(OrganisationLink.from_org_id.in_(org_ids))
        .order_by(Organisation.name)
    ).all()
    for from_id, link_type, reverse_type, other in rows:
        out[from_id].append(LinkView(other, link_type, reverse_type or "default"))
    return out


# --------------------------------------------------------------------------- rules


def _checked_name(name: str) -> str:
    """The schema bounds the name; this is what it cannot say."""
    # Names appear in URL paths and in X-Organisation; "~123" would read as an id.
    if name != name.strip() or name.startswith("~") or any(c in name for c in "/\\?#%"):
        raise invalid("name", "must not start with ~, contain / \\ ? # % or blank ends", name)
    return name


def _name_taken(session: Session, name: str) -> bool:
    return session.scalar(select(Organisation.id).where(Organisation.name == name)) is not None


def _require_platform_admin(actor: Actor) -> None:
    if not actor.in_admin_org:
        raise AuthorizationError("Only the admin organisation can do this")
    actor.require("manageOrganisation")


def _is_platform_admin(actor: Actor) -> bool:
    return actor.in_admin_org and actor.can("manageOrganisation")


def _require_org_admin(actor: Actor, org: Organisation) -> None:
    if _is_platform_admin(actor):
        return
    if actor.org_id == org.id and actor.can("manageConfig"):
        return
    raise AuthorizationError(f"User {actor.login} cannot update organisation {org.name}")
