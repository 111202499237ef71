"""The Cortex REST API driven by the real ``cortex4py`` client."""

from __future__ import annotations

import uuid

import pytest
from cortex4py.api import Api
from cortex4py.exceptions import InvalidInputError, NotFoundError
from cortex4py.query import Eq


@pytest.fixture
def cortex(engine_server):
    """cortex4py with the API key of an org-admin of a fresh organisation."""
    org = "cx-" + uuid.uuid4().hex[:8]
    engine_server.create_org(org)
    admin = engine_server.client(organisation="admin")
    login = f"analyst-{uuid.uuid4().hex[:6]}@example.org"
    admin.user.create(
        user={"login": login, "name": "Cortex user", "profile": "org-admin", "organisation": org}
    )
    key = admin.user.renew_apikey(user_id=login)
    return Api(engine_server.url, key)


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
    org = "cx-" + uuid.uuid4().hex[:8]
    engine_server.create_org(org)
    admin = engine_server.client(organisation="admin")
    login = f"other-{uuid.uuid4().hex[:6]}@example.org"
    admin.user.create(
        user={"login": login, "name": "Other", "profile": "org-admin", "organisation": org}
    )
    other = Api(engine_server.url, admin.user.renew_apikey(user_id=login))
    with pytest.raises(NotFoundError):
        other.jobs.get_by_id(job.id)
    with pytest.raises(NotFoundError):
        other.analyzers.get_by_id(analyzer.id)
    with pytest.raises(NotFoundError):
        other.analyzers.run_by_id(analyzer.id, {"data": "z.example", "dataType": "domain"})
    assert other.analyzers.find_all({}, range="all") == []
