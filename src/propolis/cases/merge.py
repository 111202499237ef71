"""Operations that reorganise cases: merging cases (spec §5.7), unlinking an alert (§5.8),
merging similar observables (§5.9) and applying a case template afterwards (§5.12).

Merging moves the children rows of the source cases to the new case with set-based
UPDATEs (tasks, pages, procedures, comments, attachments, custom events, links, alerts):
their identity and history stay intact. Observables go through the observables service so
that duplicates are merged instead of copied twice.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from propolis.cases import service
from propolis.cases.models import Case, CaseLink, CustomEvent, ExternalLink, Share
from propolis.core import events, validate
from propolis.core.errors import BadRequest, invalid, missing
from propolis.core.security import Actor


def merge_cases(session: Session, actor: Actor, refs: list[str]) -> Case:
    refs = [r.strip() for r in refs if r.strip()]
    cases: list[Case] = []
    for ref in refs:
        case = service.get_case(session, actor, ref)
        if case not in cases:
            cases.append(case)
    if len(cases) < 2:
        raise BadRequest("At least two different cases are needed to merge")
    for case in cases:
        service.require_owner(session, actor, case, "merge it")
        service.require_case_permission(session, actor, case, "manageCase/merge")
    merged = service.create_case(session, actor, _merged_input(cases))
    source_ids = [c.id for c in cases]
    _move_children(session, source_ids, merged.id)
    _copy_observables(session, actor, cases, merged)
    _copy_custom_fields(session, actor, cases, merged)
    _replicate_shares(session, actor, cases, merged)
    events.record(
        session,
        actor.login,
        actor.org_id,
        "merge",
        "Case",
        merged.id,
        {"from": [c.number for c in cases], "title": merged.title},
        root_id=merged.id,
    )
    for case in cases:
        events.record(
            session,
            actor.login,
            actor.org_id,
            "delete",
            "Case",
            case.id,
            {"title": case.title, "number": case.number, "mergedInto": merged.id},
            root_id=case.id,
        )
        session.delete(case)
    session.flush()
    return merged


def _merged_input(cases: list[Case]) -> dict[str, Any]:
    tags: list[str] = []
    for case in cases:
        tags.extend(t for t in case.tags or [] if t not in tags)
    summaries = [c.summary for c in cases if c.summary]
    data: dict[str, Any] = {
        "title": " / ".join(c.title for c in cases),
        "description": "\n\n".join(c.description for c in cases),
        "severity": max(c.severity for c in cases),
        "tlp": max(c.tlp for c in cases),
        "pap": max(c.pap for c in cases),
        "startDate": min(c.start_date for c in cases),
        "flag": any(c.flag for c in cases),
        "tags": tags,
        "status": "New",
    }
    if summaries:
        data["summary"] = "\n\n".join(summaries)
    if len(data["title"]) > 512:
        data["title"] = data["title"][:509] + "..."
    return data


def _move_children(session: Session, source_ids: list[int], target_id: int) -> None:
    """Re-parent everything that simply belongs to a case."""
    from propolis.alerts.models import Alert
    from propolis.attachments.models import Attachment
    from propolis.comments.models import Comment
    from propolis.pages.models import Page
    from propolis.procedures.models import Procedure
    from propolis.tasks.models import Task

    for model in (Task, Page, Procedure, Comment, CustomEvent, ExternalLink, Alert):
        session.execute(
            update(model).where(model.case_id.in_(source_ids)).values(case_id=target_id)
        )
    # Case-level attachments move; observable files follow their observable's copy.
    session.execute(
        update(Attachment)
        .where(Attachment.case_id.in_(source_ids), Attachment.for_observable == 0)
        .values(case_id=target_id)
    )
    # Links between the merged cases disappear; links to other cases now start from the new one.
    session.execute(
        delete(CaseLink).where(
            CaseLink.case_id.in_(source_ids), CaseLink.linked_case_id.in_(source_ids)
        )
    )
    for column in (CaseLink.case_id, CaseLink.linked_case_id):
        session.execute(
            update(CaseLink).where(column.in_(source_ids)).values({column.key: target_id})
        )


def _copy_observables(session: Session, actor: Actor, cases: list[Case], merged: Case) -> None:
    from propolis.observables.models import Observable
    from propolis.observables.service import copy_to_case

    observables = session.scalars(
        select(Observable)
        .where(Observable.case_id.in_([c.id for c in cases]))
        .order_by(Observable.created_at, Observable.id)
    ).all()
    for observable in observables:
        copy_to_case(session, actor, observable, merged)


def _copy_custom_fields(session: Session, actor: Actor, cases: list[Case], merged: Case) -> None:
    from propolis.fields.service import copy_values

    # In reverse order so that the first case's values win.
    for case in reversed(cases):
        copy_values(session, actor, "case", case.id, "case", merged.id)


def _replicate_shares(session: Session, actor: Actor, cases: list[Case], merged: Case) -> None:
    """Organisations that shared any source case share the merged one (first share wins)."""
    shares = session.scalars(
        select(Share)
        .where(Share.case_id.in_([c.id for c in cases]), Share.owner.is_(False))
        .order_by(Share.created_at, Share.id)
    ).all()
    for share in shares:
        if service.share_of(session, merged, share.org_id) is not None:
            continue
        session.add(
            Share(
                case_id=merged.id,
                org_id=share.org_id,
                profile_id=share.profile_id,
                owner=False,
                task_rule=share.task_rule,
                observable_rule=share.observable_rule,
                created_by=actor.login,
                created_at=merged.created_at,
            )
        )
    session.flush()


# --------------------------------------------------------------------------- alerts


def unlink_alert(session: Session, actor: Actor, case: Case, alert_ref: str) -> None:
    """The alert is no longer linked to the case and goes back to status New."""
    from propolis.alerts.service import get_alert

    service.require_case_permission(session, actor, case, "manageCase/update")
    alert = get_alert(session, actor, alert_ref)
    if alert.case_id != case.id:
        raise missing(f"Alert {alert.eid} in case", case.eid)
    alert.case_id = None
    alert.imported_date = None
    alert.status = alert.stage = "New"
    alert.touch(actor.login)
    service.touch_case(session, actor, case)
    events.record(
        session,
        actor.login,
        actor.org_id,
        "update",
        "Case",
        case.id,
        {"unlinkAlert": alert.id},
        root_id=case.id,
    )


# --------------------------------------------------------------------------- observables


def merge_similar_observables(session: Session, actor: Actor, case: Case) -> dict[str, int]:
    """Collapse the case's observables with the same fingerprint into the oldest one:
    tags united, ioc/sighted OR-ed, messages concatenated."""
    from propolis.observables.models import Observable

    service.require_case_permission(session, actor, case, "manageObservable")
    observables = session.scalars(
        select(Observable)
        .where(Observable.case_id == case.id)
        .order_by(Observable.created_at, Observable.id)
    ).all()
    groups: dict[str, list[Observable]] = {}
    for observable in observables:
        groups.setdefault(observable.fingerprint, []).append(observable)
    result = {"untouched": 0, "updated": 0, "deleted": 0}
    for group in groups.values():
        if len(group) == 1:
            result["untouched"] += 1
            continue
        _merge_group(session, actor, group)
        result["updated"] += 1
        result["deleted"] += len(group) - 1
    if result["updated"]:
        service.touch_case(session, actor, case)
        events.record(
            session,
            actor.login,
            actor.org_id,
            "update",
            "Case",
            case.id,
            {"mergedObservables": result},
            root_id=case.id,
        )
    session.flush()
    return result


def _merge_group(session: Session, actor: Actor, group: list[Any]) -> None:
    keep, *others = group
    tags = list(keep.tags or [])
    messages = [keep.message] if keep.message else []
    for other in others:
        tags.extend(t for t in other.tags or [] if t not in tags)
        if other.message and other.message not in messages:
            messages.append(other.message)
        keep.ioc = keep.ioc or other.ioc
        keep.sighted = keep.sighted or other.sighted
        keep.sighted_at = keep.sighted_at or other.sighted_at
        session.delete(other)
    keep.tags = tags
    keep.message = "\n\n".join(messages) or None
    keep.touch(actor.login)


# --------------------------------------------------------------------------- templates


def apply_case_template(session: Session, actor: Actor, data: dict[str, Any]) -> None:
    """Apply a template to existing cases; each ``update*`` flag copies one aspect."""
    from propolis.casetemplates.service import get_template

    ids = validate.id_list(data, "ids")
    template = get_template(session, actor, validate.nonempty(data, "caseTemplate"))
    flags = {
        name: bool(validate.boolean(data, name, False))
        for name in (
            "updateTitlePrefix",
            "updateDescription",
            "updateTags",
            "updateSeverity",
            "updateFlag",
            "updateTlp",
            "updatePap",
            "updateCustomFields",
        )
    }
    import_tasks = _names(data, "importTasks")
    import_pages = _names(data, "importPages")
    for ref in ids:
        case = service.get_case(session, actor, ref)
        service.require_case_permission(session, actor, case, "manageCase/update")
        _apply_template(session, actor, case, template, flags, import_tasks, import_pages)


def _names(data: dict[str, Any], name: str) -> list[str]:
    value = data.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid(name, "must be a list of names or ids", value)
    return value


def _apply_template(
    session: Session,
    actor: Actor,
    case: Case,
    template: Any,
    flags: dict[str, bool],
    import_tasks: list[str],
    import_pages: list[str],
) -> None:
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
        from propolis.fields.service import copy_values

        copy_values(session, actor, "case_template", template.id, "case", case.id)
        changes["customFields"] = True
    _import_template_parts(session, actor, case, template, import_tasks, import_pages)
    case.case_template = template.name
    case.touch(actor.login)
    events.record(
        session, actor.login, actor.org_id, "update", "Case", case.id, changes, root_id=case.id
    )


def _import_template_parts(
    session: Session,
    actor: Actor,
    case: Case,
    template: Any,
    import_tasks: list[str],
    import_pages: list[str],
) -> None:
    if import_tasks:
        from propolis.casetemplates.service import template_tasks
        from propolis.tasks.service import create_task

        for task in template_tasks(session, template):
            if task.title in import_tasks or task.eid in import_tasks:
                create_task(session, actor, case=case, data=service.task_input(task))
    if import_pages:
        from propolis.casetemplates.service import template_page_templates
        from propolis.pages.service import create_page

        for page in template_page_templates(session, template):
            if page.title in import_pages or page.eid in import_pages:
                create_page(session, actor, case, service.page_input(page))
