"""Cases (spec §5): visibility through shares, creation (numbering, templates, initial shares),
updates with the closing/reopening rules, deletion, owner change and access restriction.

Visibility rule: a case is visible to every organisation holding a :class:`Share` row for it
(the owner has one too), unless the case is restricted (``UserAccessKind``) to listed users.
Tasks and observables of a case shared with another organisation are visible there according
to the share's ``taskRule`` / ``observableRule`` (see :func:`visible_task_filter`).

Other domains are imported inside functions: they import this module for ``get_case``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from propolis.cases.models import Case, Share, SharedObservable, SharedTask, StatusValue
from propolis.core import events, validate
from propolis.core.db import MAX_ID, now_ms, parse_id
from propolis.core.errors import AuthorizationError, BadRequest, invalid, missing
from propolis.core.query import json_list_contains
from propolis.core.security import Actor
from propolis.observables.models import Observable
from propolis.orgs.models import Organisation, OrganisationLink
from propolis.orgs.service import SHARING_RULES
from propolis.tasks.models import Task
from propolis.users.models import Membership, Profile, User

IMPACT_STATUSES = {"NotApplicable", "WithImpact", "NoImpact"}
ACCESS_KINDS = {
    "OrganisationAccessKind",
    "UserAccessKind",
    "ExternalAccessKind",
    "AllExternalAccessKind",
}
# Only this kind hides the case from members of the organisations it is shared with.
RESTRICTED_ACCESS = "UserAccessKind"
AUTO_SHARE_RULES = ("autoShare", "all")
OWNER_PROFILE = "org-admin"
DEFAULT_SHARE_PROFILE = "analyst"
# Organisation links that share every new case automatically (spec §18.2).
AUTO_SHARE_LINKS = {"supervised": "analyst", "notify": "read-only"}


# --------------------------------------------------------------------------- visibility


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


def own_share(session: Session, actor: Actor, case: Case) -> Share | None:
    return share_of(session, case, actor.org_id)


def share_of(session: Session, case: Case, org_id: int) -> Share | None:
    return session.scalar(select(Share).where(Share.case_id == case.id, Share.org_id == org_id))


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


def touch_case(session: Session, actor: Actor, case: Case) -> None:
    """Something in the case changed: it shows the caller and now as its last update."""
    case.touch(actor.login)


# --------------------------------------------------------------------------- value checks


def status_stages(session: Session) -> dict[str, str]:
    """Configured case statuses and their stage."""
    rows = session.execute(
        select(StatusValue.value, StatusValue.stage).where(StatusValue.kind == "case")
    )
    return dict(rows.tuples().all())


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


def _list_of_objects(data: dict[str, Any], name: str) -> list[dict[str, Any]]:
    value = data.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise invalid(name, "must be a list of objects", value)
    return value


# --------------------------------------------------------------------------- create


def create_case(session: Session, actor: Actor, data: dict[str, Any], *, alert: Any = None) -> Case:
    """Create a case in the caller's organisation (spec §5.3), with the case template's
    defaults, tasks, custom fields and pages, and its initial shares. ``alert`` (when the
    case is promoted from an alert) fills the alert metric dates."""
    actor.require("manageCase/create")
    if actor.in_admin_org:
        raise BadRequest("The admin organisation cannot hold cases")
    tasks = _list_of_objects(data, "tasks")
    pages = _list_of_objects(data, "pages")
    sharing = _list_of_objects(data, "sharingParameters")
    template = _template_for(session, actor, data)
    now = now_ms()
    case = Case(
        org_id=actor.org_id,
        created_by=actor.login,
        created_at=now,
        new_date=now,
        **_initial_values(session, actor, data, template, alert, now),
    )
    status = validate.nonempty(data, "status", max_len=64, req=False) or "New"
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
    _fill_from_template(session, actor, case, template)
    _fill_from_input(session, actor, case, data, tasks, pages)
    _initial_shares(session, actor, case, sharing)
    return case


def _template_for(session: Session, actor: Actor, data: dict[str, Any]) -> Any:
    ref = validate.string(data, "caseTemplate")
    if not ref:
        return None
    from propolis.casetemplates.service import get_template

    return get_template(session, actor, ref)


def _initial_values(
    session: Session, actor: Actor, data: dict[str, Any], template: Any, alert: Any, now: int
) -> dict[str, Any]:
    """Validated column values of a new case: input, else template, else defaults."""

    def default(attr: str, fallback: Any) -> Any:
        value = getattr(template, attr, None) if template is not None else None
        return fallback if value is None else value

    title = validate.nonempty(data, "title", max_len=512)
    prefix = (default("title_prefix", "") or "").strip()
    if prefix:
        title = f"{prefix} {title}"
        if len(title) > 512:
            raise invalid("title", "with the template prefix it exceeds 512 characters", title)
    tags = validate.tags(data) or []
    for tag in default("tags", []):
        if tag not in tags:
            tags.append(tag)
    values: dict[str, Any] = {
        "title": title,
        "description": validate.string(data, "description", req=True),
        "severity": validate.severity(data, default("severity", 2)),
        "start_date": _start_date(data, alert, now),
        "end_date": validate.date(data, "endDate"),
        "tags": tags,
        "flag": validate.boolean(data, "flag", default("flag", False)),
        "tlp": validate.tlp(data, default("tlp", 2)),
        "pap": validate.pap(data, default("pap", 2)),
        "summary": validate.string(data, "summary") or default("summary", None),
        "case_template": template.name if template is not None else None,
        "task_rule": _rule(data, "taskRule"),
        "observable_rule": _rule(data, "observableRule"),
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
    start = validate.date(data, "startDate")
    if start is not None:
        return start
    return alert.date if alert is not None else now


def _next_number(session: Session, org_id: int) -> int:
    """Case numbers count per owner organisation. Locking the organisation row serialises
    concurrent creations on PostgreSQL (SQLite writers are serialised anyway)."""
    session.execute(select(Organisation.id).where(Organisation.id == org_id).with_for_update())
    last = session.scalar(select(func.max(Case.number)).where(Case.org_id == org_id))
    return (last or 0) + 1


def task_input(task: Any) -> dict[str, Any]:
    """A template task as the InputTask that recreates it in a case."""
    data = {
        "title": task.title,
        "group": task.group,
        "description": task.description,
        "flag": task.flag,
        "order": task.order,
        "mandatory": task.mandatory,
        "assignee": task.assignee,
        "dueDate": task.due_date,
    }
    return {k: v for k, v in data.items() if v is not None}


def page_input(page: Any) -> dict[str, Any]:
    return {
        "title": page.title,
        "content": page.content,
        "category": page.category,
        "order": page.order,
    }


def _fill_from_template(session: Session, actor: Actor, case: Case, template: Any) -> None:
    if template is None:
        return
    from propolis.casetemplates.service import template_page_templates, template_tasks
    from propolis.fields.service import copy_values
    from propolis.pages.service import create_page
    from propolis.tasks.service import create_task

    for task in template_tasks(session, template):
        create_task(session, actor, case=case, data=task_input(task))
    copy_values(session, actor, "case_template", template.id, "case", case.id)
    for page_template in template_page_templates(session, template):
        create_page(session, actor, case, page_input(page_template))


def _fill_from_input(
    session: Session,
    actor: Actor,
    case: Case,
    data: dict[str, Any],
    tasks: list[dict[str, Any]],
    pages: list[dict[str, Any]],
) -> None:
    if tasks:
        from propolis.tasks.service import create_task

        for task in tasks:
            create_task(session, actor, case=case, data=task)
    if data.get("customFields") is not None:
        from propolis.fields.service import set_custom_fields

        # Template values were copied first; input values override them.
        set_custom_fields(
            session, actor, case_id=case.id, value=data["customFields"], replace=False
        )
    if pages:
        from propolis.pages.service import create_page

        for page in pages:
            create_page(session, actor, case, page)


def _initial_shares(
    session: Session, actor: Actor, case: Case, sharing: list[dict[str, Any]]
) -> None:
    """``sharingParameters`` of the input, then the organisations whose link with the owner
    shares every new case (``supervised``: analyst, ``notify``: read-only)."""
    if sharing:
        from propolis.cases.shares import share_case

        share_case(session, actor, case, sharing)
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
NOT_NULL = (
    "title",
    "description",
    "severity",
    "startDate",
    "tags",
    "flag",
    "tlp",
    "pap",
    "status",
)


def update_case(session: Session, actor: Actor, case: Case, data: dict[str, Any]) -> None:
    """PATCH semantics (spec §5.5): only the given fields change; ``null`` clears the
    optional ones. The event lists what changed."""
    require_case_permission(session, actor, case, "manageCase/update")
    for name in NOT_NULL:
        if name in data and data[name] is None:
            raise invalid(name, "cannot be null", None)
    now = now_ms()
    changes: dict[str, Any] = {}
    _update_scalars(session, case, data, changes)
    _update_tags(case, data, changes)
    _update_clearable(session, actor, case, data, changes)
    if "status" in data:
        _update_status(session, actor, case, data, changes, now)
    if "endDate" in data:  # after the status: an explicit endDate wins over the automatic one
        case.end_date = changes["endDate"] = validate.date(data, "endDate")
    _update_custom_fields(session, actor, case, data, changes)
    if changes.get("stage") == "Closed":
        _check_mandatory_fields(session, case)
    if changes:
        case.touch(actor.login, now)
        events.record(
            session, actor.login, actor.org_id, "update", "Case", case.id, changes, case.id
        )


# API name -> (column, reader of the validated value).
SCALARS: dict[str, tuple[str, Any]] = {
    "title": ("title", lambda d: validate.nonempty(d, "title", max_len=512)),
    "description": ("description", lambda d: validate.string(d, "description", req=True)),
    "severity": ("severity", validate.severity),
    "startDate": ("start_date", lambda d: validate.date(d, "startDate")),
    "flag": ("flag", lambda d: validate.boolean(d, "flag")),
    "tlp": ("tlp", validate.tlp),
    "pap": ("pap", validate.pap),
    "taskRule": ("task_rule", lambda d: _rule(d, "taskRule")),
    "observableRule": ("observable_rule", lambda d: _rule(d, "observableRule")),
}


def _update_scalars(
    session: Session, case: Case, data: dict[str, Any], changes: dict[str, Any]
) -> None:
    for name, (column, read) in SCALARS.items():
        if name in data:
            value = read(data)
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
        case.summary = changes["summary"] = validate.string(data, "summary")
    if "impactStatus" in data:
        value = validate.one_of(data, "impactStatus", IMPACT_STATUSES)
        case.impact_status = changes["impactStatus"] = value
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
    data: dict[str, Any],
    changes: dict[str, Any],
    now: int,
) -> None:
    status = validate.nonempty(data, "status", max_len=64)
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
    from propolis.fields.service import apply_update

    changes.update(apply_update(session, actor, data, case_id=case.id))


def _check_mandatory_fields(session: Session, case: Case) -> None:
    """A case closes only once its mandatory custom fields have a value."""
    from propolis.fields.models import CustomField, CustomFieldValue

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


# --------------------------------------------------------------------------- delete


def delete_case(session: Session, actor: Actor, case: Case) -> None:
    """The database removes everything below the case (foreign keys cascade); linked alerts
    lose their ``caseId`` (SET NULL)."""
    require_owner(session, actor, case, "delete it")
    require_case_permission(session, actor, case, "manageCase/delete")
    events.record(
        session,
        actor.login,
        actor.org_id,
        "delete",
        "Case",
        case.id,
        {"title": case.title, "number": case.number},
        root_id=case.id,
    )
    session.delete(case)
    session.flush()


# --------------------------------------------------------------------------- owner, access


def change_owner(session: Session, actor: Actor, case: Case, data: dict[str, Any]) -> None:
    """Hand the case over to another (linked) organisation (spec §5.13). The old owner keeps
    a share with ``keepProfile``, or loses access when it is absent."""
    from propolis.orgs.service import find as find_org

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
    case.touch(actor.login)
    events.record(
        session,
        actor.login,
        actor.org_id,
        "update",
        "Case",
        case.id,
        {"owner": target.name, "keepProfile": keep},
        case.id,
    )


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
    case.touch(actor.login)
    events.record(
        session,
        actor.login,
        actor.org_id,
        "update",
        "Case",
        case.id,
        {"access": {"_kind": kind, "users": users}},
        case.id,
    )


def bulk_set_access(session: Session, actor: Actor, data: dict[str, Any]) -> None:
    for ref in validate.id_list(data, "ids"):
        set_access(session, actor, get_case(session, actor, ref), data)


# --------------------------------------------------------------------------- custom fields


def delete_custom_field_value(session: Session, actor: Actor, ref: str) -> None:
    """Remove one custom field value from a case (``DELETE /case/customField/{id}``)."""
    from propolis.fields.models import CustomFieldValue

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
    case.touch(actor.login)
    events.record(
        session,
        actor.login,
        actor.org_id,
        "update",
        "Case",
        case.id,
        {"removeCustomField": value.field_id},
        root_id=case.id,
    )
