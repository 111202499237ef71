"""The environment an analyzer or responder program runs with: a minimal one, built from
what the platform admin configures, never the server's own.

The server's environment holds its secrets (``PROPOLIS_ADMIN_PASSWORD``, the database URL
with its password, the secret key); a program of the Cortex catalogue is third-party code
and gets none of it. It gets ``PATH``, a UTF-8 locale, ``HOME`` (its job folder), and the
proxy settings the admin gave (``PROPOLIS_ANALYZER_HTTP_PROXY``, ``..._HTTPS_PROXY``,
``..._NO_PROXY``), under both spellings programs read.
"""

from __future__ import annotations

import os
from typing import Any

DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"


def base_environment(settings: Any = None) -> dict[str, str]:
    """PATH and locale: what any process needs, and nothing that says where the server is."""
    path = getattr(settings, "analyzer_path", None) or os.environ.get("PATH") or DEFAULT_PATH
    locale = getattr(settings, "analyzer_locale", None) or "C.UTF-8"
    return {"PATH": path, "LANG": locale, "LC_ALL": locale, "PYTHONIOENCODING": "utf-8"}


def program_environment(settings: Any) -> dict[str, str]:
    """:func:`base_environment` plus the proxies the admin configured for the programs."""
    env = base_environment(settings)
    for name, value in (
        ("http_proxy", settings.analyzer_http_proxy),
        ("https_proxy", settings.analyzer_https_proxy),
        ("no_proxy", settings.analyzer_no_proxy),
    ):
        if value:
            env[name] = env[name.upper()] = value
    return env
