"""Latency at a fixed offered rate: how far each image goes under a latency target.

    nox -s bench -- --open-loop-only   # this section of docs/benchmarks.md alone

Services run below capacity with a latency target, not saturated. hey offers a
fixed rate (`-q`, each of 64 connections at its share) in steps, whatever the
answers' pace; at each step the p50 and p99 of what came back. An image holds
a rate when it serves it (95% or more of it came back) with p99 within the
target and no errors. Containers run on the host's network bound to
127.0.0.1, so the load crosses loopback only: no bridge, no port proxy. Rounds
alternate between the images; the tables give medians and ranges.

Two arrival patterns at each rate. "In step": one hey, which starts the
timers of its connections together, so well below capacity the requests
arrive in bursts of 64, one per connection's period, and p99 is the time the
image takes to serve a whole burst. "Spread": 64 heys of one connection,
started out of step, so the requests arrive at an even pace, as from many
clients that do not wait for one another.
"""

import statistics

from measures import hey, hey_spread, running
from projects import log
from report import machine
from serving import CHOSEN, CONFIGURATIONS, NAIVE, PEER, images

HEADING = "## Open loop: the rate held at a latency target"
TARGET_P99_MS = 25
SERVED = 0.95  # of the offered rate: below it the server has fallen behind
CONNECTIONS = 64
WORKLOADS = [("trivial", "/healthz"), ("wait 10 ms", "/bench/io?ms=10")]
ARRIVALS = {"in step": hey, "spread": hey_spread}
# Each table's key in a round's results: the workload and how its requests arrive.
SERIES = [
    (f"{workload}, {arrival}", path, arrival)
    for workload, path in WORKLOADS
    for arrival in ARRIVALS
]
RATES = [250, 1000, 2000, 3000, 4000, 5000, 6000, 7000]
QUICK_RATES = [1000, 3000, 5000, 6000]
COMPARED = [NAIVE, PEER, CHOSEN, "default, `ACCESS_LOG=off`", "default, `METRICS=off`"]


def held(step: dict) -> bool:
    return (
        step["rps"] >= SERVED * step["offered"]
        and step["p99_ms"] <= TARGET_P99_MS
        and not step["errors"]
    )


def steps(url: str, arrival: str, rates: list[int], seconds: int) -> list[dict]:
    """Each rate in turn, up to the first the server no longer keeps up with."""
    measured = []
    for rate in rates:
        step = ARRIVALS[arrival](url, rate, CONNECTIONS, seconds, cpus=1)
        measured.append(step)
        if step["rps"] < SERVED * rate:
            break  # saturated: higher rates would only queue
    return measured


def measure(workdir, rounds: int, seconds: int, rates: list[int]) -> dict[str, list[dict]]:
    tags = images(workdir)
    by_name = {c.name: c for c in CONFIGURATIONS}
    samples: dict[str, list[dict]] = {}
    for round_number in range(rounds):
        for name in COMPARED:  # alternating: drift hits every image
            log(f"open loop: round {round_number + 1}/{rounds}, {name}")
            configuration = by_name[name]
            with running(tags[configuration.image], configuration.env, 1) as c:
                hey(c.url("/healthz"), 500, CONNECTIONS, 1, cpus=1)  # warm: connections, caches
                run = {
                    series: steps(c.url(path), arrival, rates, seconds)
                    for series, path, arrival in SERIES
                }
            samples.setdefault(name, []).append(run)
    return samples


def highest_held(run: dict, workload: str) -> float:
    return max((step["offered"] for step in run[workload] if held(step)), default=0)


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):,.0f} ({min(values):,.0f}-{max(values):,.0f})"


def held_table(samples: dict[str, list[dict]]) -> str:
    """Each image's highest rate held, and the default's against each peer's."""
    header = ["image", *(f"{series}: held requests/s" for series, _, _ in SERIES)]
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    chosen = samples[CHOSEN]
    for name, runs in samples.items():
        cells = [name]
        for workload, _, _ in SERIES:
            rates = [highest_held(run, workload) for run in runs]
            text = spread(rates)
            ours = statistics.median(highest_held(run, workload) for run in chosen)
            if name != CHOSEN and statistics.median(rates):
                text += f"; default x{ours / statistics.median(rates):.2f}"
            cells.append(text)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def step_cell(runs: list[dict], workload: str, rate: int) -> str:
    """Median p50 / p99 (ms) at `rate`, and what was served, over the rounds that reached it."""
    reached = [s for run in runs for s in run[workload] if s["offered"] == rate]
    if not reached:
        return "-"
    p50 = statistics.median(s["p50_ms"] for s in reached)
    p99 = [s["p99_ms"] for s in reached]
    text = f"{p50:.1f} / {statistics.median(p99):.1f} ({min(p99):.1f}-{max(p99):.1f})"
    served = statistics.median(s["rps"] for s in reached)
    if served < SERVED * rate:
        text += f", {served:,.0f} served"
    errors = sum(s["errors"] for s in reached)
    return text + (f", **{errors:,} errors**" if errors else "")


def steps_table(samples: dict[str, list[dict]], workload: str, rates: list[int]) -> str:
    lines = ["| offered requests/s | " + " | ".join(samples) + " |"]
    lines.append("|---" * (len(samples) + 1) + "|")
    for rate in rates:
        cells = [step_cell(runs, workload, rate) for runs in samples.values()]
        lines.append(f"| {rate:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def section(samples: dict[str, list[dict]], rounds: int, seconds: int, rates: list[int]) -> str:
    by_series = "\n\n".join(
        f"### {series} (`{path}`): p50 / p99 in ms (p99's range)\n\n"
        + steps_table(samples, series, rates)
        for series, path, _ in SERIES
    )
    return f"""{HEADING}

Measured by `nox -s bench` (alone: `nox -s bench -- --open-loop-only`) on
{machine()}. Each container hardened, `--cpus 1` on CPU 1, on the host's
network bound to 127.0.0.1; hey on CPU 0. At each offered rate, in rising
steps up to the first the image fell behind on, {rounds} alternating rounds:
- in step: `hey -c {CONNECTIONS} -q RATE/{CONNECTIONS} -z {seconds}s`. hey starts its connections'
  timers together: below capacity the requests come in bursts of {CONNECTIONS}, and p99
  is the time an image takes to serve a whole burst;
- spread: {CONNECTIONS} processes of `hey -c 1 -q RATE/{CONNECTIONS} -z {seconds}s -o csv`, each
  started 1/RATE s after the one before, so the requests arrive at an even pace
  (percentiles from every answer's row; a failed request counts as not served).

Held: at least {SERVED:.0%} of the offered rate served, p99 at most {TARGET_P99_MS} ms, no
errors. The highest rate held is the median over the rounds (range in
brackets); "default x" compares the default's median with it.

{held_table(samples)}

{by_series}
"""
