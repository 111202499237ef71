"""First-start state (idempotent): the admin organisation and user, built-in profiles,
observable types, case/alert statuses and the MITRE ATT&CK patterns procedures refer to."""

from __future__ import annotations

import json
import secrets
from importlib import resources

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from propolis.cases.models import StatusValue
from propolis.core.db import now_ms
from propolis.core.security import (
    ADMIN_LOGIN,
    ADMIN_ORG,
    BUILTIN_PROFILES,
    SYSTEM_LOGIN,
    hash_password,
)
from propolis.observables.models import ObservableType
from propolis.orgs.models import Organisation
from propolis.procedures.models import Pattern
from propolis.users.models import Membership, Profile, User

OBSERVABLE_TYPES = [
    ("autonomous-system", False),
    ("domain", False),
    ("file", True),
    ("filename", False),
    ("fqdn", False),
    ("hash", False),
    ("hostname", False),
    ("ip", False),
    ("mail", False),
    ("mail-subject", False),
    ("other", False),
    ("regexp", False),
    ("registry", False),
    ("uri_path", False),
    ("url", False),
    ("user-agent", False),
]
CASE_STATUSES = [
    ("New", "New"),
    ("InProgress", "InProgress"),
    ("Indeterminate", "Closed"),
    ("FalsePositive", "Closed"),
    ("TruePositive", "Closed"),
    ("Other", "Closed"),
    ("Duplicated", "Closed"),
]
ALERT_STATUSES = [
    ("New", "New"),
    ("InProgress", "InProgress"),
    ("Imported", "Imported"),
    ("Duplicated", "Closed"),
    ("FalsePositive", "Closed"),
    ("TruePositive", "Closed"),
    ("Ignored", "Closed"),
    ("Other", "Closed"),
]


def _meta() -> dict[str, object]:
    return {"created_by": SYSTEM_LOGIN, "created_at": now_ms()}


def ensure_id_counter(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("CREATE SEQUENCE IF NOT EXISTS propolis_ids START 1000"))
        return
    exists = session.execute(text("SELECT 1 FROM id_counter WHERE id = 1")).first()
    if not exists:
        session.execute(text("INSERT INTO id_counter (id, value) VALUES (1, 1000)"))


def bootstrap(session: Session, admin_password: str | None) -> str | None:
    """Create what is missing. Returns the generated admin password, if one was generated."""
    ensure_id_counter(session)
    org = session.scalar(select(Organisation).where(Organisation.name == ADMIN_ORG))
    if org is None:
        org = Organisation(name=ADMIN_ORG, description="organisation for administration", **_meta())
        session.add(org)
    profiles = _ensure_profiles(session)
    _ensure_observable_types(session)
    _ensure_statuses(session)
    _ensure_patterns(session)
    session.flush()
    if session.scalar(select(User).where(User.login == SYSTEM_LOGIN)) is None:
        session.add(User(login=SYSTEM_LOGIN, name="TheHive", **_meta()))
    generated = None
    admin = session.scalar(select(User).where(User.login == ADMIN_LOGIN))
    if admin is None:
        password = admin_password
        if not password:
            password = generated = secrets.token_urlsafe(12)
        admin = User(
            login=ADMIN_LOGIN,
            name="Default admin user",
            password_hash=hash_password(password),
            default_org_id=org.id,
            **_meta(),
        )
        session.add(admin)
        session.flush()
        session.add(Membership(user_id=admin.id, org_id=org.id, profile_id=profiles["admin"].id))
    return generated


def _ensure_profiles(session: Session) -> dict[str, Profile]:
    existing = {p.name: p for p in session.scalars(select(Profile))}
    for name, permissions in BUILTIN_PROFILES.items():
        if name not in existing:
            profile = Profile(
                name=name,
                permissions=permissions,
                editable=name not in ("admin", "org-admin"),
                **_meta(),
            )
            session.add(profile)
            existing[name] = profile
    session.flush()
    return existing


def _ensure_observable_types(session: Session) -> None:
    existing = set(session.scalars(select(ObservableType.name)))
    for name, is_attachment in OBSERVABLE_TYPES:
        if name not in existing:
            session.add(ObservableType(name=name, is_attachment=is_attachment, **_meta()))


def _ensure_statuses(session: Session) -> None:
    existing = {tuple(row) for row in session.execute(select(StatusValue.kind, StatusValue.value))}
    for kind, values in (("case", CASE_STATUSES), ("alert", ALERT_STATUSES)):
        for position, (value, stage) in enumerate(values):
            if (kind, value) not in existing:
                session.add(
                    StatusValue(kind=kind, value=value, stage=stage, position=position, **_meta())
                )


def _ensure_patterns(session: Session) -> None:
    existing = set(session.scalars(select(Pattern.pattern_id)))
    catalogue = json.loads(
        resources.files("propolis.procedures").joinpath("attack_patterns.json").read_text()
    )
    for item in catalogue:
        if item["patternId"] in existing:
            continue
        session.add(
            Pattern(
                pattern_id=item["patternId"],
                name=item["name"],
                description=item.get("description"),
                tactics=item.get("tactics", []),
                url=item.get("url")
                or "https://attack.mitre.org/techniques/" + item["patternId"].replace(".", "/"),
                platforms=item.get("platforms", []),
                parent=item["patternId"].split(".")[0] if "." in item["patternId"] else None,
                **_meta(),
            )
        )
