"""Analyzers and responders enabled in an organisation and run by the engine: the cortexutils
programs of ``neurons/`` run unchanged; results come back into the case."""

from __future__ import annotations

import hashlib
import json
import uuid

import pytest
from thehive4py.errors import TheHiveError

from tests.analysis.test_connector import wait_for

SECRET = "s3cret-value"


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def org(engine_server):
    """A fresh organisation on the engine server: (http session, thehive4py client)."""
    name = _unique("org")
    engine_server.create_org(name)
    return engine_server.http(name), engine_server.client(organisation=name)


def enable(http, url, definition, kind="analyzer", **body):
    response = http.post(
        url + "/api/v1/analysis/worker", json={"kind": kind, "definitionId": definition, **body}
    )
    assert response.status_code == 201, response.text
    return response.json()


def run_job(client, observable, analyzer):
    return client.cortex.create_analyzer_job(
        job={"analyzerId": analyzer, "cortexId": "local", "artifactId": observable["_id"]}
    )


def finished(client, job):
    return wait_for(
        lambda: client.cortex.get_analyzer_job(job_id=job["_id"]),
        lambda j: j["status"] in ("Success", "Failure"),
        timeout=30,
    )


def new_case(client, **fields):
    return client.case.create(case={"title": _unique("case"), "description": "d", **fields})


def new_observable(client, case, data="10.9.8.7", **fields):
    return client.case.create_observable(
        case_id=case["_id"], observable={"dataType": "ip", "data": data, **fields}
    )[0]


# --------------------------------------------------------------------------- catalogue


def test_definitions_and_invalid_ones_are_listed(engine_server, org):
    http, _client = org
    url = engine_server.url
    names = {d["id"] for d in http.get(url + "/api/v1/analysis/definition").json()}
    assert {"Probe_Echo_1_0", "Probe_Fail_1_0", "Probe_Sleep_1_0"} <= names
    responders = http.get(url + "/api/v1/analysis/definition?kind=responder").json()
    assert "ProbeResponder_1_0" in {d["id"] for d in responders}
    invalid = http.get(url + "/api/v1/analysis/definition/_invalid").json()["invalid"]
    assert {"no_version.json", "missing_program.json", "not_json.json"} <= {
        i["source"].rsplit("/", 1)[-1] for i in invalid
    }
    bad_kind = http.get(url + "/api/v1/analysis/definition?kind=robot")
    assert bad_kind.status_code == 400


# --------------------------------------------------------------------------- enabling


def test_enable_with_validated_configuration_and_write_only_secret(engine_server, org):
    http, client = org
    url = engine_server.url
    assert client.cortex.list_analyzers() == []
    worker = enable(http, url, "Probe_Echo_1_0", configuration={"api_key": SECRET})
    assert worker["configuration"]["api_key"] == "********"
    assert worker["configuration"]["level"] == 3
    assert SECRET not in http.get(url + f"/api/v1/analysis/worker/{worker['_id']}").text
    assert SECRET not in http.get(url + "/api/v1/analysis/worker").text
    listed = client.cortex.list_analyzers()
    assert [a["name"] for a in listed] == ["Probe_Echo"]
    assert listed[0]["dataTypeList"] == ["ip", "domain", "file"]
    assert listed[0]["cortexIds"] == ["local"]
    assert [a["id"] for a in client.cortex.list_analyzers_by_type(data_type="ip")] == [
        listed[0]["id"]
    ]
    assert client.cortex.list_analyzers_by_type(data_type="mail") == []
    assert client.cortex.get_analyzer(analyzer_id=listed[0]["id"])["name"] == "Probe_Echo"
    # an update that sends the mask back keeps the secret; others change
    patch = http.patch(
        url + f"/api/v1/analysis/worker/{worker['_id']}",
        json={"configuration": {"api_key": "********", "level": 7}},
    )
    assert patch.status_code == 204
    again = http.get(url + f"/api/v1/analysis/worker/{worker['_id']}").json()
    assert again["configuration"]["level"] == 7
    assert again["configuration"]["api_key"] == "********"


@pytest.mark.parametrize(
    "body",
    [
        {"configuration": {}},  # api_key is required
        {"configuration": {"api_key": 12}},
        {"configuration": {"api_key": "k", "servers": "one"}},
        {"configuration": {"api_key": "k", "bogus": 1}},
        {"configuration": "k"},
        {"configuration": {"api_key": "k"}, "rate": 0, "rateUnit": "Minute"},
        {"configuration": {"api_key": "k"}, "rate": 1, "rateUnit": "Fortnight"},
    ],
)
def test_bad_configuration_is_rejected_and_enables_nothing(engine_server, org, body):
    http, client = org
    response = http.post(
        engine_server.url + "/api/v1/analysis/worker",
        json={"kind": "analyzer", "definitionId": "Probe_Echo_1_0", **body},
    )
    assert response.status_code == 400
    assert {"type", "message"} <= set(response.json())
    assert client.cortex.list_analyzers() == []


def test_enable_errors(engine_server, org):
    http, _client = org
    url = engine_server.url
    unknown = http.post(url + "/api/v1/analysis/worker", json={"definitionId": "Nope_1_0"})
    assert unknown.status_code == 404
    enable(http, url, "Probe_Fail_1_0")
    twice = http.post(url + "/api/v1/analysis/worker", json={"definitionId": "Probe_Fail_1_0"})
    assert twice.status_code == 400 and twice.json()["type"] == "CreateError"


def test_workers_are_per_organisation(engine_server, org):
    http, client = org
    worker = enable(http, engine_server.url, "Probe_Fail_1_0")
    other_name = _unique("other")
    engine_server.create_org(other_name)
    other_http = engine_server.http(other_name)
    other = engine_server.client(organisation=other_name)
    assert other.cortex.list_analyzers() == []
    assert (
        other_http.get(engine_server.url + f"/api/v1/analysis/worker/{worker['_id']}").status_code
        == 404
    )
    assert (
        other_http.delete(
            engine_server.url + f"/api/v1/analysis/worker/{worker['_id']}"
        ).status_code
        == 404
    )
    assert [a["name"] for a in client.cortex.list_analyzers()] == ["Probe_Fail"]


def test_disable(engine_server, org):
    http, client = org
    worker = enable(http, engine_server.url, "Probe_Fail_1_0")
    assert (
        http.delete(engine_server.url + f"/api/v1/analysis/worker/{worker['_id']}").status_code
        == 204
    )
    assert client.cortex.list_analyzers() == []


# --------------------------------------------------------------------------- jobs


def test_job_runs_and_reports_into_the_case(engine_server, org):
    http, client = org
    enable(http, engine_server.url, "Probe_Echo_1_0", configuration={"api_key": SECRET})
    case = new_case(client)
    observable = new_observable(client, case)
    job = run_job(client, observable, "Probe_Echo")
    assert job["status"] == "Waiting"
    assert job["cortexJobId"] == job["_id"]
    assert job["analyzerDefinition"] == "Probe_Echo_1_0"
    done = finished(client, job)
    assert done["status"] == "Success", done.get("report")
    full = done["report"]["full"]
    assert full["data"] == "10.9.8.7"
    assert full["message"] == str(case["number"])
    assert full["parameters"]["organisation"] and full["parameters"]["user"]
    # the program gets the secret in clear; its report, as every answer, never shows it
    assert full["apiKeySha256"] == hashlib.sha256(SECRET.encode()).hexdigest()
    assert full["config"]["api_key"] == "REMOVED"
    assert SECRET not in json.dumps(done)
    assert full["config"]["service"] == "echo"
    assert done["report"]["summary"]["taxonomies"][0]["value"] == "seen"
    # the observable keeps the summary and shows it as a tag, plus the operation's tag
    after = client.observable.get(observable_id=observable["_id"])
    assert after["reports"]["Probe_Echo"]["taxonomies"] == [
        {"level": "safe", "namespace": "Probe", "predicate": "Verdict", "value": "seen"}
    ]
    assert 'Probe:Verdict="seen"' in after["tags"]
    assert "probed" in after["tags"]
    # the other operations: a case tag, and an unknown operation that fails alone
    operations = json.loads(done["operations"])
    assert [o["status"] for o in operations] == ["Success", "Success", "Failure"]
    assert "probe-ran" in client.case.get(case_id=case["_id"])["tags"]
    # the autoImport:true artifact became an observable of the case
    datas = {o.get("data") for o in client.case.find_observables(case_id=case["_id"])}
    assert "auto-import.example.org" in datas
    assert "8.8.8.8" not in datas  # offered in the report only
    # the observable's jobs, through the query language (what the observable page lists)
    jobs = client.session.make_request(
        "POST",
        "/api/v1/query",
        json={
            "query": [
                {"_name": "getObservable", "idOrName": observable["_id"]},
                {"_name": "jobs"},
            ]
        },
    )
    assert [(j["_id"], j["status"]) for j in jobs] == [(job["_id"], "Success")]


def test_builtins_run_with_the_server_interpreter_not_the_configured_one(engine_server, org):
    """PROPOLIS_ANALYSIS_PYTHON (here a wrapper that marks the programs it runs and refuses
    built-ins, see conftest) is for catalogue programs; built-ins use Propolis' own."""
    http, client = org
    enable(http, engine_server.url, "Probe_Echo_1_0", configuration={"api_key": "k"})
    enable(
        http, engine_server.url, "Propolis_LocalList_1_0",
        configuration={"blocklist": ["10.66.0.0/16"]},
    )  # fmt: skip
    observable = new_observable(client, new_case(client), data="10.66.1.1")
    probe = finished(client, run_job(client, observable, "Probe_Echo"))
    assert probe["report"]["full"]["interpreter"] == "analysis-python"
    builtin = finished(client, run_job(client, observable, "Propolis_LocalList"))
    assert builtin["status"] == "Success", builtin["report"]
    assert builtin["report"]["full"]["verdict"] == "blocked"


def test_cache_returns_the_previous_result(engine_server, org):
    http, client = org
    enable(http, engine_server.url, "Probe_Echo_1_0", configuration={"api_key": "k"})
    case = new_case(client)
    observable = new_observable(client, case, data="10.7.7.7")
    first = finished(client, run_job(client, observable, "Probe_Echo"))
    assert first["status"] == "Success"
    second = run_job(client, observable, "Probe_Echo")
    assert second["status"] == "Success"
    assert second["fromCache"] is True
    assert second["cortexJobId"] == first["_id"]
    assert second["report"] == first["report"]
    # forcing skips the cache
    forced = client.cortex.create_analyzer_job(
        job={
            "analyzerId": "Probe_Echo",
            "cortexId": "local",
            "artifactId": observable["_id"],
            "parameters": {"force": True},
        }
    )
    assert forced["status"] == "Waiting"


def test_tlp_above_the_limit_is_refused_by_the_engine(engine_server, org):
    http, client = org
    enable(http, engine_server.url, "Probe_Echo_1_0", configuration={"api_key": "k"})
    case = new_case(client)
    observable = new_observable(client, case, data="10.6.6.6", tlp=3)
    done = finished(client, run_job(client, observable, "Probe_Echo"))
    assert done["status"] == "Failure"
    assert done["report"]["errorMessage"] == "TLP is higher than allowed."
    pap = new_observable(client, case, data="10.6.6.7", pap=3)
    done = finished(client, run_job(client, pap, "Probe_Echo"))
    assert done["report"]["errorMessage"] == "PAP is higher than allowed."


def test_failing_programs_end_as_failure(engine_server, org):
    http, client = org
    for flavor in ("Fail", "Garbage", "Crash"):
        enable(http, engine_server.url, f"Probe_{flavor}_1_0")
    case = new_case(client)
    observable = new_observable(client, case, data="10.5.5.5")
    messages = {}
    for flavor in ("Fail", "Garbage", "Crash"):
        done = finished(client, run_job(client, observable, f"Probe_{flavor}"))
        assert done["status"] == "Failure"
        assert done["report"]["success"] is False
        messages[flavor] = done["report"]["errorMessage"]
    assert messages["Fail"] == "Probe failed on purpose"
    assert "Invalid output.json" in messages["Garbage"]
    assert "probe crashed" in messages["Crash"]


def test_unsupported_data_type_is_400(engine_server, org):
    http, client = org
    enable(http, engine_server.url, "Probe_Fail_1_0")
    case = new_case(client)
    mail = client.case.create_observable(
        case_id=case["_id"], observable={"dataType": "mail", "data": "a@example.org"}
    )[0]
    with pytest.raises(TheHiveError) as info:
        run_job(client, mail, "Probe_Fail")
    assert info.value.response.status_code == 400


def test_rate_limit(engine_server, org):
    http, client = org
    enable(http, engine_server.url, "Probe_Fail_1_0", rate=1, rateUnit="Minute")
    case = new_case(client)
    observable = new_observable(client, case, data="10.4.4.4")
    run_job(client, observable, "Probe_Fail")
    with pytest.raises(TheHiveError) as info:
        run_job(client, observable, "Probe_Fail")
    assert info.value.response.status_code == 429
    assert info.value.response.json()["type"] == "RateLimitExceeded"


def test_file_observable_is_given_to_the_program(engine_server, org, tmp_path):
    http, client = org
    enable(http, engine_server.url, "Probe_Echo_1_0", configuration={"api_key": "k"})
    case = new_case(client)
    sample = tmp_path / "report.txt"
    sample.write_bytes(b"suspicious content")
    observable = client.case.create_observable(
        case_id=case["_id"], observable={"dataType": "file"}, observable_path=str(sample)
    )[0]
    done = finished(client, run_job(client, observable, "Probe_Echo"))
    assert done["status"] == "Success", done["report"]
    import hashlib

    assert done["report"]["full"]["sha256"] == hashlib.sha256(b"suspicious content").hexdigest()
    assert done["report"]["full"]["filename"] == "report.txt"


# --------------------------------------------------------------------------- responders


def _action(client, responder, object_type, object_id):
    return client.cortex.create_responder_action(
        action={"responderId": responder, "objectType": object_type, "objectId": object_id}
    )


def _finished_action(http, url, object_type, object_id, action_id):
    def fetch():
        items = http.get(f"{url}/api/v1/connector/cortex/action/{object_type}/{object_id}").json()
        return next(a for a in items if a["_id"] == action_id)

    return wait_for(fetch, lambda a: a["status"] in ("Success", "Failure"), timeout=30)


def test_responder_on_a_case_applies_operations(engine_server, org):
    import json

    http, client = org
    url = engine_server.url
    enable(http, url, "ProbeResponder_1_0", kind="responder")
    case = new_case(client, tags=["mail=bob@example.net"])
    responders = client.cortex.list_responders(entity_type="case", entity_id=case["_id"])
    assert [r["name"] for r in responders] == ["ProbeResponder"]
    action = _action(client, "ProbeResponder", "case", case["_id"])
    done = _finished_action(http, url, "case", case["_id"], action["_id"])
    assert done["status"] == "Success", done["report"]
    received = json.loads(done["report"])["full"]["received"]
    assert received["caseId"] == case["number"] == received["number"]
    assert received["_type"] == "case" and received["id"] == case["_id"]
    assert received["title"] == case["title"]
    assert [o["status"] for o in json.loads(done["operations"])] == ["Success"] * 4
    after = client.case.get(case_id=case["_id"])
    assert "responded" in after["tags"]
    assert after["assignee"] == "admin@thehive.local"
    assert "Follow up" in {t["title"] for t in client.case.find_tasks(case_id=case["_id"])}
    datas = {o.get("data") for o in client.case.find_observables(case_id=case["_id"])}
    assert "responder.example.org" in datas


def test_responder_on_a_task_logs_and_closes_it(engine_server, org):
    http, client = org
    url = engine_server.url
    enable(http, url, "ProbeResponder_1_0", kind="responder")
    case = new_case(client)
    task = client.case.create_task(case_id=case["_id"], task={"title": "contain"})
    action = _action(client, "ProbeResponder", "case_task", task["_id"])
    done = _finished_action(http, url, "case_task", task["_id"], action["_id"])
    assert done["status"] == "Success", done["report"]
    assert client.task.get(task_id=task["_id"])["status"] == "Completed"
    logs = client.task.find_logs(task_id=task["_id"])
    assert [log["message"] for log in logs] == ["logged by responder"]


def test_responder_on_an_alert(engine_server, org):
    http, client = org
    url = engine_server.url
    enable(http, url, "ProbeResponder_1_0", kind="responder")
    alert = client.alert.create(
        alert={
            "type": "test",
            "source": "probe",
            "sourceRef": _unique("ref"),
            "title": "alert",
            "description": "d",
        }
    )
    action = _action(client, "ProbeResponder", "alert", alert["_id"])
    done = _finished_action(http, url, "alert", alert["_id"], action["_id"])
    assert done["status"] == "Success", done["report"]
    import json

    operations = json.loads(done["operations"])
    assert [(o["type"], o["status"]) for o in operations] == [
        ("AddTagToAlert", "Success"),
        ("MarkAlertAsRead", "Success"),
    ]
    after = client.alert.get(alert_id=alert["_id"])
    assert "responded" in after["tags"]


def test_responders_respect_tlp_limits(engine_server, org):
    http, client = org
    enable(http, engine_server.url, "ProbeResponder_1_0", kind="responder")
    case = new_case(client, tlp=4)
    assert client.cortex.list_responders(entity_type="case", entity_id=case["_id"]) == []
