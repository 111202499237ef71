"""The catalogue: analyzer and responder definitions (Cortex JSON "flavors", spec cortex.md §1).

Definitions come from the folders of ``PROPOLIS_ANALYZERS_PATH`` / ``PROPOLIS_RESPONDERS_PATH``
(laid out like Cortex-Analyzers: ``<root>/<Program>/<Flavor>.json``) and from Propolis' own
built-ins (``propolis/analysis/builtins``). A definition that cannot be used is reported
(``Catalog.invalid``) and skipped; it never stops the server.
"""

from __future__ import annotations

import json
import logging
import shlex
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

ANALYZER, RESPONDER = "analyzer", "responder"
KINDS = (ANALYZER, RESPONDER)
BUILTINS_ROOT = Path(__file__).parent / "builtins"
REQUIRED_STRINGS = ("name", "version", "description", "author", "url", "license")
# "password" is a string whose value is a secret (config.is_secret)
ITEM_TYPES = ("string", "text", "number", "boolean", "password")
# Flags an item may carry: a secret whatever its name; a path on the server (analysis/paths)
ITEM_FLAGS = ("secret", "sensitive", "serverPath")
# Interpreter words some catalogue entries put in front of the program ("python3 X/y.py").
INTERPRETERS = {"python", "python2", "python3", "sh", "bash"}


@dataclass(frozen=True)
class Definition:
    id: str
    kind: str
    name: str
    version: str
    description: str
    author: str
    url: str
    license: str
    data_types: list[str]
    command: str  # absolute path of the program
    root: str  # working directory of the program: the analyzers/responders root
    base_config: str
    configuration_items: list[dict[str, Any]]
    config: dict[str, Any]
    source: str
    builtin: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def snapshot(self) -> dict[str, Any]:
        """What a worker keeps of its definition (so it still runs if the file disappears)."""
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "author": self.author,
            "url": self.url,
            "license": self.license,
            "dataTypeList": self.data_types,
            "command": self.command,
            "root": self.root,
            "baseConfig": self.base_config,
            "configurationItems": self.configuration_items,
            "config": self.config,
            "builtin": self.builtin,
        }

    @classmethod
    def from_snapshot(cls, kind: str, snap: dict[str, Any]) -> Definition:
        return cls(
            id=snap["id"],
            kind=kind,
            name=snap["name"],
            version=snap["version"],
            description=snap.get("description", ""),
            author=snap.get("author", ""),
            url=snap.get("url", ""),
            license=snap.get("license", ""),
            data_types=list(snap.get("dataTypeList") or []),
            command=snap.get("command", ""),
            root=snap.get("root", ""),
            base_config=snap.get("baseConfig") or snap["name"],
            configuration_items=list(snap.get("configurationItems") or []),
            config=dict(snap.get("config") or {}),
            source="(stored)",
            builtin=bool(snap.get("builtin")),
        )

    def to_json(self) -> dict[str, Any]:
        out = self.snapshot()
        out.pop("root")
        out.update(kind=self.kind, source=self.source, **self.extra)
        return out


@dataclass(frozen=True)
class Invalid:
    source: str
    kind: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"source": self.source, "kind": self.kind, "reason": self.reason}


@dataclass
class Catalog:
    definitions: dict[str, dict[str, Definition]]  # kind -> id -> definition
    invalid: list[Invalid]
    warnings: list[Invalid]

    def get(self, kind: str, definition_id: str) -> Definition | None:
        return self.definitions[kind].get(definition_id)

    def all(self, kind: str) -> list[Definition]:
        return sorted(self.definitions[kind].values(), key=lambda d: d.id.lower())


def definition_id(name: str, version: str) -> str:
    """Cortex's id: ``name_version`` with every ``.`` replaced by ``_`` (spec §1.5)."""
    return f"{name}_{version}".replace(".", "_")


# --------------------------------------------------------------------------- discovery


def split_paths(value: str | None) -> list[str]:
    return [p for p in (value or "").split(":") if p.strip()]


def scan(analyzer_paths: list[str], responder_paths: list[str], builtins: bool = True) -> Catalog:
    catalog = Catalog({ANALYZER: {}, RESPONDER: {}}, [], [])
    roots = {ANALYZER: list(analyzer_paths), RESPONDER: list(responder_paths)}
    for kind in KINDS:
        if builtins:
            _scan_root(catalog, kind, BUILTINS_ROOT / f"{kind}s", builtin=True)
        for path in roots[kind]:
            _scan_root(catalog, kind, Path(path), builtin=False)
    return catalog


def _scan_root(catalog: Catalog, kind: str, path: Path, builtin: bool) -> None:
    if path.is_file():
        _load_file(catalog, kind, path, builtin)
    elif path.is_dir():
        # Immediate sub-folders only, and the *.json files directly inside them (§1.6).
        for folder in sorted(p for p in path.iterdir() if p.is_dir()):
            for file in sorted(folder.glob("*.json")):
                _load_file(catalog, kind, file, builtin)
    else:
        catalog.invalid.append(Invalid(str(path), kind, "path does not exist"))
        log.warning("%s path %s does not exist", kind, path)


def _load_file(catalog: Catalog, kind: str, file: Path, builtin: bool) -> None:
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        catalog.invalid.append(Invalid(str(file), kind, f"unreadable JSON: {exc}"))
        return
    entries = document if isinstance(document, list) else [document]
    for index, entry in enumerate(entries):
        source = str(file) if len(entries) == 1 else f"{file}[{index}]"
        try:
            definition = parse_definition(entry, kind, file, source, builtin, catalog.warnings)
        except ValueError as exc:
            catalog.invalid.append(Invalid(source, kind, str(exc)))
            log.warning("invalid %s definition %s: %s", kind, source, exc)
            continue
        catalog.definitions[kind][definition.id] = definition  # last one read wins


def parse_definition(
    entry: Any,
    kind: str,
    file: Path,
    source: str,
    builtin: bool = False,
    warnings: list[Invalid] | None = None,
) -> Definition:
    """Check one definition object; raise ValueError naming what makes it unusable."""
    if not isinstance(entry, dict):
        raise ValueError("a definition must be a JSON object")
    for key in REQUIRED_STRINGS:
        if not isinstance(entry.get(key), str):
            raise ValueError(f"missing or non-string {key!r}")
    root = file.resolve().parent.parent
    command = _resolve_command(entry.get("command"), entry.get("dockerImage"), root)
    items, problem = parse_configuration_items(entry.get("configurationItems"))
    if problem and warnings is not None:
        # Cortex silently drops the whole list; we say so.
        warnings.append(Invalid(source, kind, f"configurationItems ignored: {problem}"))
    data_types = entry.get("dataTypeList")
    if not (isinstance(data_types, list) and all(isinstance(t, str) for t in data_types)):
        data_types = []
    config = entry.get("config") if isinstance(entry.get("config"), dict) else {}
    base_config = entry.get("baseConfig")
    known = set(REQUIRED_STRINGS) | {
        "dataTypeList",
        "command",
        "dockerImage",
        "baseConfig",
        "configurationItems",
        "config",
    }
    return Definition(
        id=definition_id(entry["name"], entry["version"]),
        kind=kind,
        name=entry["name"],
        version=entry["version"],
        description=entry["description"],
        author=entry["author"],
        url=entry["url"],
        license=entry["license"],
        data_types=list(data_types),
        command=str(command),
        root=str(root),
        base_config=base_config if isinstance(base_config, str) and base_config else entry["name"],
        configuration_items=items,
        config=dict(config),
        source=source,
        builtin=builtin,
        extra={k: v for k, v in entry.items() if k not in known},
    )


def _resolve_command(command: Any, docker_image: Any, root: Path) -> Path:
    if not isinstance(command, str) or not command.strip():
        if isinstance(docker_image, str) and docker_image:
            raise ValueError("only a dockerImage: the docker runner is not available")
        raise ValueError("no command")
    words = shlex.split(command)
    if len(words) > 1 and Path(words[0]).name in INTERPRETERS:
        words = words[1:]  # "python3 ClusterHawk/ClusterHawk.py" (§1.5 quirks)
    target = (root / words[0]).resolve()
    if not target.is_relative_to(root):
        raise ValueError(f"command {command!r} escapes its root folder")
    if not target.is_file():
        raise ValueError(f"command {command!r} not found")
    return target


def parse_configuration_items(value: Any) -> tuple[list[dict[str, Any]], str | None]:
    """The items, normalised; on any invalid item Cortex uses an empty list (§1.2)."""
    if value is None:
        return [], None
    if not isinstance(value, list):
        return [], "configurationItems is not a list"
    items: list[dict[str, Any]] = []
    for raw in value:
        if not isinstance(raw, dict):
            return [], "an item is not an object"
        name, kind = raw.get("name"), raw.get("type")
        if not isinstance(name, str) or not isinstance(raw.get("description"), str):
            return [], "an item lacks a string name or description"
        if kind not in ITEM_TYPES:
            return [], f"item {name!r} has unknown type {kind!r}"
        item = {
            "name": name,
            "description": raw["description"],
            "type": kind,
            "multi": raw.get("multi") is True,
            "required": raw.get("required") is True,
        }
        if "defaultValue" in raw:
            item["defaultValue"] = raw["defaultValue"]
        item.update({flag: True for flag in ITEM_FLAGS if raw.get(flag) is True})
        items.append(item)
    return items, None


# --------------------------------------------------------------------------- the loaded catalogue

_lock = threading.Lock()
_current: Catalog | None = None
_current_key: tuple | None = None


def load(settings: Any, rescan: bool = False) -> Catalog:
    """The catalogue for these settings, scanned once and cached (``rescan`` forces a scan)."""
    global _current, _current_key
    key = (settings.analyzers_path, settings.responders_path, settings.builtin_workers)
    with _lock:
        if rescan or _current is None or _current_key != key:
            _current = scan(
                split_paths(settings.analyzers_path),
                split_paths(settings.responders_path),
                settings.builtin_workers,
            )
            _current_key = key
        return _current
