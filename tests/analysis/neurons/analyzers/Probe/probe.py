#!/usr/bin/env python3
"""A test analyzer written with the real cortexutils, run unchanged by Propolis.

``config.service`` selects the behaviour: echo (report what it received), fail (error()),
sleep (for timeouts and lost workers), garbage (invalid output.json), crash (exception)."""

import hashlib
import os
import time

from cortexutils.analyzer import Analyzer


class Probe(Analyzer):
    def __init__(self):
        Analyzer.__init__(self)
        self.service = self.get_param("config.service", None, "Service parameter is missing")

    def summary(self, raw):
        level = "malicious" if raw.get("data") == "6.6.6.6" else "safe"
        return {"taxonomies": [self.build_taxonomy(level, "Probe", "Verdict", raw["verdict"])]}

    def artifacts(self, raw):
        found = [
            self.build_artifact("ip", "8.8.8.8", tags=["probe"]),
            self.build_artifact("domain", "auto-import.example.org", tags=["autoImport:true"]),
        ]
        if self.data_type == "file" and self.get_param("parameters.fileArtifact"):
            # the file itself, back as a file artifact (for the datastore)
            found.append(self.build_artifact("file", self.get_param("file"), tags=["copy"]))
        return found

    def operations(self, raw):
        return [
            self.build_operation("AddTagToArtifact", tag="probed"),
            self.build_operation("AddTagToCase", tag="probe-ran"),
            self.build_operation("NoSuchOperation"),
        ]

    def run(self):
        if self.service == "echo":
            full = {
                "data": self.get_data(),
                "dataType": self.data_type,
                "tlp": self.tlp,
                "pap": self.pap,
                "message": self.get_param("message"),
                "parameters": self.get_param("parameters", {}),
                "config": self.get_param("config"),
                # proves the program got its secret in clear (the report never shows it)
                "apiKeySha256": hashlib.sha256(
                    str(self.get_param("config.api_key", "")).encode()
                ).hexdigest(),
                "verdict": "seen",
                "cwd": os.getcwd(),
                "interpreter": os.environ.get("PROBE_INTERPRETER"),
            }
            if self.data_type == "file":
                path = self.get_param("file")
                with open(path, "rb") as handle:
                    full["sha256"] = hashlib.sha256(handle.read()).hexdigest()
                full["filename"] = self.get_param("filename")
            self.report(full)
        elif self.service == "fail":
            self.error("Probe failed on purpose")
        elif self.service == "sleep":
            time.sleep(float(self.get_param("config.seconds", 30)))
            self.report({"verdict": "slept", "data": self.get_data()})
        elif self.service == "garbage":
            os.makedirs(os.path.join(self.job_directory, "output"), exist_ok=True)
            with open(os.path.join(self.job_directory, "output", "output.json"), "w") as out:
                out.write("{not json")
        elif self.service == "crash":
            raise RuntimeError("probe crashed")
        else:
            self.error("Unknown service")


if __name__ == "__main__":
    Probe().run()
