"""Query-language registration for tasks and task logs: ``listTask``, ``getTask``,
``waitingTasks``, ``myTasks``, ``listLog``, ``getLog`` and the traversals between cases,
case templates, tasks, logs and log attachments."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from propolis.cases.models import Case
from propolis.core.db import parse_id
from propolis.core.errors import BadRequest
from propolis.core.query import (
    BOOL,
    ENTITIES,
    INT,
    EntitySpec,
    Field,
    QueryContext,
    ResultSet,
    ids_of,
    initial,
    meta_fields,
    register_entity,
    traversal,
)
from propolis.tasks import service
from propolis.tasks.models import Task, TaskLog
from propolis.tasks.render import render_logs, render_tasks

TASK = register_entity(
    EntitySpec(
        name="Task",
        model=Task,
        fields={
            **meta_fields(Task),
            "title": Field(Task.title),
            "group": Field(Task.group),
            "description": Field(Task.description),
            "status": Field(Task.status),
            "flag": Field(Task.flag, BOOL),
            "startDate": Field(Task.start_date, INT),
            "endDate": Field(Task.end_date, INT),
            "dueDate": Field(Task.due_date, INT),
            "order": Field(Task.order, INT),
            "assignee": Field(Task.assignee),
            "mandatory": Field(Task.mandatory, BOOL),
        },
        render=lambda ctx, rows, extra: render_tasks(ctx.session, ctx.actor, rows, extra),
    )
)

LOG = register_entity(
    EntitySpec(
        name="Log",
        model=TaskLog,
        fields={
            **meta_fields(TaskLog),
            "message": Field(TaskLog.message),
            "date": Field(TaskLog.date, INT),
            "owner": Field(TaskLog.owner),
            "includeInTimeline": Field(TaskLog.include_in_timeline, INT),
        },
        render=lambda ctx, rows, extra: render_logs(ctx.session, ctx.actor, rows, extra),
    )
)


def _ref(op: dict[str, Any]) -> int:
    found = parse_id(str(op.get("idOrName", "")))
    return found if found is not None else -1


def _case_tasks(ctx: QueryContext) -> ResultSet:
    return ResultSet(TASK, select(Task).where(service.visible_case_tasks(ctx.actor)))


@initial("listTask")
def list_task(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    """Tasks of the cases visible to the organisation (case-template tasks excluded)."""
    return _case_tasks(ctx)


@initial("getTask")
def get_task(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    return ResultSet(
        TASK, select(Task).where(Task.id == _ref(op), service.visible_tasks(ctx.actor))
    )


@initial("waitingTasks")
def waiting_tasks(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    """Tasks nobody has started yet, in cases that are not closed."""
    open_cases = select(Case.id).where(Case.stage != "Closed")
    stmt = _case_tasks(ctx).stmt.where(Task.status == "Waiting", Task.case_id.in_(open_cases))
    return ResultSet(TASK, stmt)


@initial("myTasks")
def my_tasks(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    """Tasks assigned to the caller."""
    return ResultSet(TASK, _case_tasks(ctx).stmt.where(Task.assignee == ctx.actor.login))


def _visible_logs(ctx: QueryContext) -> Any:
    visible = select(Task.id).where(service.visible_case_tasks(ctx.actor))
    return select(TaskLog).where(TaskLog.task_id.in_(visible))


@initial("listLog")
def list_log(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    return ResultSet(LOG, _visible_logs(ctx))


@initial("getLog")
def get_log(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    return ResultSet(LOG, _visible_logs(ctx).where(TaskLog.id == _ref(op)))


@traversal("Case", "tasks")
def case_tasks(ctx: QueryContext, result: ResultSet, op: dict[str, Any]) -> ResultSet:
    stmt = select(Task).where(
        Task.case_id.in_(ids_of(result)), service.visible_case_tasks(ctx.actor)
    )
    return ResultSet(TASK, stmt)


@traversal("CaseTemplate", "tasks")
def case_template_tasks(ctx: QueryContext, result: ResultSet, op: dict[str, Any]) -> ResultSet:
    return ResultSet(TASK, select(Task).where(Task.case_template_id.in_(ids_of(result))))


@traversal("Task", "logs")
def task_logs(ctx: QueryContext, result: ResultSet, op: dict[str, Any]) -> ResultSet:
    # template tasks have no logs; the source set is already visible
    return ResultSet(LOG, select(TaskLog).where(TaskLog.task_id.in_(ids_of(result))))


@traversal("Task", "case")
def task_case(ctx: QueryContext, result: ResultSet, op: dict[str, Any]) -> ResultSet:
    spec = _entity("Case")
    case_ids = select(Task.case_id).where(Task.id.in_(ids_of(result)))
    return ResultSet(spec, select(spec.model).where(spec.model.id.in_(case_ids)))


@traversal("Task", "caseTemplate")
def task_case_template(ctx: QueryContext, result: ResultSet, op: dict[str, Any]) -> ResultSet:
    spec = _entity("CaseTemplate")
    template_ids = select(Task.case_template_id).where(Task.id.in_(ids_of(result)))
    return ResultSet(spec, select(spec.model).where(spec.model.id.in_(template_ids)))


@traversal("Log", "task")
def log_task(ctx: QueryContext, result: ResultSet, op: dict[str, Any]) -> ResultSet:
    task_ids = select(TaskLog.task_id).where(TaskLog.id.in_(ids_of(result)))
    return ResultSet(TASK, select(Task).where(Task.id.in_(task_ids)))


@traversal("Log", "attachments")
def log_attachments(ctx: QueryContext, result: ResultSet, op: dict[str, Any]) -> ResultSet:
    spec = _entity("Attachment")
    model = spec.model
    return ResultSet(spec, select(model).where(model.log_id.in_(ids_of(result))))


def _entity(name: str) -> EntitySpec:
    spec = ENTITIES.get(name)
    if spec is None:
        raise BadRequest(f"Entity {name} is not queryable")
    return spec
