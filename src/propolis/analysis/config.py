"""Worker configuration: validation against ``configurationItems`` (cortex.md §1.3, §1.8),
write-only secrets, and the ``config`` object a job receives (§2.4)."""

from __future__ import annotations

import copy
import re
from typing import Any

from propolis.analysis.catalog import ANALYZER, Definition
from propolis.core.errors import AttributeCheckingError
from propolis.core.security import Sealer

# Shown instead of a stored secret; sending it back on update keeps the stored value.
MASK = "********"
_SEALED = "$sealed"
# The same rule cortexutils uses to mask secrets in error reports, plus common spellings.
_SECRET_NAME = re.compile(r"key|password|secret|token|pwd|passwd|credential", re.IGNORECASE)

# Check values the Cortex web UI sends when an admin enables a worker (§1.4): the engine
# enforces them (see jobs), so workers enabled through our API are guarded by default.
UI_DEFAULTS = {"check_tlp": True, "max_tlp": 2, "check_pap": True, "max_pap": 2}


def global_items(kind: str, job_cache: float, job_timeout: float) -> list[dict[str, Any]]:
    """Items Cortex adds to every worker's configuration (§1.8)."""
    items = [
        _item("proxy_http", "string", "HTTP proxy"),
        _item("proxy_https", "string", "HTTPS proxy"),
        _item("cacerts", "text", "CA certificates (PEM) trusted by the program"),
        _item("jobTimeout", "number", "Job timeout (minutes)", job_timeout),
        _item("check_tlp", "boolean", "Refuse jobs above max_tlp", UI_DEFAULTS["check_tlp"]),
        _item("max_tlp", "number", "Highest TLP accepted (0-3)", UI_DEFAULTS["max_tlp"]),
        _item("check_pap", "boolean", "Refuse jobs above max_pap", UI_DEFAULTS["check_pap"]),
        _item("max_pap", "number", "Highest PAP accepted (0-3)", UI_DEFAULTS["max_pap"]),
    ]
    if kind == ANALYZER:
        items[:0] = [
            _item("auto_extract_artifacts", "boolean", "Extract observables from reports", False),
            _item("jobCache", "number", "Cache results for (minutes)", job_cache),
        ]
    return items


def _item(name: str, kind: str, description: str, default: Any = None) -> dict[str, Any]:
    item = {"name": name, "type": kind, "description": description, "multi": False}
    item["required"] = False
    if default is not None:
        item["defaultValue"] = default
    return item


def all_items(definition: Definition, job_cache: float, job_timeout: float) -> list[dict]:
    own = {i["name"] for i in definition.configuration_items}
    extra = [
        i for i in global_items(definition.kind, job_cache, job_timeout) if i["name"] not in own
    ]
    return list(definition.configuration_items) + extra


def is_secret(item: dict[str, Any]) -> bool:
    return item["type"] in ("string", "text") and bool(_SECRET_NAME.search(item["name"]))


def validate(
    items: list[dict[str, Any]], given: Any, previous: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Build the stored configuration: every item present (value, default, ``[]`` or null).

    ``previous`` (on update) supplies the stored value of secrets sent back masked."""
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise AttributeCheckingError(
            "configuration must be an object",
            errors=[{"name": "configuration", "type": "InvalidFormatAttributeError"}],
        )
    names = {i["name"] for i in items}
    errors = [
        {"name": k, "type": "UnknownAttributeError", "message": f"Unknown attribute {k}"}
        for k in given
        if k not in names
    ]
    result: dict[str, Any] = {}
    for item in items:
        name = item["name"]
        if given.get(name) == MASK and previous is not None and name in previous:
            result[name] = previous[name]  # the secret is kept as it was
            continue
        value, error = _check_item(item, given)
        if error:
            errors.append({"name": name, **error})
        else:
            result[name] = value
    if errors:
        first = errors[0]
        raise AttributeCheckingError(
            f"Invalid configuration: {first['name']}: {first['message']}",
            tableName="worker",
            errors=errors,
        )
    return result


def _check_item(item: dict[str, Any], given: dict[str, Any]) -> tuple[Any, dict | None]:
    value = given[item["name"]] if item["name"] in given else item.get("defaultValue")
    if value is None:
        if item["multi"]:
            return [], None
        if item["required"]:
            return None, {"type": "MissingAttributeError", "message": "is required"}
        return None, None
    if item["multi"]:
        if not isinstance(value, list):
            return None, _format_error("must be a list")
        if not all(v is None or _type_ok(item["type"], v) for v in value):
            return None, _format_error(f"every element must be a {item['type']}")
        return value, None
    if not _type_ok(item["type"], value):
        return None, _format_error(f"must be a {item['type']}")
    return value, None


def _format_error(message: str) -> dict[str, str]:
    return {"type": "InvalidFormatAttributeError", "message": message}


def _type_ok(kind: str, value: Any) -> bool:
    if kind in ("string", "text"):
        return isinstance(value, str)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, bool)


# --------------------------------------------------------------------------- secrets


def seal_secrets(items: list[dict], config: dict[str, Any], sealer: Sealer) -> dict[str, Any]:
    """Secrets are stored encrypted with the server key; nothing else needs them in clear."""
    out = dict(config)
    for item in items:
        value = out.get(item["name"])
        if is_secret(item) and isinstance(value, str) and value:
            out[item["name"]] = {_SEALED: sealer.seal(value)}
    return out


def unseal(config: dict[str, Any], sealer: Sealer) -> dict[str, Any]:
    out = {}
    for name, value in config.items():
        if isinstance(value, dict) and set(value) == {_SEALED}:
            value = sealer.unseal(value[_SEALED])
        out[name] = value
    return out


def masked(config: dict[str, Any]) -> dict[str, Any]:
    """What the API shows: a set secret is ``MASK``, never its value."""
    return {
        name: MASK if isinstance(value, dict) and set(value) == {_SEALED} else value
        for name, value in config.items()
    }


def mask_for_report(value: Any) -> Any:
    """cortexutils' masking of an input document: config keys naming a secret -> REMOVED."""
    if not isinstance(value, dict):
        return value
    out = dict(value)
    config = out.get("config")
    if isinstance(config, dict):
        out["config"] = {k: ("REMOVED" if _SECRET_NAME.search(k) else v) for k, v in config.items()}
    return out


# --------------------------------------------------------------------------- job config


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Cortex's merge: objects merge recursively, otherwise ``over`` wins, even with null."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(out.get(key), dict) and isinstance(value, dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def job_config(definition_config: dict[str, Any], worker_config: dict[str, Any]) -> dict:
    """The ``config`` object of ``input.json`` (§2.4)."""
    merged = deep_merge(definition_config, worker_config)
    for key, proxy_key in (("proxy_http", "http"), ("proxy_https", "https")):
        if isinstance(worker_config.get(key), str):
            merged = deep_merge(merged, {"proxy": {proxy_key: worker_config[key]}})
    return merged
