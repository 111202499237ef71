"""Who is calling: Basic, API key (Bearer) or session cookie, then the organisation context
(``X-Organisation`` header, else the default organisation, else the first membership)."""

from __future__ import annotations

import base64
import binascii

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from propolis.core.db import now_ms, parse_id
from propolis.core.errors import AuthenticationError
from propolis.core.security import Actor, digest, verify_password
from propolis.orgs.models import Organisation
from propolis.users.models import AuthSession, Membership, Profile, User

SESSION_COOKIE = "PROPOLIS_SESSION"
CSRF_HEADER = "X-CSRF-Token"
_UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


def authenticate(session: Session, request: Request) -> Actor:
    user = _user_from_credentials(session, request)
    if user is None or user.locked:
        raise AuthenticationError("Authentication failure")
    return actor_for(session, user, request.headers.get("X-Organisation"))


def _user_from_credentials(session: Session, request: Request) -> User | None:
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "basic":
        return _basic(session, credentials.strip())
    if scheme.lower() == "bearer":
        token = credentials.strip()
        if not token:
            return None
        return session.scalar(select(User).where(User.api_key_digest == digest(token)))
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return _from_session_cookie(session, request, cookie)
    return None


def _basic(session: Session, credentials: str) -> User | None:
    try:
        login, _, password = base64.b64decode(credentials).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user = session.scalar(select(User).where(User.login == login.lower()))
    if user is None or not verify_password(user.password_hash, password):
        return None
    return user


def _from_session_cookie(session: Session, request: Request, token: str) -> User | None:
    row = session.scalar(select(AuthSession).where(AuthSession.token_digest == digest(token)))
    if row is None or row.expires_at < now_ms():
        return None
    # Cookies ride along on cross-site requests: writes must prove they come from our pages.
    if request.method in _UNSAFE and request.headers.get(CSRF_HEADER) != row.csrf_token:
        form_token = request.query_params.get("csrf")
        if form_token != row.csrf_token:
            return None
    return session.get(User, row.user_id)


def actor_for(session: Session, user: User, org_ref: str | None) -> Actor:
    rows = session.execute(
        select(Membership, Organisation, Profile)
        .join(Organisation, Organisation.id == Membership.org_id)
        .join(Profile, Profile.id == Membership.profile_id)
        .where(Membership.user_id == user.id)
        .order_by(Membership.position, Membership.id)
    ).all()
    if not rows:
        raise AuthenticationError("Authentication failure: user has no organisation")
    chosen = None
    if org_ref:
        wanted_id = parse_id(org_ref)
        for row in rows:
            org = row[1]
            if org.id == wanted_id or org.name == org_ref:
                chosen = row
        if chosen is None:
            raise AuthenticationError(f"Authentication failure: not a member of {org_ref}")
    else:
        chosen = next((r for r in rows if r[1].id == user.default_org_id), rows[0])
    _membership, org, profile = chosen
    return Actor(user.id, user.login, org.id, org.name, frozenset(profile.permissions))
