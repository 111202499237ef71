"""The built-ins enabled in an organisation and run by a real ``propolis serve``: what the
analyst sees on the case (report tags, imported observables)."""

from __future__ import annotations

import uuid

from tests.analysis.builtins import samples
from tests.analysis.builtins.test_yara import PACKER_RULE
from tests.analysis.test_jobs import (
    enable,
    finished,
    new_case,
    org,  # noqa: F401 - fixture
    run_job,
)


def upload(client, case, path):
    return client.case.create_observable(
        case_id=case["_id"], observable={"dataType": "file"}, observable_path=str(path)
    )[0]


def test_yara_tags_the_observable(engine_server, org, tmp_path):  # noqa: F811
    http, client = org
    # rules live in the folders the platform admin lets analyzers read
    rules = engine_server.data_dir / "analysis-files" / f"rules-{uuid.uuid4().hex[:8]}"
    rules.mkdir(parents=True)
    (rules / "packers.yar").write_text(PACKER_RULE)
    enable(http, engine_server.url, "Propolis_Yara_1_0", configuration={"rules": [str(rules)]})
    sample = tmp_path / "dropper.exe"
    sample.write_bytes(samples.build_pe())
    case = new_case(client)
    observable = upload(client, case, sample)
    done = finished(client, run_job(client, observable, "Propolis_Yara"))
    assert done["status"] == "Success", done["report"]
    assert [m["rule"] for m in done["report"]["full"]["matches"]] == ["UPX_Section"]
    tags = client.observable.get(observable_id=observable["_id"])["tags"]
    assert 'Yara:Match="UPX_Section"' in tags


def test_yara_without_rules_fails_with_a_clear_message(engine_server, org, tmp_path):  # noqa: F811
    """Cortex stores a required multi item left empty as [] (cortex.md §1.3), so enabling
    succeeds; the job then says what is missing."""
    http, client = org
    enable(http, engine_server.url, "Propolis_Yara_1_0", configuration={})
    sample = tmp_path / "sample.bin"
    sample.write_bytes(b"anything")
    observable = upload(client, new_case(client), sample)
    done = finished(client, run_job(client, observable, "Propolis_Yara"))
    assert done["status"] == "Failure"
    assert done["report"]["errorMessage"].startswith("No rules configured")


def test_eml_parser_auto_import_adds_the_observables_to_the_case(
    engine_server,
    org,  # noqa: F811
    tmp_path,
):
    http, client = org
    enable(http, engine_server.url, "Propolis_EmlParser_1_0", configuration={"auto_import": True})
    sample = tmp_path / "invoice.eml"
    sample.write_bytes(samples.build_eml())
    case = new_case(client)
    observable = upload(client, case, sample)
    done = finished(client, run_job(client, observable, "Propolis_EmlParser"))
    assert done["status"] == "Success", done["report"]
    imported = {
        (o["dataType"], o.get("data")): o for o in client.case.find_observables(case_id=case["_id"])
    }
    assert ("url", "https://pay.phish.example/login?id=4471") in imported
    assert ("domain", "malware-drop.net") in imported
    assert imported[("mail", "billing@phish.example")]["tags"] == ["eml:from"]
    assert ("mail-subject", "Overdue invoice 4471") in imported
