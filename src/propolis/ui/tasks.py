"""Tasks in the browser: a case's Tasks tab, the task page with its logs, My tasks and
Waiting tasks, and the actions on tasks (take, start, close, cancel, assign, flag, bulk).

Every write goes through the tasks service, with the same input the API routes send
(``PATCH /task/{id}``'s fields, ``POST /task/{id}/log``'s message and files), so every rule
(permissions, a mandatory task needs a log, assignees of the organisation) is the API's.
Row actions answer htmx with the re-rendered row; without JavaScript the same buttons post
a plain form and come back to the page they were on."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from propolis.cases.service import get_case
from propolis.core.db import now_ms
from propolis.core.errors import BadRequest, PropolisError, missing
from propolis.tasks import service
from propolis.ui import lists
from propolis.ui.casepage import TABS, case_can, load_case
from propolis.ui.web import Page, UiRoute, page, redirect, render, safe_next, undo

router = APIRouter(route_class=UiRoute)

OPEN = ("Waiting", "InProgress")
STATUS_LABELS = {
    "Waiting": "Waiting",
    "InProgress": "In progress",
    "Completed": "Completed",
    "Cancel": "Cancelled",
}
# A case shows all its tasks on one page; beyond this many the tab says so.
CASE_TASKS_MAX = 500
ROW_EXTRA = ["logCount", "actionRequired"]
LIST_EXTRA = [*ROW_EXTRA, "case"]
MEMBERS_MAX = 200
LOGS_PAGE_SIZE = 30
# A log longer than this is folded behind "show more" (its first lines stay readable).
LONG_LOG_CHARS = 1200
LONG_LOG_LINES = 16
# Open tasks first: TheHive's status names sort Waiting, InProgress, Completed, Cancel
# when descending, so the query engine's plain sort puts open work on top.
MINE_SORT = [{"status": "desc"}, {"dueDate": "asc"}, {"_updatedAt": "desc"}]
WAITING_SORT = [{"dueDate": "asc"}, {"_createdAt": "asc"}]
MINE_FILTERS = {
    "open": {"_in": {"_field": "status", "_values": list(OPEN)}},
    "ended": {"_in": {"_field": "status", "_values": ["Completed", "Cancel"]}},
}


# --------------------------------------------------------------------------- reading


def case_tasks(p: Page, case: dict[str, Any]) -> list[dict[str, Any]]:
    """The case's tasks in their order (the ``order`` field, then creation)."""
    return lists.run(
        p,
        [
            {"_name": "getCase", "idOrName": case["_id"]},
            {"_name": "tasks"},
            {"_name": "sort", "_fields": [{"order": "asc"}, {"_createdAt": "asc"}]},
            {"_name": "page", "from": 0, "to": CASE_TASKS_MAX, "extraData": ROW_EXTRA},
        ],
    )


def grouped(tasks: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Tasks by group, groups in the order their first task comes."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for task in tasks:
        groups.setdefault(task.get("group") or "default", []).append(task)
    return list(groups.items())


def one_task(p: Page, ref: str, extra: list[str]) -> dict[str, Any]:
    """A case task as the API renders it; 404 when not visible (or a template's task)."""
    found = lists.run(
        p,
        [
            {"_name": "getTask", "idOrName": ref},
            {"_name": "page", "from": 0, "to": 1, "extraData": ["caseId", *extra]},
        ],
    )
    if not found or not found[0]["extraData"].get("caseId"):
        raise missing("Task", ref)
    return found[0]


def members(p: Page) -> list[dict[str, Any]]:
    """Who a task can be assigned to: the organisation's users who may sign in."""
    return lists.run(
        p,
        [
            {"_name": "getOrganisation", "idOrName": p.actor.org_name},
            {"_name": "users"},
            {"_name": "filter", "locked": False},
            {"_name": "sort", "_fields": [{"login": "asc"}]},
            {"_name": "page", "from": 0, "to": MEMBERS_MAX},
        ],
    )


def is_long(message: str | None) -> bool:
    text = message or ""
    return len(text) > LONG_LOG_CHARS or text.count("\n") >= LONG_LOG_LINES


def _common(p: Page, with_members: bool = True) -> dict[str, Any]:
    return {
        "members": members(p) if with_members else [],
        "labels": STATUS_LABELS,
        "open_statuses": OPEN,
        "now": now_ms(),
    }


# --------------------------------------------------------------------------- the case tab


@router.get("/cases/{ref}/tasks")
def case_tab(ref: str, p: Page = Depends(page)) -> Response:
    case = load_case(p, ref)
    return _case_tab(p, case)


def _case_tab(
    p: Page,
    case: dict[str, Any],
    form: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
    adding: bool = False,
) -> Response:
    tasks = case_tasks(p, case)
    template = "tasks/_case_tasks.html" if p.htmx else "cases/tasks.html"
    return render(
        p,
        template,
        status_code=status_code,
        headers={"HX-Trigger": "counters"} if p.htmx else None,
        case=case,
        tabs=TABS,
        tab="tasks",
        groups=grouped(tasks),
        truncated=len(tasks) >= CASE_TASKS_MAX,
        can_manage=case_can(case, "manageTask"),
        form=form or {},
        error=error,
        adding=adding or error is not None,
        **_common(p),
    )


@router.post("/cases/{ref}/tasks")
def add_task(ref: str, p: Page = Depends(page)) -> Response:
    """A new task in the case; on a refusal the tab comes back with the service's message
    next to the form and what the analyst typed still in it."""
    case = load_case(p, ref)
    form = {
        name: p.value(name) for name in ("title", "group", "description", "dueDate", "mandatory")
    }
    try:
        task_case = service_case(p, case)
        service.create_task(p.session, p.actor, case=task_case, data=_new_task(form))
    except PropolisError as exc:
        undo(p)
        return _case_tab(p, case, form=form, error=exc.message, status_code=exc.status)
    if p.htmx:
        return _case_tab(p, load_case(p, ref), adding=True)
    return redirect(f"/cases/{case['number']}/tasks", p)


def service_case(p: Page, case: dict[str, Any]) -> Any:
    """The case row the tasks service attaches a task to (as the API route finds it)."""
    return get_case(p.session, p.actor, case["_id"])


def _new_task(form: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {"title": form["title"].strip(), "mandatory": bool(form["mandatory"])}
    if form["group"].strip():
        data["group"] = form["group"].strip()
    if form["description"].strip():
        data["description"] = form["description"]
    if form["dueDate"]:
        data["dueDate"] = date_ms(form["dueDate"], "dueDate")
    return data


def date_ms(value: str, field: str) -> int:
    """A ``datetime-local`` (or date) input, read as UTC, in epoch milliseconds."""
    for layout in ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            moment = datetime.strptime(value, layout).replace(tzinfo=UTC)
        except ValueError:
            continue
        return int(moment.timestamp() * 1000)
    raise BadRequest(f"{field}: not a date ({value})")


# --------------------------------------------------------------------------- actions


def _take(p: Page) -> dict[str, Any]:
    return {"assignee": p.actor.login, "status": "InProgress"}


def _assign(p: Page) -> dict[str, Any]:
    return {"assignee": p.value("assignee") or None}


def _flag(p: Page) -> dict[str, Any]:
    return {"flag": p.value("flag") == "true"}


ACTIONS: dict[str, Callable[[Page], dict[str, Any]]] = {
    "take": _take,
    "start": lambda p: {"status": "InProgress"},
    "close": lambda p: {"status": "Completed"},
    "cancel": lambda p: {"status": "Cancel"},
    "assign": _assign,
    "flag": _flag,
}
# Which fragment a row action answers htmx with, by the ``view`` the row was drawn in.
ROW_TEMPLATES = {
    "case": "tasks/_row.html",
    "mine": "tasks/_list_row.html",
    "waiting": "tasks/_list_row.html",
}


def _action_route(name: str, changes: Callable[[Page], dict[str, Any]]) -> None:
    def act(ref: str, p: Page = Depends(page)) -> Response:
        task = service.get_task(p.session, p.actor, ref)
        service.update_task(p.session, p.actor, task, changes(p))
        return _after_change(p, task.eid)

    act.__name__ = f"task_{name}"
    router.post(f"/tasks/{{ref}}/{name}")(act)


for _name, _changes in ACTIONS.items():
    _action_route(_name, _changes)


def _after_change(p: Page, ref: str) -> Response:
    """htmx gets the task's row drawn again (and the top bar's counters refresh); a plain
    form goes back where it came from."""
    view = p.value("view")
    if p.htmx and view in ROW_TEMPLATES:
        p.session.flush()
        extra = ROW_EXTRA if view == "case" else LIST_EXTRA
        task = one_task(p, ref, extra)
        can_manage = p.can("manageTask")
        if view == "case":
            can_manage = case_can(load_case(p, task["extraData"]["caseId"]), "manageTask")
        return render(
            p,
            ROW_TEMPLATES[view],
            headers={"HX-Trigger": "counters"},
            t=task,
            view=view,
            can_manage=can_manage,
            **_common(p, with_members=False),
        )
    return redirect(safe_next(p.value("next") or f"/tasks/{ref}"), p)


@router.get("/tasks/{ref}/assignees")
def assignees(ref: str, p: Page = Depends(page)) -> Response:
    """The members a row's "Assign" menu offers, loaded when the menu opens (a list of
    tasks does not repeat the organisation's members in every row)."""
    task = one_task(p, ref, [])
    return render(p, "tasks/_assignees.html", t=task, members=members(p))


BULK = {"take": _take, "close": ACTIONS["close"], "assign": lambda p: _bulk_assign(p)}


def _bulk_assign(p: Page) -> dict[str, Any]:
    return {"assignee": p.value("bulk_assignee") or None}


@router.post("/tasks/bulk")
def bulk(p: Page = Depends(page)) -> Response:
    """The same change on every selected task, all or nothing (``PATCH /task/_bulk``)."""
    changes = BULK.get(p.value("action"))
    ids = p.values("ids")
    if changes is None:
        raise BadRequest("Choose what to do with the selected tasks")
    if not ids:
        raise BadRequest("Select at least one task")
    service.bulk_update(p.session, p.actor, {"ids": ids, **changes(p)})
    return redirect(safe_next(p.value("next") or "/tasks/mine"), p)


# --------------------------------------------------------------------------- lists


@router.get("/tasks/mine")
def my_tasks(p: Page = Depends(page)) -> Response:
    """Tasks assigned to me, open ones first (``?show=open`` or ``ended`` to narrow)."""
    show = p.request.query_params.get("show", "all")
    ops: list[dict[str, Any]] = [{"_name": "myTasks"}]
    if show in MINE_FILTERS:
        ops.append({"_name": "filter", **MINE_FILTERS[show]})
    return _task_list(p, "tasks/mine.html", "mine", ops, MINE_SORT, show=show)


@router.get("/tasks/waiting")
def waiting_tasks(p: Page = Depends(page)) -> Response:
    """Tasks nobody has started, in the organisation's open cases (the top bar's count)."""
    return _task_list(p, "tasks/waiting.html", "waiting", [{"_name": "waitingTasks"}], WAITING_SORT)


def _task_list(
    p: Page,
    template: str,
    view: str,
    ops: list[dict[str, Any]],
    sort: list[dict[str, str]],
    **context: Any,
) -> Response:
    query = p.request.query_params
    tasks = lists.paged(
        p,
        ops,
        sort,
        lists.int_param(query.get("page"), 1),
        lists.int_param(query.get("size"), lists.PAGE_SIZES[0]),
        LIST_EXTRA,
    )
    return render(
        p,
        template,
        tasks=tasks,
        can_manage=p.can("manageTask"),
        request=p.request,
        view=view,
        here=p.request.url.path + ("?" + p.request.url.query if p.request.url.query else ""),
        **_common(p),
        **context,
    )


# --------------------------------------------------------------------------- the task page


@router.get("/tasks/{ref}")
def task_page(ref: str, p: Page = Depends(page)) -> Response:
    return _task_page(p, ref)


def _task_page(
    p: Page, ref: str, message: str = "", error: str | None = None, status_code: int = 200
) -> Response:
    task = one_task(p, ref, ROW_EXTRA)
    case = load_case(p, task["extraData"]["caseId"])
    query = p.request.query_params
    logs = lists.paged(
        p,
        [{"_name": "getTask", "idOrName": task["_id"]}, {"_name": "logs"}],
        [{"date": "desc"}, {"_createdAt": "desc"}],
        lists.int_param(query.get("page"), 1),
        LOGS_PAGE_SIZE,
    )
    return render(
        p,
        "tasks/task.html",
        status_code=status_code,
        task=task,
        case=case,
        logs=logs,
        is_long=is_long,
        can_manage=case_can(case, "manageTask"),
        message=message,
        error=error,
        **_common(p),
    )


@router.post("/tasks/{ref}/logs")
def add_log(ref: str, p: Page = Depends(page)) -> Response:
    """A log (Markdown) with optional files, as ``POST /task/{id}/log`` multipart does; a
    refusal keeps the text in the form with the service's message above it."""
    task = service.get_task(p.session, p.actor, ref)
    message = p.value("message")
    files = [
        part
        for part in p.form.getlist("attachments")
        if isinstance(part, UploadFile) and part.filename
    ]
    try:
        service.create_log(p.session, p.actor, task, {"message": message}, files)
    except PropolisError as exc:
        undo(p)
        return _task_page(p, ref, message=message, error=exc.message, status_code=exc.status)
    return redirect(f"/tasks/{task.eid}#logs", p)
