"""``missing_mandatory``: the check the cases package runs before closing a case. Exercised
directly on a private database, because a mandatory field is platform-wide and would block
closing cases in every other test sharing the server."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from propolis import models
from propolis.core.security import ALL_PERMISSIONS, Actor
from propolis.fields import service
from propolis.fields.models import CustomField

CASE_ID = 77


@pytest.fixture
def session():
    # no foreign key enforcement: the values' owners (cases, templates) are not created here
    engine = create_engine("sqlite://")
    models.metadata.create_all(engine)
    with Session(engine) as session:
        session.execute(text("INSERT INTO id_counter (id, value) VALUES (1, 1000)"))
        yield session
    engine.dispose()


@pytest.fixture
def actor() -> Actor:
    return Actor(1, "admin@thehive.local", 1, "admin", ALL_PERMISSIONS)


def add_field(session: Session, actor: Actor, name: str, mandatory: bool) -> CustomField:
    return service.create_field(
        session,
        actor,
        {"name": name, "description": "d", "type": "string", "mandatory": mandatory},
    )


def test_mandatory_fields_without_a_value_are_reported(session, actor):
    add_field(session, actor, "ticket", mandatory=True)
    add_field(session, actor, "owner", mandatory=True)
    add_field(session, actor, "optional", mandatory=False)
    assert service.missing_mandatory(session, CASE_ID) == ["owner", "ticket"]
    # attached without a value still counts as missing
    service.set_custom_fields(session, actor, case_id=CASE_ID, value={"ticket": None})
    assert service.missing_mandatory(session, CASE_ID) == ["owner", "ticket"]
    service.set_custom_fields(
        session, actor, case_id=CASE_ID, value={"ticket": "T-1", "owner": "me"}
    )
    assert service.missing_mandatory(session, CASE_ID) == []


def test_partial_update_keeps_other_values(session, actor):
    add_field(session, actor, "a", mandatory=False)
    add_field(session, actor, "b", mandatory=False)
    service.set_custom_fields(session, actor, case_id=CASE_ID, value={"a": "1", "b": "2"})
    service.set_custom_fields(session, actor, case_id=CASE_ID, value={"b": "3"}, replace=False)
    values = service.values_for(session, "case", [CASE_ID])[CASE_ID]
    assert [(v["name"], v["value"]) for v in values] == [("a", "1"), ("b", "3")]


def test_copy_fills_gaps_only(session, actor):
    add_field(session, actor, "a", mandatory=False)
    add_field(session, actor, "b", mandatory=False)
    service.set_custom_fields(session, actor, case_template_id=5, value={"a": "tpl", "b": "tpl"})
    service.set_custom_fields(session, actor, case_id=CASE_ID, value={"a": "mine"})
    service.copy_values(session, actor, "case_template", 5, "case", CASE_ID)
    values = service.values_for(session, "case", [CASE_ID])[CASE_ID]
    assert sorted((v["name"], v["value"]) for v in values) == [("a", "mine"), ("b", "tpl")]


def test_long_strings_are_kept_whole(session, actor):
    add_field(session, actor, "notes", mandatory=False)
    long_text = "x" * 5000
    service.set_custom_fields(session, actor, case_id=CASE_ID, value={"notes": long_text})
    [value] = service.values_for(session, "case", [CASE_ID])[CASE_ID]
    assert value["value"] == long_text
