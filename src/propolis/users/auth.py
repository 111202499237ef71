"""Who is calling: Basic, API key (Bearer) or session cookie, then the organisation context
(``X-Organisation`` header, else the default organisation, else the first membership).

Password guessing is slowed down per login *and* per client address (:class:`Throttle`):

* after ``login_threshold`` failures in a row a login waits a backoff (doubling with each
  further failure, at most ``login_max_ms``) before a password is checked again; attempts
  during the wait are refused without extending it, and once it is over the right
  password is accepted whatever the count, so nobody can keep a login shut for good;
* after ``address_threshold`` failures an address (any logins: password spraying) waits a
  backoff of its own, up to ``address_max_ms``; attempts during it are refused and extend
  it. Loopback addresses are not throttled (the server's own tools, a proxy without
  forwarded headers): behind a proxy, uvicorn's forwarded headers give the real address.

A refused attempt does the same work (one argon2 check, against a throw-away hash) whether
the login exists, is waiting, or the password is wrong: response times tell nothing. The
login counters are written in their own short transaction, before the request's unit of
work starts: a rejected request rolls its own transaction back, and the failure must
still count. Both kinds of counter are in the database (``user_account`` and
``address_failure``): every process of ``serve --workers N``, and every host sharing the
database, counts the same failures.

An authenticated caller is remembered by the process (:class:`_Callers`): the same
Authorization header or session cookie with the same ``X-Organisation`` is answered from
memory, with no database read, while the auth epoch (``core.authepoch``) is unchanged and
for at most ``auth_cache_seconds``. Any change to a user, a membership, an organisation
or a profile (a failed password too: it may start a backoff) moves the epoch after its
commit, in every process of the host at once (so a remembered Basic caller is checked in
full, its address's backoff included, once any password fails); a remembered session
cookie still needs its CSRF token to write.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import ipaddress
import secrets
import threading
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from propolis.core import authepoch, events, validate
from propolis.core.db import Database, now_ms, parse_id
from propolis.core.errors import AuthenticationError, AuthorizationError
from propolis.core.security import (
    ADMIN_ORG,
    SYSTEM_LOGIN,
    Actor,
    digest,
    hash_password,
    verify_password,
)
from propolis.orgs.models import Organisation
from propolis.users.models import AddressFailure, AuthSession, Membership, Profile, User

SESSION_COOKIE = "PROPOLIS_SESSION"
CSRF_HEADER = "X-CSRF-Token"
# The organisation a browser session acts in (the pages' switcher sets it).
ORG_COOKIE = "PROPOLIS_ORG"
_UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class Throttle:
    """The password-guessing policy (settings ``auth_*``)."""

    login_threshold: int = 5
    address_threshold: int = 20
    base_ms: int = 1000
    login_max_ms: int = 60_000
    address_max_ms: int = 900_000

    @classmethod
    def from_settings(cls, settings: Any) -> Throttle:
        if settings is None:
            return cls()
        return cls(
            login_threshold=settings.auth_login_threshold,
            address_threshold=settings.auth_address_threshold,
            base_ms=settings.auth_backoff_base_ms,
            login_max_ms=settings.auth_login_backoff_max_ms,
            address_max_ms=settings.auth_address_backoff_max_ms,
        )

    def backoff_ms(self, failures: int, threshold: int, max_ms: int) -> int:
        if failures < threshold:
            return 0
        return min(max_ms, self.base_ms * 2 ** min(failures - threshold, 40))


def authenticate(session: Session, request: Request) -> Actor:
    # Read before the database: a change committed after this point moves the epoch past
    # it, so what is remembered below is never used once it is out of date.
    epoch = authepoch.current()
    found = _user_from_credentials(session, request)
    user = found.user if found is not None else None
    if found is None or user is None or user.locked or user.login == SYSTEM_LOGIN:
        raise AuthenticationError("Authentication failure")
    header = request.headers.get("X-Organisation")
    if header or request.headers.get("Authorization"):
        actor = actor_for(session, user, header)
    else:
        actor = browser_actor(session, user, request.cookies.get(ORG_COOKIE))
    _callers.remember(request, actor, epoch, found)
    return actor


def browser_actor(session: Session, user: User, chosen_org: str | None) -> Actor:
    """A browser session acts in the organisation chosen in the pages' switcher: a page's
    links to API routes (file downloads) then see what the page shows. A choice no longer
    valid (membership removed) falls back to the default organisation."""
    if chosen_org:
        try:
            return actor_for(session, user, chosen_org)
        except AuthenticationError:
            pass
    return actor_for(session, user, None)


def remembered_caller(request: Request) -> Actor | None:
    """The caller authenticated earlier by this process with the same credentials, when
    nothing it depends on changed since (no database read); None: authenticate."""
    return _callers.recall(request)


@dataclass(frozen=True)
class _Found:
    """Whose credentials these are, and what remembering them depends on."""

    user: User | None
    csrf_token: str | None = None  # a session cookie's: writes must present it
    expires_at: int | None = None  # a session cookie's end


def _user_from_credentials(session: Session, request: Request) -> _Found | None:
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "basic":
        user_id = _basic(request, credentials.strip())
        return _Found(session.get(User, user_id)) if user_id is not None else None
    if scheme.lower() == "bearer":
        token = credentials.strip()
        if not token:
            return None
        return _Found(session.scalar(select(User).where(User.api_key_digest == digest(token))))
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return _from_session_cookie(session, request, cookie)
    return None


def _basic(request: Request, credentials: str) -> int | None:
    try:
        login, _, password = base64.b64decode(credentials, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return check_password(
        request.app.state.db, login, password, client_address(request), throttle_of(request)
    )


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def throttle_of(request: Request) -> Throttle:
    return Throttle.from_settings(request.app.state.settings)


# --------------------------------------------------------------------------- passwords


def lockout_until(
    failed_attempts: int, last_failure_at: int | None, throttle: Throttle | None = None
) -> int | None:
    """When the login's password is checked again (None: it is not waiting)."""
    throttle = throttle or Throttle()
    wait = throttle.backoff_ms(failed_attempts, throttle.login_threshold, throttle.login_max_ms)
    if not wait or last_failure_at is None:
        return None
    return last_failure_at + wait


def check_password(
    db: Database,
    login: str,
    password: str,
    address: str | None = None,
    throttle: Throttle | None = None,
) -> int | None:
    """The user id when ``password`` is right and neither the login nor the address is
    waiting out a backoff, else None."""
    throttle = throttle or Throttle()
    if _addresses.waiting(db, address, throttle):
        _addresses.failed(
            db, address, throttle
        )  # hammering while waiting only makes the wait longer
        return None
    with db.session(write=False) as s:
        row = s.execute(
            select(User.id, User.password_hash, User.failed_attempts, User.last_failure_at).where(
                User.login == login.strip().lower()
            )
        ).first()
    if row is None:
        return _refuse(db, password, address, throttle)
    user_id, password_hash, failures, last_failure = row
    until = lockout_until(failures, last_failure, throttle)
    if until is not None and now_ms() < until:
        return _refuse(db, password, address, throttle)  # not checked, and the wait is not extended
    if _recently_verified(user_id, password_hash, password) or verify_password(
        password_hash, password
    ):
        _remember(user_id, password_hash, password)
        if failures:
            _write_counters(db, user_id, reset=True)
        return user_id
    _write_counters(db, user_id, reset=False)
    _addresses.failed(db, address, throttle)
    return None


def _refuse(db: Database, password: str, address: str | None, throttle: Throttle) -> None:
    """A refusal that costs what a checked wrong password costs."""
    verify_password(_dummy_hash(), password)
    _addresses.failed(db, address, throttle)


class _AddressFailures:
    """Failed password checks per client address, in the database (``address_failure``):
    every process of ``serve --workers N``, and every host sharing the database, counts
    the same failures, so an address gets ``address_threshold`` tries in all, not per
    process. Reads are one primary-key lookup; a failure is one upsert."""

    def waiting(self, db: Database, address: str | None, throttle: Throttle) -> bool:
        key = _throttled(address)
        if key is None:
            return False
        with db.session(write=False) as s:
            row = s.execute(
                select(AddressFailure.failures, AddressFailure.last_failure_at).where(
                    AddressFailure.address == key
                )
            ).first()
        if row is None:
            return False
        failures, last = row
        if now_ms() - last > throttle.address_max_ms:
            return False  # quiet long enough: forgiven
        wait = throttle.backoff_ms(failures, throttle.address_threshold, throttle.address_max_ms)
        return now_ms() < last + wait

    def failed(self, db: Database, address: str | None, throttle: Throttle) -> None:
        key = _throttled(address)
        if key is None:
            return
        now = now_ms()
        table = AddressFailure.__table__
        with db.session() as s:
            insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
            # One statement whatever the race: a new row, or the count carried on (started
            # again when the address was quiet longer than the longest backoff).
            forgiven = table.c.last_failure_at < now - throttle.address_max_ms
            failures = s.execute(
                insert(table)
                .values(address=key, failures=1, last_failure_at=now)
                .on_conflict_do_update(
                    index_elements=[table.c.address],
                    set_={
                        "failures": case((forgiven, 1), else_=table.c.failures + 1),
                        "last_failure_at": now,
                    },
                )
                .returning(table.c.failures)
            ).scalar_one()
            s.commit()
        if failures >= throttle.address_threshold:
            # The address waits from now on: callers remembered from it (Basic) must be
            # checked in full again, in every process.
            authepoch.bump()


def _throttled(address: str | None) -> str | None:
    """The key an address is throttled under (None: not throttled)."""
    if not address:
        return None
    try:
        if ipaddress.ip_address(address).is_loopback:
            return None
    except ValueError:
        pass
    return address


_addresses = _AddressFailures()


# Basic auth sends the password with every request, and an argon2 check costs tens to
# hundreds of milliseconds of CPU: a script making many calls would spend most of its time
# hashing. A successful check is remembered for a few minutes as a keyed digest of the
# password (the key lives only in this process), tied to the stored hash, so a password
# change or reset ends it at once.
_VERIFIED_TTL_MS = 300_000
_VERIFIED_MAX = 10_000
_verified_key = secrets.token_bytes(32)
_verified: dict[int, tuple[str, str, int]] = {}
_verified_lock = threading.Lock()


def _password_digest(password: str) -> str:
    return hmac.new(_verified_key, password.encode(), hashlib.sha256).hexdigest()


def _recently_verified(user_id: int, password_hash: str | None, password: str) -> bool:
    entry = _verified.get(user_id)
    if entry is None or password_hash is None:
        return False
    stored_hash, password_digest, expires = entry
    return (
        stored_hash == password_hash
        and expires > now_ms()
        and hmac.compare_digest(password_digest, _password_digest(password))
    )


def _remember(user_id: int, password_hash: str | None, password: str) -> None:
    if password_hash is None:
        return
    with _verified_lock:
        if len(_verified) >= _VERIFIED_MAX:
            _verified.clear()  # rare; the next checks simply pay argon2 again
        _verified[user_id] = (
            password_hash,
            _password_digest(password),
            now_ms() + _VERIFIED_TTL_MS,
        )


@functools.cache
def _dummy_hash() -> str:
    """Verifying against a throw-away hash when the login is unknown keeps the answer time
    the same, so response times do not tell which logins exist."""
    return hash_password(secrets.token_urlsafe(16))


def _write_counters(db: Database, user_id: int, reset: bool) -> None:
    """Count a failure (audited: password guessing shows in the audit log and the live
    stream), or clear the count after a success."""
    with db.session() as s:
        if reset:
            values: dict[str, Any] = {"failed_attempts": 0, "last_failure_at": None}
        else:
            values = {"failed_attempts": User.failed_attempts + 1, "last_failure_at": now_ms()}
        s.execute(update(User).where(User.id == user_id).values(**values))
        if not reset:
            login = s.scalar(select(User.login).where(User.id == user_id))
            events.record(s, login, None, "loginFailure", "User", user_id, {"reason": "password"})
        s.commit()
        events.publish_pending(s)


# --------------------------------------------------------------------------- remembered callers


@dataclass(frozen=True)
class _Remembered:
    actor: Actor
    epoch: int
    until_ms: int
    csrf_token: str | None


class _Callers:
    """Callers this process authenticated, by a keyed digest of their credentials (the
    key lives only in this process's memory) and organisation header."""

    MAX_ENTRIES = 10_000

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._entries: dict[bytes, _Remembered] = {}
        self._lock = threading.Lock()

    def _entry_key(self, request: Request) -> bytes | None:
        credentials = request.headers.get("Authorization")
        if not credentials:
            cookie = request.cookies.get(SESSION_COOKIE)
            if not cookie:
                return None
            # the organisation chosen in the pages' switcher, unless a header says
            credentials = f"cookie {cookie}\0{request.cookies.get(ORG_COOKIE) or ''}"
        org = request.headers.get("X-Organisation") or ""
        # keyed BLAKE2b: one C call (an hmac object costs several times more)
        return hashlib.blake2b(f"{credentials}\0{org}".encode(), key=self._key).digest()

    def recall(self, request: Request) -> Actor | None:
        key = self._entry_key(request)
        entry = self._entries.get(key) if key is not None else None
        if entry is None or entry.epoch != authepoch.current() or entry.until_ms < now_ms():
            return None
        if entry.csrf_token is not None and not _csrf_ok(request, entry.csrf_token):
            return None  # refused by the full check, with its answer
        # A remembered Basic caller needs no look at its address's backoff here: every
        # failed password moves the epoch, so after one the next call is checked in full.
        return entry.actor

    def remember(self, request: Request, actor: Actor, epoch: int, found: _Found) -> None:
        settings = request.app.state.settings
        ttl_ms = int(float(getattr(settings, "auth_cache_seconds", 0)) * 1000)
        key = self._entry_key(request)
        if ttl_ms <= 0 or key is None:
            return
        until = now_ms() + ttl_ms
        if found.expires_at is not None:
            until = min(until, found.expires_at)
        with self._lock:
            if len(self._entries) >= self.MAX_ENTRIES and key not in self._entries:
                self._entries.clear()  # rare; the next requests authenticate again
            self._entries[key] = _Remembered(actor, epoch, until, found.csrf_token)


_callers = _Callers()


# --------------------------------------------------------------------------- browser sessions


def _from_session_cookie(session: Session, request: Request, token: str) -> _Found | None:
    row = _live_session(session, token)
    if row is None or not _csrf_ok(request, row.csrf_token):
        return None
    return _Found(
        session.get(User, row.user_id), csrf_token=row.csrf_token, expires_at=row.expires_at
    )


def browser_session(session: Session, token: str) -> tuple[User, str] | None:
    """The user of a live browser session and the session's CSRF token (the caller checks
    the token on writes: the API from a header, the web pages from a header or a form)."""
    row = _live_session(session, token)
    if row is None:
        return None
    user = session.get(User, row.user_id)
    if user is None or user.locked or user.login == SYSTEM_LOGIN:
        return None
    return user, row.csrf_token


def _live_session(session: Session, token: str) -> AuthSession | None:
    row = session.scalar(select(AuthSession).where(AuthSession.token_digest == digest(token)))
    return None if row is None or row.expires_at < now_ms() else row


def _csrf_ok(request: Request, csrf_token: str) -> bool:
    """Cookies ride along on cross-site requests: writes must prove they come from our
    pages (the token in a header, or in the form's query string)."""
    if request.method not in _UNSAFE:
        return True
    sent = (request.headers.get(CSRF_HEADER), request.query_params.get("csrf"))
    return any(token is not None and hmac.compare_digest(token, csrf_token) for token in sent)


@dataclass(frozen=True)
class Login:
    actor: Actor
    user: User
    token: str
    csrf_token: str
    expires_at: int


def login(
    session: Session,
    db: Database,
    data: dict[str, Any],
    org_ref: str | None,
    hours: int,
    address: str | None = None,
    throttle: Throttle | None = None,
) -> Login:
    """``POST /api/v1/login``: check the password, open a browser session. Only the token's
    digest is stored; the token itself goes to the browser in an HttpOnly cookie."""
    login_name = validate.nonempty(data, "user", max_len=255)
    password = validate.string(data, "password", req=True, max_len=1024)
    user_id = check_password(db, login_name, password, address, throttle)
    user = session.get(User, user_id) if user_id is not None else None
    if user is None or user.locked or user.login == SYSTEM_LOGIN:
        raise AuthenticationError("Authentication failure")
    actor = actor_for(session, user, org_ref)
    now = now_ms()
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    # Expired sessions of this user are dropped here, so the table does not grow forever.
    session.execute(
        delete(AuthSession).where(AuthSession.user_id == user.id, AuthSession.expires_at < now)
    )
    expires = now + hours * 3_600_000
    session.add(
        AuthSession(
            token_digest=digest(token),
            csrf_token=csrf,
            user_id=user.id,
            created_at=now,
            expires_at=expires,
        )
    )
    events.record(session, user.login, actor.org_id, "login", "User", user.id, {})
    return Login(actor, user, token, csrf, expires)


def set_session_cookie(response: Response, request: Request, opened: Login) -> None:
    """The browser's half of a session opened by :func:`login`: the token, HttpOnly (no
    script reads it), SameSite=Lax (not sent on another site's forms), Secure over HTTPS,
    kept as long as the session lives."""
    response.set_cookie(
        SESSION_COOKIE,
        opened.token,
        max_age=max(0, (opened.expires_at - now_ms()) // 1000),
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def logout(session: Session, token: str | None, csrf_token: str | None) -> None:
    """Close the browser session of ``token`` (nothing to do when there is none). Like any
    write made with the cookie, it needs the session's CSRF token: another site must not
    be able to log the user out."""
    if not token:
        return
    row = session.scalar(select(AuthSession).where(AuthSession.token_digest == digest(token)))
    if row is None:
        return
    if not csrf_token or not hmac.compare_digest(csrf_token, row.csrf_token):
        raise AuthorizationError("Logging out needs the session's CSRF token")
    login_name = session.scalar(select(User.login).where(User.id == row.user_id))
    session.delete(row)
    events.record(session, login_name or "", None, "logout", "User", row.user_id, {})


# --------------------------------------------------------------------------- organisation


def actor_for(session: Session, user: User, org_ref: str | None) -> Actor:
    """The caller acting in ``org_ref`` (or the default organisation). Locked organisations
    are out of reach, except the admin organisation, which cannot be locked."""
    rows = session.execute(
        select(Membership, Organisation, Profile)
        .join(Organisation, Organisation.id == Membership.org_id)
        .join(Profile, Profile.id == Membership.profile_id)
        .where(Membership.user_id == user.id)
        .order_by(Membership.position, Membership.id)
    ).all()
    rows = [r for r in rows if not r[1].locked or r[1].name == ADMIN_ORG]
    if not rows:
        raise AuthenticationError("Authentication failure: user has no organisation")
    if org_ref:
        wanted_id = parse_id(org_ref)
        chosen = next((r for r in rows if r[1].id == wanted_id or r[1].name == org_ref), None)
        if chosen is None:
            raise AuthenticationError(f"Authentication failure: not a member of {org_ref}")
    else:
        chosen = next((r for r in rows if r[1].id == user.default_org_id), rows[0])
    _membership, org, profile = chosen
    return Actor(user.id, user.login, org.id, org.name, frozenset(profile.permissions))
