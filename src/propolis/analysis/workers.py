"""Enabling analyzers and responders in an organisation (Cortex's "workers").

Nothing is enabled on a fresh install. An org-admin (``manageConfig``) enables a definition
with a configuration checked against its ``configurationItems``; secrets are sealed and
never shown again.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from propolis.analysis import catalog as catalog_mod
from propolis.analysis import config as worker_config
from propolis.analysis import paths
from propolis.analysis.catalog import ANALYZER, KINDS, Catalog, Definition
from propolis.analysis.models import AnalysisWorker
from propolis.core import events, validate
from propolis.core.db import now_ms, parse_id
from propolis.core.errors import BadRequest, CreateError, NotFound, invalid
from propolis.core.security import Actor, Sealer

RATE_UNITS = {"Second": 1, "Minute": 60, "Hour": 3600, "Day": 86400, "Month": 2592000}
CONFIG_PERMISSION = "manageConfig"


def rescan_catalog(actor: Actor, settings: Any) -> Catalog:
    """Read the definition folders again (Cortex's ``POST /api/analyzerdefinition/scan``):
    an admin who added or fixed a definition file sees it without restarting the server."""
    actor.require(CONFIG_PERMISSION)
    return catalog_mod.load(settings, rescan=True)


def find_worker(session: Session, org_id: int, kind: str, ref: str) -> AnalysisWorker | None:
    """By ``~id``, by name or by definition id, in one organisation."""
    query = select(AnalysisWorker).where(
        AnalysisWorker.org_id == org_id, AnalysisWorker.kind == kind
    )
    worker_id = parse_id(ref)
    if worker_id is not None:
        return session.scalar(query.where(AnalysisWorker.id == worker_id))
    found = session.scalar(query.where(AnalysisWorker.name == ref))
    if found is None:
        found = session.scalars(
            query.where(AnalysisWorker.definition_id == ref).order_by(AnalysisWorker.id)
        ).first()
    return found


def get_worker(session: Session, actor: Actor, kind: str, ref: str) -> AnalysisWorker:
    worker = find_worker(session, actor.org_id, kind, ref)
    if worker is None:
        raise NotFound(f"{kind.capitalize()} {ref} not found")
    return worker


def list_workers(
    session: Session, actor: Actor, kind: str, data_type: str | None = None
) -> list[AnalysisWorker]:
    workers = session.scalars(
        select(AnalysisWorker)
        .where(AnalysisWorker.org_id == actor.org_id, AnalysisWorker.kind == kind)
        .order_by(AnalysisWorker.name)
    ).all()
    if data_type is None:
        return list(workers)
    return [w for w in workers if data_type in (w.data_types or [])]


def definition_of(catalog: Catalog, worker: AnalysisWorker) -> Definition:
    """The current definition, or the stored snapshot when the file is gone (obsolete)."""
    current = catalog.get(worker.kind, worker.definition_id)
    return current or Definition.from_snapshot(worker.kind, worker.definition)


def is_obsolete(catalog: Catalog, worker: AnalysisWorker) -> bool:
    return catalog.get(worker.kind, worker.definition_id) is None


def enable_worker(
    session: Session,
    actor: Actor,
    catalog: Catalog,
    kind: str,
    definition_id: str,
    data: dict[str, Any],
    sealer: Sealer,
    settings: Any,
) -> AnalysisWorker:
    actor.require(CONFIG_PERMISSION)
    if kind not in KINDS:
        raise BadRequest(f"Unknown worker kind {kind}")
    definition = catalog.get(kind, definition_id)
    if definition is None:
        raise NotFound(f"{kind.capitalize()} definition {definition_id} not found")
    name = validate.nonempty(data, "name", max_len=255, req=False) or definition.name
    if _by_name(session, actor.org_id, kind, name) is not None:
        raise CreateError(f"{kind.capitalize()} {name} is already enabled")
    items = worker_config.all_items(
        definition, settings.job_cache_minutes, settings.job_timeout_minutes
    )
    stored = paths.confine_config(
        items, worker_config.validate(items, data.get("configuration")), settings
    )
    worker = AnalysisWorker(
        org_id=actor.org_id,
        kind=kind,
        definition_id=definition.id,
        name=name,
        version=definition.version,
        description=definition.description,
        data_types=list(definition.data_types),
        definition=definition.snapshot(),
        configuration=worker_config.seal_secrets(items, stored, sealer),
        created_by=actor.login,
        created_at=now_ms(),
    )
    _set_attributes(worker, data, stored)
    session.add(worker)
    session.flush()
    events.record(
        session,
        actor.login,
        actor.org_id,
        "create",
        "AnalysisWorker",
        worker.id,
        {"kind": kind, "definition": definition.id, "name": name},
    )
    return worker


def _by_name(session: Session, org_id: int, kind: str, name: str) -> AnalysisWorker | None:
    return session.scalar(
        select(AnalysisWorker).where(
            AnalysisWorker.org_id == org_id,
            AnalysisWorker.kind == kind,
            AnalysisWorker.name == name,
        )
    )


def update_worker(
    session: Session,
    actor: Actor,
    catalog: Catalog,
    worker: AnalysisWorker,
    data: dict[str, Any],
    sealer: Sealer,
    settings: Any,
) -> None:
    """Unlike Cortex's unchecked PATCH, the new configuration is validated too (secrets
    sent back as ``********`` keep their stored value)."""
    actor.require(CONFIG_PERMISSION)
    definition = definition_of(catalog, worker)
    changes: dict[str, Any] = {}
    stored = None
    if "configuration" in data:
        items = worker_config.all_items(
            definition, settings.job_cache_minutes, settings.job_timeout_minutes
        )
        stored = paths.confine_config(
            items,
            worker_config.validate(items, data["configuration"], worker.configuration),
            settings,
        )
        worker.configuration = worker_config.seal_secrets(items, stored, sealer)
        changes["configuration"] = sorted(stored)
    before = _attributes(worker)
    _set_attributes(worker, data, stored)
    # The event names what changed under the API's names, like every other update.
    changes.update({k: v for k, v in _attributes(worker).items() if before[k] != v})
    if changes:
        worker.touch(actor.login)
        events.record(
            session, actor.login, actor.org_id, "update", "AnalysisWorker", worker.id, changes
        )


def disable_worker(session: Session, actor: Actor, worker: AnalysisWorker) -> None:
    actor.require(CONFIG_PERMISSION)
    events.record(
        session,
        actor.login,
        actor.org_id,
        "delete",
        "AnalysisWorker",
        worker.id,
        {"name": worker.name, "kind": worker.kind},
    )
    session.delete(worker)


def _attributes(worker: AnalysisWorker) -> dict[str, Any]:
    return {
        "jobCache": worker.job_cache,
        "jobTimeout": worker.job_timeout,
        "rate": worker.rate,
        "rateUnit": worker.rate_unit,
    }


def _set_attributes(
    worker: AnalysisWorker, data: dict[str, Any], stored: dict[str, Any] | None
) -> None:
    """``jobCache``/``jobTimeout`` (minutes), ``rate``/``rateUnit``: top-level attributes,
    or the configuration's items of the same name."""
    for key, attr in (("jobCache", "job_cache"), ("jobTimeout", "job_timeout")):
        if key in data:
            setattr(worker, attr, _minutes(key, data[key]))
        elif stored is not None and key in stored:
            setattr(worker, attr, _minutes(key, stored[key]))
    if "rate" in data or "rateUnit" in data:
        rate = validate.integer(data, "rate", low=1)
        unit = validate.one_of(data, "rateUnit", set(RATE_UNITS))
        if (rate is None) != (unit is None):
            raise invalid("rate", "rate and rateUnit go together", data.get("rate"))
        worker.rate, worker.rate_unit = rate, unit


def _minutes(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise invalid(name, "must be a number of minutes", value)
    return int(value)


def job_config_of(worker: AnalysisWorker, definition: Definition, sealer: Sealer) -> dict:
    """The ``config`` object a job of this worker receives (secrets in clear)."""
    return worker_config.job_config(
        definition.config, worker_config.unseal(worker.configuration, sealer)
    )


def is_analyzer(worker: AnalysisWorker) -> bool:
    return worker.kind == ANALYZER
