"""Who may see and act on what: visibility through shares, and permissions on a case as its
share's profile grants them. Every domain service and flow asks this module, and it depends
on models (and core) only, so that none of them has to import another domain's service to
know whether the caller sees a case.

Visibility rule: a case is visible to every organisation holding a :class:`Share` row for it
(the owner has one too), unless the case is restricted (``UserAccessKind``) to listed users.
Tasks and observables of a case shared with another organisation are visible there according
to the share's ``taskRule`` / ``observableRule`` (see :func:`visible_task_filter`). Alerts,
and what hangs below them, belong to one organisation (``org_id``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, or_, select
from sqlalchemy.orm import Session, aliased

from propolis.alerts.models import Alert
from propolis.cases.models import Case, Share, SharedObservable, SharedTask
from propolis.core.db import MAX_ID, parse_id
from propolis.core.errors import AuthorizationError, missing
from propolis.core.query import json_list_contains
from propolis.core.security import ADMIN_ORG, SYSTEM_LOGIN, Actor, system_actor
from propolis.observables.models import Observable
from propolis.orgs.models import Organisation
from propolis.tasks.models import Task, TaskLog
from propolis.users.models import Membership, Profile, User

# Only this kind hides the case from members of the organisations it is shared with.
RESTRICTED_ACCESS = "UserAccessKind"
AUTO_SHARE_RULES = ("autoShare", "all")


# --------------------------------------------------------------------------- cases


def access_allowed(actor: Actor, model: Any = Case) -> ColumnElement[bool]:
    """The case is not restricted, or restricted to a list that names the caller."""
    return or_(
        model.access_kind != RESTRICTED_ACCESS,
        json_list_contains(model.access_users, actor.login),
    )


def case_visible(actor: Actor, case_id_column: Any) -> ColumnElement[bool]:
    """SQL condition: the case whose id is ``case_id_column`` is visible to the caller's
    organisation. A correlated EXISTS (one unique-index probe per candidate row), not
    ``IN (all visible cases)``, whose cost would grow with the number of cases."""
    share = aliased(Share)
    case = aliased(Case)
    return exists(
        select(share.id)
        .join(case, case.id == share.case_id)
        .where(
            share.case_id == case_id_column,
            share.org_id == actor.org_id,
            access_allowed(actor, case),
        )
    )


def find_case(session: Session, actor: Actor, ref: str | int) -> Case | None:
    """A visible case by ``~id`` or by number (the caller's own cases first)."""
    ref = str(ref)
    stmt = select(Case).where(case_visible(actor, Case.id))
    case_id = parse_id(ref)
    if case_id is not None:
        stmt = stmt.where(Case.id == case_id)
    elif ref.isascii() and ref.isdigit() and int(ref) <= MAX_ID:
        stmt = stmt.where(Case.number == int(ref)).order_by(Case.org_id != actor.org_id, Case.id)
    else:
        return None
    return session.scalars(stmt.limit(1)).first()


def get_case(session: Session, actor: Actor, ref: str | int) -> Case:
    case = find_case(session, actor, ref)
    if case is None:
        raise missing("Case", ref)
    return case


def share_of(session: Session, case: Case, org_id: int) -> Share | None:
    return session.scalar(select(Share).where(Share.case_id == case.id, Share.org_id == org_id))


def own_share(session: Session, actor: Actor, case: Case) -> Share | None:
    return share_of(session, case, actor.org_id)


def case_permissions(session: Session, actor: Actor, case: Case) -> frozenset[str]:
    """What the caller may do on this case: its own permissions, limited by the profile of
    its organisation's share (the owner's share carries the full org-admin profile)."""
    granted = session.scalar(
        select(Profile.permissions)
        .join(Share, Share.profile_id == Profile.id)
        .where(Share.case_id == case.id, Share.org_id == actor.org_id)
    )
    return actor.permissions & frozenset(granted or [])


def require_case_permission(session: Session, actor: Actor, case: Case, *permissions: str) -> None:
    allowed = case_permissions(session, actor, case)
    for permission in permissions:
        if permission not in allowed:
            raise AuthorizationError(
                f"User {actor.login} is not authorized to do this on case #{case.number}: "
                f"{permission} required"
            )


def require_owner(session: Session, actor: Actor, case: Case, what: str) -> Share:
    share = own_share(session, actor, case)
    if share is None or not share.owner:
        raise AuthorizationError(f"Only the owner organisation of the case can {what}")
    return share


# --------------------------------------------------------------------------- below a case


def _visible_share(actor: Actor, case_id_column: Any) -> Select:
    """The caller organisation's share of the case whose id is ``case_id_column``."""
    return (
        select(Share.id)
        .join(Case, Case.id == Share.case_id)
        .where(
            Share.case_id == case_id_column,
            Share.org_id == actor.org_id,
            access_allowed(actor),
        )
    )


def visible_task_filter(actor: Actor, model: Any = Task) -> ColumnElement[bool]:
    """SQL condition: the task (of a case) is visible to the caller's organisation.

    The owner sees every task; another organisation sees them all with an ``autoShare``
    task rule, else only those shared with it explicitly (``SharedTask``)."""
    shared_explicitly = exists(
        select(SharedTask.id)
        .where(SharedTask.share_id == Share.id, SharedTask.task_id == model.id)
        .correlate_except(SharedTask)  # the task and the share come from the outer queries
    )
    return exists(
        _visible_share(actor, model.case_id).where(
            or_(Share.owner, Share.task_rule.in_(AUTO_SHARE_RULES), shared_explicitly)
        )
    )


def visible_observable_filter(actor: Actor, model: Any = Observable) -> ColumnElement[bool]:
    """SQL condition: the observable is visible to the caller's organisation.

    Alert observables belong to the alert's organisation; case observables follow the
    share's ``observableRule`` like tasks (see :func:`visible_task_filter`)."""
    shared_explicitly = exists(
        select(SharedObservable.id)
        .where(SharedObservable.share_id == Share.id, SharedObservable.observable_id == model.id)
        .correlate_except(SharedObservable)
    )
    in_case = exists(
        _visible_share(actor, model.case_id).where(
            or_(Share.owner, Share.observable_rule.in_(AUTO_SHARE_RULES), shared_explicitly)
        )
    )
    in_alert = and_(model.alert_id.isnot(None), model.org_id == actor.org_id)
    return or_(in_alert, and_(model.case_id.isnot(None), in_case))


# --------------------------------------------------------------------------- case or alert


def owned_by_visible_parent(model: Any, actor: Actor) -> ColumnElement[bool]:
    """SQL condition for rows hanging below a case or an alert (comments, procedures...):
    those of the cases visible to the caller, and those of its organisation's alerts."""
    return or_(
        and_(model.alert_id.isnot(None), model.org_id == actor.org_id),
        case_visible(actor, model.case_id),
    )


def require_on_parent(
    session: Session, actor: Actor, permission: str, *, case: Any = None, case_id: int | None = None
) -> None:
    """May the caller act on an object below a case or an alert? Below a case, the permission
    as the profile of its organisation's share grants it (the organisation may only hold a
    read-only share of it); below an alert, the caller's own permission."""
    if case is None and case_id is not None:
        case = session.get(Case, case_id)
    if case is None:
        actor.require(permission)
        return
    require_case_permission(session, actor, case, permission)


# --------------------------------------------------------------------------- acting on an object


def require_may_act(session: Session, actor: Actor, target: Any, permission: str) -> None:
    """The one rule for "may the caller act on this object": it is visible to the caller
    (else 404, as for an object that does not exist) and the caller holds ``permission`` on
    it, below a case as the profile of its organisation's share grants it (a read-only share
    grants nothing). Routes, analyzer reports, auto-import and responder operations all ask
    it, so background work is held to what its user could do through the API."""
    require_visible(session, actor, target)
    case_id = _case_id_of(session, target)
    if case_id is None:
        actor.require(permission)  # an alert, or what hangs below one: the caller's own
        return
    require_case_permission(session, actor, session.get(Case, case_id), permission)


def require_visible(session: Session, actor: Actor, target: Any) -> None:
    """404 unless the caller sees the object (a case, task, log, observable or alert)."""
    if not _visible(session, actor, target):
        raise missing(type(target).__name__, f"~{target.id}")


def _visible(session: Session, actor: Actor, target: Any) -> bool:
    if isinstance(target, Case):
        condition = case_visible(actor, Case.id)
    elif isinstance(target, Alert):
        return target.org_id == actor.org_id
    elif isinstance(target, Observable):
        condition = visible_observable_filter(actor)
    elif isinstance(target, Task):
        condition = visible_task_filter(actor)
    elif isinstance(target, TaskLog):
        task = session.get(Task, target.task_id)
        return task is not None and _visible(session, actor, task)
    else:
        raise TypeError(f"no visibility rule for {type(target).__name__}")
    model = type(target)
    return session.scalar(select(model.id).where(model.id == target.id, condition)) is not None


def _case_id_of(session: Session, target: Any) -> int | None:
    if isinstance(target, Case):
        return target.id
    if isinstance(target, TaskLog):
        return session.scalar(select(Task.case_id).where(Task.id == target.task_id))
    return getattr(target, "case_id", None)


# --------------------------------------------------------------------------- background work


def acting_user(session: Session, login: str, org_id: int) -> Actor:
    """The user who started background work (an analyzer job, a responder action), with the
    rights they hold *now* in the work's organisation: their profile there, nothing when they
    were removed from it, locked or deleted, or the organisation was locked since. Work
    started by the platform itself (the command line) acts as the platform."""
    org = session.get(Organisation, org_id)
    org_name = org.name if org is not None else ""
    if login == SYSTEM_LOGIN:
        return system_actor(org_id, org_name)
    row = session.execute(
        select(User.id, User.locked, Profile.permissions)
        .select_from(User)
        .outerjoin(Membership, and_(Membership.user_id == User.id, Membership.org_id == org_id))
        .outerjoin(Profile, Profile.id == Membership.profile_id)
        .where(User.login == login)
    ).first()
    if row is None:
        return Actor(0, login, org_id, org_name)
    usable = not row.locked and org is not None and (not org.locked or org.name == ADMIN_ORG)
    permissions = frozenset(row.permissions or []) if usable else frozenset()
    return Actor(row.id, login, org_id, org_name, permissions)
