"""Load on a container on loopback: every request's outcome, bounded in time.

Python threads, each keeping one HTTP/1.1 connection busy (a new one after an
error), record when each request started and ended and how it ended. That is
slower than wrk, but it tells which requests failed and when, which the
reliability cases assert on.
"""

import http.client
import statistics
import threading
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Outcome:
    started: float  # time.monotonic()
    ended: float
    status: int | None  # None: no response (the error says why)
    error: str | None = None


@dataclass
class Load:
    port: int
    path: str = "/"
    connections: int = 64
    outcomes: list[Outcome] = field(default_factory=list)

    def __post_init__(self):
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._connection) for _ in range(self.connections)]

    def _connection(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                conn.request("GET", self.path)
                response = conn.getresponse()
                response.read()
                outcome = Outcome(started, time.monotonic(), response.status)
            except (OSError, http.client.HTTPException) as exc:
                outcome = Outcome(started, time.monotonic(), None, type(exc).__name__)
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            self.outcomes.append(outcome)
        conn.close()

    def __enter__(self) -> "Load":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=15)

    def run_for(self, seconds: float) -> "Load":
        with self:
            time.sleep(seconds)
        return self

    def run_until(self, requests: int, limit: float = 300) -> "Load":
        """Load until `requests` have ended, or `limit` seconds have passed."""
        deadline = time.monotonic() + limit
        with self:
            while len(self.outcomes) < requests and time.monotonic() < deadline:
                time.sleep(0.05)
        return self

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status is None or o.status >= 300]

    def summary(self) -> dict:
        latencies = sorted(o.ended - o.started for o in self.outcomes if o.status == 200)
        span = max(o.ended for o in self.outcomes) - min(o.started for o in self.outcomes)
        return {
            "requests": len(self.outcomes),
            "failed": len(self.failures),
            "rps": len(self.outcomes) / span,
            "p99_ms": statistics.quantiles(latencies, n=100)[98] * 1000,
        }
