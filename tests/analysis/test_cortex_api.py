"""The Cortex REST API driven by the real ``cortex4py`` client."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from cortex4py.api import Api
from cortex4py.exceptions import InvalidInputError, NotFoundError
from cortex4py.query import Eq


def new_cortex_user(server) -> tuple[str, str, str]:
    """``(organisation, login, API key)`` of an org-admin of a new organisation."""
    org = "cx-" + uuid.uuid4().hex[:8]
    server.create_org(org)
    admin = server.client(organisation="admin")
    login = f"analyst-{uuid.uuid4().hex[:6]}@example.org"
    admin.user.create(
        user={"login": login, "name": "Cortex user", "profile": "org-admin", "organisation": org}
    )
    return org, login, admin.user.renew_apikey(user_id=login)


@pytest.fixture
def cortex_user(engine_server) -> tuple[str, str, str]:
    return new_cortex_user(engine_server)


@pytest.fixture
def cortex(engine_server, cortex_user):
    """cortex4py with the API key of an org-admin of a fresh organisation."""
    return Api(engine_server.url, cortex_user[2])


@pytest.fixture
def http(engine_server, cortex_user) -> requests.Session:
    """The same user as TheHive calls: plain HTTP with ``Authorization: Bearer <key>``."""
    return bearer(engine_server, cortex_user[2])


def test_enable_run_and_read_the_report(cortex):
    definitions = {d.id for d in cortex.analyzers.definitions()}
    assert "Probe_Echo_1_0" in definitions
    assert cortex.analyzers.find_all({}, range="all") == []
    analyzer = cortex.analyzers.enable("Probe_Echo_1_0", {"configuration": {"api_key": "k"}})
    assert analyzer.name == "Probe_Echo_1_0"
    assert cortex.analyzers.get_by_name("Probe_Echo_1_0").id == analyzer.id
    assert [a.id for a in cortex.analyzers.get_by_type("ip")] == [analyzer.id]
    assert cortex.analyzers.get_by_type("mail") == []
    job = cortex.analyzers.run_by_id(
        analyzer.id, {"data": "8.8.4.4", "dataType": "ip", "tlp": 1, "message": "m"}
    )
    assert job.status == "Waiting"
    done = cortex.jobs.get_report_async(job.id, timeout="30s")
    assert done.status == "Success"
    assert done.report["full"]["data"] == "8.8.4.4"
    assert done.report["full"]["tlp"] == 1
    assert done.report["summary"]["taxonomies"][0]["namespace"] == "Probe"
    artifacts = cortex.jobs.get_artifacts(job.id)
    assert {a.data for a in artifacts} == {"8.8.8.8", "auto-import.example.org"}
    again = cortex.analyzers.run_by_id(analyzer.id, {"data": "8.8.4.4", "dataType": "ip", "tlp": 1})
    assert again.id == job.id  # served from the cache
    assert [j.id for j in cortex.jobs.find_all({}, range="all")] == [job.id]
    cortex.jobs.delete(job.id)
    with pytest.raises(NotFoundError):
        cortex.jobs.get_by_id(job.id)
    cortex.analyzers.disable(analyzer.id)
    assert cortex.analyzers.find_all({}, range="all") == []


def test_failures_and_bad_input(cortex):
    analyzer = cortex.analyzers.enable("Probe_Fail_1_0", {"configuration": {}})
    job = cortex.analyzers.run_by_id(analyzer.id, {"data": "x.example", "dataType": "domain"})
    done = cortex.jobs.get_report_async(job.id, timeout="30 seconds")
    assert done.status == "Failure"
    assert done.report["errorMessage"] == "Probe failed on purpose"
    with pytest.raises(InvalidInputError):
        cortex.analyzers.run_by_id(analyzer.id, {"data": "x", "tlp": 2})  # no dataType
    with pytest.raises(InvalidInputError):
        cortex.analyzers.run_by_id(analyzer.id, {"data": "x", "dataType": "domain", "tlp": 9})
    with pytest.raises(NotFoundError):
        cortex.analyzers.get_by_id("~999999999")
    with pytest.raises(InvalidInputError):
        cortex.analyzers.enable("Probe_Echo_1_0", {"configuration": {}})  # api_key required
    with pytest.raises(NotFoundError):
        cortex.analyzers.enable("Nothing_1_0", {"configuration": {}})
    assert [a.name for a in cortex.analyzers.find_all(Eq("name", "Probe_Fail_1_0"))] == [
        "Probe_Fail_1_0"
    ]


def test_other_organisation_cannot_see_jobs_or_analyzers(engine_server, cortex):
    analyzer = cortex.analyzers.enable("Probe_Fail_1_0", {"configuration": {}})
    job = cortex.analyzers.run_by_id(analyzer.id, {"data": "y.example", "dataType": "domain"})
    other = Api(engine_server.url, new_cortex_user(engine_server)[2])
    with pytest.raises(NotFoundError):
        other.jobs.get_by_id(job.id)
    with pytest.raises(NotFoundError):
        other.analyzers.get_by_id(analyzer.id)
    with pytest.raises(NotFoundError):
        other.analyzers.run_by_id(analyzer.id, {"data": "z.example", "dataType": "domain"})
    assert other.analyzers.find_all({}, range="all") == []


def bearer(server, key: str) -> requests.Session:
    """What TheHive does: plain HTTP with ``Authorization: Bearer <key>``."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    session.base_url = server.url + "/api"  # type: ignore[attr-defined]
    return session


def wait_done(http: requests.Session, job_id: str) -> dict:
    """TheHive's polling: ``waitreport?atMost=1 second`` until the job has ended."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        response = http.get(f"{http.base_url}/job/{job_id}/waitreport?atMost=1 second")
        assert response.status_code == 200, response.text
        if response.json()["status"] in ("Success", "Failure"):
            return response.json()
    raise AssertionError(f"job {job_id} did not end")


def test_file_jobs_and_the_datastore(engine_server, cortex, tmp_path, http):
    analyzer = cortex.analyzers.enable("Probe_Echo_1_0", {"configuration": {"api_key": "k"}})
    content = b"MZ not really a program " + uuid.uuid4().bytes
    sha256 = hashlib.sha256(content).hexdigest()
    sample = tmp_path / "sample.bin"
    sample.write_bytes(content)
    job = cortex.analyzers.run_by_id(analyzer.id, {"dataType": "file", "data": str(sample)})
    done = cortex.jobs.get_report_async(job.id, timeout="30s")
    assert done.status == "Success"
    assert done.report["full"]["sha256"] == sha256
    assert done.report["full"]["filename"] == "sample.bin"
    assert done.attachment["id"] == sha256
    assert done.attachment["hashes"][0] == sha256
    assert done.attachment["size"] == len(content)
    assert "data" not in done.__dict__ or done.data is None
    # TheHive's form: the file part "data" and "_json" with "data": null
    other_content = b"second file " + uuid.uuid4().bytes
    fields = {"dataType": "file", "tlp": 2, "pap": 2, "message": "7", "data": None,
              "parameters": {"fileArtifact": True}}  # fmt: skip
    response = http.post(
        f"{http.base_url}/analyzer/{analyzer.id}/run",
        files={
            "data": ("second.txt", other_content, "text/plain"),
            "_json": (None, json.dumps(fields)),
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["attachment"]["name"] == "second.txt"
    report = wait_done(http, response.json()["id"])["report"]
    assert report["full"]["sha256"] == hashlib.sha256(other_content).hexdigest()
    copies = [a for a in report["artifacts"] if a["dataType"] == "file"]
    assert len(copies) == 1
    artifact_sha = copies[0]["attachment"]["id"]
    # the datastore serves both the job's file and the report's file artifact
    got = http.get(f"{http.base_url}/datastore/{sha256}", params={"name": "sample.bin"})
    assert got.status_code == 200
    assert got.content == content
    assert "sample.bin" in got.headers["Content-Disposition"]
    assert http.get(f"{http.base_url}/datastore/{artifact_sha}").content == other_content
    assert http.get(f"{http.base_url}/datastore/{'0' * 64}").status_code == 404
    assert http.get(f"{http.base_url}/datastore/not-a-hash").status_code == 404
    bad = http.get(f"{http.base_url}/datastore/{sha256}", params={"name": "../x"})
    assert bad.status_code == 400
    assert bad.json()["type"] == "BadRequest"
    # another organisation cannot read them
    stranger = bearer(engine_server, new_cortex_user(engine_server)[2])
    assert stranger.get(f"{stranger.base_url}/datastore/{sha256}").status_code == 404
    assert stranger.get(f"{stranger.base_url}/datastore/{artifact_sha}").status_code == 404


def test_file_job_bad_input(engine_server, cortex, http):
    analyzer = cortex.analyzers.enable("Probe_Echo_1_0", {"configuration": {"api_key": "k"}})
    url = f"{http.base_url}/analyzer/{analyzer.id}/run"
    before = len(cortex.jobs.find_all({}, range="all"))
    no_file = http.post(url, files={"_json": (None, json.dumps({"dataType": "file"}))})
    assert no_file.status_code == 400
    assert no_file.json()["type"]
    broken = http.post(url, files={"data": ("a", b"x"), "_json": (None, "{not json")})
    assert broken.status_code == 400
    no_type = http.post(url, files={"data": ("a", b"x"), "_json": (None, "{}")})
    assert no_type.status_code == 400
    assert len(cortex.jobs.find_all({}, range="all")) == before


CASE = {
    "_id": "~4242", "id": "~4242", "_type": "case", "caseId": 42, "title": "Phishing",
    "description": "a case", "tags": ["mail=bob@example.net"], "severity": 2, "tlp": 2,
    "pap": 2, "status": "Open",
}  # fmt: skip


def test_responders_run_on_the_object_sent(engine_server, cortex, http):
    responder = cortex.responders.enable("ProbeResponder_1_0", {"configuration": {}})
    assert [r.id for r in cortex.responders.get_by_type("thehive:case")] == [responder.id]
    # TheHive's look-ups: by data type (range all), then by id
    found = http.post(
        f"{http.base_url}/responder/_search",
        json={"query": {"_field": "dataTypeList", "_value": "thehive:case"}, "range": "all"},
    )
    assert found.status_code == 200
    assert [r["id"] for r in found.json()] == [responder.id]
    assert found.headers["X-Total"] == "1"
    none = http.post(
        f"{http.base_url}/responder/_search",
        json={"query": {"_field": "dataTypeList", "_value": "thehive:nothing"}, "range": "all"},
    )
    assert none.json() == []
    got = http.get(f"{http.base_url}/responder/{responder.id}").json()
    assert got["name"] == "ProbeResponder_1_0"
    assert "thehive:case" in got["dataTypeList"]
    assert isinstance(got["maxTlp"], int) and isinstance(got["maxPap"], int)
    run = http.post(
        f"{http.base_url}/responder/{responder.id}/run",
        json={"label": "#42 Phishing", "data": CASE, "dataType": "thehive:case", "tlp": 2,
              "pap": 2, "parameters": {"organisation": "acme", "user": "bob"}},
    )  # fmt: skip
    assert run.status_code == 200, run.text
    job = run.json()
    assert (job["type"], job["status"], job["workerId"]) == ("responder", "Waiting", responder.id)
    assert job["data"] == CASE
    assert job["label"] == "#42 Phishing"
    assert job["date"] and job["organization"]
    done = wait_done(http, job["id"])
    assert done["status"] == "Success", done
    assert done["report"]["full"]["received"] == CASE
    assert done["report"]["full"]["dataType"] == "thehive:case"
    operations = done["report"]["operations"]
    assert {"type": "AddTagToCase", "tag": "responded"} in operations
    assert all("status" not in op for op in operations)  # applied by the caller, not here
    assert http.get(f"{http.base_url}/job/{job['id']}").json()["status"] == "Success"
    assert cortex.jobs.get_report(job["id"]).report["operations"] == operations
    assert job["id"] in [j.id for j in cortex.jobs.find_all({}, range="all")]
    assert cortex.jobs.get_artifacts(job["id"]) == []
    # cortex4py's own run (no pap) on an alert object
    alert_job = cortex.responders.run_by_id(
        responder.id, {"dataType": "thehive:alert", "data": {"title": "A"}, "tlp": 1}
    )
    assert cortex.jobs.get_report_async(alert_job.id, timeout="30s").status == "Success"
    cortex.jobs.delete(job["id"])
    assert http.get(f"{http.base_url}/job/{job['id']}").status_code == 404


def test_responder_bad_input_and_tenancy(engine_server, cortex, http):
    responder = cortex.responders.enable("ProbeResponder_1_0", {"configuration": {}})
    url = f"{http.base_url}/responder/{responder.id}/run"
    before = len(cortex.jobs.find_all({}, range="all"))
    for bad in (
        {"data": CASE},  # no dataType
        {"dataType": "thehive:case"},  # no data
        {"dataType": "thehive:case", "data": CASE, "tlp": 7},
    ):
        response = http.post(url, json=bad)
        assert response.status_code == 400, bad
        assert {"type", "message"} <= set(response.json())
    assert len(cortex.jobs.find_all({}, range="all")) == before
    missing = http.post(f"{http.base_url}/responder/~999999999/run", json={"data": {}})
    assert missing.status_code == 404
    assert http.get(f"{http.base_url}/responder/~999999999").status_code == 404
    job = http.post(url, json={"dataType": "thehive:case", "data": CASE}).json()
    stranger = bearer(engine_server, new_cortex_user(engine_server)[2])
    assert stranger.get(f"{stranger.base_url}/responder/{responder.id}").status_code == 404
    assert (
        stranger.post(
            f"{stranger.base_url}/responder/{responder.id}/run",
            json={"dataType": "thehive:case", "data": CASE},
        ).status_code
        == 404
    )
    assert stranger.get(f"{stranger.base_url}/job/{job['id']}").status_code == 404
    assert (
        stranger.post(
            f"{stranger.base_url}/responder/_search", json={"query": {}, "range": "all"}
        ).json()
        == []
    )
    wait_done(http, job["id"])


def test_current_user_for_cortex_and_thehive_clients(engine_server):
    org, login, key = new_cortex_user(engine_server)
    http = bearer(engine_server, key)
    response = http.get(f"{http.base_url}/user/current")
    assert response.status_code == 200
    user = response.json()
    assert user["id"] == user["login"] == login
    assert user["name"] == "Cortex user"
    assert user["organization"] == user["organisation"] == org
    assert {"read", "analyze", "orgadmin"} <= set(user["roles"])
    assert user["status"] == "Ok" and user["hasKey"] is True
    anonymous = requests.get(f"{engine_server.url}/api/user/current")
    assert anonymous.status_code == 401
    assert anonymous.json()["type"] == "AuthenticationError"


# --------------------------------------------------------------------------- identity


def test_who_asked_is_the_caller_whatever_the_body_says(engine_server, cortex, http, cortex_user):
    """An analyst of one organisation names another in ``parameters``: the analyzers still
    see the caller's organisation and login, and Sightings reads nothing of the other one."""
    org, login, _key = cortex_user
    victim = new_cortex_user(engine_server)[0]
    victim_client = engine_server.client(organisation=victim)
    secret_case = victim_client.case.create(case={"title": "victim secret", "description": "d"})
    victim_client.case.create_observable(
        case_id=secret_case["_id"], observable={"dataType": "ip", "data": "203.0.113.77"}
    )
    spoofed = {"organisation": victim, "user": "admin@thehive.local"}
    sightings = cortex.analyzers.enable("Propolis_Sightings_1_0", {"configuration": {}})
    run = http.post(
        f"{http.base_url}/analyzer/{sightings.id}/run",
        json={"data": "203.0.113.77", "dataType": "ip", "parameters": spoofed},
    )
    assert run.status_code == 200, run.text
    assert run.json()["parameters"] == {"organisation": org, "user": login}
    done = wait_done(http, run.json()["id"])
    assert done["status"] == "Success", done
    assert done["report"]["full"] == {"cases": [], "alerts": []}
    echo = cortex.analyzers.enable("Probe_Echo_1_0", {"configuration": {"api_key": "k"}})
    run = http.post(
        f"{http.base_url}/analyzer/{echo.id}/run",
        json={"data": "203.0.113.78", "dataType": "ip", "parameters": {**spoofed, "x": 1}},
    )
    seen = wait_done(http, run.json()["id"])["report"]["full"]["parameters"]
    assert seen == {"organisation": org, "user": login, "x": 1}
    responder = cortex.responders.enable("ProbeResponder_1_0", {"configuration": {}})
    action = http.post(
        f"{http.base_url}/responder/{responder.id}/run",
        json={"dataType": "thehive:case", "data": CASE, "parameters": spoofed},
    ).json()
    assert action["parameters"] == {"organisation": org, "user": login}
    wait_done(http, action["id"])


def test_connector_jobs_carry_the_callers_identity(engine_server, cortex_user):
    org, login, key = cortex_user
    client = engine_server.client(organisation=org)
    engine_server.http(org).post(
        engine_server.url + "/api/v1/analysis/worker",
        json={
            "kind": "analyzer",
            "definitionId": "Probe_Echo_1_0",
            "configuration": {"api_key": "k"},
        },
    ).raise_for_status()
    case = client.case.create(case={"title": "mine", "description": "d"})
    observable = client.case.create_observable(
        case_id=case["_id"], observable={"dataType": "ip", "data": "203.0.113.79"}
    )[0]
    job = client.cortex.create_analyzer_job(
        job={
            "analyzerId": "Probe_Echo",
            "cortexId": "local",
            "artifactId": observable["_id"],
            "parameters": {"organisation": "admin", "user": "someone@else"},
        }
    )
    done = wait_done(bearer(engine_server, key), job["cortexJobId"])
    assert done["report"]["full"]["parameters"]["organisation"] == org
    assert done["report"]["full"]["parameters"]["user"] == "admin@thehive.local"


# --------------------------------------------------------------------------- waitreport


def test_waiting_callers_do_not_starve_the_server(engine_server, cortex, http):
    """More ``waitreport`` callers than the server has worker threads: the other routes
    still answer at once, and each waiter gets the job when its wait ends."""
    analyzer = cortex.analyzers.enable("Probe_Sleep_1_0", {"configuration": {"seconds": 12}})
    job = cortex.analyzers.run_by_id(analyzer.id, {"data": "sleepy.example", "dataType": "domain"})
    url = f"{http.base_url}/job/{job.id}/waitreport?atMost=6seconds"
    callers = 60  # the server's thread pool has 40

    def wait():
        with requests.Session() as own:
            own.headers.update(http.headers)
            return own.get(url, timeout=60)

    with ThreadPoolExecutor(callers) as pool:
        waiting = [pool.submit(wait) for _ in range(callers)]
        time.sleep(1.5)  # every waiter is in
        started = time.monotonic()
        status = http.get(f"{http.base_url}/job/{job.id}", timeout=30)
        answered_in = time.monotonic() - started
        answers = [w.result() for w in waiting]
    assert status.status_code == 200
    assert answered_in < 2, answered_in
    assert {a.status_code for a in answers} == {200}
    assert {a.json()["status"] for a in answers} <= {"Waiting", "InProgress"}
    assert wait_done(http, job.id)["status"] == "Success"


def test_waitreport_answers_when_the_job_ends_and_checks_its_input(cortex, http):
    analyzer = cortex.analyzers.enable("Probe_Sleep_1_0", {"configuration": {"seconds": 1}})
    job = cortex.analyzers.run_by_id(analyzer.id, {"data": "quick.example", "dataType": "domain"})
    started = time.monotonic()
    done = http.get(f"{http.base_url}/job/{job.id}/waitreport?atMost=1minute", timeout=90)
    assert done.status_code == 200 and done.json()["status"] == "Success"
    assert time.monotonic() - started < 20
    bad = http.get(f"{http.base_url}/job/{job.id}/waitreport?atMost=soon")
    assert bad.status_code == 400 and bad.json()["type"] == "BadRequest"
    missing = http.get(f"{http.base_url}/job/~999999999/waitreport?atMost=1second")
    assert missing.status_code == 404
