"""Organisations and their links. Platform administration happens in the admin organisation."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from propolis.core import events, validate
from propolis.core.db import now_ms, parse_id
from propolis.core.errors import AuthorizationError, BadRequest, CreateError, missing
from propolis.core.security import ADMIN_ORG, Actor
from propolis.orgs.models import Organisation, OrganisationLink

SHARING_RULES = {"manual", "autoShare", "existingOnly", "upcomingOnly", "all"}
LINK_TYPES = {"default", "supervised", "notify"}


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


def get_visible(session: Session, actor: Actor, ref: str) -> Organisation:
    org = find(session, ref)
    if (
        org is None
        or session.scalar(visible_ids_stmt(actor).where(Organisation.id == org.id)) is None
    ):
        raise missing("Organisation", ref)
    return org


def create(session: Session, actor: Actor, data: dict[str, Any]) -> Organisation:
    _require_platform_admin(actor, "manageOrganisation")
    name = validate.nonempty(data, "name", max_len=64)
    if session.scalar(select(Organisation.id).where(Organisation.name == name)) is not None:
        raise CreateError(f"Organisation {name} already exists")
    org = Organisation(
        name=name,
        description=validate.string(data, "description", req=True),
        task_rule=validate.one_of(data, "taskRule", SHARING_RULES, "manual"),
        observable_rule=validate.one_of(data, "observableRule", SHARING_RULES, "manual"),
        locked=bool(validate.boolean(data, "locked", False)),
        created_by=actor.login,
        created_at=now_ms(),
    )
    session.add(org)
    session.flush()
    events.record(session, actor.login, org.id, "create", "Organisation", org.id, {"name": name})
    return org


def update(session: Session, actor: Actor, org: Organisation, data: dict[str, Any]) -> None:
    _require_org_admin(actor, org)
    changes: dict[str, Any] = {}
    if "name" in data:
        name = validate.nonempty(data, "name", max_len=64)
        if name != org.name:
            if org.name == ADMIN_ORG:
                raise BadRequest("The admin organisation cannot be renamed")
            if session.scalar(select(Organisation.id).where(Organisation.name == name)):
                raise CreateError(f"Organisation {name} already exists")
            org.name = changes["name"] = name
    if "description" in data:
        org.description = changes["description"] = validate.string(data, "description", req=True)
    if "taskRule" in data:
        org.task_rule = changes["taskRule"] = validate.one_of(data, "taskRule", SHARING_RULES)
    if "observableRule" in data:
        org.observable_rule = changes["observableRule"] = validate.one_of(
            data, "observableRule", SHARING_RULES
        )
    if "locked" in data:
        org.locked = changes["locked"] = bool(validate.boolean(data, "locked"))
    if "avatar" in data:
        org.avatar = changes["avatar"] = validate.string(data, "avatar") or None
    if changes:
        org.touch(actor.login)
        events.record(session, actor.login, org.id, "update", "Organisation", org.id, changes)


def link(
    session: Session,
    actor: Actor,
    org: Organisation,
    other: Organisation,
    link_type: str = "default",
    other_link_type: str = "default",
) -> None:
    _require_platform_admin(actor, "manageOrganisation")
    if org.id == other.id:
        raise BadRequest("An organisation cannot be linked to itself")
    for value, name in ((link_type, "linkType"), (other_link_type, "otherLinkType")):
        validate.one_of({name: value}, name, LINK_TYPES)
    _set_link(session, org.id, other.id, link_type)
    _set_link(session, other.id, org.id, other_link_type)
    events.record(
        session,
        actor.login,
        org.id,
        "update",
        "Organisation",
        org.id,
        {"link": other.name, "linkType": link_type, "otherLinkType": other_link_type},
    )


def _set_link(session: Session, from_id: int, to_id: int, link_type: str) -> None:
    row = session.scalar(
        select(OrganisationLink).where(
            OrganisationLink.from_org_id == from_id, OrganisationLink.to_org_id == to_id
        )
    )
    if row is None:
        session.add(OrganisationLink(from_org_id=from_id, to_org_id=to_id, link_type=link_type))
    else:
        row.link_type = link_type


def unlink(session: Session, actor: Actor, org: Organisation, other: Organisation) -> None:
    _require_platform_admin(actor, "manageOrganisation")
    for a, b in ((org.id, other.id), (other.id, org.id)):
        session.execute(
            delete(OrganisationLink).where(
                OrganisationLink.from_org_id == a, OrganisationLink.to_org_id == b
            )
        )
    events.record(
        session, actor.login, org.id, "update", "Organisation", org.id, {"unlink": other.name}
    )


def links_of(
    session: Session, org_ids: list[int]
) -> dict[int, list[tuple[OrganisationLink, Organisation]]]:
    """Outgoing links of several organisations at once (no N+1 when rendering a list)."""
    out: dict[int, list[tuple[OrganisationLink, Organisation]]] = {i: [] for i in org_ids}
    if not org_ids:
        return out
    rows = session.execute(
        select(OrganisationLink, Organisation)
        .join(Organisation, Organisation.id == OrganisationLink.to_org_id)
        .where(OrganisationLink.from_org_id.in_(org_ids))
        .order_by(Organisation.name)
    ).all()
    for link_row, other in rows:
        out[link_row.from_org_id].append((link_row, other))
    return out


def _require_platform_admin(actor: Actor, permission: str) -> None:
    if not actor.in_admin_org:
        raise AuthorizationError("Only the admin organisation can do this")
    actor.require(permission)


def _require_org_admin(actor: Actor, org: Organisation) -> None:
    if actor.in_admin_org and actor.can("manageOrganisation"):
        return
    if actor.org_id == org.id and actor.can("manageConfig"):
        return
    raise AuthorizationError(f"User {actor.login} cannot update organisation {org.name}")
