"""Template filters: how values look on every page (dates, colours, Markdown).

Colours follow ../shared/UI.md (TLP 2.0, PAP, severity, analyzer levels); the label is
always written too, so meaning never rests on colour alone."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import nh3
from jinja2 import Environment
from markdown_it import MarkdownIt
from markupsafe import Markup

# Raw HTML in Markdown is not rendered at all (html=False); what Markdown itself produces
# still goes through nh3, which keeps a safe subset of tags and attributes.
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
    ["table", "strikethrough"]
)

TLP = {0: "CLEAR", 1: "GREEN", 2: "AMBER", 3: "RED", 4: "AMBER+STRICT"}
PAP = {0: "CLEAR", 1: "GREEN", 2: "AMBER", 3: "RED"}
SEVERITY = {1: "LOW", 2: "MEDIUM", 3: "HIGH", 4: "CRITICAL"}
TAXONOMY_LEVELS = ("info", "safe", "suspicious", "malicious")


def markdown(text: str | None) -> Markup:
    if not text:
        return Markup("")
    html = _MARKDOWN.render(text)
    return Markup(nh3.clean(html, link_rel="noopener noreferrer nofollow"))


def datetime_text(ms: int | None) -> str:
    """An epoch-milliseconds date as the analyst reads it (UTC, minute precision)."""
    if not ms:
        return ""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def iso(ms: int | None) -> str:
    if not ms:
        return ""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


def ago(ms: int | None) -> str:
    """ "5 min ago": lists read faster with relative dates (the full date is in a title)."""
    if not ms:
        return ""
    seconds = max(0, int(time.time() - ms / 1000))
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return "just now"


def date_input(ms: int | None) -> str:
    """The value of an ``<input type="datetime-local">`` (UTC)."""
    if not ms:
        return ""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M")


def tlp_label(value: Any) -> str:
    return TLP.get(value, str(value)) if value is not None else ""


def pap_label(value: Any) -> str:
    return PAP.get(value, str(value)) if value is not None else ""


def severity_label(value: Any) -> str:
    return SEVERITY.get(value, str(value)) if value is not None else ""


def css_token(value: Any) -> str:
    """A label as a CSS class suffix (``AMBER+STRICT`` -> ``amber-strict``)."""
    return str(value).lower().replace("+", "-").replace(" ", "-")


def taxonomy_text(tax: dict[str, Any]) -> str:
    return f"{tax.get('namespace', '')}:{tax.get('predicate', '')}={tax.get('value', '')}"


def taxonomy_level(tax: dict[str, Any]) -> str:
    level = str(tax.get("level", "info")).lower()
    return level if level in TAXONOMY_LEVELS else "info"


def with_params(request: Any, **changes: Any) -> str:
    """The current address with some query parameters changed (``None`` drops one): links
    of pagers, sort headers and filter chips keep every other filter."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    for key, value in changes.items():
        if value is None:
            continue
        for one in value if isinstance(value, list | tuple) else [value]:
            params.append((key, str(one)))
    return request.url.path + ("?" + urlencode(params) if params else "")


def install(env: Environment) -> None:
    env.globals["with_params"] = with_params
    env.filters.update(
        markdown=markdown,
        dt=datetime_text,
        iso=iso,
        ago=ago,
        date_input=date_input,
        tlp=tlp_label,
        pap=pap_label,
        severity=severity_label,
        css=css_token,
        taxonomy=taxonomy_text,
        taxonomy_level=taxonomy_level,
    )
