"""docs/benchmarks.md: the tables, the machine they were measured on, and
the sections each part of the benchmark replaces."""

import os
import platform
import re
from pathlib import Path

from images import DOCKER
from projects import sh

METRICS = [
    ("size_mb", "image size (MB)", "{:.1f}", "lower"),
    ("cold_s", "cold build (s)", "{:.1f}", "lower"),
    ("rebuild_s", "source-only rebuild (s)", "{:.1f}", "lower"),
    ("ready_s", "start to ready (s)", "{:.2f}", "lower"),
    ("rps", "requests/s", "{:.0f}", "higher"),
    ("p99_ms", "p99 latency (ms)", "{:.1f}", "lower"),
    ("idle_mib", "idle memory (MiB)", "{:.1f}", "lower"),
    ("cpu_s", "CPU workloads, geometric mean (s)", "{:.3f}", "lower"),
]


def table(results: dict[str, dict]) -> str:
    names = list(results)
    naive = results[names[0]]
    lines = ["| metric | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for key, label, fmt, better in METRICS:
        cells = []
        for name in names:
            value = results[name][key]
            # Ratios read "times better than naive": above 1 is better.
            ratio = naive[key] / value if better == "lower" else value / naive[key]
            shown = f"x{ratio:.2f}" if ratio >= 0.1 else f"x{ratio:.2g}"  # x0.0036, not x0.00
            cells.append(fmt.format(value) + ("" if name == names[0] else f" ({shown})"))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("| Python | " + " | ".join(results[n]["python"] for n in names) + " |")
    return "\n".join(lines)


def cpu_table(results: dict[str, dict]) -> str:
    names = list(results)
    workloads = list(results[names[0]]["cpu"])
    lines = [
        "| workload (best of 3, s) | " + " | ".join(names) + " |",
        "|---" * (len(names) + 1) + "|",
    ]
    for workload in workloads:
        cells = [f"{results[n]['cpu'][workload]:.3f}" for n in names]
        lines.append(f"| {workload} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    engine = sh(DOCKER, "version", "-f", "{{.Server.Version}}").strip()
    return f"{os.cpu_count()} x {cpu}, Linux {platform.release()}, Docker engine {engine}"


def official_origin(tag: str = "python:3.13-slim-trixie") -> str:
    """Where the official image came from: pulled, or .ci/provision's stand-in (which says so)."""
    label = '{{index .Config.Labels "org.opencontainers.image.description"}}'
    description = sh(DOCKER, "image", "inspect", "-f", label, tag).strip()
    if "stand-in" in description:
        return f"`{tag}`: {description}, made by `.ci/provision` (no registry here)"
    return f"`{tag}`, as pulled"


def replace_section(document: str, new: str) -> str:
    """`document` with the section `new` heads (its first line) replaced, or `new` appended."""
    heading = new.splitlines()[0]
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(document):
        return pattern.sub(lambda _: new + "\n", document).rstrip("\n") + "\n"
    return document.rstrip("\n") + "\n\n" + new


# Sections written by hand, which a run keeps as they are.
KEPT = (
    "## Below saturation: findings and changes",
    "## Size and cold build",
    "## What metrics cost",  # written by --metrics-cost-only alone
    "## Figures from earlier runs",
)


def kept_sections(document: str) -> str:
    """The hand-written sections of `document`, each from its heading to the next."""
    found = []
    for heading in KEPT:
        match = re.search(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", document, re.S | re.M)
        if match:
            found.append(match.group(0).rstrip("\n"))
    return "\n\n".join(found)


def write(path: Path, text: str, section: bool = False) -> None:
    """The document, or one section of it (`text` starts with its heading)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = text
    if section and path.exists():
        document = replace_section(path.read_text(), text)
    elif path.exists() and (kept := kept_sections(path.read_text())):
        document = text.rstrip("\n") + "\n\n" + kept + "\n"
    path.write_text(document)
    print(text)
    print(f"[bench] wrote {path}", flush=True)
