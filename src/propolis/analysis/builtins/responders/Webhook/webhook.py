"""Built-in webhook responder: POSTs the object (and who asked) as JSON to a URL, the bridge
to automation platforms (StackStorm, Shuffle, n8n...)."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request

from propolis.analysis.neuron import Job, run


def main(job: Job) -> None:
    url = job.param("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        job.error("The webhook url must start with http:// or https://")
    body = json.dumps(
        {
            "objectType": job.data_type.removeprefix("thehive:"),
            "object": job.data,
            "parameters": job.input.get("parameters") or {},
        }
    ).encode()
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    token = job.param("authorization_token")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    context = None
    if url.startswith("https://") and job.param("verify_tls", True) is False:
        context = ssl._create_unverified_context()  # noqa: S323 - the admin asked for it
    try:
        with urllib.request.urlopen(  # noqa: S310 - the scheme is checked above
            request, timeout=float(job.param("timeout", 30)), context=context
        ) as response:
            status, text = response.status, response.read(4096).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        job.error(f"The webhook answered {exc.code}: {exc.read(1024).decode('utf-8', 'replace')}")
    except (urllib.error.URLError, OSError) as exc:
        job.error(f"The webhook could not be reached: {exc}")
    job.report({"message": f"posted to {url}", "status": status, "response": text})


if __name__ == "__main__":
    run(main)
