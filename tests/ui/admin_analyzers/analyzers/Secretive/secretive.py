#!/usr/bin/env python3
"""A test analyzer of the admin pages (real cortexutils): it reports whether the API key it
was given is the one the test typed (compared by digest with the definition's
``config.expected_key_sha256``), never the key itself, and the other settings it got."""

import hashlib

from cortexutils.analyzer import Analyzer


class Secretive(Analyzer):
    def summary(self, raw):
        level = "safe" if raw["secretOk"] else "suspicious"
        return {
            "taxonomies": [self.build_taxonomy(level, "Secretive", "Key", str(raw["secretOk"]))]
        }

    def run(self):
        key = self.get_param("config.api_key", "")
        expected = self.get_param("config.expected_key_sha256", "")
        self.report(
            {
                "data": self.get_data(),
                "secretOk": hashlib.sha256(key.encode()).hexdigest() == expected,
                "servers": self.get_param("config.servers", []),
                "threshold": self.get_param("config.threshold"),
                "verbose": self.get_param("config.verbose"),
            }
        )


if __name__ == "__main__":
    Secretive().run()
