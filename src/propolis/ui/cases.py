"""The cases list and the case page's Details tab, title-bar actions and closure.

Reads go through the query engine (``ui/lists.py``) like ``POST /api/v1/query``; every
write calls the function the matching API route calls (cases, custom fields, procedures,
analysis services), with the page's analyst. A refused write shows the service's message
next to its form, with what the analyst typed, and changes nothing (the unit of work is
rolled back before the page is drawn again)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from propolis import access
from propolis.analysis import service as analysis
from propolis.analysis.render import render_actions, render_connector_workers
from propolis.cases import links
from propolis.cases import service as cases
from propolis.core.errors import missing
from propolis.fields import metrics as case_metrics
from propolis.fields.render import render_metrics
from propolis.flows import deletion
from propolis.procedures import service as procedures
from propolis.ui import lists
from propolis.ui.casepage import TABS, case_can, load_case
from propolis.ui.web import Page, UiRoute, attempt, page, redirect, render

router = APIRouter(route_class=UiRoute)

# --------------------------------------------------------------------------- the list

# Columns the list sorts by (address value -> query field); "-" in front sorts descending.
SORTS = {
    "number": "number",
    "title": "title",
    "severity": "severity",
    "tlp": "tlp",
    "status": "status",
    "assignee": "assignee",
    "created": "_createdAt",
    "updated": "_updatedAt",
    "start": "startDate",
}
# Newest first by creation: the creation index gives the first page without sorting every
# visible case (numbers grow with creation in an organisation, so the order is the same).
DEFAULT_SORT = "-created"
STAGES = ("New", "InProgress", "Closed")
NOBODY = "-"  # the assignee filter's value for unassigned cases


@dataclass
class CaseFilters:
    """The list's filters as they are in the address bar (a bookmarkable GET form)."""

    q: str = ""
    stage: str = ""
    status: str = ""
    severity: str = ""
    assignee: str = ""
    tags: list[str] = field(default_factory=list)
    since: str = ""
    until: str = ""

    @classmethod
    def from_request(cls, p: Page) -> CaseFilters:
        params = p.request.query_params
        tags = [t.strip() for raw in params.getlist("tag") for t in raw.split(",")]
        return cls(
            q=params.get("q", "").strip(),
            stage=params.get("stage", ""),
            status=params.get("status", ""),
            severity=params.get("severity", ""),
            assignee=params.get("assignee", "").strip(),
            tags=[t for t in tags if t],
            since=params.get("since", ""),
            until=params.get("until", ""),
        )

    def query(self, p: Page) -> list[dict[str, Any]]:
        """The filters as query-language conditions (all of them must hold)."""
        conditions: list[dict[str, Any]] = []
        if self.q:
            conditions.append({"_like": {"_field": "title", "_value": self.q}})
        if self.stage in STAGES:
            conditions.append({"stage": self.stage})
        if self.status:
            conditions.append({"status": self.status})
        if self.severity.isdigit():
            conditions.append({"severity": int(self.severity)})
        if self.assignee == NOBODY:
            conditions.append({"assignee": None})
        elif self.assignee:
            login = p.actor.login if self.assignee == "me" else self.assignee
            conditions.append({"assignee": login})
        conditions.extend({"tags": tag} for tag in self.tags)
        since, until = day_start(self.since), day_start(self.until)
        if since is not None:
            conditions.append({"_gte": {"_field": "_createdAt", "_value": since}})
        if until is not None:  # the whole "until" day is included
            conditions.append({"_lt": {"_field": "_createdAt", "_value": until + 86_400_000}})
        return conditions


def day_start(text: str) -> int | None:
    """``2026-11-28`` (a date input) as epoch milliseconds at 00:00 UTC; else ``None``."""
    try:
        day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None
    return int(day.timestamp() * 1000)


def sort_of(value: str | None) -> tuple[str, list[dict[str, str]]]:
    """The sort named in the address (``-severity``), and the query's sort (ties by number)."""
    value = value if value and value.lstrip("-") in SORTS else DEFAULT_SORT
    name = value.lstrip("-")
    order = "desc" if value.startswith("-") else "asc"
    sort = [{SORTS[name]: order}]
    if name not in ("number", "created", "updated"):
        sort.append({"_createdAt": "desc"})  # ties: newest first
    return value, sort


@router.get("/cases")
def case_list(p: Page = Depends(page)) -> Response:
    filters = CaseFilters.from_request(p)
    conditions = filters.query(p)
    operations: list[dict[str, Any]] = [{"_name": "listCase"}]
    if conditions:
        operations.append({"_name": "filter", "_and": conditions})
    sort, query_sort = sort_of(p.request.query_params.get("sort"))
    params = p.request.query_params
    found = lists.paged(
        p,
        operations,
        query_sort,
        lists.int_param(params.get("page"), 1),
        lists.int_param(params.get("size"), 30),
        ["taskStats"],
    )
    return render(
        p,
        "cases/list.html",
        request=p.request,
        cases=found,
        filters=filters,
        sort=sort,
        stages=STAGES,
        statuses=sorted(cases.status_stages(p.session).items(), key=status_order),
        members=org_members(p),
        nobody=NOBODY,
    )


def status_order(item: tuple[str, str]) -> tuple[int, str]:
    status, stage = item
    return (STAGES.index(stage) if stage in STAGES else len(STAGES), status)


def org_members(p: Page) -> list[dict[str, Any]]:
    """The users of the analyst's organisation (assignee filters and the assign menu)."""
    return lists.run(
        p,
        [
            {"_name": "getOrganisation", "idOrName": p.actor.org_name},
            {"_name": "users"},
            {"_name": "filter", "locked": False},
            {"_name": "sort", "_fields": [{"login": "asc"}]},
            {"_name": "page", "from": 0, "to": 500},
        ],
    )


# --------------------------------------------------------------------------- writes


def case_row(p: Page, case: dict[str, Any]) -> Any:
    """The case's row for a service call (the rendered case was found visible already)."""
    return access.get_case(p.session, p.actor, case["_id"])


def update(p: Page, case: dict[str, Any], data: dict[str, Any]) -> Callable[[], None]:
    """``PATCH /api/v1/case/{id}``, as a write for :func:`attempt`."""
    return lambda: cases.update_case(p.session, p.actor, case_row(p, case), data)


def case_url(case: dict[str, Any], suffix: str = "") -> str:
    return f"/cases/{case['number']}{suffix}"


# --------------------------------------------------------------------------- details tab

# TheHive 5's durations of a case, in the order an analyst reads them.
METRICS = [
    ("timeToDetect", "Time to detect"),
    ("timeToTriage", "Time to triage"),
    ("timeToQualify", "Time to qualify"),
    ("timeToAcknowledge", "Time to acknowledge"),
    ("timeToResolve", "Time to resolve"),
]


def duration(ms: int | None) -> str:
    """``3 d 4 h``: a duration as an analyst reads it."""
    if ms is None:
        return ""
    minutes = max(0, int(ms)) // 60_000
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min"]
    text = " ".join(part for part in parts if part)
    return text if days or hours else f"{minutes} min"


def field_definitions(p: Page) -> dict[str, dict[str, Any]]:
    """Every custom field definition by name (types, options, mandatory): a few rows."""
    found = lists.run(
        p,
        [
            {"_name": "listCustomField"},
            {"_name": "sort", "_fields": [{"displayName": "asc"}]},
            {"_name": "page", "from": 0, "to": 1000},
        ],
    )
    return {item["name"]: item for item in found}


def case_fields(case: dict[str, Any], definitions: dict[str, dict[str, Any]]) -> list[dict]:
    """The case's custom fields with their definitions, in the case's order (a multi-valued
    field shows its first value)."""
    out: dict[str, dict[str, Any]] = {}
    for value in case.get("customFields") or []:
        name = value["name"]
        if name in out or name not in definitions:
            continue
        out[name] = {**definitions[name], "value": value.get("value")}
    return list(out.values())


def case_procedures(p: Page, case: dict[str, Any]) -> list[dict[str, Any]]:
    return lists.run(
        p,
        [
            {"_name": "getCase", "idOrName": case["_id"]},
            {"_name": "procedures"},
            {"_name": "sort", "_fields": [{"occurDate": "asc"}]},
            {"_name": "page", "from": 0, "to": 500},
        ],
    )


RELATED_SHOWN = 50  # related cases drawn on the Details tab (the API lists them all)


def related_cases(p: Page, case: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    """Cases sharing observables with this one (``GET /api/v1/case/{id}/links``), with the
    observables that link them, most observables in common first; and how many in all."""
    found = links.linked_cases(p.session, p.actor, case_row(p, case))
    found.sort(key=lambda item: len(item[1]), reverse=True)
    shown = [
        {
            "number": other.number,
            "title": other.title,
            "status": other.status,
            "stage": other.stage,
            "severity": other.severity,
            "observables": [(o.data_type, o.data or "(file)") for o in matched],
        }
        for other, matched in found[:RELATED_SHOWN]
    ]
    return shown, len(found)


def details_page(
    p: Page,
    case: dict[str, Any],
    errors: dict[str, str] | None = None,
    typed: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    definitions = field_definitions(p)
    fields = case_fields(case, definitions)
    attached = {f["name"] for f in fields}
    related, related_total = related_cases(p, case)
    definitions_of_metrics = render_metrics(case_metrics.list_metrics(p.session))
    return render(
        p,
        "cases/details.html",
        status_code=status_code,
        case=case,
        tabs=TABS,
        tab="details",
        fields=fields,
        other_fields=[d for name, d in definitions.items() if name not in attached],
        procedures=case_procedures(p, case),
        related=related,
        related_total=related_total,
        metrics=[(label, duration(case.get(key))) for key, label in METRICS if key in case],
        case_metrics=metric_rows(case, definitions_of_metrics),
        other_metrics=[d for d in definitions_of_metrics if d["name"] not in case["metrics"]],
        can_edit=case_can(case, "manageCase/update"),
        can_procedure=case_can(case, "manageProcedure"),
        errors=errors or {},
        typed=typed or {},
    )


@router.get("/cases/{ref}")
def details(ref: str, p: Page = Depends(page)) -> Response:
    return details_page(p, load_case(p, ref))


def after_write(
    p: Page, case: dict[str, Any], section: str, message: str | None, typed: dict
) -> Response:
    """Back to the Details tab; on a refusal the tab again with the message and the input."""
    if message is None:
        return redirect(case_url(case) + f"#{section}", p)
    return details_page(p, load_case(p, str(case["number"])), {section: message}, typed, 400)


@router.post("/cases/{ref}/properties")
def edit_properties(ref: str, p: Page = Depends(page)) -> Response:
    """Title, severity, TLP, PAP and tags (the Details tab's properties form)."""
    case = load_case(p, ref)
    data: dict[str, Any] = {}
    for name in ("severity", "tlp", "pap"):
        if p.value(name) != "":
            data[name] = number_or_text(p.value(name))
    if p.value("title") != "":
        data["title"] = p.value("title")
    if "tags" in p.form:
        data["tags"] = split_tags(p.value("tags"))
    typed = {name: p.value(name) for name in ("title", "severity", "tlp", "pap", "tags")}
    return after_write(p, case, "properties", attempt(p, update(p, case, data)), typed)


@router.post("/cases/{ref}/description")
def edit_description(ref: str, p: Page = Depends(page)) -> Response:
    case = load_case(p, ref)
    typed = {"description": p.value("description")}
    message = attempt(p, update(p, case, typed))
    return after_write(p, case, "description", message, typed)


@router.post("/cases/{ref}/fields")
def edit_fields(ref: str, p: Page = Depends(page)) -> Response:
    """The custom fields form: each field's input, typed by its definition."""
    case = load_case(p, ref)
    definitions = field_definitions(p)
    data, typed = custom_field_values(p, definitions)
    add = p.value("add_field")
    if add:
        data[f"customFields.{add}"] = None  # attached, without a value yet
    return after_write(p, case, "fields", attempt(p, update(p, case, data)), typed)


def metric_rows(case: dict[str, Any], definitions: list[dict[str, Any]]) -> list[dict]:
    """The case's metrics with their definitions' titles, in the definitions' order."""
    return [
        {**definition, "value": case["metrics"][definition["name"]]}
        for definition in definitions
        if definition["name"] in case["metrics"]
    ]


@router.post("/cases/{ref}/metrics")
def edit_metrics(ref: str, p: Page = Depends(page)) -> Response:
    """The case metrics form: a number per metric; ``add_metric`` attaches one more."""
    case = load_case(p, ref)
    data, typed = metric_values(p)
    add = p.value("add_metric")
    if add:
        data[f"metrics.{add}"] = None  # attached, without a value yet
    return after_write(p, case, "case-metrics", attempt(p, update(p, case, data)), typed)


def metric_values(p: Page) -> tuple[dict[str, Any], dict[str, str]]:
    """``metrics.<name>`` numbers from the inputs named in ``metric_names``; ``metric_remove``
    lists those to take off. Text that is no number goes to the service, which refuses it."""
    removed = set(p.values("metric_remove"))
    data: dict[str, Any] = {}
    typed: dict[str, str] = {}
    for name in p.values("metric_names"):
        raw = p.value(f"metric.{name}")
        typed[name] = raw
        if name not in removed:
            data[f"metrics.{name}"] = number_value(raw)
    if removed:
        kept = {k[len("metrics.") :]: v for k, v in data.items()}
        data = {"metrics": kept}
    return data, typed


def number_value(raw: str) -> Any:
    """An input's text as a number (``None`` when empty); other text is passed on as it is."""
    raw = raw.strip()
    if raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        return float(raw)
    except ValueError:
        return raw


def custom_field_values(
    p: Page, definitions: dict[str, dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, str]]:
    """``customFields.<name>`` values from the inputs named in ``cf_names`` (an unchecked
    checkbox sends nothing: the list says which fields the form had)."""
    data: dict[str, Any] = {}
    typed: dict[str, str] = {}
    for name in p.values("cf_names"):
        definition = definitions.get(name)
        if definition is None:
            data[f"customFields.{name}"] = None  # the service answers "not found"
            continue
        raw = p.value(f"cf.{name}")
        typed[name] = raw
        data[f"customFields.{name}"] = field_value(definition["type"], raw)
    return data, typed


def field_value(field_type: str, raw: str) -> Any:
    """An input's text as the field's type. Text that is not a number is passed on as it
    is, so the custom fields service refuses it with its own message."""
    raw = raw.strip()
    if field_type == "boolean":
        return raw == "true"
    if raw == "":
        return None
    if field_type == "integer":
        return int(raw) if raw.lstrip("-").isdigit() else raw
    if field_type == "float":
        try:
            return float(raw)
        except ValueError:
            return raw
    if field_type == "date":
        return datetime_ms(raw) or raw
    return raw


def datetime_ms(text: str) -> int | None:
    """A ``datetime-local`` input's value (UTC) as epoch milliseconds."""
    for pattern in ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"):
        try:
            moment = datetime.strptime(text, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
        return int(moment.timestamp() * 1000)
    return None


def number_or_text(text: str) -> Any:
    return int(text) if text.lstrip("-").isdigit() else text


def split_tags(text: str) -> list[str]:
    """Tags typed separated by commas or new lines, in order, once each."""
    tags = [t.strip() for line in text.splitlines() for t in line.split(",")]
    return list(dict.fromkeys(t for t in tags if t))


@router.post("/cases/{ref}/procedures")
def add_procedure(ref: str, p: Page = Depends(page)) -> Response:
    """A TTP by its ATT&CK pattern id (``POST /api/v1/case/{id}/procedure``)."""
    case = load_case(p, ref)
    typed = {k: p.value(k) for k in ("patternId", "tactic", "occurDate", "description")}
    data: dict[str, Any] = {
        "patternId": typed["patternId"].strip(),
        "occurDate": datetime_ms(typed["occurDate"]) or case["startDate"],
    }
    if typed["tactic"]:
        data["tactic"] = typed["tactic"]
    if typed["description"].strip():
        data["description"] = typed["description"]

    def write() -> None:
        procedures.create_procedure(p.session, p.actor, case=case_row(p, case), data=data)

    return after_write(p, case, "procedures", attempt(p, write), typed)


@router.post("/cases/{ref}/procedures/delete")
def delete_procedure(ref: str, p: Page = Depends(page)) -> Response:
    """Remove one of the case's TTPs (``DELETE /api/v1/procedure/{id}``)."""
    case = load_case(p, ref)
    procedure = procedures.get_procedure(p.session, p.actor, p.value("procedure"))
    if procedure.case_id != case_row(p, case).id:
        raise missing("Procedure", p.value("procedure"))
    procedures.delete_procedures(p.session, p.actor, [procedure])
    return redirect(case_url(case) + "#procedures", p)


# --------------------------------------------------------------------------- title bar


@router.get("/cases/{ref}/assignees")
def assignees(ref: str, p: Page = Depends(page)) -> Response:
    """The assign menu's entries (loaded when the menu opens)."""
    case = load_case(p, ref)
    return render(p, "cases/_assignees.html", case=case, members=org_members(p))


@router.post("/cases/{ref}/assignee")
def assign(ref: str, p: Page = Depends(page)) -> Response:
    """Take the case (``assignee=me``), give it to a member, or unassign it (empty)."""
    case = load_case(p, ref)
    login = p.value("assignee").strip()
    login = p.actor.login if login == "me" else login
    cases.update_case(p.session, p.actor, case_row(p, case), {"assignee": login or None})
    return redirect(p.value("back") if p.value("back").startswith("/cases/") else case_url(case), p)


@router.post("/cases/{ref}/flag")
def toggle_flag(ref: str, p: Page = Depends(page)) -> Response:
    case = load_case(p, ref)
    cases.update_case(p.session, p.actor, case_row(p, case), {"flag": not case.get("flag")})
    return redirect(case_url(case), p)


@router.post("/cases/{ref}/delete")
def delete_case(ref: str, p: Page = Depends(page)) -> Response:
    case = load_case(p, ref)
    deletion.delete_case(p.session, p.actor, case_row(p, case))
    return redirect("/cases", p)


@router.get("/cases/{ref}/responders")
def responders(ref: str, p: Page = Depends(page)) -> Response:
    """The responders menu: those that apply to this case (type, TLP, PAP) as
    ``GET /api/connector/cortex/responder/case/{id}`` lists them, and the last actions."""
    case = load_case(p, ref)
    usable = analysis.responders_for(p.session, p.actor, "case", case["_id"])
    actions = analysis.actions_of(p.session, p.actor, "case", case["_id"])[:10]
    return render(
        p,
        "cases/_responders.html",
        case=case,
        responders=render_connector_workers(usable),
        actions=render_actions(actions),
    )


@router.post("/cases/{ref}/responders")
def run_responder(ref: str, p: Page = Depends(page)) -> Response:
    """Run a responder on the case (``POST /api/connector/cortex/action``)."""
    case = load_case(p, ref)
    action = analysis.create_action(
        p.session,
        p.actor,
        {"responderId": p.value("responderId"), "objectType": "case", "objectId": case["_id"]},
    )
    if p.htmx:
        message = f"Responder {action.responder_name} queued: its status is in the menu."
        # The open menu reloads on this event and shows the new action's status.
        headers = {"HX-Trigger": "responder-queued"}
        return render(p, "_flash.html", headers=headers, level="info", message=message)
    return redirect(case_url(case), p)


# --------------------------------------------------------------------------- closure

IMPACTS = [("WithImpact", "With impact"), ("NoImpact", "No impact"), ("NotApplicable", "N/A")]
RESOLUTION_LABELS = {
    "TruePositive": "True positive",
    "FalsePositive": "False positive",
    "Indeterminate": "Indeterminate",
    "Other": "Other",
    "Duplicated": "Duplicated",
}


def open_tasks(p: Page, case: dict[str, Any]) -> list[dict[str, Any]]:
    return lists.run(
        p,
        [
            {"_name": "getCase", "idOrName": case["_id"]},
            {"_name": "tasks"},
            {"_name": "filter", "_in": {"_field": "status", "_values": ["Waiting", "InProgress"]}},
            {"_name": "sort", "_fields": [{"group": "asc"}, {"order": "asc"}]},
            {"_name": "page", "from": 0, "to": 200},
        ],
    )


def closure_page(
    p: Page,
    case: dict[str, Any],
    error: str | None = None,
    typed: dict[str, Any] | None = None,
) -> Response:
    resolutions = [s for s, stage in cases.status_stages(p.session).items() if stage == "Closed"]
    order = list(RESOLUTION_LABELS)
    resolutions.sort(key=lambda s: (order.index(s) if s in order else len(order), s))
    mandatory = [f for f in case_fields(case, field_definitions(p)) if f.get("mandatory")]
    return render(
        p,
        "cases/close.html",
        status_code=400 if error else 200,
        case=case,
        tabs=TABS,
        tab="close",
        tasks=open_tasks(p, case),
        resolutions=[(s, RESOLUTION_LABELS.get(s, s)) for s in resolutions],
        impacts=IMPACTS,
        mandatory=mandatory,
        error=error,
        typed=typed or {},
    )


@router.get("/cases/{ref}/close")
def closure_form(ref: str, p: Page = Depends(page)) -> Response:
    return closure_page(p, load_case(p, ref))


@router.post("/cases/{ref}/close")
def close_case(ref: str, p: Page = Depends(page)) -> Response:
    """Close with a resolution, a summary and the mandatory custom fields: one update, so
    the service's rule (mandatory fields have a value) decides, and a refusal keeps all."""
    case = load_case(p, ref)
    data, fields_typed = custom_field_values(p, field_definitions(p))
    status = p.value("status")
    data["status"] = status
    summary = p.value("summary")
    if summary.strip():
        data["summary"] = summary
    if status == "TruePositive" and p.value("impactStatus"):
        data["impactStatus"] = p.value("impactStatus")
    typed = {
        "status": status,
        "summary": summary,
        "impactStatus": p.value("impactStatus"),
        "fields": fields_typed,
    }
    closing = {s for s, stage in cases.status_stages(p.session).items() if stage == "Closed"}
    if status not in closing:
        message: str | None = "Choose a resolution to close the case"
    else:
        message = attempt(p, update(p, case, data))
    if message is not None:
        return closure_page(p, load_case(p, ref), message, typed)
    return redirect(case_url(case), p)


@router.post("/cases/{ref}/reopen")
def reopen_case(ref: str, p: Page = Depends(page)) -> Response:
    case = load_case(p, ref)
    cases.update_case(p.session, p.actor, case_row(p, case), {"status": "InProgress"})
    return redirect(case_url(case), p)
