"""The case's Observables tab, the observable page with its analyses, and analysis reports.

Reads go through the query engine (``ui/lists.py``) like ``POST /api/v1/query``: the tab's
rows come with ``seenSummary`` (one grouped query for the page), the observable page with
``links`` (the other cases and alerts holding the value, visible ones only) and its jobs
(the ``jobs`` traversal). Writes call what the API routes call: the observables service
(create, bulk update, delete) and the analysis service (``create_job``, as TheHive's Cortex
connector does). A refused write shows the service's message with what the analyst typed,
and changes nothing (the unit of work is rolled back before the page is drawn again).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from propolis.analysis import service as analysis
from propolis.analysis.reports import taxonomies_of, taxonomy_tag
from propolis.cases.service import get_case
from propolis.core.errors import BadRequest, missing
from propolis.observables import service as observables
from propolis.observables.models import Observable
from propolis.ui import lists
from propolis.ui.casepage import TABS, case_can, load_case
from propolis.ui.web import Page, UiRoute, attempt, page, redirect, render

router = APIRouter(route_class=UiRoute)

OBSERVABLE_EXTRA_DATA = ["seenSummary"]
PAGE_EXTRA_DATA = ["seenSummary", "links"]
FINAL_STATUSES = ("Success", "Failure", "Deleted")
JOB_HISTORY = 200  # the newest jobs of an observable shown on its page
RUNS_SHOWN = 20  # the newest runs of one analyzer listed on a report page
SORTS = {"type": "dataType", "value": "data", "created": "_createdAt", "ioc": "ioc"}
DEFAULT_SORT = "-created"
MANAGE = "manageObservable"
ANALYSE = "manageAnalyse"


# =========================================================================== the case tab


@dataclass
class ObservableFilters:
    """The tab's filters, as they are in the address bar (a bookmarkable GET form)."""

    data_type: str = ""
    ioc: str = ""
    q: str = ""

    @classmethod
    def from_request(cls, p: Page) -> ObservableFilters:
        params = p.request.query_params
        return cls(
            data_type=params.get("type", "").strip(),
            ioc=params.get("ioc", ""),
            q=params.get("q", "").strip(),
        )

    def query(self) -> list[dict[str, Any]]:
        conditions: list[dict[str, Any]] = []
        if self.data_type:
            conditions.append({"dataType": self.data_type})
        if self.ioc in ("true", "false"):
            conditions.append({"ioc": self.ioc == "true"})
        if self.q:
            conditions.append({"_like": {"_field": "data", "_value": self.q}})
        return conditions


def sort_of(value: str | None) -> tuple[str, list[dict[str, str]]]:
    value = value if value and value.lstrip("-") in SORTS else DEFAULT_SORT
    order = "desc" if value.startswith("-") else "asc"
    return value, [{SORTS[value.lstrip("-")]: order}, {"_id": "desc"}]


def case_observables(case: dict[str, Any], filters: ObservableFilters) -> list[dict[str, Any]]:
    ops: list[dict[str, Any]] = [
        {"_name": "getCase", "idOrName": case["_id"]},
        {"_name": "observables"},
    ]
    conditions = filters.query()
    if conditions:
        ops.append({"_name": "filter", "_and": conditions})
    return ops


def observable_types(p: Page) -> list[dict[str, Any]]:
    return lists.run(
        p, [{"_name": "listObservableType"}, {"_name": "sort", "_fields": [{"name": "asc"}]}]
    )


def split_tags(text: str) -> list[str]:
    """Tags typed in one box, separated by commas or lines."""
    return [t.strip() for t in text.replace("\n", ",").split(",") if t.strip()]


@dataclass
class AddForm:
    """What the analyst typed in the add form: kept when the service refuses it."""

    data_type: str = "ip"
    data: str = ""
    per_line: bool = True
    message: str = ""
    tags: str = ""
    tlp: int = 2
    pap: int = 2
    ioc: bool = False
    sighted: bool = False
    ignore_similarity: bool = False
    error: str | None = None
    files: list[UploadFile] = field(default_factory=list)

    @classmethod
    def from_page(cls, p: Page) -> AddForm:
        uploads = [
            f for f in p.form.getlist("attachment") if isinstance(f, UploadFile) and f.filename
        ]
        return cls(
            data_type=p.value("dataType").strip(),
            data=p.value("data"),
            per_line=p.value("perLine") == "on",
            message=p.value("message"),
            tags=p.value("tags"),
            tlp=lists.int_param(p.value("tlp"), 2),
            pap=lists.int_param(p.value("pap"), 2),
            ioc=p.value("ioc") == "on",
            sighted=p.value("sighted") == "on",
            ignore_similarity=p.value("ignoreSimilarity") == "on",
            files=uploads,
        )

    def values(self) -> list[str]:
        """The values to add: one per non-blank line, or the whole text as one value."""
        if not self.per_line:
            return [self.data] if self.data.strip() else []
        return [line.strip() for line in self.data.splitlines() if line.strip()]

    def input_observable(self) -> dict[str, Any]:
        """The ``InputObservable`` the API would receive."""
        data: dict[str, Any] = {
            "dataType": self.data_type,
            "tlp": self.tlp,
            "pap": self.pap,
            "tags": split_tags(self.tags),
            "ioc": self.ioc,
            "sighted": self.sighted,
            "ignoreSimilarity": self.ignore_similarity,
        }
        if self.message.strip():
            data["message"] = self.message
        if not self.files:
            data["data"] = self.values()
        return data


@router.get("/cases/{ref}/observables")
def observables_tab(ref: str, p: Page = Depends(page)) -> Response:
    case = load_case(p, ref)
    return _tab(p, case, AddForm())


def _tab(
    p: Page,
    case: dict[str, Any],
    form: AddForm,
    status_code: int = 200,
    bulk_error: str | None = None,
) -> Response:
    filters = ObservableFilters.from_request(p)
    sort_value, sort = sort_of(p.request.query_params.get("sort"))
    paged = lists.paged(
        p,
        case_observables(case, filters),
        sort,
        lists.int_param(p.request.query_params.get("page"), 1),
        lists.int_param(p.request.query_params.get("size"), 50),
        OBSERVABLE_EXTRA_DATA,
    )
    return render(
        p,
        "cases/observables.html",
        status_code=status_code,
        case=case,
        tabs=TABS,
        tab="observables",
        paged=paged,
        filters=filters,
        sort=sort_value,
        types=observable_types(p),
        form=form,
        bulk_error=bulk_error,
        # after a refused bulk action, the ticks and tags stay as they were
        ticked=set(p.values("ids")) if bulk_error else set(),
        bulk_tags=p.value("tags") if bulk_error else "",
        plain_tags=plain_tags,
        taxonomies=taxonomies,
        may_manage=case_can(case, MANAGE),
        may_analyse=case_can(case, ANALYSE) and p.can(ANALYSE),
    )


@router.post("/cases/{ref}/observables")
def add_observables(ref: str, p: Page = Depends(page)) -> Response:
    """One value, many values (one per line) or files, through the service the API's
    ``POST /api/v1/case/{id}/observable`` calls."""
    case = load_case(p, ref)
    form = AddForm.from_page(p)

    def write() -> None:
        if not form.files and not form.values():
            raise BadRequest("Type a value (one per line) or choose a file")
        files = {"attachment": form.files} if form.files else None
        observables.create_observables(
            p.session,
            p.actor,
            case=get_case(p.session, p.actor, case["_id"]),
            data=form.input_observable(),
            files=files,
        )

    form.error = attempt(p, write)
    if form.error:
        return _tab(p, case, form, status_code=400)
    return redirect(f"/cases/{case['number']}/observables", p)


BULK_ACTIONS = ("addTags", "removeTags", "setIoc", "unsetIoc", "delete", "analyze")


@router.post("/cases/{ref}/observables/bulk")
def bulk_action(ref: str, p: Page = Depends(page)) -> Response:
    """Tags, IOC flag, delete or run analyzers on the ticked observables of the case."""
    case = load_case(p, ref)
    action = p.value("action")

    def write() -> None:
        if action not in BULK_ACTIONS:
            raise BadRequest("Choose an action")
        selected = _selected(p, case)
        _BULK[action](p, selected)

    error = attempt(p, write)
    if error:
        if p.htmx:
            return _flash(p, error)
        return _tab(p, case, AddForm(), status_code=400, bulk_error=error)
    return redirect(f"/cases/{case['number']}/observables", p)


def _selected(p: Page, case: dict[str, Any]) -> list[Observable]:
    """The ticked observables, each visible and in this case (else 404, nothing done)."""
    refs = p.values("ids")
    if not refs:
        raise BadRequest("Tick at least one observable")
    found = [observables.get_observable(p.session, p.actor, r) for r in refs]
    for observable in found:
        if observable.case_id != _case_id(case):
            raise missing("Observable", observable.eid)
    return found


def _case_id(case: dict[str, Any]) -> int:
    return int(str(case["_id"]).lstrip("~"))


def _bulk_update(fields: Callable[[Page], dict[str, Any]]) -> Callable[..., None]:
    def run(p: Page, selected: list[Observable]) -> None:
        observables.bulk_update(p.session, p.actor, {"ids": [o.eid for o in selected], **fields(p)})

    return run


def _tags_of(p: Page) -> list[str]:
    tags = split_tags(p.value("tags"))
    if not tags:
        raise BadRequest("Type the tags to add or remove (comma separated)")
    return tags


def _delete(p: Page, selected: list[Observable]) -> None:
    for observable in selected:
        observables.delete_observable(p.session, p.actor, observable)


def _analyze_all(p: Page, selected: list[Observable]) -> None:
    started = sum(len(run_analyzers(p, o)) for o in selected)
    if not started:
        raise BadRequest("No enabled analyzer accepts these observables (type, TLP or PAP)")


_BULK: dict[str, Callable[[Page, list[Observable]], None]] = {
    "addTags": _bulk_update(lambda p: {"addTags": _tags_of(p)}),
    "removeTags": _bulk_update(lambda p: {"removeTags": _tags_of(p)}),
    "setIoc": _bulk_update(lambda p: {"ioc": True}),
    "unsetIoc": _bulk_update(lambda p: {"ioc": False}),
    "delete": _delete,
    "analyze": _analyze_all,
}


# =========================================================================== the observable page


def load_observable(p: Page, ref: str, extra: list[str]) -> dict[str, Any]:
    """The observable as the API renders it, or 404 when it is not visible (no leak)."""
    return lists.one(p, "getObservable", ref, extra, "Observable")


def container_of(p: Page, observable: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    """The case (with the caller's rights on it) or the alert holding the observable."""
    for kind, extra in (("case", ["permissions"]), ("alert", [])):
        found = lists.run(
            p,
            [
                {"_name": "getObservable", "idOrName": observable["_id"]},
                {"_name": kind},
                {"_name": "page", "from": 0, "to": 1, "extraData": extra},
            ],
        )
        if found:
            return kind, found[0]
    return "", None


@dataclass
class Analysis:
    """The Analysis section: the analyzers for the observable, the newest job of each, and
    whether a job is still running (then the section polls itself)."""

    choices: list[dict[str, Any]]
    others: list[dict[str, Any]]  # jobs of analyzers no longer offered for this type
    running: bool
    may_run: bool


def analysis_of(p: Page, observable: dict[str, Any], may_run: bool) -> Analysis:
    row = observables.get_observable(p.session, p.actor, observable["_id"])
    jobs = lists.run(
        p,
        [
            {"_name": "getObservable", "idOrName": observable["_id"]},
            {"_name": "jobs"},
            {"_name": "sort", "_fields": [{"_createdAt": "desc"}, {"_id": "desc"}]},
            {"_name": "page", "from": 0, "to": JOB_HISTORY},
        ],
    )
    by_analyzer: dict[str, list[dict[str, Any]]] = {}
    for job in jobs:
        by_analyzer.setdefault(job["analyzerName"], []).append(job)
    choices = []
    for choice in analysis.analyzers_for(p.session, p.actor, row):
        history = by_analyzer.pop(choice.worker.name, [])
        choices.append(_choice(choice, history))
    others = [_choice(None, history, name) for name, history in by_analyzer.items()]
    running = any(j["status"] not in FINAL_STATUSES for j in jobs)
    return Analysis(choices, others, running, may_run)


def _choice(
    choice: analysis.AnalyzerChoice | None, history: list[dict[str, Any]], name: str = ""
) -> dict[str, Any]:
    last = history[0] if history else None
    max_tlp, max_pap = analysis.max_levels(choice.worker) if choice else (None, None)
    return {
        "id": choice.worker.eid if choice else "",
        "name": choice.worker.name if choice else name,
        "description": choice.worker.description if choice else "",
        "maxTlp": max_tlp,
        "maxPap": max_pap,
        "refusal": choice.refusal if choice else "no longer enabled for this type",
        "last": last,
        "taxonomies": taxonomies_of(last.get("report")) if last else [],
        "history": len(history),
    }


def run_analyzers(p: Page, observable: Observable, analyzer: str | None = None) -> list[Any]:
    """Jobs for ``analyzer`` (a worker id), or for every analyzer TLP/PAP allow, created
    as TheHive's connector creates them (``POST /api/connector/cortex/job``)."""
    started = []
    for choice in analysis.analyzers_for(p.session, p.actor, observable):
        if analyzer and choice.worker.eid != analyzer:
            continue
        if choice.refusal:
            if analyzer:
                raise BadRequest(f"{choice.worker.name}: {choice.refusal}")
            continue
        job = {"analyzerId": choice.worker.eid, "cortexId": "local", "artifactId": observable.eid}
        started.append(analysis.create_job(p.session, p.actor, job, p.app_state.settings))
    if analyzer and not started:
        raise missing("Analyzer", analyzer)
    return started


@router.get("/observables/{ref}")
def observable_page(ref: str, p: Page = Depends(page)) -> Response:
    observable = load_observable(p, ref, PAGE_EXTRA_DATA)
    return _observable_page(p, observable)


def _observable_page(
    p: Page,
    observable: dict[str, Any],
    edit: EditForm | None = None,
    status_code: int = 200,
) -> Response:
    kind, container = container_of(p, observable)
    return render(
        p,
        "observables/page.html",
        status_code=status_code,
        observable=observable,
        kind=kind,
        container=container,
        analysis=analysis_of(p, observable, _may(p, kind, container, ANALYSE)),
        may_manage=_may(p, kind, container, MANAGE),
        edit=edit or EditForm.of(observable),
        plain_tags=plain_tags,
        taxonomies=taxonomies,
    )


def _may(p: Page, kind: str, container: dict[str, Any] | None, permission: str) -> bool:
    """Whether to offer an action: the caller's right, on a case as its share grants it
    (the service checks again)."""
    if not p.can(permission):
        return False
    return kind != "case" or case_can(container or {}, permission)


@dataclass
class EditForm:
    """The observable's editable fields as typed (kept when the service refuses them)."""

    tags: str = ""
    tlp: int = 2
    pap: int = 2
    ioc: bool = False
    sighted: bool = False
    ignore_similarity: bool = False
    message: str = ""
    error: str | None = None

    @classmethod
    def of(cls, observable: dict[str, Any]) -> EditForm:
        return cls(
            tags=", ".join(plain_tags(observable)),
            tlp=observable.get("tlp", 2),
            pap=observable.get("pap", 2),
            ioc=bool(observable.get("ioc")),
            sighted=bool(observable.get("sighted")),
            ignore_similarity=bool(observable.get("ignoreSimilarity")),
            message=observable.get("message") or "",
        )

    @classmethod
    def from_page(cls, p: Page) -> EditForm:
        return cls(
            tags=p.value("tags"),
            tlp=lists.int_param(p.value("tlp"), 2),
            pap=lists.int_param(p.value("pap"), 2),
            ioc=p.value("ioc") == "on",
            sighted=p.value("sighted") == "on",
            ignore_similarity=p.value("ignoreSimilarity") == "on",
            message=p.value("message"),
        )

    def update(self, observable: dict[str, Any]) -> dict[str, Any]:
        """The ``InputUpdateObservable``: the typed tags replace the analyst's own, the
        analyzers' taxonomy tags stay."""
        from_analyzers = [
            t for t in observable.get("tags") or [] if t not in plain_tags(observable)
        ]
        return {
            "tags": split_tags(self.tags) + from_analyzers,
            "tlp": self.tlp,
            "pap": self.pap,
            "ioc": self.ioc,
            "sighted": self.sighted,
            "ignoreSimilarity": self.ignore_similarity,
            "message": self.message,
        }


@router.post("/observables/{ref}")
def update_observable(ref: str, p: Page = Depends(page)) -> Response:
    """The edit form, through the service ``PATCH /api/v1/observable/{id}`` calls."""
    observable = load_observable(p, ref, PAGE_EXTRA_DATA)
    edit = EditForm.from_page(p)

    def write() -> None:
        row = observables.get_observable(p.session, p.actor, observable["_id"])
        observables.update_observable(p.session, p.actor, row, edit.update(observable))

    edit.error = attempt(p, write)
    if edit.error:
        return _observable_page(p, observable, edit, status_code=400)
    return redirect(f"/observables/{observable['_id']}", p)


@router.post("/observables/{ref}/delete")
def delete_observable(ref: str, p: Page = Depends(page)) -> Response:
    """Delete, as ``DELETE /api/v1/observable/{id}``; back to its case or alert."""
    observable = load_observable(p, ref, [])
    kind, container = container_of(p, observable)
    row = observables.get_observable(p.session, p.actor, observable["_id"])
    observables.delete_observable(p.session, p.actor, row)
    if kind == "case" and container:
        return redirect(f"/cases/{container['number']}/observables", p)
    if kind == "alert" and container:
        return redirect(f"/alerts/{container['_id']}", p)
    return redirect("/", p)


@router.get("/observables/{ref}/analysis")
def analysis_section(ref: str, p: Page = Depends(page)) -> Response:
    """The Analysis section alone: what it polls every second while a job runs (with the
    observable's analyses in its details, swapped out of band). Opened as a page, the
    address leads to the observable's page."""
    observable = load_observable(p, ref, [])
    if not p.htmx:
        return redirect(f"/observables/{observable['_id']}#analysis")
    kind, container = container_of(p, observable)
    return render(
        p,
        "observables/_analysis.html",
        observable=observable,
        analysis=analysis_of(p, observable, _may(p, kind, container, ANALYSE)),
        taxonomies=taxonomies,
        out_of_band=True,
    )


@router.post("/observables/{ref}/analysis")
def run_analysis(ref: str, p: Page = Depends(page)) -> Response:
    """Run one analyzer (``analyzer`` = its id) or all those TLP/PAP allow."""
    observable = load_observable(p, ref, [])
    row = observables.get_observable(p.session, p.actor, observable["_id"])
    analyzer = p.value("analyzer").strip() or None

    def write() -> None:
        if not run_analyzers(p, row, analyzer):
            raise BadRequest("No enabled analyzer may run on this observable")

    error = attempt(p, write)
    if error:
        if p.htmx:
            return _flash(p, error)
        return render(p, "error.html", status_code=400, status=400, message=error, path="")
    if p.htmx:
        return analysis_section(ref, p)
    return redirect(f"/observables/{observable['_id']}#analysis", p)


@router.get("/observables/{ref}/report")
def report_page(ref: str, p: Page = Depends(page), job: str = "") -> Response:
    """A job's full report: the summary taxonomies, a readable tree of the report and the
    raw JSON, and the analyzer's other runs on this observable. Without ``job``, the
    observable's newest job."""
    observable = load_observable(p, ref, [])
    found = _job_of(p, observable, job)
    report = (found or {}).get("report") or {}
    return render(
        p,
        "observables/report.html",
        observable=observable,
        job=found,
        runs=_runs_of(p, observable, found["analyzerName"]) if found else [],
        report=report,
        taxonomies=taxonomies_of(report),
        raw=json.dumps(report, indent=2, ensure_ascii=False, sort_keys=True),
    )


def _runs_of(p: Page, observable: dict[str, Any], analyzer: str) -> list[dict[str, Any]]:
    """The newest runs of one analyzer on the observable (the report page's history)."""
    return lists.run(
        p,
        [
            {"_name": "getObservable", "idOrName": observable["_id"]},
            {"_name": "jobs"},
            {"_name": "filter", "analyzerName": analyzer},
            {"_name": "sort", "_fields": [{"_createdAt": "desc"}, {"_id": "desc"}]},
            {"_name": "page", "from": 0, "to": RUNS_SHOWN},
        ],
    )


def _job_of(p: Page, observable: dict[str, Any], job: str) -> dict[str, Any] | None:
    ops: list[dict[str, Any]] = [
        {"_name": "getObservable", "idOrName": observable["_id"]},
        {"_name": "jobs"},
    ]
    if job:
        ops.append({"_name": "filter", "_id": job})
    ops += [
        {"_name": "sort", "_fields": [{"_createdAt": "desc"}, {"_id": "desc"}]},
        {"_name": "page", "from": 0, "to": 1},
    ]
    found = lists.run(p, ops)
    if job and not found:
        raise missing("Job", job)
    return found[0] if found else None


def plain_tags(observable: dict[str, Any]) -> list[str]:
    """The observable's tags without those its analyzers' taxonomies put there: those are
    shown apart, coloured by level, from ``reports``."""
    from_analyzers = {
        taxonomy_tag(tax)
        for summary in (observable.get("reports") or {}).values()
        for tax in (summary or {}).get("taxonomies") or []
    }
    return [t for t in observable.get("tags") or [] if t not in from_analyzers]


def taxonomies(observable: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        tax
        for summary in (observable.get("reports") or {}).values()
        for tax in (summary or {}).get("taxonomies") or []
    ]


# =========================================================================== helpers


def _flash(p: Page, message: str) -> Response:
    return render(
        p,
        "_flash.html",
        status_code=400,
        headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"},
        level="danger",
        message=message,
    )
