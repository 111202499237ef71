"""TheHive's Cortex connector routes (spec §21) through thehive4py's ``cortex`` endpoints."""

from __future__ import annotations

import time
import uuid

import pytest
from thehive4py.errors import TheHiveError
from thehive4py.query.filters import Id


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def observable(thehive):
    case = thehive.case.create(case={"title": _unique("cortex"), "description": "jobs"})
    created = thehive.case.create_observable(
        case_id=case["_id"], observable={"dataType": "ip", "data": "10.1.2.3"}
    )
    return created[0]


def _job_input(observable, analyzer="no-such-analyzer", cortex="no-such-cortex"):
    return {"analyzerId": analyzer, "cortexId": cortex, "artifactId": observable["_id"]}


def wait_for(fetch, done, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def test_nothing_is_enabled_on_a_fresh_install(fresh_org):
    _name, client = fresh_org
    assert client.cortex.list_analyzers() == []
    assert client.cortex.list_analyzers(range="all") == []
    assert client.cortex.list_analyzers_by_type(data_type="ip") == []
    case = client.case.create(case={"title": "responders", "description": "none"})
    assert client.cortex.list_responders(entity_type="case", entity_id=case["_id"]) == []


def test_unknown_analyzer_is_404(thehive):
    with pytest.raises(TheHiveError) as info:
        thehive.cortex.get_analyzer(analyzer_id="nope")
    assert info.value.response.status_code == 404
    assert info.value.response.json()["type"] == "NotFoundError"


def test_job_with_unknown_cortex_is_recorded_then_fails(thehive, observable):
    job = thehive.cortex.create_analyzer_job(job=_job_input(observable))
    assert job["_type"] == "case_artifact_job"
    assert job["status"] == "Waiting"
    assert job["id"] == job["_id"]
    assert job["analyzerId"] == job["analyzerName"] == "no-such-analyzer"
    assert job["cortexId"] == "no-such-cortex"
    assert job["cortexJobId"] == ""
    assert job["operations"] == "[]"
    assert isinstance(job["startDate"], int)
    found = thehive.cortex.find_analyzer_jobs(filters=Id(job["_id"]))
    assert [j["_id"] for j in found] == [job["_id"]]
    final = wait_for(
        lambda: thehive.cortex.get_analyzer_job(job_id=job["_id"]),
        lambda j: j["status"] == "Failure",
    )
    assert final["status"] == "Failure"
    assert final["report"]["success"] is False
    assert "no-such-cortex" in final["report"]["errorMessage"]
    assert final["endDate"] >= final["startDate"]


def test_job_with_unknown_local_analyzer_fails_with_reason(thehive, observable):
    job = thehive.cortex.create_analyzer_job(job=_job_input(observable, cortex="local"))
    final = wait_for(
        lambda: thehive.cortex.get_analyzer_job(job_id=job["_id"]),
        lambda j: j["status"] == "Failure",
    )
    assert final["report"] == {
        "success": False,
        "errorMessage": "Analyzer no-such-analyzer not found",
        "input": None,
    }


def test_get_job_equals_create_response_while_unchanged(thehive, observable, server):
    job = thehive.cortex.create_analyzer_job(job=_job_input(observable))
    fetched = thehive.cortex.get_analyzer_job(job_id=job["_id"])
    if fetched["status"] == "Waiting":
        assert fetched == job
    # the v1 location serves the same handler
    same = server.http().get(f"{server.url}/api/v1/connector/cortex/job/{job['_id']}").json()
    assert same["_id"] == job["_id"]


def test_bulk_creates_one_job_per_input(thehive, observable):
    jobs = thehive.cortex.bulk_create_analyzer_jobs(
        jobs=[_job_input(observable, "a1"), _job_input(observable, "a2")]
    )
    assert [j["analyzerId"] for j in jobs] == ["a1", "a2"]
    assert all(j["_type"] == "case_artifact_job" for j in jobs)
    assert len({j["_id"] for j in jobs}) == 2


def _job_count(thehive) -> int:
    return thehive.session.make_request(
        "POST", "/api/v1/query", json={"query": [{"_name": "listJob"}, {"_name": "count"}]}
    )


def test_unknown_observable_is_404_and_creates_nothing(thehive, observable):
    before = _job_count(thehive)
    for artifact in ("~999999999", "not-an-id"):
        with pytest.raises(TheHiveError) as info:
            thehive.cortex.create_analyzer_job(
                job={"analyzerId": "x", "cortexId": "local", "artifactId": artifact}
            )
        assert info.value.response.status_code == 404
    assert _job_count(thehive) == before


@pytest.mark.parametrize(
    "change",
    [
        {"analyzerId": None},
        {"cortexId": 12},
        {"artifactId": ""},
        {"parameters": "not an object"},
    ],
)
def test_bad_job_input_is_400_and_creates_nothing(thehive, observable, change):
    before = _job_count(thehive)
    job = {**_job_input(observable), **change}
    job = {k: v for k, v in job.items() if v is not None}
    with pytest.raises(TheHiveError) as info:
        thehive.cortex.create_analyzer_job(job=job)
    assert info.value.response.status_code == 400
    assert {"type", "message"} <= set(info.value.response.json())
    assert _job_count(thehive) == before


def test_bulk_with_one_bad_job_creates_none(thehive, observable):
    before = _job_count(thehive)
    with pytest.raises(TheHiveError):
        thehive.cortex.bulk_create_analyzer_jobs(
            jobs=[_job_input(observable), {"analyzerId": "x", "cortexId": "local"}]
        )
    assert _job_count(thehive) == before


def test_other_organisation_sees_no_job_and_cannot_use_the_observable(
    thehive, observable, fresh_org
):
    job = thehive.cortex.create_analyzer_job(job=_job_input(observable))
    _name, other = fresh_org
    with pytest.raises(TheHiveError) as info:
        other.cortex.get_analyzer_job(job_id=job["_id"])
    assert info.value.response.status_code == 404
    assert other.cortex.find_analyzer_jobs(filters=Id(job["_id"])) == []
    with pytest.raises(TheHiveError) as info:
        other.cortex.create_analyzer_job(job=_job_input(observable))
    assert info.value.response.status_code == 404
    assert (
        other.session.make_request(
            "POST",
            "/api/v1/query",
            json={"query": [{"_name": "getJob", "idOrName": job["_id"]}]},
        )
        == []
    )


def test_responder_action_on_a_case(thehive, server):
    case = thehive.case.create(case={"title": _unique("action"), "description": "d"})
    action = thehive.cortex.create_responder_action(
        action={"responderId": "no-such-responder", "objectType": "case", "objectId": case["_id"]}
    )
    assert action["_type"] == "action"
    assert action["objectType"] == "case"
    assert action["objectId"] == case["_id"]
    assert action["status"] == "Waiting"
    assert action["operations"] == "[]"
    http = server.http()
    url = f"{server.url}/api/v1/connector/cortex/action/case/{case['_id']}"
    final = wait_for(lambda: http.get(url).json()[0], lambda a: a["status"] == "Failure")
    assert final["_id"] == action["_id"]
    assert "no-such-responder" in final["report"]
    listed = thehive.session.make_request(
        "POST",
        "/api/v1/query",
        json={"query": [{"_name": "getAction", "idOrName": action["_id"]}]},
    )
    assert [a["_id"] for a in listed] == [action["_id"]]


def test_responder_action_bad_input(thehive, fresh_org):
    case = thehive.case.create(case={"title": _unique("action"), "description": "d"})
    for body, status in (
        ({"responderId": "r", "objectType": "planet", "objectId": case["_id"]}, 400),
        ({"responderId": "r", "objectType": "case"}, 400),
        ({"responderId": "r", "objectType": "case", "objectId": "~999999999"}, 404),
    ):
        with pytest.raises(TheHiveError) as info:
            thehive.cortex.create_responder_action(action=body)
        assert info.value.response.status_code == status
    _name, other = fresh_org
    with pytest.raises(TheHiveError) as info:
        other.cortex.create_responder_action(
            action={"responderId": "r", "objectType": "case", "objectId": case["_id"]}
        )
    assert info.value.response.status_code == 404
    with pytest.raises(TheHiveError) as info:
        other.cortex.list_responders(entity_type="case", entity_id=case["_id"])
    assert info.value.response.status_code == 404
