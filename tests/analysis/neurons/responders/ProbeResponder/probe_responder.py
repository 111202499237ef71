#!/usr/bin/env python3
"""A test responder written with the real cortexutils: reports the object it received and
asks for one operation of each kind that applies to it."""

from cortexutils.responder import Responder


class ProbeResponder(Responder):
    def run(self):
        Responder.run(self)
        self.report({"received": self.get_data(), "dataType": self.data_type})

    def operations(self, raw):
        kind = self.data_type
        if kind == "thehive:case":
            return [
                self.build_operation("AddTagToCase", tag="responded"),
                self.build_operation("CreateTask", title="Follow up", description="from responder"),
                self.build_operation(
                    "AddArtifactToCase",
                    data="responder.example.org",
                    dataType="domain",
                    message="added by responder",
                ),
                self.build_operation("AssignCase", owner="admin@thehive.local"),
            ]
        if kind == "thehive:case_task":
            return [
                self.build_operation("AddLogToTask", content="logged by responder"),
                self.build_operation("CloseTask"),
            ]
        if kind == "thehive:alert":
            return [
                self.build_operation("AddTagToAlert", tag="responded"),
                self.build_operation("MarkAlertAsRead"),
            ]
        if kind == "thehive:case_artifact":
            return [self.build_operation("AddTagToArtifact", tag="responded")]
        return []


if __name__ == "__main__":
    ProbeResponder().run()
