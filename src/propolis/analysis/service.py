"""Analyzer jobs and responder actions: creating them (TheHive's Cortex connector, spec §21)
and finding them. Running them is :mod:`propolis.analysis.engine`.

A job is recorded ``Waiting`` in the caller's organisation and queued once the transaction
commits. It is recorded even when the analyzer or the Cortex server named is unknown (TheHive
5 answers 201 there too); the engine then ends it as ``Failure`` with the reason.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from propolis import access
from propolis.alerts.service import get_alert
from propolis.analysis import workers
from propolis.analysis.catalog import ANALYZER, RESPONDER
from propolis.analysis.models import AnalysisWorker, AnalyzerJob, DatastoreFile, ResponderAction
from propolis.analysis.reports import apply_analyzer_report
from propolis.attachments.models import Attachment
from propolis.attachments.service import get_visible_attachment
from propolis.cases.models import Case
from propolis.cases.service import get_case
from propolis.core import events, validate
from propolis.core.db import now_ms, parse_id
from propolis.core.errors import BadRequest, NotFound, PropolisError, invalid, missing
from propolis.core.security import Actor
from propolis.observables.service import get_observable
from propolis.tasks import service as tasks
from propolis.tasks.models import Task

LOCAL_CORTEX = "local"
ANALYSE_PERMISSION = "manageAnalyse"
ACTION_PERMISSION = "manageAction"
OBJECT_TYPES = ("case", "case_task", "case_task_log", "case_artifact", "alert")
# Parameters that say who asked: always the authenticated caller's, never what was sent.
IDENTITY_PARAMETERS = ("organisation", "user")
# Parameters TheHive adds to every run; they say who asked, not what to compute.
_CALLER_PARAMETERS = (*IDENTITY_PARAMETERS, "force", "keepJobFolder")


class RateLimitExceeded(PropolisError):
    status = 429
    type = "RateLimitExceeded"


def is_local(cortex_id: str | None) -> bool:
    """Propolis is its own (single) Cortex server, named ``local``."""
    return cortex_id in (None, "", LOCAL_CORTEX)


# --------------------------------------------------------------------------- analyzer jobs


def create_job(session: Session, actor: Actor, data: dict[str, Any], settings: Any) -> AnalyzerJob:
    actor.require(ANALYSE_PERMISSION)
    analyzer_ref = validate.nonempty(data, "analyzerId", max_len=255)
    cortex_id = validate.nonempty(data, "cortexId", max_len=255)
    artifact_ref = validate.nonempty(data, "artifactId", max_len=64)
    parameters = _parameters(data, actor)
    observable = get_observable(session, actor, artifact_ref)
    access.require_may_act(session, actor, observable, ANALYSE_PERMISSION)
    worker = None
    if is_local(cortex_id):
        worker = workers.find_worker(session, actor.org_id, ANALYZER, analyzer_ref)
    if worker is not None and observable.data_type not in (worker.data_types or []):
        raise BadRequest(f"Analyzer {worker.name} does not accept {observable.data_type}")
    job = _new_job(session, actor, observable, worker, analyzer_ref, cortex_id, parameters)
    if worker is not None:
        job.cache_tag = cache_tag(worker, job, _attachment_sha256(session, observable))
        cached = (
            None if parameters.get("force") is True else _cached(session, worker, job, settings)
        )
        if cached is not None:
            return _from_cache(session, actor, job, cached, observable)
        _check_rate(session, worker)
    session.add(job)
    session.flush()
    if worker is not None:
        job.cortex_job_id = job.eid  # Propolis is the Cortex: the job is its own Cortex job
    _record_job(session, actor, job, observable, queued=True)
    return job


def run_analyzer(
    session: Session,
    actor: Actor,
    worker: AnalysisWorker,
    data: dict[str, Any],
    settings: Any,
    force: bool = False,
    attachment: dict[str, Any] | None = None,
) -> tuple[AnalyzerJob, bool]:
    """A job on a raw value or an uploaded file (``attachment``, see :func:`store_job_file`),
    as Cortex's ``POST /api/analyzer/{id}/run`` (cortex.md §6.7): no observable; the program
    decides whether it accepts the data type."""
    actor.require(ANALYSE_PERMISSION)
    data_type = validate.nonempty(data, "dataType", max_len=64)
    value = None if attachment else data.get("data")
    if not attachment and not isinstance(value, str):
        raise invalid("data", "must be a string, or a file part named data", value)
    tlp = validate.integer(data, "tlp", low=0, high=3, default=2)
    pap = validate.integer(data, "pap", low=0, high=3, default=2)
    message = data.get("message") if isinstance(data.get("message"), str) else ""
    parameters = _parameters(data, actor)
    now = now_ms()
    job = AnalyzerJob(
        org_id=actor.org_id,
        observable_id=None,
        worker_id=worker.id,
        analyzer_id=worker.eid,
        analyzer_name=worker.name,
        analyzer_definition=worker.definition_id,
        cortex_id=LOCAL_CORTEX,
        cortex_job_id="",
        status="Waiting",
        start_date=now,
        parameters=dict(parameters),
        report=None,
        operations=[],
        data_type=data_type,
        data=value,
        attachment=dict(attachment or {}),
        tlp=tlp,
        pap=pap,
        message=message,
        created_by=actor.login,
        created_at=now,
    )
    job.cache_tag = cache_tag(worker, job, (attachment or {}).get("id"))
    cached = (
        None
        if force or parameters.get("force") is True
        else _cached(session, worker, job, settings)
    )
    if cached is not None:
        return cached, True
    _check_rate(session, worker)
    session.add(job)
    session.flush()
    job.cortex_job_id = job.eid
    if attachment:
        register_files(session, actor.org_id, [attachment])
    events.record(
        session,
        actor.login,
        actor.org_id,
        "create",
        "AnalyzerJob",
        job.id,
        {"analyzer": job.analyzer_name, "dataType": data_type, "queued": True},
    )
    return job, False


def store_job_file(storage: Any, upload: Any, max_bytes: int | None) -> dict[str, Any]:
    """Keep an uploaded file in the content-addressed store; Cortex's attachment object."""
    try:
        stored = storage.put_stream(upload.file, max_bytes=max_bytes)
    except ValueError as exc:  # larger than allowed
        raise BadRequest(str(exc)) from exc
    return {
        "name": upload.filename or stored.sha256,
        "hashes": [stored.sha256, stored.sha1, stored.md5],
        "size": stored.size,
        "contentType": upload.content_type or "application/octet-stream",
        "id": stored.sha256,
    }


def register_files(session: Session, org_id: int, attachments: list[dict[str, Any]]) -> None:
    """Let the organisation download these files from the datastore (cortex.md §6.9)."""
    wanted = {a["id"]: a for a in attachments if isinstance(a.get("id"), str)}
    if not wanted:
        return
    known = set(
        session.scalars(
            select(DatastoreFile.sha256).where(
                DatastoreFile.org_id == org_id, DatastoreFile.sha256.in_(list(wanted))
            )
        )
    )
    for sha256, attachment in wanted.items():
        if sha256 not in known:
            session.add(
                DatastoreFile(
                    org_id=org_id,
                    sha256=sha256,
                    name=str(attachment.get("name") or sha256)[:512],
                    content_type=str(attachment.get("contentType") or "application/octet-stream"),
                )
            )


def stored_digests(session: Session) -> set[str]:
    """The sha256 of every stored file the Cortex datastore offers (job files, artifacts)."""
    return set(session.scalars(select(DatastoreFile.sha256).distinct()))


def datastore_file(session: Session, actor: Actor, sha256: str) -> tuple[str, str] | None:
    """``(name, content type)`` of a file the caller's organisation may download, if any:
    a datastore file of its jobs, else an attachment it can see (observable files...)."""
    row = session.scalar(
        select(DatastoreFile).where(
            DatastoreFile.org_id == actor.org_id, DatastoreFile.sha256 == sha256
        )
    )
    if row is not None:
        return row.name, row.content_type
    try:
        attachment = get_visible_attachment(session, actor, sha256)
    except PropolisError:
        return None
    return attachment.name, attachment.content_type


def create_jobs(
    session: Session, actor: Actor, data: dict[str, Any], settings: Any
) -> list[AnalyzerJob]:
    items = data.get("jobs")
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise invalid("jobs", "must be a list of job objects", items)
    return [create_job(session, actor, item, settings) for item in items]


def _parameters(data: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """The ``parameters`` sent, with the caller's identity in place of any sent one."""
    parameters = data.get("parameters")
    if parameters is None:
        parameters = {}
    if not isinstance(parameters, dict):
        raise invalid("parameters", "must be an object", parameters)
    return {**without_identity(parameters), "organisation": actor.org_name, "user": actor.login}


def without_identity(parameters: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in parameters.items() if k not in IDENTITY_PARAMETERS}


def _new_job(
    session: Session,
    actor: Actor,
    observable: Any,
    worker: AnalysisWorker | None,
    analyzer_ref: str,
    cortex_id: str,
    parameters: dict[str, Any],
) -> AnalyzerJob:
    now = now_ms()
    return AnalyzerJob(
        org_id=actor.org_id,
        observable_id=observable.id,
        worker_id=worker.id if worker else None,
        analyzer_id=worker.eid if worker else analyzer_ref,
        analyzer_name=worker.name if worker else analyzer_ref,
        analyzer_definition=worker.definition_id if worker else analyzer_ref,
        cortex_id=cortex_id,
        cortex_job_id="",
        status="Waiting",
        start_date=now,
        parameters=parameters,
        report=None,
        operations=[],
        data_type=observable.data_type,
        data=observable.data,
        tlp=observable.tlp,
        pap=observable.pap,
        message=_case_number(session, observable),
        created_by=actor.login,
        created_at=now,
    )


def _case_number(session: Session, observable: Any) -> str:
    """TheHive puts the case number in the job's message (cortex.md §2.3)."""
    if getattr(observable, "case_id", None) is None:
        return ""
    number = session.scalar(select(Case.number).where(Case.id == observable.case_id))
    return "" if number is None else str(number)


def _attachment_sha256(session: Session, observable: Any) -> str | None:
    if getattr(observable, "attachment_id", None) is None:
        return None
    return session.scalar(
        select(Attachment.sha256).where(Attachment.id == observable.attachment_id)
    )


def cache_tag(worker: AnalysisWorker, job: AnalyzerJob, sha256: str | None) -> str:
    """Cortex's tag (worker|dataType|tlp|data|parameters, §5.2) plus the worker's
    configuration version: changing the configuration invalidates cached results."""
    version = worker.updated_at or worker.created_at
    parameters = {k: v for k, v in job.parameters.items() if k not in _CALLER_PARAMETERS}
    text = "|".join(
        [
            f"{worker.id}:{version}",
            job.data_type or "",
            str(job.tlp),
            sha256 or job.data or "",
            json.dumps(parameters, sort_keys=True, separators=(",", ":")),
        ]
    )
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - a cache key, not security


def cache_minutes(worker: AnalysisWorker, settings: Any) -> float:
    return settings.job_cache_minutes if worker.job_cache is None else worker.job_cache


def _cached(
    session: Session, worker: AnalysisWorker, job: AnalyzerJob, settings: Any
) -> AnalyzerJob | None:
    minutes = cache_minutes(worker, settings)
    if minutes <= 0:
        return None
    since = now_ms() - int(minutes * 60_000)
    return session.scalars(
        select(AnalyzerJob)
        .where(
            AnalyzerJob.cache_tag == job.cache_tag,
            AnalyzerJob.status == "Success",
            AnalyzerJob.created_at >= since,
            AnalyzerJob.org_id == job.org_id,
        )
        .order_by(AnalyzerJob.created_at.desc())
        .limit(1)
    ).first()


def _from_cache(
    session: Session, actor: Actor, job: AnalyzerJob, cached: AnalyzerJob, observable: Any
) -> AnalyzerJob:
    """A new TheHive job pointing at the cached Cortex job, finished at once."""
    job.status = "Success"
    # what the cached job's user could not apply is not this job's concern
    job.report = {k: v for k, v in (cached.report or {}).items() if k != "notApplied"}
    job.operations = cached.operations
    job.end_date = job.start_date
    job.cortex_job_id = cached.cortex_job_id or cached.eid
    job.parameters = {**job.parameters, "fromCache": True}
    session.add(job)
    session.flush()
    apply_analyzer_report(session, actor, job, observable)
    _record_job(session, actor, job, observable, queued=False)
    return job


def _check_rate(session: Session, worker: AnalysisWorker) -> None:
    """Cortex's rate limit: at most ``rate`` jobs per ``rateUnit`` (§5.3)."""
    if not worker.rate or not worker.rate_unit:
        return
    window = workers.RATE_UNITS[worker.rate_unit] * 1000
    count = session.scalar(
        select(func.count())
        .select_from(AnalyzerJob)
        .where(AnalyzerJob.worker_id == worker.id, AnalyzerJob.created_at >= now_ms() - window)
    )
    if (count or 0) >= worker.rate:
        raise RateLimitExceeded(
            f"Rate limit of {worker.rate} per {worker.rate_unit} reached for the analyzer "
            f"{worker.name}. Job cannot be started"
        )


def _record_job(
    session: Session, actor: Actor, job: AnalyzerJob, observable: Any, queued: bool
) -> None:
    events.record(
        session,
        actor.login,
        actor.org_id,
        "create",
        "AnalyzerJob",
        job.id,
        {
            "analyzer": job.analyzer_name,
            "observable": observable.eid,
            "status": job.status,
            "queued": queued,
        },
        root_id=getattr(observable, "case_id", None) or getattr(observable, "alert_id", None),
    )


def delete_job(session: Session, actor: Actor, job: AnalyzerJob | ResponderAction) -> None:
    """Cortex's soft delete: the job (analyzer job or responder action) stays, with status
    ``Deleted``."""
    actor.require(ANALYSE_PERMISSION)
    job.status = "Deleted"
    job.touch(actor.login)
    type_name = "AnalyzerJob" if isinstance(job, AnalyzerJob) else "ResponderAction"
    events.record(
        session, actor.login, actor.org_id, "delete", type_name, job.id, {"status": "Deleted"}
    )


def visible_jobs(actor: Actor):  # noqa: ANN201
    """Jobs are visible in the organisation that created them."""
    return select(AnalyzerJob).where(AnalyzerJob.org_id == actor.org_id)


def worker_jobs(session: Session, actor: Actor, worker: AnalysisWorker, limit: int) -> list:
    """The newest jobs of one analyzer in the caller's organisation (its admin page)."""
    return list(
        session.scalars(
            visible_jobs(actor)
            .where(AnalyzerJob.worker_id == worker.id)
            .order_by(AnalyzerJob.created_at.desc(), AnalyzerJob.id.desc())
            .limit(limit)
        )
    )


def get_job(session: Session, actor: Actor, ref: str) -> AnalyzerJob:
    job_id = parse_id(ref)
    job = None
    if job_id is not None:
        job = session.scalar(visible_jobs(actor).where(AnalyzerJob.id == job_id))
    if job is None:
        raise missing("Job", ref)
    return job


# --------------------------------------------------------------------------- responder actions


@dataclass
class Target:
    """The object a responder acts on, with what the action needs to know about it."""

    object_type: str
    entity: Any
    tlp: int
    pap: int
    root_id: int | None  # the case or alert it belongs to


def find_target(session: Session, actor: Actor, object_type: str, ref: str) -> Target:
    if object_type not in OBJECT_TYPES:
        raise invalid("objectType", f"must be one of {', '.join(OBJECT_TYPES)}", object_type)
    if object_type == "case":
        case = get_case(session, actor, ref)
        return Target("case", case, case.tlp, case.pap, case.id)
    if object_type == "alert":
        alert = get_alert(session, actor, ref)
        return Target("alert", alert, alert.tlp, alert.pap, alert.id)
    if object_type == "case_artifact":
        observable = get_observable(session, actor, ref)
        return Target(
            "case_artifact",
            observable,
            observable.tlp,
            observable.pap,
            observable.case_id or observable.alert_id,
        )
    return _task_target(session, actor, object_type, ref)


def _task_target(session: Session, actor: Actor, object_type: str, ref: str) -> Target:
    if object_type == "case_task":
        entity = task = tasks.get_task(session, actor, ref)
        if task.case_id is None:  # a case template's task: nothing to act on
            raise missing("Task", ref)
    else:
        entity = tasks.get_log(session, actor, ref)
        task = session.get(Task, entity.task_id)
    case = session.get(Case, task.case_id)
    return Target(object_type, entity, case.tlp, case.pap, case.id)


def create_action(session: Session, actor: Actor, data: dict[str, Any]) -> ResponderAction:
    actor.require(ACTION_PERMISSION)
    responder_ref = validate.nonempty(data, "responderId", max_len=255)
    cortex_id = validate.string(data, "cortexId", max_len=255)
    object_type = validate.nonempty(data, "objectType", max_len=32)
    object_ref = validate.nonempty(data, "objectId", max_len=64)
    parameters = _parameters(data, actor)
    target = find_target(session, actor, object_type, object_ref)
    access.require_may_act(session, actor, target.entity, ACTION_PERMISSION)
    tlp = validate.tlp(data, target.tlp)
    worker = None
    if is_local(cortex_id):
        worker = workers.find_worker(session, actor.org_id, RESPONDER, responder_ref)
    if worker is not None and f"thehive:{object_type}" not in (worker.data_types or []):
        raise BadRequest(f"Responder {worker.name} does not act on {object_type}")
    now = now_ms()
    action = ResponderAction(
        org_id=actor.org_id,
        worker_id=worker.id if worker else None,
        responder_id=worker.eid if worker else responder_ref,
        responder_name=worker.name if worker else responder_ref,
        responder_definition=worker.definition_id if worker else responder_ref,
        cortex_id=cortex_id or LOCAL_CORTEX,
        cortex_job_id=None,
        object_type=object_type,
        object_id=target.entity.id,
        status="Waiting",
        start_date=now,
        parameters=parameters,
        report={},
        operations=[],
        tlp=tlp,
        pap=target.pap,
        created_by=actor.login,
        created_at=now,
    )
    session.add(action)
    session.flush()
    if worker is not None:
        action.cortex_job_id = action.eid
    events.record(
        session,
        actor.login,
        actor.org_id,
        "create",
        "ResponderAction",
        action.id,
        {"responder": action.responder_name, "objectType": object_type, "queued": True},
        root_id=target.root_id,
    )
    return action


def run_responder(
    session: Session, actor: Actor, worker: AnalysisWorker, data: dict[str, Any]
) -> ResponderAction:
    """Cortex's ``POST /api/responder/{id}/run`` (cortex.md §6.7): the caller sends the object
    (``data``) itself; the report's operations are for the caller to apply (§4.3)."""
    actor.require(ANALYSE_PERMISSION)
    data_type = validate.nonempty(data, "dataType", max_len=64)
    if "data" not in data:
        raise invalid("data", "is required", None)
    tlp = validate.integer(data, "tlp", low=0, high=3, default=2)
    pap = validate.integer(data, "pap", low=0, high=3, default=2)
    parameters = _parameters(data, actor)
    texts = {k: data.get(k) if isinstance(data.get(k), str) else "" for k in ("label", "message")}
    now = now_ms()
    action = ResponderAction(
        org_id=actor.org_id,
        worker_id=worker.id,
        responder_id=worker.eid,
        responder_name=worker.name,
        responder_definition=worker.definition_id,
        cortex_id=LOCAL_CORTEX,
        cortex_job_id=None,
        object_type=data_type.removeprefix("thehive:")[:32],
        object_id=0,  # no Propolis object: the caller's own
        status="Waiting",
        start_date=now,
        parameters=dict(parameters),
        report={},
        operations=[],
        tlp=tlp,
        pap=pap,
        request={"dataType": data_type, "data": data["data"], **texts},
        created_by=actor.login,
        created_at=now,
    )
    session.add(action)
    session.flush()
    action.cortex_job_id = action.eid
    events.record(
        session,
        actor.login,
        actor.org_id,
        "create",
        "ResponderAction",
        action.id,
        {"responder": action.responder_name, "dataType": data_type, "queued": True},
    )
    return action


def visible_actions(actor: Actor):  # noqa: ANN201
    """TheHive's actions; runs through the Cortex API act on no Propolis object (id 0) and
    are only Cortex jobs (:func:`cortex_jobs`)."""
    return select(ResponderAction).where(
        ResponderAction.org_id == actor.org_id, ResponderAction.object_id != 0
    )


def cortex_jobs(actor: Actor):  # noqa: ANN201
    """The responder runs the Cortex API shows as jobs: every action of the organisation."""
    return select(ResponderAction).where(ResponderAction.org_id == actor.org_id)


def get_cortex_job(session: Session, actor: Actor, ref: str) -> AnalyzerJob | ResponderAction:
    """A Cortex job is an analyzer job or a responder action (ids are global)."""
    item_id = parse_id(ref)
    found = None
    if item_id is not None:
        found = session.scalar(visible_jobs(actor).where(AnalyzerJob.id == item_id))
        if found is None:
            found = session.scalar(cortex_jobs(actor).where(ResponderAction.id == item_id))
    if found is None or found.status == "Deleted":
        raise NotFound(f"job {ref} not found")
    return found


def get_action(session: Session, actor: Actor, ref: str) -> ResponderAction:
    action_id = parse_id(ref)
    action = None
    if action_id is not None:
        action = session.scalar(visible_actions(actor).where(ResponderAction.id == action_id))
    if action is None:
        raise missing("Action", ref)
    return action


def actions_of(session: Session, actor: Actor, object_type: str, ref: str) -> list[ResponderAction]:
    target = find_target(session, actor, object_type, ref)
    return list(
        session.scalars(
            visible_actions(actor)
            .where(
                ResponderAction.object_id == target.entity.id,
                ResponderAction.object_type == object_type,
            )
            .order_by(ResponderAction.created_at.desc(), ResponderAction.id.desc())
        )
    )


def responders_for(
    session: Session, actor: Actor, object_type: str, ref: str
) -> list[AnalysisWorker]:
    """Enabled responders that act on this kind of object and accept its TLP/PAP (§5.1)."""
    target = find_target(session, actor, object_type, ref)
    found = []
    for worker in workers.list_workers(session, actor, RESPONDER, f"thehive:{object_type}"):
        max_tlp, max_pap = max_levels(worker)
        if cortex_tlp(target.tlp) <= max_tlp and target.pap <= max_pap:
            found.append(worker)
    return found


@dataclass
class AnalyzerChoice:
    """An enabled analyzer that accepts an observable's data type, and why it may not run
    on this observable (its TLP or PAP is above the analyzer's limit), if it may not."""

    worker: AnalysisWorker
    refusal: str | None


def analyzers_for(session: Session, actor: Actor, observable: Any) -> list[AnalyzerChoice]:
    """The organisation's analyzers for this observable's type, by name, each with the
    refusal its TLP/PAP limits give (what TheHive's connector filters with maxTlp/maxPap,
    cortex.md §5.1; the engine refuses such a job too)."""
    found = []
    for worker in workers.list_workers(session, actor, ANALYZER, observable.data_type):
        max_tlp, max_pap = max_levels(worker)
        refusal = None
        if cortex_tlp(observable.tlp) > max_tlp:
            refusal = f"TLP of the observable is above the analyzer's maximum ({max_tlp})"
        elif observable.pap > max_pap:
            refusal = f"PAP of the observable is above the analyzer's maximum ({max_pap})"
        found.append(AnalyzerChoice(worker, refusal))
    return found


def max_levels(worker: AnalysisWorker) -> tuple[int, int]:
    """``maxTlp``/``maxPap`` of a worker: its limits when checked, else 3 (TheHive's default)."""
    conf = worker.configuration or {}
    definition_config = (worker.definition or {}).get("config") or {}

    def level(check: str, limit: str) -> int:
        checked = conf.get(check, definition_config.get(check))
        value = conf.get(limit, definition_config.get(limit))
        if checked is True and isinstance(value, (int, float)) and not isinstance(value, bool):
            return int(value)
        return 3

    return level("check_tlp", "max_tlp"), level("check_pap", "max_pap")


def cortex_tlp(tlp: int) -> int:
    """TheHive 5 has five TLP levels, Cortex four: AMBER+STRICT (3) and RED (4) are both
    treated as Cortex's RED (3), the most restrictive, so a ``max_tlp`` of 2 refuses them."""
    return min(int(tlp), 3)
