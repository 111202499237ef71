"""Shares (spec §17): which organisations see a case, with which profile, and which of its
tasks and observables they see; task required actions (keyed by organisation name).

Only organisations linked to the caller's organisation can receive a share. The owner's
share and the caller's own share are never listed and cannot be removed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from propolis import access
from propolis.cases import service
from propolis.cases.models import Case, Share, SharedObservable, SharedTask
from propolis.core import events, validate
from propolis.core.db import parse_id
from propolis.core.errors import BadRequest, invalid, missing
from propolis.core.security import ADMIN_ONLY, Actor
from propolis.observables.models import Observable
from propolis.orgs.models import Organisation
from propolis.orgs.service import find as find_org
from propolis.tasks.models import Task

PERMISSION = "manageShare"


def _org(session: Session, ref: Any) -> Organisation:
    if not isinstance(ref, (str, int)) or not str(ref):
        raise invalid("organisation", "must be an organisation name or id", ref)
    org = find_org(session, str(ref))
    if org is None:
        raise missing("Organisation", ref)
    return org


def org_list(data: dict[str, Any], name: str = "organisations") -> list[str]:
    value = validate.required(data, name)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
        raise invalid(name, "must be a list of organisation names or ids", value)
    return [str(v) for v in value]


def _record(session: Session, actor: Actor, case: Case, details: dict[str, Any]) -> None:
    events.record(
        session, actor.login, actor.org_id, "update", "Case", case.id, details, root_id=case.id
    )


# --------------------------------------------------------------------------- case shares


def listed_shares(session: Session, actor: Actor, case: Case) -> list[Share]:
    """The case's shares with other organisations (not the owner's, not the caller's)."""
    return list(
        session.scalars(
            select(Share)
            .where(Share.case_id == case.id, Share.org_id != actor.org_id, Share.owner.is_(False))
            .order_by(Share.created_at, Share.id)
        )
    )


def share_case(
    session: Session,
    actor: Actor,
    case: Case,
    items: list[dict[str, Any]],
    *,
    replace: bool = False,
) -> list[Share]:
    """Create the shares of ``items`` (``InputShare``) that do not exist yet. With
    ``replace`` (PUT), existing shares take the given profile/rules and the other shares
    are removed (never the owner's nor the caller's). Returns the created/updated shares."""
    access.require_case_permission(session, actor, case, PERMISSION)
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise invalid("shares", "must be a list of objects", items)
    wanted = [_parse_share(session, actor, item) for item in items]
    touched: list[Share] = []
    for org, profile, task_rule, observable_rule in wanted:
        if org.id == actor.org_id or profile is None:
            continue
        share = access.share_of(session, case, org.id)
        if share is None:
            share = service.add_share(
                session,
                case,
                org.id,
                profile.name,
                actor=actor,
                task_rule=task_rule,
                observable_rule=observable_rule,
            )
            _record(session, actor, case, {"share": org.name, "profile": profile.name})
        elif replace and not share.owner:
            _update_share(session, actor, case, share, profile, task_rule, observable_rule)
        else:
            continue
        touched.append(share)
    if replace:
        keep = {org.id for org, profile, _t, _o in wanted if profile is not None}
        for share in listed_shares(session, actor, case):
            if share.org_id not in keep:
                _delete_share(session, actor, case, share)
    return touched


def _parse_share(session: Session, actor: Actor, item: dict[str, Any]) -> tuple:
    """(organisation, profile or None when ``share`` is false, taskRule, observableRule)."""
    org = _org(session, validate.required(item, "organisation"))
    if org.id != actor.org_id and not service.orgs_linked(session, actor.org_id, org.id):
        raise BadRequest(f"Organisation {org.name} is not linked to {actor.org_name}")
    if validate.boolean(item, "share", True) is False:
        return org, None, None, None
    name = (
        validate.nonempty(item, "profile", max_len=64, req=False) or service.DEFAULT_SHARE_PROFILE
    )
    profile = service.profile_named(session, name)
    if set(profile.permissions or []) & set(ADMIN_ONLY):
        raise BadRequest(f"Profile {name} cannot be used to share a case")
    return (
        org,
        profile,
        validate.one_of(item, "taskRule", service.SHARING_RULES),
        validate.one_of(item, "observableRule", service.SHARING_RULES),
    )


def _update_share(
    session: Session,
    actor: Actor,
    case: Case,
    share: Share,
    profile: Any,
    task_rule: str | None,
    observable_rule: str | None,
) -> None:
    before = (share.profile_id, share.task_rule, share.observable_rule)
    share.profile_id = profile.id
    share.task_rule = task_rule or share.task_rule
    share.observable_rule = observable_rule or share.observable_rule
    if before != (share.profile_id, share.task_rule, share.observable_rule):
        share.touch(actor.login)
        _record(session, actor, case, {"shareUpdated": share.org_id, "profile": profile.name})


def _delete_share(session: Session, actor: Actor, case: Case, share: Share) -> None:
    if share.owner or share.org_id == actor.org_id:
        raise BadRequest("You cannot remove your own share")
    org = session.get(Organisation, share.org_id)
    session.delete(share)
    session.flush()
    _record(session, actor, case, {"unshare": org.name if org else share.org_id})


def unshare_organisations(session: Session, actor: Actor, case: Case, refs: list[str]) -> None:
    access.require_case_permission(session, actor, case, PERMISSION)
    for ref in refs:
        org = _org(session, ref)
        share = access.share_of(session, case, org.id)
        if share is None:
            raise missing("Share of organisation", org.name)
        _delete_share(session, actor, case, share)


def get_share(session: Session, actor: Actor, ref: str) -> tuple[Share, Case]:
    """A share of a case visible to the caller."""
    share_id = parse_id(ref)
    row = None
    if share_id is not None:
        row = session.execute(
            select(Share, Case)
            .join(Case, Case.id == Share.case_id)
            .where(Share.id == share_id, access.case_visible(actor, Case.id))
        ).first()
    if row is None:
        raise missing("Share", ref)
    return row[0], row[1]


def remove_share(session: Session, actor: Actor, ref: str) -> None:
    share, case = get_share(session, actor, ref)
    access.require_case_permission(session, actor, case, PERMISSION)
    _delete_share(session, actor, case, share)


def set_share_profile(session: Session, actor: Actor, ref: str, data: dict[str, Any]) -> None:
    share, case = get_share(session, actor, ref)
    access.require_case_permission(session, actor, case, PERMISSION)
    if share.owner:
        raise BadRequest("The profile of the owner's share cannot be changed")
    profile = service.profile_named(session, validate.nonempty(data, "profile", max_len=64))
    _update_share(session, actor, case, share, profile, None, None)


# --------------------------------------------------------------------------- tasks


def get_task(session: Session, actor: Actor, ref: str) -> tuple[Task, Case]:
    """A case task visible to the caller, with its case."""
    task_id = parse_id(ref)
    row = None
    if task_id is not None:
        row = session.execute(
            select(Task, Case)
            .join(Case, Case.id == Task.case_id)
            .where(Task.id == task_id, access.visible_task_filter(actor))
        ).first()
    if row is None:
        raise missing("Task", ref)
    return row[0], row[1]


def _task_shares(session: Session, task: Task) -> list[Share]:
    """Shares that give access to the task: the owner's, auto-sharing ones, explicit ones."""
    explicit = select(SharedTask.share_id).where(SharedTask.task_id == task.id)
    return list(
        session.scalars(
            select(Share)
            .where(
                Share.case_id == task.case_id,
                or_(
                    Share.owner,
                    Share.task_rule.in_(access.AUTO_SHARE_RULES),
                    Share.id.in_(explicit),
                ),
            )
            .order_by(Share.created_at, Share.id)
        )
    )


def task_shares(session: Session, actor: Actor, task: Task) -> list[Share]:
    return [s for s in _task_shares(session, task) if not s.owner and s.org_id != actor.org_id]


def _case_share_for(session: Session, case: Case, org: Organisation) -> Share:
    share = access.share_of(session, case, org.id)
    if share is None:
        raise BadRequest(f"The case is not shared with organisation {org.name}")
    return share


def share_task(session: Session, actor: Actor, task: Task, case: Case, refs: list[str]) -> None:
    access.require_case_permission(session, actor, case, PERMISSION)
    for ref in refs:
        org = _org(session, ref)
        if org.id == actor.org_id:
            continue  # the caller's organisation sees the task already
        share = _case_share_for(session, case, org)
        if _shared_task(session, share, task) is None:
            session.add(SharedTask(share_id=share.id, task_id=task.id))
            _record(session, actor, case, {"shareTask": task.id, "organisation": org.name})


def unshare_task(session: Session, actor: Actor, task: Task, case: Case, refs: list[str]) -> None:
    access.require_case_permission(session, actor, case, PERMISSION)
    for ref in refs:
        org = _org(session, ref)
        share = _case_share_for(session, case, org)
        if share.owner or org.id == actor.org_id:
            raise BadRequest("You cannot remove your own share")
        session.execute(
            delete(SharedTask).where(SharedTask.share_id == share.id, SharedTask.task_id == task.id)
        )
        _record(session, actor, case, {"unshareTask": task.id, "organisation": org.name})


def _shared_task(session: Session, share: Share, task: Task) -> SharedTask | None:
    return session.scalar(
        select(SharedTask).where(SharedTask.share_id == share.id, SharedTask.task_id == task.id)
    )


def required_actions(session: Session, task: Task) -> dict[str, bool]:
    """``{organisation name: action required}`` for every organisation the task is shared
    with (the owner included); entries default to false."""
    shares = _task_shares(session, task)
    if not shares:
        return {}
    names = dict(
        session.execute(
            select(Organisation.id, Organisation.name).where(
                Organisation.id.in_([s.org_id for s in shares])
            )
        ).all()
    )
    flags = dict(
        session.execute(
            select(SharedTask.share_id, SharedTask.action_required).where(
                SharedTask.task_id == task.id
            )
        ).all()
    )
    return {names[s.org_id]: bool(flags.get(s.id, False)) for s in shares}


def set_action_required(
    session: Session, actor: Actor, task: Task, case: Case, org_ref: str, required: bool
) -> None:
    access.require_case_permission(session, actor, case, "manageTask")
    org = _org(session, org_ref)
    share = next((s for s in _task_shares(session, task) if s.org_id == org.id), None)
    if share is None:
        raise BadRequest(f"The task is not shared with organisation {org.name}")
    row = _shared_task(session, share, task)
    if row is None:
        row = SharedTask(share_id=share.id, task_id=task.id)
        session.add(row)
    row.action_required = required
    _record(
        session,
        actor,
        case,
        {"task": task.id, "organisation": org.name, "actionRequired": required},
    )


# --------------------------------------------------------------------------- observables


def get_case_observable(session: Session, actor: Actor, ref: str) -> tuple[Observable, Case]:
    observable_id = parse_id(ref)
    row = None
    if observable_id is not None:
        row = session.execute(
            select(Observable, Case)
            .join(Case, Case.id == Observable.case_id)
            .where(Observable.id == observable_id, access.visible_observable_filter(actor))
        ).first()
    if row is None:
        raise missing("Observable", ref)
    return row[0], row[1]


def observable_shares(session: Session, actor: Actor, observable: Observable) -> list[Share]:
    explicit = select(SharedObservable.share_id).where(
        SharedObservable.observable_id == observable.id
    )
    return list(
        session.scalars(
            select(Share)
            .where(
                Share.case_id == observable.case_id,
                Share.owner.is_(False),
                Share.org_id != actor.org_id,
                or_(Share.observable_rule.in_(access.AUTO_SHARE_RULES), Share.id.in_(explicit)),
            )
            .order_by(Share.created_at, Share.id)
        )
    )


def share_observable(
    session: Session, actor: Actor, observable: Observable, case: Case, refs: list[str]
) -> None:
    access.require_case_permission(session, actor, case, PERMISSION)
    for ref in refs:
        org = _org(session, ref)
        if org.id == actor.org_id:
            continue
        share = _case_share_for(session, case, org)
        exists_row = session.scalar(
            select(SharedObservable.id).where(
                SharedObservable.share_id == share.id,
                SharedObservable.observable_id == observable.id,
            )
        )
        if exists_row is None:
            session.add(SharedObservable(share_id=share.id, observable_id=observable.id))
            _record(
                session, actor, case, {"shareObservable": observable.id, "organisation": org.name}
            )


def unshare_observable(
    session: Session, actor: Actor, observable: Observable, case: Case, refs: list[str]
) -> None:
    access.require_case_permission(session, actor, case, PERMISSION)
    for ref in refs:
        org = _org(session, ref)
        share = _case_share_for(session, case, org)
        if share.owner or org.id == actor.org_id:
            raise BadRequest("You cannot remove your own share")
        session.execute(
            delete(SharedObservable).where(
                SharedObservable.share_id == share.id,
                SharedObservable.observable_id == observable.id,
            )
        )
        _record(
            session, actor, case, {"unshareObservable": observable.id, "organisation": org.name}
        )


# --------------------------------------------------------------------------- case merge


def replicate_for_merge(
    session: Session,
    actor: Actor,
    sources: list[Case],
    merged: Case,
    observable_copies: dict[int, int],
) -> None:
    """The merged case is shared as the source cases were: every organisation that shared a
    source case shares the merged one (the first share wins), the tasks shared explicitly
    with an organisation stay shared with it (with their action-required flag), and so do
    the observables (``observable_copies``: source observable id -> merged case's copy)."""
    source_ids = [c.id for c in sources]
    source_shares = session.scalars(
        select(Share).where(Share.case_id.in_(source_ids)).order_by(Share.created_at, Share.id)
    ).all()
    by_org: dict[int, Share] = {}
    for share in source_shares:
        target = access.share_of(session, merged, share.org_id)
        if target is None:
            target = Share(
                case_id=merged.id,
                org_id=share.org_id,
                profile_id=share.profile_id,
                owner=False,
                task_rule=share.task_rule,
                observable_rule=share.observable_rule,
                created_by=actor.login,
                created_at=merged.created_at,
            )
            session.add(target)
            session.flush()
        by_org.setdefault(share.org_id, target)
    new_share = {s.id: by_org[s.org_id].id for s in source_shares}
    _replicate_task_shares(session, list(new_share), new_share)
    _replicate_observable_shares(session, list(new_share), new_share, observable_copies)
    session.flush()


def _replicate_task_shares(
    session: Session, share_ids: list[int], new_share: dict[int, int]
) -> None:
    # The tasks keep their id in a merge: only the share they hang from changes.
    wanted: dict[tuple[int, int], bool] = {}
    for row in session.scalars(select(SharedTask).where(SharedTask.share_id.in_(share_ids))):
        key = (new_share[row.share_id], row.task_id)
        wanted[key] = wanted.get(key, False) or bool(row.action_required)
    for (share_id, task_id), required in wanted.items():
        session.add(SharedTask(share_id=share_id, task_id=task_id, action_required=required))


def _replicate_observable_shares(
    session: Session,
    share_ids: list[int],
    new_share: dict[int, int],
    observable_copies: dict[int, int],
) -> None:
    wanted: set[tuple[int, int]] = set()
    rows = session.scalars(select(SharedObservable).where(SharedObservable.share_id.in_(share_ids)))
    for row in rows:
        copy = observable_copies.get(row.observable_id)
        if copy is not None:
            wanted.add((new_share[row.share_id], copy))
    for share_id, observable_id in wanted:
        session.add(SharedObservable(share_id=share_id, observable_id=observable_id))
