"""Administration of analyzers and responders (``/admin/analyzers``, ``/admin/responders``).

The catalogue (every definition, which are enabled in the organisation, the invalid ones and
why), enabling a definition with a form generated from its ``configurationItems`` and the
global items Cortex adds (:func:`propolis.analysis.config.all_items`), editing and disabling
an enabled one, and for analyzers a test run on a sample value.

Every write calls what the API calls (:mod:`propolis.analysis.workers`, and for a test run
:func:`propolis.analysis.service.run_analyzer`, Cortex's ``POST /api/analyzer/{id}/run``):
the same checks, the same audit events. Secrets are write-only here as in the API: a secret
item is shown as "set" or "not set", its input is always empty, and leaving it empty on an
edit sends back the API's mask, which the service reads as "keep the stored value".
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from propolis.analysis import catalog as catalog_mod
from propolis.analysis import config as worker_config
from propolis.analysis import service as analysis
from propolis.analysis import workers
from propolis.analysis.catalog import ANALYZER, RESPONDER, Catalog, Definition
from propolis.analysis.models import AnalysisWorker
from propolis.analysis.render import render_job, render_jobs, render_workers
from propolis.analysis.reports import taxonomies_of
from propolis.core.errors import NotFound, PropolisError, missing
from propolis.ui.admin import admin_page
from propolis.ui.web import Page, UiRoute, redirect, render, undo

router = APIRouter(route_class=UiRoute)
ADMIN = admin_page(workers.CONFIG_PERMISSION)

# The URL section of each kind, and how a page names it.
SECTIONS = {ANALYZER: "analyzers", RESPONDER: "responders"}
LABELS = {ANALYZER: ("Analyzer", "analyzers"), RESPONDER: ("Responder", "responders")}
# Global items (config.global_items) shown under "Limits"; the others under "Network".
LIMIT_ITEMS = ("jobTimeout", "jobCache", "check_tlp", "max_tlp", "check_pap", "max_pap")
LEVEL_ITEMS = ("max_tlp", "max_pap")  # numbers 0-3 shown as a choice of TLP/PAP levels
RECENT_JOBS = 10
FIELD = "cfg."  # form field of an item's value(s): cfg.<item name>
CLEAR = "clear."  # the "clear" checkbox of a secret: clear.<item name>


# --------------------------------------------------------------------------- the form


@dataclass
class ItemField:
    """One configuration item as its form shows it. ``values`` is what the inputs hold
    (never a secret's); ``is_set`` says whether a secret is stored."""

    item: dict[str, Any]
    group: str  # "own" (the definition's), "limits" or "network" (global items)
    values: list[str]
    secret: bool = False
    is_set: bool = False
    error: str | None = None

    @property
    def name(self) -> str:
        return self.item["name"]

    @property
    def checked(self) -> bool:
        return bool(self.values) and self.values[0] == "true"


@dataclass
class WorkerForm:
    """The enable/edit form: the worker's name, its items, rate limit, and what went wrong."""

    kind: str
    definition: Definition
    name: str
    fields: list[ItemField]
    rate: str = ""
    rate_unit: str = "Minute"
    message: str | None = None
    errors: dict[str, str] = field(default_factory=dict)
    retype: bool = False  # a refused form had secrets typed: they are not drawn again
    sibling: str | None = None  # the enabled worker whose settings prefilled a new one

    def group(self, key: str) -> list[ItemField]:
        return [f for f in self.fields if f.group == key]


def _items(p: Page, definition: Definition) -> list[dict[str, Any]]:
    settings = p.app_state.settings
    return worker_config.all_items(
        definition, settings.job_cache_minutes, settings.job_timeout_minutes
    )


def _group(definition: Definition, item: dict[str, Any]) -> str:
    if item in definition.configuration_items:
        return "own"
    return "limits" if item["name"] in LIMIT_ITEMS else "network"


def _shown(value: Any) -> list[str]:
    """A stored (non-secret) value as the texts of its inputs."""
    if value is None:
        return []
    if isinstance(value, list):
        return [s for v in value for s in _shown(v)]
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, float) and value.is_integer():
        return [str(int(value))]
    return [str(value)]


def _secret_items(items: list[dict[str, Any]], stored: dict[str, Any]) -> set[str]:
    """Secret by the definition or the name (config.is_secret), or stored sealed."""
    sealed = worker_config.secret_names(stored)
    return {i["name"] for i in items if worker_config.is_secret(i) or i["name"] in sealed}


def form_of(
    p: Page, kind: str, definition: Definition, worker: AnalysisWorker | None
) -> WorkerForm:
    """The form as first shown: the worker's values; for a new one, the defaults, or the
    values of an enabled sibling sharing its ``baseConfig`` (Cortex's base configuration:
    the flavors of one program share their settings)."""
    items = _items(p, definition)
    stored = dict(worker.configuration or {}) if worker else {}
    sibling = None if worker else _sibling(p, kind, definition)
    secrets = _secret_items(items, stored)
    fields = []
    for item in items:
        name, secret = item["name"], item["name"] in secrets
        if worker is not None:
            values = [] if secret else _shown(stored.get(name))
        elif sibling is not None and name in sibling.configuration and not secret:
            values = _shown(sibling.configuration[name])
        else:
            values = [] if secret else _shown(item.get("defaultValue"))
        is_set = secret and worker_config.secret_names({name: stored.get(name)}) != set()
        fields.append(ItemField(item, _group(definition, item), values, secret, is_set))
    form = WorkerForm(kind, definition, worker.name if worker else definition.name, fields)
    form.sibling = sibling.name if sibling else None
    if worker is not None and worker.rate:
        form.rate, form.rate_unit = str(worker.rate), worker.rate_unit or "Minute"
    return form


def _sibling(p: Page, kind: str, definition: Definition) -> AnalysisWorker | None:
    """The organisation's first enabled worker of another flavor of the same program."""
    for worker in workers.list_workers(p.session, p.actor, kind):
        if (worker.definition or {}).get("baseConfig") == definition.base_config:
            return worker
    return None


def typed_form(
    p: Page, kind: str, definition: Definition, worker: AnalysisWorker | None
) -> WorkerForm:
    """The form as the admin filled it in (drawn again after a refusal): secrets blank."""
    form = form_of(p, kind, definition, worker)
    form.name = p.value("name").strip() or form.name
    for f in form.fields:
        if f.secret:
            continue
        if f.item["type"] == "boolean" and not f.item["multi"]:
            f.values = ["true" if p.value(FIELD + f.name) else "false"]
        else:
            f.values = [v for v in p.values(FIELD + f.name) if v.strip()]
    form.rate, form.rate_unit = p.value("rate").strip(), p.value("rateUnit") or "Minute"
    form.retype = any(
        f.secret and any(v.strip() for v in p.values(FIELD + f.name)) for f in form.fields
    )
    return form


def _typed(kind: str, text: str) -> Any:
    """A typed text as the item's JSON type; what does not convert is sent as typed, so
    that the service refuses it with its own message."""
    if kind == "number":
        for convert in (int, float):
            try:
                number = convert(text.strip())
            except ValueError:
                continue
            return number if math.isfinite(number) else text
        return text
    if kind == "boolean":
        return {"true": True, "false": False}.get(text.strip().lower(), text)
    return text.strip() if kind in ("string", "password") else text


def configuration_of(p: Page, form: WorkerForm, worker: AnalysisWorker | None) -> dict:
    """The ``configuration`` object the API would be sent, read from the posted form.

    An empty input leaves the item out (its default applies, as in Cortex). A secret left
    empty on an edit is sent back as the API shows it (the mask): the service keeps the
    stored value; its "clear" box sends null."""
    shown = worker_config.masked(worker.configuration or {}) if worker else {}
    out: dict[str, Any] = {}
    for f in form.fields:
        kind, multi = f.item["type"], f.item["multi"]
        typed = [v for v in p.values(FIELD + f.name) if v.strip()]
        if f.secret and p.value(CLEAR + f.name):
            out[f.name] = None
        elif f.secret and not typed:
            if f.is_set:
                out[f.name] = shown.get(f.name)
        elif kind == "boolean" and not multi:
            out[f.name] = bool(p.value(FIELD + f.name))
        elif multi:
            out[f.name] = [_typed(kind, v) for v in typed]
        elif typed:
            out[f.name] = _typed(kind, typed[-1])
    return out


def request_of(p: Page, form: WorkerForm, worker: AnalysisWorker | None) -> dict[str, Any]:
    """The body ``POST /api/v1/analysis/worker`` (or its PATCH) would carry."""
    rate = p.value("rate").strip()
    data: dict[str, Any] = {
        "configuration": configuration_of(p, form, worker),
        "rate": _typed("number", rate) if rate else None,
        "rateUnit": (p.value("rateUnit") or None) if rate else None,
    }
    if worker is None:
        data["name"] = p.value("name").strip() or None
    return data


def refused(form: WorkerForm, error: PropolisError) -> WorkerForm:
    """The service's message on the form, and next to each item it names."""
    form.message = error.message
    for problem in error.extra.get("errors") or []:
        name = problem.get("name")
        if isinstance(name, str):
            form.errors[name] = problem.get("message") or problem.get("type") or "invalid"
    for f in form.fields:
        f.error = form.errors.get(f.name)
    return form


def try_write(p: Page, write: Any) -> PropolisError | None:
    """Like :func:`propolis.ui.web.attempt`, keeping the error's details (which items)."""
    try:
        write()
        p.session.flush()
    except PropolisError as exc:
        undo(p)
        return exc
    return None


# --------------------------------------------------------------------------- reading


def _catalog(p: Page) -> Catalog:
    return catalog_mod.load(p.app_state.settings)


def _definition(p: Page, kind: str, definition_id: str) -> Definition:
    found = _catalog(p).get(kind, definition_id)
    if found is None:
        raise NotFound(f"{LABELS[kind][0]} definition {definition_id} not found")
    return found


def _worker(p: Page, kind: str, ref: str) -> AnalysisWorker:
    return workers.get_worker(p.session, p.actor, kind, ref)


def _matches(definition: Definition, q: str) -> bool:
    text = " ".join([definition.name, definition.description, *definition.data_types])
    return q.lower() in text.lower()


def catalogue(p: Page, kind: str) -> dict[str, Any]:
    """What the catalogue page shows: enabled workers, definitions, problems."""
    found = _catalog(p)
    rows = workers.list_workers(p.session, p.actor, kind)
    enabled = render_workers(found, rows)
    by_definition: dict[str, list[dict[str, Any]]] = {}
    for worker in enabled:
        by_definition.setdefault(worker["definitionId"], []).append(worker)
    q = (p.request.query_params.get("q") or "").strip()
    definitions = [d for d in found.all(kind) if not q or _matches(d, q)]
    return {
        "enabled": enabled,
        "by_definition": by_definition,
        "definitions": definitions,
        "total": len(found.all(kind)),
        "invalid": [i for i in found.invalid if i.kind == kind],
        "warnings": [w for w in found.warnings if w.kind == kind],
        "q": q,
    }


def recent_jobs(p: Page, worker: AnalysisWorker) -> list[dict[str, Any]]:
    """The analyzer's newest jobs (tests and observables' runs alike), as the API renders
    them."""
    rows = analysis.worker_jobs(p.session, p.actor, worker, RECENT_JOBS)
    return [
        {
            **job,
            "dataType": row.data_type,
            "data": row.data,
            "onObservable": bool(row.observable_id),
        }
        for job, row in zip(render_jobs(rows), rows, strict=True)
    ]


def test_job(p: Page, worker: AnalysisWorker, ref: str) -> dict[str, Any]:
    """One job of this analyzer, visible in the organisation (else 404)."""
    job = analysis.get_job(p.session, p.actor, ref)
    if job.worker_id != worker.id:
        raise missing("Job", ref)
    return render_job(job)


def report_context(job: dict[str, Any] | None) -> dict[str, Any]:
    """What observables/_report.html needs to show a job's report."""
    report = (job or {}).get("report") or {}
    return {
        "job": job,
        "report": report,
        "taxonomies": taxonomies_of(report),
        "raw": json.dumps(report, indent=2, ensure_ascii=False, sort_keys=True),
    }


# --------------------------------------------------------------------------- pages


def _base(kind: str) -> str:
    return f"/admin/{SECTIONS[kind]}"


def catalogue_page(p: Page, kind: str) -> Response:
    return render(
        p,
        "admin/analyzers.html",
        section=SECTIONS[kind],
        kind=kind,
        label=LABELS[kind],
        base=_base(kind),
        rescanned=bool(p.request.query_params.get("rescanned")),
        **catalogue(p, kind),
    )


def form_page(
    p: Page, form: WorkerForm, worker: AnalysisWorker | None, status: int = 200, **extra: Any
) -> Response:
    rendered = render_workers(_catalog(p), [worker])[0] if worker else None
    context: dict[str, Any] = {"job": None, "test_value": "", "test_type": ""}
    context.update(extra)
    return render(
        p,
        "admin/analyzer.html",
        status_code=status,
        section=SECTIONS[form.kind],
        kind=form.kind,
        label=LABELS[form.kind],
        base=_base(form.kind),
        form=form,
        worker=rendered,
        levels=[(0, "CLEAR"), (1, "GREEN"), (2, "AMBER"), (3, "RED")],
        rate_units=list(workers.RATE_UNITS),
        jobs=recent_jobs(p, worker) if worker is not None and form.kind == ANALYZER else [],
        **context,
    )


def _register(kind: str) -> None:
    """The routes of one kind (analyzers or responders): the same pages for both, the test
    run for analyzers only (a responder acts on the world)."""
    base = _base(kind)

    @router.get(base, name=f"admin_{kind}s")
    def listing(p: Page = Depends(ADMIN)) -> Response:
        return catalogue_page(p, kind)

    @router.post(base + "/rescan", name=f"admin_{kind}s_rescan")
    def rescan(p: Page = Depends(ADMIN)) -> Response:
        workers.rescan_catalog(p.actor, p.app_state.settings)
        return redirect(f"{base}?rescanned=1", p)

    @router.get(base + "/definitions/{definition_id}", name=f"admin_{kind}_enable_form")
    def enable_form(definition_id: str, p: Page = Depends(ADMIN)) -> Response:
        definition = _definition(p, kind, definition_id)
        return form_page(p, form_of(p, kind, definition, None), None)

    @router.post(base + "/definitions/{definition_id}", name=f"admin_{kind}_enable")
    def enable(definition_id: str, p: Page = Depends(ADMIN)) -> Response:
        definition = _definition(p, kind, definition_id)
        form = form_of(p, kind, definition, None)
        data = request_of(p, form, None)
        enabled: list[AnalysisWorker] = []

        def write() -> None:
            enabled.append(
                workers.enable_worker(
                    p.session,
                    p.actor,
                    _catalog(p),
                    kind,
                    definition.id,
                    data,
                    p.app_state.sealer,
                    p.app_state.settings,
                )
            )

        error = try_write(p, write)
        if error is not None:
            form = refused(typed_form(p, kind, definition, None), error)
            return form_page(p, form, None, status=400)
        return redirect(f"{base}/{enabled[0].eid}", p)

    @router.get(base + "/{ref}", name=f"admin_{kind}")
    def worker_page(ref: str, p: Page = Depends(ADMIN)) -> Response:
        worker = _worker(p, kind, ref)
        definition = workers.definition_of(_catalog(p), worker)
        return form_page(p, form_of(p, kind, definition, worker), worker)

    @router.post(base + "/{ref}", name=f"admin_{kind}_update")
    def update(ref: str, p: Page = Depends(ADMIN)) -> Response:
        worker = _worker(p, kind, ref)
        definition = workers.definition_of(_catalog(p), worker)
        form = form_of(p, kind, definition, worker)
        data = request_of(p, form, worker)

        def write() -> None:
            workers.update_worker(
                p.session,
                p.actor,
                _catalog(p),
                worker,
                data,
                p.app_state.sealer,
                p.app_state.settings,
            )

        error = try_write(p, write)
        if error is not None:
            worker = _worker(p, kind, ref)  # as stored (the refused change was undone)
            form = refused(typed_form(p, kind, definition, worker), error)
            return form_page(p, form, worker, status=400)
        return redirect(f"{base}/{worker.eid}?saved=1", p)

    @router.post(base + "/{ref}/disable", name=f"admin_{kind}_disable")
    def disable(ref: str, p: Page = Depends(ADMIN)) -> Response:
        worker = _worker(p, kind, ref)
        workers.disable_worker(p.session, p.actor, worker)
        return redirect(base, p)

    if kind != ANALYZER:
        return

    @router.post(base + "/{ref}/test", name="admin_analyzer_test")
    def run_test(ref: str, p: Page = Depends(ADMIN)) -> Response:
        """A job on the typed value, as ``POST /api/analyzer/{id}/run`` makes it (the
        admin's rights, the organisation's job, audited); never from the cache."""
        worker = _worker(p, kind, ref)
        data = {
            "dataType": p.value("dataType").strip(),
            "data": p.value("data"),
            "tlp": _typed("number", p.value("tlp") or "2"),
            "pap": _typed("number", p.value("pap") or "2"),
        }
        made: list[Any] = []

        def write() -> None:
            made.append(
                analysis.run_analyzer(
                    p.session, p.actor, worker, data, p.app_state.settings, force=True
                )[0]
            )

        error = try_write(p, write)
        if error is not None:
            worker = _worker(p, kind, ref)
            definition = workers.definition_of(_catalog(p), worker)
            extra = {"test_error": error.message, "test_value": data["data"]}
            extra["test_type"] = data["dataType"]
            if p.htmx:
                return render(
                    p, "admin/_analyzer_test.html", status_code=400, base=base,
                    worker={"_id": worker.eid}, **report_context(None), **extra,
                )  # fmt: skip
            return form_page(p, form_of(p, kind, definition, worker), worker, 400, **extra)
        if p.htmx:  # the job's panel, which polls itself until the job is final
            return render(
                p, "admin/_analyzer_test.html", base=base, worker={"_id": worker.eid},
                **report_context(render_job(made[0])),
            )  # fmt: skip
        return redirect(f"{base}/{worker.eid}/jobs/{made[0].eid}", p)

    @router.get(base + "/{ref}/jobs/{job_ref}", name="admin_analyzer_job")
    def job_page(ref: str, job_ref: str, p: Page = Depends(ADMIN)) -> Response:
        """A job's status and, once it is final, its report; htmx polls the fragment."""
        worker = _worker(p, kind, ref)
        job = test_job(p, worker, job_ref)
        if p.htmx:
            return render(
                p, "admin/_analyzer_test.html", base=base, worker={"_id": worker.eid},
                **report_context(job),
            )  # fmt: skip
        definition = workers.definition_of(_catalog(p), worker)
        form = form_of(p, kind, definition, worker)
        return form_page(p, form, worker, **report_context(job))


for _kind in (ANALYZER, RESPONDER):
    _register(_kind)
