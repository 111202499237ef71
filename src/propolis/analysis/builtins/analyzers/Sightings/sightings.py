"""Built-in "internal sightings" analyzer: where else, in this organisation, the observable
was seen (other cases and alerts), and how those cases were closed.

The engine looks the sightings up in the server, for the job's organisation, and puts them
in the input document (``propolis.sightings``); this program turns them into a report. It
has no database access of its own.
"""

from __future__ import annotations

from propolis.analysis.neuron import Job, run, taxonomy


def main(job: Job) -> None:
    found = (job.input.get("propolis") or {}).get("sightings")
    if not isinstance(found, dict):
        job.error("This analyzer runs inside Propolis only (no sightings were given)")
    true_positive = sum(1 for c in found["cases"] if c["status"] == "TruePositive")
    level = "malicious" if true_positive else ("suspicious" if found["cases"] else "info")
    job.report(
        found,
        taxonomies=[
            taxonomy(level, "Sightings", "Cases", len(found["cases"])),
            taxonomy("info", "Sightings", "Alerts", len(found["alerts"])),
            *(
                [taxonomy("malicious", "Sightings", "TruePositive", true_positive)]
                if true_positive
                else []
            ),
        ],
    )


if __name__ == "__main__":
    run(main)
