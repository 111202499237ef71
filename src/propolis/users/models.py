from __future__ import annotations

from sqlalchemy import Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from propolis.core.columns import boolean, fk, json_list, ms, serial_pk, string, text
from propolis.core.db import Base, Entity


class Profile(Entity):
    """A named set of TheHive permission names."""

    __tablename__ = "profile"

    name: Mapped[str] = string(64, nullable=False, unique=True)
    permissions: Mapped[list[str]] = json_list()
    editable: Mapped[bool] = boolean(default=True)


class User(Entity):
    __tablename__ = "user_account"

    login: Mapped[str] = string(255, nullable=False, unique=True)
    name: Mapped[str] = string(255, nullable=False)
    email: Mapped[str | None] = string(255)
    type: Mapped[str] = string(16, nullable=False, default="Normal")
    password_hash: Mapped[str | None] = string(255)
    locked: Mapped[bool] = boolean()
    avatar: Mapped[str | None] = text()
    default_org_id: Mapped[int | None] = fk("organisation.id")
    # API keys are stored as a SHA-256 digest (for lookup) and sealed with the server key
    # (so that TheHive's ``GET /user/{id}/key`` can still show the key to its owner).
    api_key_digest: Mapped[str | None] = string(64, unique=True)
    api_key_sealed: Mapped[str | None] = text()
    mfa_secret: Mapped[str | None] = string(64)
    failed_attempts: Mapped[int] = ms(nullable=False, default=0)
    last_failure_at: Mapped[int | None] = ms()


class Membership(Base):
    """A user's profile in one organisation."""

    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("user_id", "org_id"),)

    id: Mapped[int] = serial_pk()
    user_id: Mapped[int] = fk("user_account.id", nullable=False)
    org_id: Mapped[int] = fk("organisation.id", nullable=False)
    profile_id: Mapped[int] = fk("profile.id", nullable=False)
    position: Mapped[int] = ms(nullable=False, default=0)


class AuthSession(Base):
    """A browser session (cookie ``PROPOLIS_SESSION``); only the token's digest is stored."""

    __tablename__ = "auth_session"

    id: Mapped[int] = serial_pk()
    token_digest: Mapped[str] = string(64, nullable=False, unique=True)
    csrf_token: Mapped[str] = string(64, nullable=False)
    user_id: Mapped[int] = fk("user_account.id", nullable=False)
    created_at: Mapped[int] = ms(nullable=False)
    expires_at: Mapped[int] = ms(nullable=False)


class AddressFailure(Base):
    """Failed password checks of one client address (password spraying), counted in the
    database so that every process and every host behind one database see the same count."""

    __tablename__ = "address_failure"

    address: Mapped[str] = string(64, nullable=False, primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False)
    last_failure_at: Mapped[int] = ms(nullable=False)
