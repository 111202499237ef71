"""Analyzer settings that name server files (LocalList's list files, Yara's rules) are
confined to the folders the platform admin configures (PROPOLIS_ANALYSIS_FILES_DIRS, by
default <data>/analysis-files): outside paths are refused at enable time and before a job,
and no file content ever comes back but a match."""

from __future__ import annotations

import uuid

import pytest

from tests.analysis.test_jobs import enable, finished, new_case, new_observable, org, run_job

__all__ = ["org"]  # a fixture


def _allowed(server):
    folder = server.data_dir / "analysis-files" / uuid.uuid4().hex[:8]
    folder.mkdir(parents=True)
    return folder


def _enable(http, server, definition, configuration):
    return http.post(
        server.url + "/api/v1/analysis/worker",
        json={"kind": "analyzer", "definitionId": definition, "configuration": configuration},
    )


@pytest.mark.parametrize(
    ("definition", "configuration"),
    [
        ("Propolis_LocalList_1_0", {"blocklist_files": ["/etc/passwd"]}),
        ("Propolis_LocalList_1_0", {"allowlist_files": ["../../../../../../etc/hostname"]}),
        ("Propolis_LocalList_1_0", {"blocklist_files": ["{allowed}/../../propolis.db"]}),
        ("Propolis_Yara_1_0", {"rules": ["/etc"]}),
        ("Propolis_Yara_1_0", {"rules": ["{link}"]}),  # a link inside, pointing outside
    ],
)
def test_paths_outside_the_allowed_folders_are_refused(
    engine_server, org, definition, configuration
):
    http, client = org
    allowed = _allowed(engine_server)
    (allowed / "link").symlink_to("/etc")
    filled = {
        name: [v.format(allowed=allowed, link=allowed / "link") for v in values]
        for name, values in configuration.items()
    }
    response = _enable(http, engine_server, definition, filled)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["type"] == "AttributeCheckingError"
    (name,) = configuration
    assert error["message"].startswith(f"Invalid configuration: {name}: ")
    assert "is outside the folders analyzers may read" in error["message"]
    assert "PROPOLIS_ANALYSIS_FILES_DIRS" in error["message"]
    assert "root:" not in response.text  # nothing of any file
    assert client.cortex.list_analyzers() == []


def test_a_list_file_in_the_allowed_folder_is_used_and_stays_confined(engine_server, org):
    http, client = org
    allowed = _allowed(engine_server)
    (allowed / "bad-ips.txt").write_text("# known bad\n198.51.100.66\n")
    relative = f"{allowed.name}/bad-ips.txt"  # taken inside the first allowed folder
    worker = enable(
        http, engine_server.url, "Propolis_LocalList_1_0",
        configuration={"blocklist_files": [relative]},
    )  # fmt: skip
    assert worker["configuration"]["blocklist_files"] == [str(allowed.resolve() / "bad-ips.txt")]
    case = new_case(client)
    done = finished(client, run_job(client, new_observable(client, case, "198.51.100.66"), "Propolis_LocalList"))  # fmt: skip
    assert done["status"] == "Success", done["report"]
    assert done["report"]["full"]["verdict"] == "blocked"
    # an update to an outside path is refused and changes nothing
    patch = http.patch(
        f"{engine_server.url}/api/v1/analysis/worker/{worker['_id']}",
        json={"configuration": {"blocklist_files": ["/etc/passwd"]}},
    )
    assert patch.status_code == 400
    again = http.get(f"{engine_server.url}/api/v1/analysis/worker/{worker['_id']}").json()
    assert again["configuration"]["blocklist_files"] == worker["configuration"]["blocklist_files"]
    # the file replaced by a link to an outside file: the job is refused before it runs
    (allowed / "bad-ips.txt").unlink()
    (allowed / "bad-ips.txt").symlink_to("/etc/passwd")
    refused = finished(client, run_job(client, new_observable(client, case, "198.51.100.67"), "Propolis_LocalList"))  # fmt: skip
    assert refused["status"] == "Failure"
    assert "is outside the folders analyzers may read" in refused["report"]["errorMessage"]
    assert "root:" not in str(refused["report"])
