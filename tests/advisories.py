"""A vulnerability service on loopback that answers as OSV's query API does.

pip-audit asks PyPI for each release's JSON (`/pypi/NAME/VERSION/json`) or OSV
(`POST /v1/query`). From these machines PyPI refuses the former and OSV cannot
be reached, so the audit tests point pip-audit's OSV client (`--osv-url`) at
this server, which holds real advisories in OSV's format and records what it
was asked.
"""

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from packaging.version import Version

# PYSEC-2023-62 (the PyPA advisory database), in OSV's schema: Flask before
# 2.2.5, and 2.3.0 and 2.3.1, may let a caching proxy serve one client's
# refreshed session cookie to another.
FLASK_SESSION_COOKIE = {
    "id": "PYSEC-2023-62",
    "aliases": ["CVE-2023-30861", "GHSA-m2qf-hxjv-5gpq"],
    "summary": "A refreshed permanent session sets no Vary: Cookie, so a proxy may cache it",
    "published": "2023-05-02T18:15:00Z",
    "affected": [
        {
            "package": {"name": "flask", "ecosystem": "PyPI"},
            "ranges": [
                {
                    "type": "ECOSYSTEM",
                    "events": [
                        {"introduced": "0"},
                        {"fixed": "2.2.5"},
                        {"introduced": "2.3.0"},
                        {"fixed": "2.3.2"},
                    ],
                }
            ],
        }
    ],
}


def affects(advisory: dict, name: str, version: Version) -> bool:
    """Whether `version` of `name` lies in one of the advisory's ranges (OSV's
    ECOSYSTEM ranges: events in order, from an `introduced` up to a `fixed`)."""
    for affected in advisory["affected"]:
        if affected["package"] != {"name": name, "ecosystem": "PyPI"}:
            continue
        for events in (r["events"] for r in affected["ranges"] if r["type"] == "ECOSYSTEM"):
            inside = False
            for event in events:
                if "introduced" in event and version >= Version(event["introduced"]):
                    inside = True
                if "fixed" in event and version >= Version(event["fixed"]):
                    inside = False
            if inside:
                return True
    return False


@contextlib.contextmanager
def osv_service(advisories: list[dict]) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """The query URL to give pip-audit, and the (name, version) pairs it asked about."""
    asked: list[tuple[str, str]] = []

    class Query(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            name, version = query["package"]["name"], query["version"]
            asked.append((name, version))
            found = [a for a in advisories if affects(a, name, Version(version))]
            # OSV answers {} for a release with no advisory.
            body = json.dumps({"vulns": found} if found else {}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:  # quiet: the test reads `asked`
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Query)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1/query", asked
    finally:
        server.shutdown()
        server.server_close()
