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
# Settings whose name says they hold a secret: cortexutils' rule (key, password, secret,
# token), common spellings, and what carries credentials over HTTP (authorization, headers).
_SECRET_NAME = re.compile(
    r"key|password|secret|token|pwd|passwd|credential|authorization|header|cookie",
    re.IGNORECASE,
)
# Definition flags that make an item secret whatever its name.
SECRET_TYPES = ("password",)
SECRET_FLAGS = ("secret", "sensitive")
REMOVED = "REMOVED"
MIN_SCRUBBED = 4  # shorter secret values are not searched for in reports (too many matches)

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
    """Decided by the definition (``type: password``, a ``secret``/``sensitive`` flag) and by
    the name (:data:`_SECRET_NAME`) of a text item."""
    if item.get("type") in SECRET_TYPES or any(item.get(f) is True for f in SECRET_FLAGS):
        return True
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
        if previous is not None and name in previous and _is_mask(given.get(name), previous[name]):
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


def _is_mask(value: Any, stored: Any) -> bool:
    """The client sent back what it was shown of a stored secret."""
    return _sealed(stored) and value in (MASK, _masked_value(stored))


def _type_ok(kind: str, value: Any) -> bool:
    if kind in ("string", "text", *SECRET_TYPES):
        return isinstance(value, str)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, bool)


# --------------------------------------------------------------------------- secrets


def seal_secrets(items: list[dict], config: dict[str, Any], sealer: Sealer) -> dict[str, Any]:
    """Secrets (one value, or each value of a multi item) are stored encrypted with the
    server key; nothing but the job's program needs them in clear."""
    out = dict(config)
    for item in items:
        value = out.get(item["name"])
        if not is_secret(item):
            continue
        if isinstance(value, str) and value:
            out[item["name"]] = {_SEALED: sealer.seal(value)}
        elif isinstance(value, list) and value:
            out[item["name"]] = [
                {_SEALED: sealer.seal(v)} if isinstance(v, str) else v for v in value
            ]
    return out


def _is_sealed_one(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {_SEALED}


def _sealed(value: Any) -> bool:
    """A stored secret: a sealed value, or a list holding sealed values."""
    if isinstance(value, list):
        return any(_is_sealed_one(v) for v in value)
    return _is_sealed_one(value)


def unseal(config: dict[str, Any], sealer: Sealer) -> dict[str, Any]:
    def clear(value: Any) -> Any:
        return sealer.unseal(value[_SEALED]) if _is_sealed_one(value) else value

    return {
        name: [clear(v) for v in value] if isinstance(value, list) else clear(value)
        for name, value in config.items()
    }


def _masked_value(value: Any) -> Any:
    if isinstance(value, list):
        return [MASK if _is_sealed_one(v) else v for v in value]
    return MASK if _is_sealed_one(value) else value


def masked(config: dict[str, Any]) -> dict[str, Any]:
    """What the API shows: a set secret is ``MASK`` (each value of a list), never its value."""
    return {name: _masked_value(value) for name, value in config.items()}


def secret_names(config: dict[str, Any]) -> set[str]:
    """The items of a stored configuration that hold a secret (sealed at enable time)."""
    return {name for name, value in config.items() if _sealed(value)}


def secret_values(config: dict[str, Any], names: set[str]) -> list[str]:
    """The clear values of those items in a job's ``config``, to look for in its report."""
    values: list[str] = []
    for name in names:
        value = config.get(name)
        for one in value if isinstance(value, list) else [value]:
            if isinstance(one, str) and len(one) >= MIN_SCRUBBED:
                values.append(one)
    return sorted(set(values), key=len, reverse=True)


def mask_for_report(value: Any, names: set[str] = frozenset()) -> Any:
    """cortexutils' masking of an input document, by our wider rule: config keys naming a
    secret, or known to hold one (``names``) -> REMOVED."""
    if not isinstance(value, dict):
        return value
    out = dict(value)
    config = out.get("config")
    if isinstance(config, dict):
        out["config"] = {
            k: (REMOVED if k in names or _SECRET_NAME.search(k) else v) for k, v in config.items()
        }
    return out


def scrub(value: Any, secrets: list[str]) -> Any:
    """Every occurrence of a secret value in a report (a program may echo its settings, an
    error message may quote a header) replaced by REMOVED."""
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REMOVED)
        return value
    if isinstance(value, list):
        return [scrub(v, secrets) for v in value]
    if isinstance(value, dict):
        return {scrub(k, secrets): scrub(v, secrets) for k, v in value.items()}
    return value


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
