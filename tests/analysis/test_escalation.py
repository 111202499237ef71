"""One rule for "may act on this object", for analyzers and responders too (issue 7, item 2).

Organisation B owns a case; C, linked with B, holds a share of it. A read-only share lets C
read B's observable, not run an analyzer or a responder on it. Background work acts with the
rights its user holds *when it lands*: a share made read-only, or a user demoted, while a
job runs leaves B's objects as they were, and the job's report says what was not applied.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass

import pytest
import requests

from tests.analysis.test_connector import wait_for
from tests.analysis.test_jobs import enable

PASSWORD = "Escalation-pass-1"
SLEEP_SECONDS = 4


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass
class Partners:
    server: object
    b: requests.Session  # admin (org-admin) acting in B
    c: requests.Session  # admin (org-admin) acting in C
    c_name: str
    case: dict
    observable: dict
    task: dict
    share: str  # id of C's share of B's case

    def call(self, session: requests.Session, method: str, path: str, **kwargs):
        return session.request(method, self.server.url + path, timeout=30, **kwargs)

    def set_share_profile(self, profile: str) -> None:
        response = self.call(
            self.b, "PATCH", f"/api/v1/case/share/{self.share}", json={"profile": profile}
        )
        assert response.status_code == 204, response.text


def _ok(response: requests.Response, status: int = 200):
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def _refused(response: requests.Response, status: int = 403) -> None:
    assert response.status_code == status, response.text
    assert {"type", "message"} <= set(response.json())


def _share_case(engine_server, profile: str) -> Partners:
    b_name, c_name = _unique("orgb"), _unique("orgc")
    for name in (b_name, c_name):
        engine_server.create_org(name)
    engine_server.http("admin").put(
        f"{engine_server.url}/api/v1/organisation/{b_name}/link/{c_name}",
        json={"linkType": "default", "otherLinkType": "default"},
    ).raise_for_status()
    b, c = engine_server.http(b_name), engine_server.http(c_name)
    url = engine_server.url
    case = _ok(
        b.post(url + "/api/v1/case", json={"title": _unique("case"), "description": "d"}), 201
    )
    observable = _ok(
        b.post(
            f"{url}/api/v1/case/{case['_id']}/observable",
            json={"dataType": "ip", "data": "10.20.30.40"},
        ),
        201,
    )[0]
    task = _ok(b.post(f"{url}/api/v1/case/{case['_id']}/task", json={"title": "t"}), 201)
    shares = _ok(
        b.post(
            f"{url}/api/v1/case/{case['_id']}/shares",
            json={
                "shares": [
                    {
                        "organisation": c_name,
                        "profile": profile,
                        "taskRule": "all",
                        "observableRule": "all",
                    }
                ]
            },
        ),
        201,
    )
    return Partners(engine_server, b, c, c_name, case, observable, task, shares[0]["_id"])


@pytest.fixture
def read_only(engine_server):
    return _share_case(engine_server, "read-only")


@pytest.fixture
def read_write(engine_server):
    return _share_case(engine_server, "analyst")


def _job_body(analyzer: str, observable: dict) -> dict:
    return {"analyzerId": analyzer, "cortexId": "local", "artifactId": observable["_id"]}


def _finished(p: Partners, session, job_id: str, path: str = "job") -> dict:
    return wait_for(
        lambda: _ok(p.call(session, "GET", f"/api/v1/connector/cortex/{path}/{job_id}")),
        lambda j: j["status"] in ("Success", "Failure"),
        timeout=60,
    )


def _running(p: Partners, session, job_id: str, path: str = "job") -> None:
    wait_for(
        lambda: _ok(p.call(session, "GET", f"/api/v1/connector/cortex/{path}/{job_id}")),
        lambda j: j["status"] == "InProgress",
        timeout=30,
    )
    time.sleep(0.5)  # past the job's preparation: the program is running


def _b_state(p: Partners) -> dict:
    """What B sees of its case: the observable, the case, the case's observables and tasks."""
    url = p.server.url
    query = {"query": [{"_name": "getCase", "idOrName": p.case["_id"]}, {"_name": "observables"}]}
    observables = _ok(p.b.post(f"{url}/api/v1/query", json=query))
    query["query"][1] = {"_name": "tasks"}
    return {
        "observable": _ok(p.b.get(f"{url}/api/v1/observable/{p.observable['_id']}")),
        "case": _ok(p.b.get(f"{url}/api/v1/case/{p.case['_id']}")),
        "observables": sorted(o["data"] for o in observables),
        "tasks": sorted(t["title"] for t in _ok(p.b.post(f"{url}/api/v1/query", json=query))),
    }


def _c_jobs(p: Partners) -> int:
    return len(_ok(p.call(p.c, "POST", "/api/job/_search", json={"query": {}, "range": "all"})))


# --------------------------------------------------------------------------- refused at once


@pytest.mark.parametrize("prefix", ["/api/connector/cortex", "/api/v1/connector/cortex"])
def test_a_read_only_share_runs_no_analyzer_or_responder(engine_server, read_only, prefix):
    p = read_only
    enable(p.c, engine_server.url, "Probe_Echo_1_0", configuration={"api_key": "k"})
    enable(p.c, engine_server.url, "ProbeResponder_1_0", kind="responder")
    before, jobs = _b_state(p), _c_jobs(p)
    # C reads the observable through its share, so the refusal is a 403, not a 404
    _ok(p.call(p.c, "GET", f"/api/v1/observable/{p.observable['_id']}"))
    body = _job_body("Probe_Echo", p.observable)
    _refused(p.call(p.c, "POST", f"{prefix}/job", json=body))
    _refused(p.call(p.c, "POST", f"{prefix}/job/_bulk", json={"jobs": [body]}))
    for object_type, target in (
        ("case", p.case),
        ("case_artifact", p.observable),
        ("case_task", p.task),
    ):
        action = {"responderId": "ProbeResponder", "objectType": object_type,
                  "objectId": target["_id"]}  # fmt: skip
        _refused(p.call(p.c, "POST", f"{prefix}/action", json=action))
    time.sleep(1)  # nothing was queued: nothing lands later either
    assert _c_jobs(p) == jobs
    assert _b_state(p) == before


def test_a_read_write_share_runs_them(engine_server, read_write):
    """The rule refuses what the share's profile does not grant, nothing more."""
    p = read_write
    enable(p.c, engine_server.url, "Probe_Echo_1_0", configuration={"api_key": "k"})
    job = _ok(
        p.call(
            p.c, "POST", "/api/v1/connector/cortex/job", json=_job_body("Probe_Echo", p.observable)
        ),
        201,
    )
    done = _finished(p, p.c, job["_id"])
    assert done["status"] == "Success", done
    assert "notApplied" not in done["report"]
    state = _b_state(p)
    assert 'Probe:Verdict="seen"' in state["observable"]["tags"]
    assert "probed" in state["observable"]["tags"]
    assert "auto-import.example.org" in state["observables"]


# --------------------------------------------------------------------------- when the report lands


def test_a_share_made_read_only_while_the_job_runs_leaves_the_observable(engine_server, read_write):
    p = read_write
    enable(p.c, engine_server.url, "Probe_Sleep_1_0", configuration={"seconds": SLEEP_SECONDS})
    job = _ok(
        p.call(
            p.c, "POST", "/api/v1/connector/cortex/job", json=_job_body("Probe_Sleep", p.observable)
        ),
        201,
    )
    _running(p, p.c, job["_id"])
    p.set_share_profile("read-only")
    before = _b_state(p)
    done = _finished(p, p.c, job["_id"])
    # the program ran and its report is C's to read; nothing of it reached B's case
    assert done["status"] == "Success", done
    assert done["report"]["full"]["verdict"] == "slept"
    assert _b_state(p) == before
    assert not any(t.startswith("Probe:") for t in before["observable"]["tags"])
    assert "auto-import.example.org" not in before["observables"]
    (not_applied,) = done["report"]["notApplied"]
    assert "manageAnalyse" in not_applied
    operations = json.loads(done["operations"])
    assert [o["status"] for o in operations] == ["Failure"] * 3
    assert all("not authorized" in o["message"] for o in operations[:2]), operations


def test_a_share_made_read_only_while_a_responder_runs_applies_no_operation(
    engine_server, read_write
):
    p = read_write
    enable(
        p.c, engine_server.url, "ProbeResponder_1_0", kind="responder",
        configuration={"seconds": SLEEP_SECONDS},
    )  # fmt: skip
    action = _ok(
        p.call(
            p.c,
            "POST",
            "/api/v1/connector/cortex/action",
            json={"responderId": "ProbeResponder", "objectType": "case", "objectId": p.case["_id"]},
        )
    )
    _running(p, p.c, action["_id"], "action")
    p.set_share_profile("read-only")
    before = _b_state(p)
    done = _finished(p, p.c, action["_id"], "action")
    assert done["status"] == "Success", done
    operations = json.loads(done["operations"])
    assert {o["type"] for o in operations} == {
        "AddTagToCase", "CreateTask", "AddArtifactToCase", "AssignCase",
    }  # fmt: skip
    assert {o["status"] for o in operations} == {"Failure"}, operations
    assert all("not authorized" in o["message"] for o in operations), operations
    assert _b_state(p) == before
    assert "responder.example.org" not in before["observables"]


# --------------------------------------------------------------------------- the job's user


def _member(p: Partners, profile: str) -> tuple[str, requests.Session]:
    """A new user of B with ``profile``, as a plain HTTP session acting in B."""
    login = f"{_unique('user')}@example.com"
    b_name = p.b.headers["X-Organisation"]
    _ok(
        p.call(
            p.b, "POST", "/api/v1/user",
            json={"login": login, "name": "U", "profile": profile, "password": PASSWORD},
        ),
        201,
    )  # fmt: skip
    return login, p.server.http(b_name, auth=(login, PASSWORD))


def _profile(p: Partners, *permissions: str) -> str:
    name = _unique("profile")
    admin = p.server.http("admin")
    _ok(
        admin.post(
            p.server.url + "/api/v1/profile", json={"name": name, "permissions": list(permissions)}
        ),
        201,
    )
    return name


def test_auto_import_and_operations_need_the_job_users_rights(engine_server, read_only):
    """In B's own case, a user who may analyse but not change observables or the case: the
    analysis is recorded, its artifacts are not imported, its operations fail."""
    p = read_only
    enable(p.b, engine_server.url, "Probe_Echo_1_0", configuration={"api_key": "k"})
    _login, user = _member(p, _profile(p, "manageAnalyse"))
    job = _ok(
        p.call(
            user, "POST", "/api/connector/cortex/job", json=_job_body("Probe_Echo", p.observable)
        ),
        201,
    )
    done = _finished(p, user, job["_id"])
    assert done["status"] == "Success", done
    state = _b_state(p)
    assert 'Probe:Verdict="seen"' in state["observable"]["tags"]
    assert state["observable"]["reports"]["Probe_Echo"]["taxonomies"][0]["value"] == "seen"
    assert "probed" not in state["observable"]["tags"]
    assert "auto-import.example.org" not in state["observables"]
    assert "probe-ran" not in state["case"]["tags"]
    (not_applied,) = done["report"]["notApplied"]
    assert "auto-import.example.org" in not_applied and "manageObservable" in not_applied
    operations = json.loads(done["operations"])
    assert [o["status"] for o in operations] == ["Failure"] * 3
    assert "manageObservable" in operations[0]["message"]
    assert "manageCase/update" in operations[1]["message"]


def test_responder_operations_need_the_action_users_rights(engine_server, read_only):
    p = read_only
    enable(p.b, engine_server.url, "ProbeResponder_1_0", kind="responder")
    _login, user = _member(p, _profile(p, "manageAction"))
    before = _b_state(p)
    action = _ok(
        p.call(
            user,
            "POST",
            "/api/v1/connector/cortex/action",
            json={"responderId": "ProbeResponder", "objectType": "case", "objectId": p.case["_id"]},
        )
    )
    done = _finished(p, user, action["_id"], "action")
    assert done["status"] == "Success", done
    operations = json.loads(done["operations"])
    assert len(operations) == 4
    assert {o["status"] for o in operations} == {"Failure"}, operations
    assert all("not authorized" in o["message"] for o in operations), operations
    assert _b_state(p) == before


@pytest.mark.parametrize(
    "change", [{"profile": "read-only"}, {"locked": True}], ids=["demoted", "locked"]
)
def test_a_user_demoted_or_locked_while_the_job_runs_records_nothing(
    engine_server, read_only, change
):
    p = read_only
    enable(p.b, engine_server.url, "Probe_Sleep_1_0", configuration={"seconds": SLEEP_SECONDS})
    login, user = _member(p, "analyst")
    job = _ok(
        p.call(
            user, "POST", "/api/connector/cortex/job", json=_job_body("Probe_Sleep", p.observable)
        ),
        201,
    )
    _running(p, p.b, job["_id"])
    changed = p.call(p.b, "PATCH", f"/api/v1/user/{login}", json=change)
    assert changed.status_code == 204, changed.text
    before = _b_state(p)
    done = _finished(p, p.b, job["_id"])  # B's org-admin reads the job of its organisation
    assert done["status"] == "Success", done
    assert _b_state(p) == before
    assert not any(t.startswith("Probe:") for t in before["observable"]["tags"])
    assert "manageAnalyse" in done["report"]["notApplied"][0]
    assert {o["status"] for o in json.loads(done["operations"])} == {"Failure"}
