"""Settings of analyzers and responders that name files on the server (LocalList's list
files, Yara's rules) are confined to the folders the platform admin configures.

An organisation admin enables workers; the server's files are not theirs to read (an
analyzer that reads a named file and reports a matching line would answer questions about
any file the server can read). So every such path must lie, after resolving ``..`` and
symbolic links, inside ``PROPOLIS_ANALYSIS_FILES_DIRS`` (default ``<data>/analysis-files``);
a relative path is taken inside the first folder. Outside paths are refused when the worker
is enabled or updated (400), and checked again before each job (links can change).

Which items name paths: those the definition flags (``"serverPath": true``), and, for the
programs of the Cortex catalogue that know nothing of that flag, items named like one
(``..._file(s)``, ``..._path(s)``, ``..._dir(s)``, ``..._folder(s)``, ``rules``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from propolis.core.errors import AttributeCheckingError

SETTING = "PROPOLIS_ANALYSIS_FILES_DIRS"
_PATH_NAME = re.compile(r"(^|_)(files?|paths?|dirs?|folders?|directory|rules)$", re.IGNORECASE)


def roots(settings: Any) -> list[Path]:
    """The folders analyzers may read, resolved."""
    raw = settings.analysis_files_dirs or str(Path(settings.data_dir) / "analysis-files")
    return [Path(p).resolve() for p in raw.split(os.pathsep) if p.strip()]


def is_path_item(item: dict[str, Any]) -> bool:
    if item.get("type") not in ("string", "text"):
        return False
    return item.get("serverPath") is True or bool(_PATH_NAME.search(item["name"]))


def confined(value: str, allowed: list[Path]) -> Path | None:
    """``value`` resolved, when it lies inside one of ``allowed``; else None."""
    if not allowed or not value.strip():
        return None
    path = Path(value.strip())
    if not path.is_absolute():
        path = allowed[0] / path
    real = path.resolve()
    if any(real == root or root in real.parents for root in allowed):
        return real
    return None


def confine_config(
    items: list[dict[str, Any]], config: dict[str, Any], settings: Any
) -> dict[str, Any]:
    """``config`` with every path item resolved inside the allowed folders; an outside path
    is a 400 naming the item (and the folders allowed, never anything about the file)."""
    allowed = roots(settings)
    out = dict(config)
    errors = []
    for item in items:
        name = item["name"]
        value = out.get(name)
        if not is_path_item(item) or value in (None, "", []):
            continue
        values = value if isinstance(value, list) else [value]
        resolved = [confined(v, allowed) if isinstance(v, str) else None for v in values]
        outside = [v for v, r in zip(values, resolved, strict=True) if r is None]
        if outside:
            errors.append(
                {
                    "name": name,
                    "type": "InvalidFormatAttributeError",
                    "message": f"{outside[0]!r} is outside the folders analyzers may read "
                    f"({os.pathsep.join(str(r) for r in allowed)}; set by {SETTING})",
                }
            )
            continue
        as_text = [str(r) for r in resolved]
        out[name] = as_text if isinstance(value, list) else as_text[0]
    if errors:
        raise AttributeCheckingError(
            f"Invalid configuration: {errors[0]['name']}: {errors[0]['message']}",
            tableName="worker",
            errors=errors,
        )
    return out


def outside_paths(items: list[dict[str, Any]], config: dict[str, Any], settings: Any) -> str | None:
    """Before a job: why its configuration names a path it may not read, if it does."""
    try:
        confine_config(items, config, settings)
    except AttributeCheckingError as exc:
        return exc.message
    return None
