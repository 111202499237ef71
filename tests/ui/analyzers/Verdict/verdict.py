#!/usr/bin/env python3
"""A test analyzer for the web UI, written with the real cortexutils: it takes a moment
(``config.seconds``), calls everything malicious, and returns a report full of markup that
must be shown as text (script tags, an image with onerror, a javascript: link)."""

import time

from cortexutils.analyzer import Analyzer

HOSTILE = [
    '<script>alert("report-script")</script>',
    '<img src=x id=report-img onerror=alert("report-img")>',
    "[click](javascript:alert('report-link'))",
]


class Verdict(Analyzer):
    def summary(self, raw):
        return {"taxonomies": [self.build_taxonomy("malicious", "Verdict", "Score", "99/100")]}

    def run(self):
        time.sleep(float(self.get_param("config.seconds", 2)))
        self.report(
            {
                "data": self.get_data(),
                "score": 99,
                "malicious": True,
                "engines": [{"name": "engine-one", "verdict": HOSTILE[0]}, {"name": "engine-two"}],
                "details": {"html": HOSTILE[1], "link": HOSTILE[2], "nothing": None},
                HOSTILE[0]: "a hostile key",
            }
        )


if __name__ == "__main__":
    Verdict().run()
