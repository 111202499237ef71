#!/usr/bin/env python3
"""A test responder written with the real cortexutils: reports the object it received and
asks for the operations (cortex.md §3.4) that apply to it. ``config.custom_field`` names a
custom field to set on a case (AddCustomFields) when given; ``config.seconds`` makes it wait
before answering (for lost workers)."""

import time

from cortexutils.responder import Responder


class ProbeResponder(Responder):
    def run(self):
        Responder.run(self)
        time.sleep(float(self.get_param("config.seconds", 0)))
        self.report({"received": self.get_data(), "dataType": self.data_type})

    def operations(self, raw):
        kind = self.data_type
        if kind == "thehive:case":
            return self.case_operations()
        if kind in ("thehive:case_task", "thehive:case_task_log"):
            # the related task: the task itself, or the task of the log
            return [
                self.build_operation("AddLogToTask", content="logged by responder", owner="x"),
                self.build_operation("CloseTask"),
            ]
        if kind == "thehive:alert":
            return [
                self.build_operation("AddTagToAlert", tag="responded"),
                self.build_operation("MarkAlertAsRead"),
            ]
        if kind == "thehive:case_artifact":
            return [
                self.build_operation("AddTagToArtifact", tag="responded"),
                self.build_operation("AddTagToCase", tag="artifact-responded"),
            ]
        return []

    def case_operations(self):
        operations = [
            self.build_operation("AddTagToCase", tag="responded"),
            self.build_operation("CreateTask", title="Follow up", description="from responder"),
            self.build_operation(
                "AddArtifactToCase",
                data="responder.example.org",
                dataType="domain",
                message="added by responder",
                tlp=3,
                ioc=True,
                tags=["from-responder"],
            ),
            self.build_operation("AssignCase", owner="admin@thehive.local"),
        ]
        field = self.get_param("config.custom_field")
        if field:
            operations.append(
                self.build_operation("AddCustomFields", name=field, tpe="string", value="done")
            )
        return operations


if __name__ == "__main__":
    ProbeResponder().run()
