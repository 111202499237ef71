"""Cases (spec §5): creation (numbering, initial values, owner share), updates with the
closing/reopening rules, deletion, owner change and access restriction.

Who sees a case and what a share allows lives in :mod:`propolis.access`; what a new case
holds besides its own row (template tasks and pages, custom fields, shares) is put there by
:mod:`propolis.flows.case_create`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from propolis.access import (
    case_visible,
    get_case,
    require_case_permission,
    require_owner,
    share_of,
)
from propolis.cases.models import Case, CaseLink, CustomEvent, ExternalLink, Share, StatusValue
from propolis.cases.schemas import CaseCreate, CaseUpdate
from propolis.core import events, moves, validate
from propolis.core.db import now_ms, parse_id
from propolis.core.errors import BadRequest, invalid, missing
from propolis.core.schemas import check
from propolis.core.security import Actor
from propolis.fields import metrics
from propolis.fields.models import CustomField, CustomFieldValue
from propolis.fields.service import apply_update
from propolis.orgs.models import Organisation, OrganisationLink
from propolis.orgs.service import SHARING_RULES
from propolis.orgs.service import find as find_org
from propolis.tasks.models import Task, TaskLog
from propolis.users.models import Membership, Profile, User

ACCESS_KINDS = {
    "OrganisationAccessKind",
    "UserAccessKind",
    "ExternalAccessKind",
    "AllExternalAccessKind",
}
OWNER_PROFILE = "org-admin"
DEFAULT_SHARE_PROFILE = "analyst"
# Organisation links that share every new case automatically (spec §18.2).
AUTO_SHARE_LINKS = {"supervised": "analyst", "notify": "read-only"}


# --------------------------------------------------------------------------- touch


def touch_case(session: Session, actor: Actor, case: Case) -> None:
    """Something in the case changed: it shows the caller and now as its last update."""
    case.touch(actor.login)


def record_case_update(session: Session, actor: Actor, case: Case, details: dict[str, Any]) -> None:
    """A change of the case itself: its last update, and its one audit event."""
    touch_case(session, actor, case)
    events.record(
        session, actor.login, actor.org_id, "update", "Case", case.id, details, root_id=case.id
    )


# --------------------------------------------------------------------------- value checks


def status_stages(session: Session) -> dict[str, str]:
    """Configured case statuses and their stage."""
    rows = session.execute(
        select(StatusValue.value, StatusValue.stage).where(StatusValue.kind == "case")
    )
    return dict(rows.all())


def _stage_of(session: Session, status: str) -> str:
    stages = status_stages(session)
    if status not in stages:
        raise invalid("status", f"must be one of {', '.join(sorted(stages))}", status)
    return stages[status]


def apply_status(case: Case, status: str, stage: str, at: int) -> None:
    """Status change with its stage dates: first InProgress, closing and reopening."""
    was_closed = case.stage == "Closed"
    case.status, case.stage = status, stage
    if stage == "InProgress" and case.in_progress_date is None:
        case.in_progress_date = at
    if stage == "Closed" and not was_closed:
        case.closed_date = at
        if case.end_date is None:
            case.end_date = at
    elif stage != "Closed" and was_closed:
        case.closed_date = None
        case.end_date = None


def find_member(session: Session, login: Any, org_ids: list[int]) -> User:
    """A user (by login) who belongs to one of the organisations; 404 otherwise."""
    if not isinstance(login, str) or not login.strip():
        raise invalid("assignee", "must be a user login", login)
    user = session.scalar(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(User.login == login.strip().lower(), Membership.org_id.in_(org_ids))
        .limit(1)
    )
    if user is None:
        raise missing("User", login)
    return user


def parse_access(session: Session, value: Any) -> tuple[str, list[str]]:
    """``{"_kind": ..., "users": [login]}`` -> (kind, logins); listed users must exist."""
    if not isinstance(value, dict):
        raise invalid("access", "must be an object with _kind", value)
    kind = validate.one_of(value, "_kind", ACCESS_KINDS, "OrganisationAccessKind")
    if kind in ("OrganisationAccessKind", "AllExternalAccessKind"):
        return kind, []
    users = value.get("users") or []
    if not isinstance(users, list) or not all(isinstance(u, str) and u for u in users):
        raise invalid("access.users", "must be a list of logins", users)
    logins: list[str] = []
    for login in users:
        user = session.scalar(select(User).where(User.login == login.lower()))
        if user is None:
            raise missing("User", login)
        if user.login not in logins:
            logins.append(user.login)
    return kind, logins


def _rule(data: dict[str, Any], name: str) -> str | None:
    return validate.one_of(data, name, SHARING_RULES)


def list_of_objects(data: dict[str, Any], name: str) -> list[dict[str, Any]]:
    value = data.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise invalid(name, "must be a list of objects", value)
    return value


# --------------------------------------------------------------------------- create


def require_create(actor: Actor) -> None:
    actor.require("manageCase/create")
    if actor.in_admin_org:
        raise BadRequest("The admin organisation cannot hold cases")


def create_case(
    session: Session, actor: Actor, data: dict[str, Any], *, template: Any = None, alert: Any = None
) -> Case:
    """Create the case row in the caller's organisation (spec §5.3) with its owner share:
    values from the input, else the case template's (``template``), else defaults. ``alert``
    (when the case is promoted from an alert) fills the alert metric dates. What a case
    holds besides (tasks, pages, custom fields, shares) is added by ``flows.case_create``."""
    require_create(actor)
    data = check(CaseCreate, data).known()
    now = now_ms()
    case = Case(
        org_id=actor.org_id,
        created_by=actor.login,
        created_at=now,
        new_date=now,
        **_initial_values(session, actor, data, template, alert, now),
    )
    status = data.get("status") or "New"
    apply_status(case, status, _stage_of(session, status), now)
    case.number = _next_number(session, actor.org_id)
    session.add(case)
    session.flush()
    add_share(session, case, actor.org_id, OWNER_PROFILE, owner=True, actor=actor)
    events.record(
        session,
        actor.login,
        actor.org_id,
        "create",
        "Case",
        case.id,
        {"title": case.title, "number": case.number},
        root_id=case.id,
    )
    return case


def _initial_values(
    session: Session, actor: Actor, data: dict[str, Any], template: Any, alert: Any, now: int
) -> dict[str, Any]:
    """Column values of a new case: input (checked by the schema), else template, else
    defaults."""

    def default(attr: str, fallback: Any) -> Any:
        value = getattr(template, attr, None) if template is not None else None
        return fallback if value is None else value

    def sent(key: str, attr: str, fallback: Any) -> Any:
        value = data.get(key)
        return default(attr, fallback) if value is None else value

    title = data["title"]
    prefix = (default("title_prefix", "") or "").strip()
    if prefix:
        title = f"{prefix} {title}"
        if len(title) > 512:
            raise invalid("title", "with the template prefix it exceeds 512 characters", title)
    tags = list(data.get("tags") or [])
    for tag in default("tags", []):
        if tag not in tags:
            tags.append(tag)
    values: dict[str, Any] = {
        "title": title,
        "description": data["description"],
        "severity": sent("severity", "severity", 2),
        "start_date": _start_date(data, alert, now),
        "end_date": data.get("endDate"),
        "tags": tags,
        "flag": sent("flag", "flag", False),
        "tlp": sent("tlp", "tlp", 2),
        "pap": sent("pap", "pap", 2),
        "summary": data.get("summary") or default("summary", None),
        "case_template": template.name if template is not None else None,
        "task_rule": data.get("taskRule"),
        "observable_rule": data.get("observableRule"),
        "access_kind": "OrganisationAccessKind",
        "access_users": [],
    }
    if data.get("assignee") is not None:
        values["assignee"] = find_member(session, data["assignee"], [actor.org_id]).login
    if data.get("access") is not None:
        values["access_kind"], values["access_users"] = parse_access(session, data["access"])
    if alert is not None:
        values.update(
            alert_date=alert.date,
            alert_new_date=alert.new_date,
            alert_in_progress_date=alert.in_progress_date,
            alert_imported_date=alert.imported_date or now,
        )
    return values


def _start_date(data: dict[str, Any], alert: Any, now: int) -> int:
    start = data.get("startDate")
    if start is not None:
        return start
    return alert.date if alert is not None else now


def _next_number(session: Session, org_id: int) -> int:
    """Case numbers count per owner organisation. Locking the organisation row serialises
    concurrent creations on PostgreSQL (SQLite writers are serialised anyway)."""
    session.execute(select(Organisation.id).where(Organisation.id == org_id).with_for_update())
    last = session.scalar(select(func.max(Case.number)).where(Case.org_id == org_id))
    return (last or 0) + 1


def auto_share(session: Session, actor: Actor, case: Case) -> None:
    """Share a new case with the organisations whose link with the owner shares every new
    case (``supervised``: analyst, ``notify``: read-only), unless already shared."""
    links = session.execute(
        select(OrganisationLink.to_org_id, OrganisationLink.link_type).where(
            OrganisationLink.from_org_id == actor.org_id,
            OrganisationLink.link_type.in_(AUTO_SHARE_LINKS),
        )
    ).all()
    for org_id, link_type in links:
        if share_of(session, case, org_id) is None:
            add_share(session, case, org_id, AUTO_SHARE_LINKS[link_type], actor=actor)


def add_share(
    session: Session,
    case: Case,
    org_id: int,
    profile_name: str,
    *,
    actor: Actor,
    owner: bool = False,
    task_rule: str | None = None,
    observable_rule: str | None = None,
) -> Share:
    org = session.get(Organisation, org_id)
    profile = session.scalar(select(Profile).where(Profile.name == profile_name))
    if profile is None:
        raise missing("Profile", profile_name)
    share = Share(
        case_id=case.id,
        org_id=org_id,
        profile_id=profile.id,
        owner=owner,
        task_rule=task_rule or case.task_rule or org.task_rule,
        observable_rule=observable_rule or case.observable_rule or org.observable_rule,
        created_by=actor.login,
        created_at=now_ms(),
    )
    session.add(share)
    session.flush()
    return share


# --------------------------------------------------------------------------- update

# Fields that ``null`` removes (spec §5.5); other fields reject ``null``.
CLEARABLE = {"summary": "summary", "assignee": "assignee", "impactStatus": "impact_status"}


def update_case(session: Session, actor: Actor, case: Case, data: dict[str, Any]) -> None:
    """PATCH semantics (spec §5.5): only the given fields change; ``null`` clears the
    optional ones. The event lists what changed."""
    require_case_permission(session, actor, case, "manageCase/update")
    # The schema refuses a null for the fields a case cannot be without; custom fields are
    # read from what was sent (dotted "customFields.<name>" keys included).
    values = check(CaseUpdate, data).known()
    now = now_ms()
    changes: dict[str, Any] = {}
    _update_scalars(session, case, values, changes)
    _update_tags(case, values, changes)
    _update_clearable(session, actor, case, values, changes)
    if "status" in values:
        _update_status(session, actor, case, values["status"], changes, now)
    if "endDate" in values:  # after the status: an explicit endDate wins over the automatic one
        case.end_date = changes["endDate"] = values["endDate"]
    _update_custom_fields(session, actor, case, data, changes)
    if changes.get("stage") == "Closed":
        _check_mandatory_fields(session, case)
    if changes:
        case.touch(actor.login, now)
        events.record(
            session, actor.login, actor.org_id, "update", "Case", case.id, changes, case.id
        )
    if changes.get("stage") == "Closed":
        close_open_tasks(session, actor, case, now)


def close_open_tasks(session: Session, actor: Actor, case: Case, at: int) -> None:
    """A closed case leaves no task behind in anyone's queue (TheHive's rule): a task in
    progress is completed, one never started is cancelled - and so is a mandatory task
    without a log, which may only complete with one (tasks.service). One update event per
    task, in the case's transaction."""
    open_tasks = session.scalars(
        select(Task)
        .where(Task.case_id == case.id, Task.status.in_(("Waiting", "InProgress")))
        .order_by(Task.id)
    ).all()
    if not open_tasks:
        return
    logged = set(
        session.scalars(
            select(TaskLog.task_id).where(TaskLog.task_id.in_([t.id for t in open_tasks]))
        )
    )
    for task in open_tasks:
        done = task.status == "InProgress" and (not task.mandatory or task.id in logged)
        task.status = "Completed" if done else "Cancel"
        details: dict[str, Any] = {"status": task.status}
        if task.start_date is None:  # as an ended task's dates are everywhere else
            task.start_date = details["startDate"] = at
        if task.end_date is None:
            task.end_date = details["endDate"] = at
        task.touch(actor.login, at)
        events.record(
            session, actor.login, actor.org_id, "update", "Task", task.id, details, case.id
        )


# API name -> column of the fields an update sets as sent.
SCALARS: dict[str, str] = {
    "title": "title",
    "description": "description",
    "severity": "severity",
    "startDate": "start_date",
    "flag": "flag",
    "tlp": "tlp",
    "pap": "pap",
    "taskRule": "task_rule",
    "observableRule": "observable_rule",
}


def _update_scalars(
    session: Session, case: Case, data: dict[str, Any], changes: dict[str, Any]
) -> None:
    for name, column in SCALARS.items():
        if name in data:
            value = data[name]
            if getattr(case, column) != value:
                setattr(case, column, value)
                changes[name] = value


def _update_tags(case: Case, data: dict[str, Any], changes: dict[str, Any]) -> None:
    tags = validate.apply_tag_changes(list(case.tags or []), data)
    if tags is not None and tags != case.tags:
        case.tags = changes["tags"] = tags


def _update_clearable(
    session: Session, actor: Actor, case: Case, data: dict[str, Any], changes: dict[str, Any]
) -> None:
    if "summary" in data:
        case.summary = changes["summary"] = data["summary"]
    if "impactStatus" in data:
        case.impact_status = changes["impactStatus"] = data["impactStatus"]
    if "assignee" in data:
        value = data["assignee"]
        if value is not None:
            value = find_member(session, value, _share_org_ids(session, case)).login
        case.assignee = changes["assignee"] = value


def _share_org_ids(session: Session, case: Case) -> list[int]:
    return list(session.scalars(select(Share.org_id).where(Share.case_id == case.id)))


def _update_status(
    session: Session,
    actor: Actor,
    case: Case,
    status: str,
    changes: dict[str, Any],
    now: int,
) -> None:
    stage = _stage_of(session, status)
    if status == case.status:
        return
    if case.stage == "Closed" and stage != "Closed":
        require_case_permission(session, actor, case, "manageCase/reopen")
    apply_status(case, status, stage, now)
    changes.update(status=status, stage=stage)


def _update_custom_fields(
    session: Session, actor: Actor, case: Case, data: dict[str, Any], changes: dict[str, Any]
) -> None:
    changes.update(apply_update(session, actor, data, case_id=case.id))
    changes.update(metrics.apply_update(session, data, case_id=case.id))


def _check_mandatory_fields(session: Session, case: Case) -> None:
    """A case closes only once its mandatory custom fields have a value."""
    empty = session.scalars(
        select(CustomField.name)
        .join(CustomFieldValue, CustomFieldValue.field_id == CustomField.id)
        .where(
            CustomFieldValue.case_id == case.id,
            CustomField.mandatory.is_(True),
            CustomFieldValue.value_string.is_(None),
            CustomFieldValue.value_text.is_(None),
            CustomFieldValue.value_number.is_(None),
            CustomFieldValue.value_boolean.is_(None),
        )
        .order_by(CustomField.name)
    ).all()
    if empty:
        raise BadRequest(
            f"Mandatory custom fields must have a value to close the case: {', '.join(empty)}"
        )


def bulk_update(session: Session, actor: Actor, data: dict[str, Any]) -> list[Case]:
    ids = validate.id_list(data, "ids")
    fields = {k: v for k, v in data.items() if k != "ids"}
    cases = [get_case(session, actor, ref) for ref in ids]
    for case in cases:
        update_case(session, actor, case, fields)
    return cases


def apply_template(
    session: Session, actor: Actor, case: Case, template: Any, flags: dict[str, bool]
) -> None:
    """The case-level part of applying a template afterwards (spec §5.12): each ``update*``
    flag copies one aspect of the template into the case."""
    changes: dict[str, Any] = {"caseTemplate": template.name}
    prefix = (template.title_prefix or "").strip()
    if flags["updateTitlePrefix"] and prefix and not case.title.startswith(prefix):
        case.title = changes["title"] = f"{prefix} {case.title}"[:512]
    if flags["updateDescription"] and template.description:
        case.description = changes["description"] = template.description
    if flags["updateTags"]:
        tags = list(case.tags or [])
        tags.extend(t for t in template.tags or [] if t not in tags)
        case.tags = changes["tags"] = tags
    for flag, attr in (
        ("updateSeverity", "severity"),
        ("updateFlag", "flag"),
        ("updateTlp", "tlp"),
        ("updatePap", "pap"),
    ):
        value = getattr(template, attr)
        if flags[flag] and value is not None:
            setattr(case, attr, value)
            changes[attr] = value
    if flags["updateCustomFields"]:
        changes["customFields"] = True
    case.case_template = template.name
    record_case_update(session, actor, case, changes)


def merge_alert(session: Session, actor: Actor, case: Case, alert: Any) -> None:
    """The case-level part of merging an alert into the case (spec §4.8): the alert's tags
    join the case's and its description is appended as a section."""
    case.tags = list(dict.fromkeys([*case.tags, *alert.tags]))
    case.description = (
        f"{case.description}\n  \n#### Merged with alert #{alert.source_ref} {alert.title}"
        f"\n\n{alert.description.strip()}"
    )
    case.touch(actor.login)
    events.record(
        session,
        actor.login,
        actor.org_id,
        "merge",
        "Case",
        case.id,
        {"alert": alert.eid, "tags": case.tags},
        root_id=case.id,
    )


def absorb(session: Session, actor: Actor, source_ids: list[int], target: Case) -> None:
    """What belongs to the cases themselves follows a merge into ``target``: custom timeline
    events, external links and links to other cases. Links between the merged cases
    disappear; a link both sources had is kept once."""
    moves.move_to_case(session, actor, CustomEvent, "CustomEvent", source_ids, target)
    external = session.scalars(
        select(ExternalLink).where(ExternalLink.case_id.in_(source_ids)).order_by(ExternalLink.id)
    ).all()
    kept: set[tuple[str, str]] = set()
    for link in external:
        if (link.url, link.type) in kept:
            session.delete(link)
        else:
            kept.add((link.url, link.type))
            link.case_id = target.id
    merged = {*source_ids, target.id}
    session.execute(
        delete(CaseLink).where(CaseLink.case_id.in_(merged), CaseLink.linked_case_id.in_(merged))
    )
    links = session.scalars(
        select(CaseLink)
        .where(or_(CaseLink.case_id.in_(source_ids), CaseLink.linked_case_id.in_(source_ids)))
        .order_by(CaseLink.id)
    ).all()
    seen: set[tuple[int, int, str]] = set()
    for link in links:
        source = target.id if link.case_id in merged else link.case_id
        linked = target.id if link.linked_case_id in merged else link.linked_case_id
        if (source, linked, link.type) in seen:
            session.delete(link)
        else:
            seen.add((source, linked, link.type))
            link.case_id, link.linked_case_id = source, linked
    session.flush()


def remove_cases(
    session: Session, actor: Actor, cases: list[Case], details: dict[str, Any]
) -> None:
    """Delete case rows (the caller checked the rights): the database removes what hangs
    below them (foreign keys cascade); linked alerts lose their ``caseId`` (SET NULL)."""
    for case in cases:
        events.record(
            session,
            actor.login,
            actor.org_id,
            "delete",
            "Case",
            case.id,
            {"title": case.title, "number": case.number, **details},
            root_id=case.id,
        )
        session.delete(case)
    session.flush()


# --------------------------------------------------------------------------- delete


def delete_case(session: Session, actor: Actor, case: Case) -> None:
    """The database removes everything below the case (foreign keys cascade); linked alerts
    lose their ``caseId`` (SET NULL)."""
    require_owner(session, actor, case, "delete it")
    require_case_permission(session, actor, case, "manageCase/delete")
    remove_cases(session, actor, [case], {})


# --------------------------------------------------------------------------- owner, access


def change_owner(session: Session, actor: Actor, case: Case, data: dict[str, Any]) -> None:
    """Hand the case over to another (linked) organisation (spec §5.13). The old owner keeps
    a share with ``keepProfile``, or loses access when it is absent."""
    ref = validate.nonempty(data, "organisation", max_len=64)
    target = find_org(session, ref)
    if target is None:
        raise missing("Organisation", ref)
    old = require_owner(session, actor, case, "change its owner")
    require_case_permission(session, actor, case, "manageCase/changeOwnership")
    keep = validate.string(data, "keepProfile")
    task_rule, observable_rule = _rule(data, "taskRule"), _rule(data, "observableRule")
    if target.id == old.org_id:
        return  # already the owner: nothing to do
    if not orgs_linked(session, actor.org_id, target.id):
        raise BadRequest(f"Organisation {target.name} is not linked to {actor.org_name}")
    keep_profile = profile_named(session, keep) if keep else None
    owner_profile = profile_named(session, OWNER_PROFILE)
    new = share_of(session, case, target.id)
    if new is None:
        new = add_share(session, case, target.id, OWNER_PROFILE, actor=actor)
    new.owner, new.profile_id = True, owner_profile.id
    new.task_rule = task_rule or new.task_rule
    new.observable_rule = observable_rule or new.observable_rule
    new.touch(actor.login)
    if keep_profile is None:
        session.delete(old)
    else:
        old.owner, old.profile_id = False, keep_profile.id
        old.touch(actor.login)
    session.flush()
    # Numbers count per owner organisation: the case takes the next one of its new owner.
    number = _next_number(session, target.id)
    case.org_id, case.number = target.id, number
    record_case_update(session, actor, case, {"owner": target.name, "keepProfile": keep})


def orgs_linked(session: Session, from_org: int, to_org: int) -> bool:
    return (
        session.scalar(
            select(OrganisationLink.id).where(
                OrganisationLink.from_org_id == from_org, OrganisationLink.to_org_id == to_org
            )
        )
        is not None
    )


def profile_named(session: Session, name: str) -> Profile:
    profile = session.scalar(select(Profile).where(Profile.name == name))
    if profile is None:
        raise missing("Profile", name)
    return profile


def set_access(session: Session, actor: Actor, case: Case, data: dict[str, Any]) -> None:
    """Restrict the case to listed users, or make it visible to the organisation again."""
    require_case_permission(session, actor, case, "manageCaseAccess/restrict")
    if "access" not in data:
        raise invalid("access", "is required", None)
    kind, users = parse_access(session, data["access"])
    if (case.access_kind, list(case.access_users or [])) == (kind, users):
        return
    case.access_kind, case.access_users = kind, users
    record_case_update(session, actor, case, {"access": {"_kind": kind, "users": users}})


def bulk_set_access(session: Session, actor: Actor, data: dict[str, Any]) -> None:
    for ref in validate.id_list(data, "ids"):
        set_access(session, actor, get_case(session, actor, ref), data)


# --------------------------------------------------------------------------- custom fields


def delete_custom_field_value(session: Session, actor: Actor, ref: str) -> None:
    """Remove one custom field value from a case (``DELETE /case/customField/{id}``)."""
    value_id = parse_id(ref)
    row = None
    if value_id is not None:
        row = session.execute(
            select(CustomFieldValue, Case)
            .join(Case, Case.id == CustomFieldValue.case_id)
            .where(
                CustomFieldValue.id == value_id,
                case_visible(actor, Case.id),
            )
        ).first()
    if row is None:
        raise missing("Custom field value", ref)
    value, case = row
    require_case_permission(session, actor, case, "manageCase/update")
    session.delete(value)
    record_case_update(session, actor, case, {"removeCustomField": value.field_id})
