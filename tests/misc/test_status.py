"""The platform status page on each database backend: it names the backend, and the file
store's figures follow what is uploaded (each file counted once, however many use it)."""

from __future__ import annotations

import re
import uuid

from tests.harness import ADMIN_LOGIN, ADMIN_PASSWORD
from tests.ui.pages import Browser


def figure(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}">([^<]*)<', html)
    assert found, element_id
    return found.group(1).strip()


def test_the_status_page_names_the_backend_and_counts_stored_files(server, tmp_path):
    admin = Browser(server, ADMIN_LOGIN, ADMIN_PASSWORD)
    before = admin.request("GET", "/admin/status")
    assert before.status_code == 200, before.text[:300]
    backend = "PostgreSQL" if server.backend == "postgresql" else "SQLite"
    assert figure(before.text, "status-backend") == backend
    files = int(figure(before.text, "status-files-count"))

    content = b"evidence " + uuid.uuid4().bytes * 64
    path = tmp_path / "evidence.bin"
    path.write_bytes(content)
    client = server.client(organisation="main-org")
    for _ in range(2):  # the same bytes twice: stored once
        client.organisation.add_attachment([str(path)])
    after = admin.request("GET", "/admin/status").text
    assert int(figure(after, "status-files-count")) == files + 1
    assert "Analyzer jobs" in after and "Traceback" not in after


def test_the_audit_log_filters_on_each_backend(server):
    admin = Browser(server, ADMIN_LOGIN, ADMIN_PASSWORD)
    answer = admin.request(
        "GET",
        "/admin/audit?user=admin@thehive.local&type=Organisation&action=create&from=2000-01-01",
    )
    assert answer.status_code == 200, answer.text[:300]
    assert 'id="audit-log"' in answer.text and "added organisation" in answer.text
