"""Propolis_LocalList: block and allow lists with CIDR ranges, domain suffixes, wildcards,
type prefixes and list files."""

from __future__ import annotations

import pytest

from tests.analysis.builtins import jobs

NAME = "Propolis_LocalList"
LISTS = {
    "blocklist": [
        "10.0.0.0/8",
        "2001:db8:bad::/48",
        ".evil.example",
        "*.phish.example",
        "http://*/wp-login.php",
        "hash:44D88612FEA8A8F36DE82E1278ABB02F",
        "filename:*.scr",
        "user-agent:*sqlmap*",
        "bad-actor@corp.example",
    ],
    "allowlist": [
        "10.1.1.1",
        "good.evil.example",
        ".corp.example",
        "other:known-good-*",
    ],
}


def check(tmp_path, data_type: str, value: str, lists=None):
    return jobs.analyze(NAME, tmp_path, data_type, data=value, config=lists or LISTS)


@pytest.mark.parametrize(
    ("data_type", "value", "verdict", "entry"),
    [
        ("ip", "10.2.3.4", "blocked", "10.0.0.0/8"),
        ("ip", "10.1.1.1", "allowed", "10.1.1.1"),  # an exact address beats a range
        ("ip", "192.0.2.1", "unlisted", None),
        ("ip", "2001:db8:bad::17", "blocked", "2001:db8:bad::/48"),
        ("domain", "evil.example", "blocked", ".evil.example"),
        ("domain", "a.b.evil.example", "blocked", ".evil.example"),
        ("fqdn", "good.evil.example", "allowed", "good.evil.example"),
        ("domain", "notevil.example", "unlisted", None),
        ("domain", "login.phish.example", "blocked", "*.phish.example"),
        ("url", "https://cdn.evil.example/x.js", "blocked", ".evil.example"),  # the host
        ("url", "http://blog.site.example/wp-login.php", "blocked", "http://*/wp-login.php"),
        ("url", "http://10.9.9.9/admin", "blocked", "10.0.0.0/8"),
        ("mail", "bad-actor@corp.example", "blocked", "bad-actor@corp.example"),
        ("mail", "alice@corp.example", "allowed", ".corp.example"),  # the mail's domain
        ("hash", "44d88612fea8a8f36de82e1278abb02f", "blocked", "44d88612fea8a8f36de82e1278abb02f"),
        ("filename", "Invoice.SCR", "blocked", "*.scr"),
        ("other", "Invoice.scr", "unlisted", None),  # "filename:" entries only for filenames
        ("user-agent", "sqlmap/1.7 (https://sqlmap.org)", "blocked", "*sqlmap*"),
        ("other", "known-good-tool", "allowed", "known-good-*"),
    ],
)
def test_verdicts(tmp_path, data_type, value, verdict, entry):
    result = check(tmp_path, data_type, value)
    full = result.full
    assert (full["verdict"], full["matchedEntry"]) == (verdict, entry)
    level = {"blocked": "malicious", "allowed": "safe", "unlisted": "info"}[verdict]
    assert result.taxonomies()["Verdict"] == {
        "level": level,
        "namespace": "LocalList",
        "predicate": "Verdict",
        "value": verdict,
    }


def test_every_match_is_reported(tmp_path):
    full = check(tmp_path, "ip", "10.1.1.1").full
    assert full["matchedList"] == "allowlist"
    assert full["matches"] == {
        "blocklist": [{"entry": "10.0.0.0/8", "source": "configuration"}],
        "allowlist": [{"entry": "10.1.1.1", "source": "configuration"}],
    }
    assert full["entries"] == {"blocklist": 9, "allowlist": 4}


def test_equally_specific_entries_block(tmp_path):
    lists = {"blocklist": ["*.example"], "allowlist": ["*.example"]}
    assert check(tmp_path, "domain", "x.example", lists).full["verdict"] == "blocked"


def test_list_files(tmp_path):
    blocklist = tmp_path / "block.txt"
    blocklist.write_text(
        "# threat intel export\n\n198.51.100.0/24   # campaign 12\n*.bad.example\n"
    )
    lists = {"blocklist_files": [str(blocklist)], "allowlist": ["198.51.100.7"]}
    full = check(tmp_path, "ip", "198.51.100.9", lists).full
    assert full["verdict"] == "blocked"
    assert full["matches"]["blocklist"] == [{"entry": "198.51.100.0/24", "source": str(blocklist)}]
    assert check(tmp_path, "ip", "198.51.100.7", lists).full["verdict"] == "allowed"


def test_a_missing_list_file_is_an_error(tmp_path):
    result = check(tmp_path, "ip", "1.2.3.4", {"blocklist_files": [str(tmp_path / "nope.txt")]})
    assert result.output["success"] is False
    assert result.output["errorMessage"].startswith("Cannot read the blocklist file")


def test_empty_lists_are_an_error_not_a_clean_bill(tmp_path):
    result = check(tmp_path, "ip", "1.2.3.4", {"blocklist": [], "allowlist": None})
    assert result.output["success"] is False
    assert "lists are empty" in result.output["errorMessage"]


def test_an_ip_observable_must_be_an_ip(tmp_path):
    result = check(tmp_path, "ip", "not-an-ip")
    assert result.output["errorMessage"] == "'not-an-ip' is not an IP address"


def test_legacy_stdin_mode(tmp_path):
    """cortexutils' Cortex 1 protocol (input on stdin, report on stdout) works too."""
    output = jobs.run_stdin(
        "analyzer",
        NAME,
        {
            "dataType": "domain",
            "data": "x.evil.example",
            "config": {"blocklist": [".evil.example"]},
        },
    )
    assert output["success"] is True
    assert output["full"]["verdict"] == "blocked"


def test_the_program_refuses_a_tlp_above_its_limit(tmp_path):
    """TLP guard inside the program (cortexutils), on top of the engine's own check."""
    result = jobs.analyze(
        NAME,
        tmp_path,
        "ip",
        data="10.2.3.4",
        tlp=3,
        config={**LISTS, "check_tlp": True, "max_tlp": 2},
    )
    assert result.output["success"] is False
    assert result.output["errorMessage"] == "TLP is higher than allowed."
