"""SQL statements per request on the ingest path: alerts with 5 observables (as in
bench/ingest.py) posted in-process to the real application, every statement the database
receives counted by an SQLAlchemy ``before_cursor_execute`` listener (an executemany counts
once). Authentication's own statements are reported apart.

    python -m bench.statements [--alerts 50] [--database-url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import collections
import random
import re
import tempfile
import uuid

from sqlalchemy import event
from starlette.testclient import TestClient

from bench.common import ADMIN
from bench.ingest import make_alert, observable_pools
from propolis.app import create_app
from propolis.settings import Settings


def statement_kind(statement: str) -> str:
    words = statement.split()
    verb = words[0].upper() if words else "?"
    if verb in ("INSERT", "DELETE") and len(words) > 2:
        return f"{verb} {words[2].strip(chr(34))}"
    if verb == "UPDATE" and len(words) > 1:
        return f"UPDATE {words[1].strip(chr(34))}"
    found = re.search(r"\bFROM\s+(\S+)", statement, re.IGNORECASE)
    if verb == "SELECT" and found:
        return f"SELECT {found.group(1).strip(chr(34))}"
    return verb


def join_bench_org(client: TestClient) -> None:
    """As bench.common.ensure_org: the admin joins an organisation "bench" as org-admin."""
    client.headers["X-Organisation"] = "admin"
    client.post("/api/v1/organisation", json={"name": "bench", "description": "bench"})
    organisations = [
        {"organisation": "admin", "profile": "admin", "default": True},
        {"organisation": "bench", "profile": "org-admin"},
    ]
    r = client.put(f"/api/v1/user/{ADMIN[0]}/organisations", json={"organisations": organisations})
    assert r.is_success, r.text
    client.headers["X-Organisation"] = "bench"


def count(alerts: int, database_url: str | None) -> None:
    with tempfile.TemporaryDirectory(prefix="propolis-stmts-") as data_dir:
        settings = Settings(data_dir=data_dir, admin_password=ADMIN[1], database_url=database_url)
        app = create_app(settings)
        with TestClient(app) as client:
            client.auth = ADMIN
            join_bench_org(client)
            seen: collections.Counter[str] = collections.Counter()

            @event.listens_for(app.state.db.engine, "before_cursor_execute")
            def _count(_conn, _cursor, statement, _params, _context, _many) -> None:  # noqa: ANN001
                seen[statement_kind(statement)] += 1

            rng = random.Random(1)
            pools = observable_pools(rng, 2000)
            run_id = uuid.uuid4().hex[:8]
            client.post("/api/v1/alert", json=make_alert(rng, pools, run_id, -1))  # warm-up
            seen.clear()
            for n in range(alerts):
                r = client.post("/api/v1/alert", json=make_alert(rng, pools, run_id, n))
                assert r.status_code == 201, r.text
        total = sum(seen.values())
        print(f"{total / alerts:.1f} statements per alert ({alerts} alerts), by kind:")
        for kind, n in seen.most_common():
            print(f"  {n / alerts:5.1f}  {kind}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--alerts", type=int, default=50)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    count(args.alerts, args.database_url)


if __name__ == "__main__":
    main()
