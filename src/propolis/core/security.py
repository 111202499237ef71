"""Password hashing, API keys, sessions and the caller's scope (``Actor``).

Every service function takes an ``Actor``: who is calling, in which organisation, with
which permissions. Nothing reads the caller from a global.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken

from propolis.core.errors import AuthorizationError

SYSTEM_LOGIN = "system@thehive.local"
ADMIN_LOGIN = "admin@thehive.local"
ADMIN_ORG = "admin"

# TheHive 5 permission names (spec §1.12).
CASE_PERMISSIONS = [
    "manageCase/create",
    "manageCase/update",
    "manageCase/delete",
    "manageCase/merge",
    "manageCase/reopen",
    "manageCase/changeOwnership",
]
ALERT_PERMISSIONS = [
    "manageAlert/create",
    "manageAlert/update",
    "manageAlert/delete",
    "manageAlert/import",
    "manageAlert/reopen",
]
ANALYST_WORK = [
    "manageObservable",
    "manageTask",
    "manageProcedure",
    "manageShare",
    "manageAnalyse",
    "manageAction",
    "managePage",
    "manageComment",
    "manageCustomEvent",
    "accessTheHiveFS",
]
ORG_ADMIN_EXTRA = [
    "manageCaseTemplate",
    "managePageTemplate",
    "manageKnowledgeBase",
    "manageTag",
    "manageConfig",
    "manageUser",
    "manageCaseAccess/restrict",
    "manageCaseAccess/external",
    "manageCaseReport",
    "manageCaseReportTemplate",
    "manageDashboard",
    "manageFunction/create",
    "manageFunction/invoke",
]
ADMIN_ONLY = [
    "managePlatform",
    "manageOrganisation",
    "manageProfile",
    "manageCustomField",
    "manageObservableTemplate",
    "manageTaxonomy",
    "managePattern",
    "manageAnalyzerTemplate",
]
BUILTIN_PROFILES: dict[str, list[str]] = {
    "admin": sorted(ADMIN_ONLY + ["manageUser", "manageConfig"]),
    "org-admin": sorted(CASE_PERMISSIONS + ALERT_PERMISSIONS + ANALYST_WORK + ORG_ADMIN_EXTRA),
    "analyst": sorted(
        [p for p in CASE_PERMISSIONS if p != "manageCase/changeOwnership"]
        + ALERT_PERMISSIONS
        + ANALYST_WORK
    ),
    "read-only": [],
}
ALL_PERMISSIONS = frozenset(
    CASE_PERMISSIONS + ALERT_PERMISSIONS + ANALYST_WORK + ORG_ADMIN_EXTRA + ADMIN_ONLY
)

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    if not stored_hash:
        return False
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_api_key() -> str:
    # 32 alphanumeric characters with at least one letter: the client parses response
    # bodies as JSON first, so an all-digit key would come back as a number.
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    while True:
        key = "".join(secrets.choice(alphabet) for _ in range(32))
        if not key.isdigit():
            return key


def digest(token: str) -> str:
    """Lookup digest of a high-entropy secret (API key, session token). Not for passwords."""
    return hashlib.sha256(token.encode()).hexdigest()


class Sealer:
    """Reversible encryption with the server key, for secrets the owner may read again."""

    def __init__(self, secret_key: str) -> None:
        key = base64.urlsafe_b64encode(hashlib.sha256(secret_key.encode()).digest())
        self._fernet = Fernet(key)

    def seal(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def unseal(self, token: str) -> str | None:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            return None


@dataclass(frozen=True)
class Actor:
    """The caller of a service: a user acting in one organisation."""

    user_id: int
    login: str
    org_id: int
    org_name: str
    permissions: frozenset[str] = field(default_factory=frozenset)

    @property
    def in_admin_org(self) -> bool:
        return self.org_name == ADMIN_ORG

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def require(self, *permissions: str) -> None:
        """Raise 403 unless the caller holds every listed permission."""
        for permission in permissions:
            if permission not in self.permissions:
                raise AuthorizationError(
                    f"User {self.login} is not authorized to do this: {permission} required"
                )


def system_actor(org_id: int, org_name: str) -> Actor:
    """Acting as the platform itself (bootstrap, feeders, automation)."""
    return Actor(0, SYSTEM_LOGIN, org_id, org_name, ALL_PERMISSIONS)
