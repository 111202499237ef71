"""The built-ins' definition files: complete per cortex.md §1.2-§1.4, valid for the
catalogue, and their programs are cortexutils programs the process runner can start."""

from __future__ import annotations

import json

import pytest

from propolis.analysis import catalog
from propolis.analysis.catalog import BUILTINS_ROOT

# The built-ins written as Cortex programs with cortexutils (Sightings reads Propolis' own
# database and is the engine's).
BUILTINS = {
    "analyzer": ["Propolis_FileInfo", "Propolis_EmlParser", "Propolis_LocalList", "Propolis_Yara"],
    "responder": ["Propolis_Mailer", "Propolis_Webhook"],
}
FIELDS = {
    "name": str,
    "version": str,
    "author": str,
    "url": str,
    "license": str,
    "description": str,
    "dataTypeList": list,
    "command": str,
    "baseConfig": str,
    "configurationItems": list,
    "config": dict,
}
ITEM_TYPES = {"string": str, "text": str, "number": (int, float), "boolean": bool}
CASES = [(kind, name) for kind, names in BUILTINS.items() for name in names]


def load(kind: str, name: str) -> dict:
    for file in (BUILTINS_ROOT / f"{kind}s").glob("*/*.json"):
        entry = json.loads(file.read_text())
        if entry["name"] == name:
            return entry
    raise LookupError(name)


@pytest.mark.parametrize(("kind", "name"), CASES)
def test_every_field_of_the_spec_is_there(kind, name):
    entry = load(kind, name)
    for key, kind_of in FIELDS.items():
        assert isinstance(entry.get(key), kind_of), key
    assert entry["dataTypeList"] and all(isinstance(t, str) for t in entry["dataTypeList"])
    for guard in ("check_tlp", "max_tlp", "check_pap", "max_pap"):
        assert guard in entry["config"], guard
    if kind == "responder":
        assert all(t.startswith("thehive:") for t in entry["dataTypeList"])
        assert entry["config"]["check_tlp"] is True  # the object leaves Propolis


@pytest.mark.parametrize(("kind", "name"), CASES)
def test_configuration_items_follow_the_spec(kind, name):
    for item in load(kind, name)["configurationItems"]:
        allowed = {"name", "description", "type", "multi", "required", "defaultValue"}
        assert set(item) <= allowed | {"serverPath"}  # Propolis' flag: a path on the server
        assert isinstance(item["name"], str) and isinstance(item["description"], str)
        assert item["type"] in ITEM_TYPES
        assert isinstance(item["multi"], bool) and isinstance(item["required"], bool)
        if "defaultValue" in item:
            values = item["defaultValue"] if item["multi"] else [item["defaultValue"]]
            assert all(isinstance(v, ITEM_TYPES[item["type"]]) for v in values), item["name"]


@pytest.mark.parametrize(("kind", "name"), CASES)
def test_programs_are_cortexutils_programs_the_runner_can_start(kind, name):
    entry = load(kind, name)
    program = BUILTINS_ROOT / f"{kind}s" / entry["command"]
    source = program.read_text()
    assert program.suffix == ".py" and source.startswith("#!/usr/bin/env python3\n")
    base = "Analyzer" if kind == "analyzer" else "Responder"
    assert f"from cortexutils.{kind} import {base}" in source


def test_the_catalogue_loads_them_all_without_complaint():
    found = catalog.scan([], [], builtins=True)
    problems = [i for i in found.invalid + found.warnings if "builtins" in i.source]
    assert problems == []
    for kind, name in CASES:
        definition = found.get(kind, f"{name}_1_0")
        assert definition is not None and definition.builtin
        assert definition.root == str((BUILTINS_ROOT / f"{kind}s").resolve())
        assert definition.config == load(kind, name)["config"]


def test_secret_items_are_masked_by_the_engine_and_by_cortexutils():
    from propolis.analysis.config import is_secret

    secrets = {
        item["name"]
        for kind, name in CASES
        for item in load(kind, name)["configurationItems"]
        if is_secret(item)
    }
    assert secrets == {"smtp_password", "authorization_token", "headers"}
