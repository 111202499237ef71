"""Running queued jobs and actions, and storing what they produce.

``execute`` is what a queue consumer calls: it claims the job (``Waiting`` -> ``InProgress``,
atomically, so a job queued twice runs once), prepares the program's input, runs it through
:mod:`propolis.analysis.runner` outside any transaction while a heartbeat says the worker is
alive, then stores the outcome (``Success``/``Failure``) and applies it: an analyzer's
taxonomies become the observable's report summary and tags, its ``autoImport:true``
artifacts become observables, and operations are applied (:mod:`propolis.analysis.operations`).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from propolis import access
from propolis.analysis import catalog as catalog_mod
from propolis.analysis import config as worker_config
from propolis.analysis import (
    environment,
    objects,
    operations,
    outbound,
    paths,
    runner,
    service,
    sightings,
    workers,
)
from propolis.analysis.config import mask_for_report
from propolis.analysis.models import AnalysisWorker, AnalyzerJob, ResponderAction
from propolis.analysis.objects import responder_data
from propolis.analysis.reports import apply_analyzer_report
from propolis.attachments.models import Attachment
from propolis.core import events
from propolis.core.db import now_ms
from propolis.core.errors import PropolisError
from propolis.core.security import Actor
from propolis.observables.models import Observable
from propolis.observables.service import fingerprint_of
from propolis.orgs.models import Organisation

if TYPE_CHECKING:  # the runtime runs this engine; the engine only needs its type
    from propolis.analysis.runtime import Runtime

log = logging.getLogger(__name__)

JOB, ACTION = "job", "action"
MODELS = {JOB: AnalyzerJob, ACTION: ResponderAction}
TYPE_NAMES = {JOB: "AnalyzerJob", ACTION: "ResponderAction"}
MAX_ATTEMPTS = {JOB: 2, ACTION: 1}  # a responder acts on the world: never run it twice


@dataclass
class Plan:
    """What a claimed job will run, or why it cannot run."""

    attempt: int
    job_input: runner.JobInput | None = None
    error: str | None = None
    secret_names: set[str] = field(default_factory=set)  # config items holding a secret
    secrets: list[str] = field(default_factory=list)  # their clear values


def _write_only(plan: Plan, outcome: runner.Outcome) -> runner.Outcome:
    """Secrets are write-only: what the program reports (its input on failure, anything it
    echoes) keeps none of them."""
    report = dict(outcome.report)
    if not outcome.success:
        report["input"] = mask_for_report(report.get("input"), plan.secret_names)
    return runner.Outcome(outcome.success, worker_config.scrub(report, plan.secrets))


def execute(rt: Runtime, kind: str, item_id: int) -> None:
    attempt = _claim(rt, kind, item_id)
    if attempt is None:
        return  # already taken, finished or gone
    try:
        with rt.db.session(write=False) as session:
            plan = _plan(rt, session, kind, item_id, attempt)
    except PropolisError as exc:
        plan = Plan(attempt, error=exc.message)
    except Exception as exc:  # noqa: BLE001 - a broken job must end, not stay InProgress
        log.exception("preparing %s %s failed", kind, item_id)
        plan = Plan(attempt, error=f"Job preparation failed: {exc}")
    if plan.error is not None:
        outcome = runner.failure(plan.error)
    else:
        outcome = _run_with_heartbeat(rt, kind, item_id, plan.job_input)
    _finish(rt, kind, item_id, attempt, _write_only(plan, outcome))


def _claim(rt: Runtime, kind: str, item_id: int) -> int | None:
    model = MODELS[kind]
    now = now_ms()
    with rt.db.session() as session:
        result = session.execute(
            update(model)
            .where(model.id == item_id, model.status == "Waiting")
            .values(
                status="InProgress",
                start_date=now,
                heartbeat_at=now,
                attempts=model.attempts + 1,
            )
        )
        if result.rowcount != 1:
            return None
        return session.scalar(select(model.attempts).where(model.id == item_id))


def _plan(rt: Runtime, session: Session, kind: str, item_id: int, attempt: int) -> Plan:
    item = session.get(MODELS[kind], item_id)
    worker = session.get(AnalysisWorker, item.worker_id) if item.worker_id else None
    label = "Analyzer" if kind == JOB else "Responder"
    if not service.is_local(item.cortex_id):
        return Plan(attempt, error=f"Cortex {item.cortex_id} not found")
    if worker is None:
        name = item.analyzer_name if kind == JOB else item.responder_name
        return Plan(attempt, error=f"{label} {name} not found")
    catalog = catalog_mod.load(rt.settings)
    definition = workers.definition_of(catalog, worker)
    config = workers.job_config_of(worker, definition, rt.sealer)
    refusal = _tlp_pap_refusal(config, item.tlp, item.pap) or _path_refusal(
        definition, config, rt.settings
    )
    if refusal:
        return Plan(attempt, error=refusal)
    actor = _actor_for(session, item)
    _require_rights(session, actor, kind, item)
    request = {} if kind == JOB else item.request or {}  # a Cortex-API responder run
    document: dict[str, Any] = {
        "dataType": item.data_type if kind == JOB else _action_data_type(item),
        "tlp": service.cortex_tlp(item.tlp),
        "pap": item.pap,
        "message": (item.message or "") if kind == JOB else request.get("message", ""),
        "parameters": _parameters_of(session, item),
        "config": config,
        "propolis": {"outbound": _outbound_policy(rt.settings).to_input()},
    }
    job_input = runner.JobInput(
        command=definition.command,
        root=definition.root,
        document=document,
        timeout_seconds=_timeout_seconds(worker, config, rt.settings),
        keep_folder=(item.parameters or {}).get("keepJobFolder") is True,
        interpreter=rt.settings.analysis_python,
        environment=environment.program_environment(rt.settings),
        builtin=definition.builtin,
        max_output_bytes=rt.settings.job_max_output_bytes,
        max_file_bytes=rt.settings.max_upload_bytes,
    )
    if kind == JOB:
        _add_observable(rt, session, item, job_input)
        _add_context(session, item, definition, document)
    elif request:
        document["data"] = request.get("data")
    else:
        document["data"] = responder_data(session, actor, item)
    names = worker_config.secret_names(worker.configuration or {})
    secrets = worker_config.secret_values(config, names)
    return Plan(attempt, job_input=job_input, secret_names=names, secrets=secrets)


def _require_rights(session: Session, actor: Actor, kind: str, item: Any) -> None:
    """Nothing runs that its user may no longer start: a user removed or demoted since, or
    an object whose share became read-only, ends the job as a failure with the reason."""
    if kind == JOB:
        if item.observable_id is None:
            actor.require(service.ANALYSE_PERMISSION)  # a Cortex-API job on a raw value
            return
        observable = _observable_of(session, item)
        if observable is None:
            raise PropolisError("The observable of this job no longer exists")
        access.require_may_act(session, actor, observable, service.ANALYSE_PERMISSION)
    elif item.request:
        actor.require(service.ANALYSE_PERMISSION)  # a Cortex-API responder run (its rule)
    else:
        target = session.get(objects.MODELS[item.object_type], item.object_id)
        if target is None:
            raise PropolisError(f"The {item.object_type} of this action no longer exists")
        access.require_may_act(session, actor, target, service.ACTION_PERMISSION)


def _outbound_policy(settings: Any) -> outbound.Policy:
    return outbound.Policy.parse(
        settings.outbound_allow,
        settings.outbound_timeout_seconds,
        settings.outbound_max_response_bytes,
    )


def _parameters_of(session: Session, item: AnalyzerJob | ResponderAction) -> dict[str, Any]:
    """The job's parameters, with who asked taken from the job row (its organisation and
    creator, set from the authenticated caller), whatever the stored parameters say."""
    org_name = session.scalar(select(Organisation.name).where(Organisation.id == item.org_id))
    parameters = service.without_identity(item.parameters or {})
    return {**parameters, "organisation": org_name, "user": item.created_by}


def _add_context(
    session: Session, job: AnalyzerJob, definition: Any, document: dict[str, Any]
) -> None:
    """Platform data a built-in asks for in its definition (``propolisContext``), looked up
    here for the job's organisation: the program itself has no database access."""
    wanted = definition.extra.get("propolisContext") if definition.builtin else None
    if not isinstance(wanted, list) or sightings.CONTEXT not in wanted:
        return
    observable = _observable_of(session, job)
    if observable is not None:
        fingerprint, exclude = observable.fingerprint, observable.case_id
    elif job.attachment:
        fingerprint, exclude = str(job.attachment.get("id")), None
    else:
        fingerprint, exclude = fingerprint_of(job.data_type or "", job.data or ""), None
    found = sightings.sightings(session, job.org_id, fingerprint, exclude)
    document.setdefault("propolis", {})[sightings.CONTEXT] = found


def _action_data_type(action: ResponderAction) -> str:
    return (action.request or {}).get("dataType") or f"thehive:{action.object_type}"


def _path_refusal(definition: Any, config: dict[str, Any], settings: Any) -> str | None:
    """Paths were confined when the worker was enabled; checked again, since the admin's
    folders or the links inside them may have changed since."""
    items = worker_config.all_items(
        definition, settings.job_cache_minutes, settings.job_timeout_minutes
    )
    return paths.outside_paths(items, config, settings)


def _tlp_pap_refusal(config: dict[str, Any], tlp: int, pap: int) -> str | None:
    """The engine enforces the worker's limits itself, before anything runs (cortexutils
    would too, but a program not written with it might not)."""
    for check, limit, value, name in (
        ("check_tlp", "max_tlp", service.cortex_tlp(tlp), "TLP"),
        ("check_pap", "max_pap", pap, "PAP"),
    ):
        maximum = config.get(limit)
        if not isinstance(maximum, (int, float)) or isinstance(maximum, bool):
            maximum = 2  # cortexutils' default
        if config.get(check) is True and value > maximum:
            return f"{name} is higher than allowed."
    return None


def _timeout_seconds(worker: AnalysisWorker, config: dict[str, Any], settings: Any) -> float:
    minutes = worker.job_timeout
    if minutes is None and isinstance(config.get("jobTimeout"), (int, float)):
        minutes = config["jobTimeout"]
    if minutes is None or minutes <= 0:
        minutes = settings.job_timeout_minutes
    return float(minutes) * 60


def _add_observable(rt: Runtime, session: Session, job: AnalyzerJob, job_input: Any) -> None:
    if job.observable_id is None and job.attachment:  # a file job of the Cortex API
        sha256 = job.attachment.get("id")
        if not isinstance(sha256, str) or not rt.storage.exists(sha256):
            raise PropolisError("The file of this job is missing")
        job_input.attachment = rt.storage.path(sha256)
        job_input.attachment_name = job.attachment.get("name")
        job_input.content_type = job.attachment.get("contentType")
        return
    if job.observable_id is None:  # a job on a raw value (Cortex API)
        job_input.document["data"] = job.data
        return
    observable = session.get(Observable, job.observable_id)
    if observable is None:
        raise PropolisError("The observable of this job no longer exists")
    if observable.attachment_id is None:
        job_input.document["data"] = job.data if job.data is not None else observable.data
        return
    attachment = session.get(Attachment, observable.attachment_id)
    if attachment is None or not rt.storage.exists(attachment.sha256):
        raise PropolisError("The file of this observable is missing")
    job_input.attachment = rt.storage.path(attachment.sha256)
    job_input.attachment_name = attachment.name
    job_input.content_type = attachment.content_type


def _run_with_heartbeat(rt: Runtime, kind: str, item_id: int, job_input: Any) -> runner.Outcome:
    stop = threading.Event()
    model = MODELS[kind]
    interval = max(0.2, float(rt.settings.job_heartbeat_seconds))

    def beat() -> None:
        while not stop.wait(interval):
            try:
                with rt.db.session() as session:
                    session.execute(
                        update(model)
                        .where(model.id == item_id, model.status == "InProgress")
                        .values(heartbeat_at=now_ms())
                    )
            except Exception:  # noqa: BLE001 - a missed beat is retried at the next one
                log.exception("heartbeat of %s %s failed", kind, item_id)

    thread = threading.Thread(target=beat, name=f"heartbeat-{item_id}", daemon=True)
    thread.start()
    try:
        return runner.run(
            job_input, Path(rt.settings.jobs_dir), _file_store(rt), f"{kind}-{item_id}"
        )
    finally:
        stop.set()
        thread.join(timeout=10)


def _file_store(rt: Runtime):  # noqa: ANN202
    def store(path: Path) -> dict[str, Any]:
        import mimetypes

        with path.open("rb") as handle:
            stored = rt.storage.put_stream(handle)
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return {"sha256": stored.sha256, "size": stored.size, "contentType": content_type}

    return store


# --------------------------------------------------------------------------- storing outcomes


def _finish(rt: Runtime, kind: str, item_id: int, attempt: int, outcome: runner.Outcome) -> None:
    session = rt.db.sessions()
    try:
        with session.begin():
            item = session.get(MODELS[kind], item_id)
            if item is None or item.status != "InProgress" or item.attempts != attempt:
                return  # deleted, or taken over by the reaper meanwhile
            _store(session, kind, item, outcome)
    except Exception:  # noqa: BLE001 - the job must end even if its result cannot be stored
        log.exception("storing the result of %s %s failed", kind, item_id)
        events.discard_pending(session)
        _fail_quietly(rt, kind, item_id, "Report creation failure: could not store the result")
        return
    finally:
        session.close()
    events.publish_pending(session)


def _store(session: Session, kind: str, item: Any, outcome: runner.Outcome) -> None:
    item.status = "Success" if outcome.success else "Failure"
    item.end_date = now_ms()
    item.heartbeat_at = None
    report = dict(outcome.report)
    item.operations = report.get("operations") or [] if outcome.success else []
    actor = _actor_for(session, item)
    observable = _observable_of(session, item) if kind == JOB else None
    if kind == JOB:
        item.report = report
        item.error_message = outcome.error_message
        if outcome.success:
            _register_artifact_files(session, item)
            if observable is not None:
                apply_analyzer_report(session, actor, item, observable)
    else:
        item.report = report
    # A Cortex-API responder run acts on the caller's object: the caller applies them (§4.3).
    external = kind == ACTION and bool(item.request)
    if outcome.success and item.operations and not external:
        item.operations = operations.apply_all(session, actor, kind, item, item.operations)
    item.touch(actor.login)
    events.record(
        session,
        actor.login,
        item.org_id,
        "update",
        TYPE_NAMES[kind],
        item.id,
        {"status": item.status},
        # Like the job's creation: the case or alert of the observable (its history, streams).
        root_id=observable and (observable.case_id or observable.alert_id),
    )


def _register_artifact_files(session: Session, job: AnalyzerJob) -> None:
    """File artifacts of the report can be downloaded from the datastore (cortex.md §6.9)."""
    artifacts = (job.report or {}).get("artifacts") or []
    files = [
        a["attachment"]
        for a in artifacts
        if isinstance(a, dict) and isinstance(a.get("attachment"), dict)
    ]
    service.register_files(session, job.org_id, files)


def _fail_quietly(rt: Runtime, kind: str, item_id: int, message: str) -> None:
    model = MODELS[kind]
    try:
        with rt.db.session() as session:
            session.execute(
                update(model)
                .where(model.id == item_id, model.status == "InProgress")
                .values(
                    status="Failure",
                    end_date=now_ms(),
                    heartbeat_at=None,
                    report={"success": False, "errorMessage": message, "input": None},
                )
            )
    except Exception:  # noqa: BLE001
        log.exception("could not mark %s %s as failed", kind, item_id)


def _actor_for(session: Session, item: Any) -> Actor:
    """Results are applied in the name of the user who started the job, in its organisation,
    with the rights that user holds there now (see :func:`access.acting_user`)."""
    return access.acting_user(session, item.created_by, item.org_id)


def _observable_of(session: Session, job: AnalyzerJob) -> Any:
    return session.get(Observable, job.observable_id) if job.observable_id else None


# --------------------------------------------------------------------------- housekeeping


def requeue_waiting(rt: Runtime) -> None:
    """At start-up, every job still ``Waiting`` is queued again (Cortex does the same);
    the claim makes a duplicate harmless."""
    with rt.db.session(write=False) as session:
        pending = {
            kind: list(
                session.scalars(select(model.id).where(model.status == "Waiting").limit(10_000))
            )
            for kind, model in MODELS.items()
        }
    for kind, ids in pending.items():
        for item_id in ids:
            rt.enqueue(kind, item_id)


def reap(rt: Runtime) -> None:
    """Jobs whose worker stopped beating: analyzers are retried once, then fail; responders
    fail at once. Nothing stays ``InProgress`` forever. Jobs ``Waiting`` for long are queued
    again, in case their queue entry was lost (a worker killed between taking it and
    claiming the job, a queue unreachable when the job was created)."""
    heartbeat_ms = int(float(rt.settings.job_heartbeat_seconds) * 1000)
    now = now_ms()
    queue: list[tuple[str, int]] = []
    with rt.db.session() as session:
        for kind, model in MODELS.items():
            lost = session.scalars(
                select(model).where(
                    model.status == "InProgress", model.heartbeat_at < now - 3 * heartbeat_ms - 2000
                )
            ).all()
            for item in lost:
                if _retry_or_fail(session, kind, item, now):
                    queue.append((kind, item.id))
            queue.extend((kind, i) for i in _forgotten(session, model, now, heartbeat_ms))
    events.publish_pending(session)
    for kind, item_id in queue:
        rt.enqueue(kind, item_id)


def _retry_or_fail(session: Session, kind: str, item: Any, now: int) -> bool:
    """True when the job is to be queued again."""
    retry = item.attempts < MAX_ATTEMPTS[kind]
    if retry:
        log.warning("%s %s lost its worker: queued again", kind, item.id)
        item.status, item.heartbeat_at = "Waiting", now  # heartbeat_at: when it was queued
        details = {"status": "Waiting", "reason": "worker lost", "attempts": item.attempts}
    else:
        log.warning("%s %s lost its worker: failed", kind, item.id)
        item.status, item.end_date, item.heartbeat_at = "Failure", now, None
        item.report = {
            "success": False,
            "errorMessage": "The worker running this job stopped before it ended",
            "input": None,
        }
        details = {"status": "Failure", "reason": "worker lost"}
    events.record(
        session, "system@thehive.local", item.org_id, "update", TYPE_NAMES[kind], item.id, details
    )
    return retry


def _forgotten(session: Session, model: Any, now: int, heartbeat_ms: int) -> list[int]:
    """``Waiting`` jobs queued (``heartbeat_at``, else created) long ago: marked as queued
    now. A job that is only behind a long queue gets a duplicate entry, which its claim makes
    harmless."""
    before = now - max(10_000, 20 * heartbeat_ms)
    queued_at = func.coalesce(model.heartbeat_at, model.created_at)
    ids = list(
        session.scalars(
            select(model.id).where(model.status == "Waiting", queued_at < before).limit(1000)
        )
    )
    if ids:
        session.execute(
            update(model)
            .where(model.id.in_(ids), model.status == "Waiting")
            .values(heartbeat_at=now)
        )
    return ids
