"""Column helpers shared by the domain models (keeps the models short and uniform)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, String, Text
from sqlalchemy.orm import mapped_column

from propolis.core.db import JsonType


def fk(target: str, nullable: bool = True, index: bool = True):  # noqa: ANN201
    """A foreign key that disappears with its parent (cascades are done by the database)."""
    return mapped_column(
        BigInteger, ForeignKey(target, ondelete="CASCADE"), nullable=nullable, index=index
    )


def fk_set_null(target: str, index: bool = True):  # noqa: ANN201
    return mapped_column(BigInteger, ForeignKey(target, ondelete="SET NULL"), index=index)


def text(nullable: bool = True):  # noqa: ANN201
    return mapped_column(Text, nullable=nullable)


def string(size: int = 255, nullable: bool = True, **kw):  # noqa: ANN201, ANN003
    return mapped_column(String(size), nullable=nullable, **kw)


def ms(nullable: bool = True, **kw):  # noqa: ANN201, ANN003
    return mapped_column(BigInteger, nullable=nullable, **kw)


def boolean(default: bool = False):  # noqa: ANN201
    return mapped_column(
        Boolean, nullable=False, default=default, server_default="1" if default else "0"
    )


def json_list():  # noqa: ANN201
    return mapped_column(JsonType, nullable=False, default=list)


def json_obj():  # noqa: ANN201
    return mapped_column(JsonType, nullable=False, default=dict)


def serial_pk():  # noqa: ANN201
    """Auto-increment key for internal rows that are not TheHive entities (links, events)."""
    from sqlalchemy import Integer

    return mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
