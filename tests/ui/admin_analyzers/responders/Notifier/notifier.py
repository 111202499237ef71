#!/usr/bin/env python3
"""A test responder of the admin pages: it never runs in the tests (a responder has no test
run), it only has to exist for its definition to be valid."""

from cortexutils.responder import Responder


class Notifier(Responder):
    def run(self):
        self.report({"message": "notified"})


if __name__ == "__main__":
    Notifier().run()
