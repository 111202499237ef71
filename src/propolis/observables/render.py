"""The one rendering of observables (``OutputObservable``, spec §6.4) and observable types.

Lists are rendered in batch: the files of all the observables in one query, and each
requested extraData name in one more query, whatever the length of the list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import false, or_, select
from sqlalchemy.orm import Session

from propolis.alerts.models import Alert
from propolis.attachments.models import Attachment
from propolis.attachments.render import render_attachment
from propolis.cases.models import Case, Share, SharedObservable
from propolis.core.render import labels, meta, put
from propolis.core.security import Actor
from propolis.observables import service
from propolis.observables.models import Observable, ObservableType
from propolis.orgs.models import Organisation
from propolis.users.models import Profile


def render_observable_type(observable_type: ObservableType) -> dict[str, Any]:
    out = meta(observable_type, "ObservableType")
    out.update(name=observable_type.name, isAttachment=observable_type.is_attachment)
    return out


def render_observables(
    session: Session, actor: Actor, observables: list[Observable], extra: list[str] | None = None
) -> list[dict[str, Any]]:
    files = _files_of(session, observables)
    extra_data = _extra_data(session, actor, observables, extra or [])
    return [
        _render(o, files.get(o.attachment_id), {k: v[o.id] for k, v in extra_data.items()})
        for o in observables
    ]


def render_observable(session: Session, actor: Actor, observable: Observable) -> dict[str, Any]:
    return render_observables(session, actor, [observable])[0]


def _render(
    observable: Observable, attachment: Attachment | None, extra_data: dict[str, Any]
) -> dict[str, Any]:
    out = meta(observable, "Observable")
    out["dataType"] = observable.data_type
    put(out, "data", observable.data)
    out["startDate"] = observable.start_date
    if attachment is not None:
        out["attachment"] = render_attachment(attachment)
    labels(out, None, observable.tlp, observable.pap)
    out["tags"] = list(observable.tags or [])
    out["ioc"] = bool(observable.ioc)
    out["sighted"] = bool(observable.sighted)
    put(out, "sightedAt", observable.sighted_at)
    out["reports"] = dict(observable.reports or {})
    put(out, "message", observable.message)
    out["extraData"] = extra_data
    out["ignoreSimilarity"] = bool(observable.ignore_similarity)
    return out


def _files_of(session: Session, observables: list[Observable]) -> dict[int, Attachment]:
    ids = {o.attachment_id for o in observables if o.attachment_id is not None}
    if not ids:
        return {}
    return {a.id: a for a in session.scalars(select(Attachment).where(Attachment.id.in_(ids)))}


# --------------------------------------------------------------------------- extraData

ExtraBuilder = Callable[[Session, Actor, list[Observable]], dict[int, Any]]


def _extra_data(
    session: Session, actor: Actor, observables: list[Observable], names: list[str]
) -> dict[str, dict[int, Any]]:
    out: dict[str, dict[int, Any]] = {}
    for name in names:
        builder = EXTRA_DATA.get(name)
        if builder is not None and name not in out:
            out[name] = builder(session, actor, observables) if observables else {}
    return out


def _links(session: Session, actor: Actor, observables: list[Observable]) -> dict[int, Any]:
    """The other cases and alerts holding a similar observable (same fingerprint)."""
    rows = session.execute(
        select(Observable.fingerprint, Observable.case_id, Observable.alert_id, Case, Alert)
        .outerjoin(Case, Case.id == Observable.case_id)
        .outerjoin(Alert, Alert.id == Observable.alert_id)
        .where(
            Observable.fingerprint.in_({o.fingerprint for o in observables}),
            Observable.ignore_similarity == false(),
            service.visible_observable_condition(actor),
        )
        .order_by(Observable.created_at, Observable.id)
    ).all()
    by_fingerprint: dict[str, list[tuple[int | None, int | None, Any]]] = {}
    for fingerprint, case_id, alert_id, case, alert in rows:
        by_fingerprint.setdefault(fingerprint, []).append((case_id, alert_id, case or alert))
    out: dict[int, Any] = {}
    for o in observables:
        seen: set[tuple[int | None, int | None]] = {(o.case_id, o.alert_id)}
        links = []
        for case_id, alert_id, parent in by_fingerprint.get(o.fingerprint, []):
            if o.ignore_similarity or (case_id, alert_id) in seen or parent is None:
                continue
            seen.add((case_id, alert_id))
            links.append(_link(parent, case_id is not None))
        out[o.id] = links
    return out


def _link(parent: Any, is_case: bool) -> dict[str, Any]:
    if is_case:
        return {"_type": "Case", "_id": parent.eid, "number": parent.number, "title": parent.title}
    return {
        "_type": "Alert",
        "_id": parent.eid,
        "title": parent.title,
        "type": parent.type,
        "source": parent.source,
        "sourceRef": parent.source_ref,
    }


def _shares(session: Session, actor: Actor, observables: list[Observable]) -> dict[int, Any]:
    """Organisations other than the observable's own that see it through a case share."""
    in_cases = [o for o in observables if o.case_id is not None]
    out: dict[int, Any] = {o.id: [] for o in observables}
    if not in_cases:
        return out
    explicitly = select(SharedObservable.id).where(
        SharedObservable.share_id == Share.id,
        SharedObservable.observable_id == Observable.id,
    )
    rows = session.execute(
        select(Observable.id, Share, Organisation.name, Profile.name)
        .join(Share, Share.case_id == Observable.case_id)
        .join(Organisation, Organisation.id == Share.org_id)
        .join(Profile, Profile.id == Share.profile_id)
        .where(
            Observable.id.in_([o.id for o in in_cases]),
            Share.org_id != Observable.org_id,
            or_(Share.observable_rule == "autoShare", explicitly.exists()),
        )
        .order_by(Organisation.name)
    ).all()
    for observable_id, share, org_name, profile_name in rows:
        out[observable_id].append(
            {
                "_id": share.eid,
                "organisationName": org_name,
                "profileName": profile_name,
                "owner": bool(share.owner),
            }
        )
    return out


def _share_count(session: Session, actor: Actor, observables: list[Observable]) -> dict[int, Any]:
    return {key: len(value) for key, value in _shares(session, actor, observables).items()}


def _is_owner(session: Session, actor: Actor, observables: list[Observable]) -> dict[int, Any]:
    return {o.id: o.org_id == actor.org_id for o in observables}


def _permissions(session: Session, actor: Actor, observables: list[Observable]) -> dict[int, Any]:
    permissions = sorted(actor.permissions)
    return {o.id: permissions for o in observables}


EXTRA_DATA: dict[str, ExtraBuilder] = {
    "seenSummary": service.seen_summaries,
    "links": _links,
    "shares": _shares,
    "shareCount": _share_count,
    "isOwner": _is_owner,
    "permissions": _permissions,
}
