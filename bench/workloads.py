"""A small fixed set of CPU-bound Python workloads, run inside each image.

Prints one JSON object: each workload's best time of three runs, in seconds.
Standard library only, so it runs on any image with a Python.
"""

import json
import re
import sys
import time


def nbody(steps: int = 60_000) -> float:
    bodies = [
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 39.47],
        [4.84, -1.16, -0.10, 0.60, 2.81, -0.02, 0.037],
        [8.34, 4.12, -0.40, -1.01, 1.82, 0.008, 0.011],
        [12.89, -15.11, -0.22, 1.08, 0.86, -0.01, 0.0017],
        [15.37, -25.91, 0.17, 0.97, 0.59, -0.03, 0.002],
    ]
    pairs = [(a, b) for i, a in enumerate(bodies) for b in bodies[i + 1 :]]
    dt = 0.01
    for _ in range(steps):
        for a, b in pairs:
            dx, dy, dz = a[0] - b[0], a[1] - b[1], a[2] - b[2]
            mag = dt * (dx * dx + dy * dy + dz * dz) ** -1.5
            bm, am = b[6] * mag, a[6] * mag
            a[3] -= dx * bm
            a[4] -= dy * bm
            a[5] -= dz * bm
            b[3] += dx * am
            b[4] += dy * am
            b[5] += dz * am
        for body in bodies:
            body[0] += dt * body[3]
            body[1] += dt * body[4]
            body[2] += dt * body[5]
    return bodies[0][0]


def fannkuch(n: int = 9) -> int:
    perm, count = list(range(n)), list(range(1, n + 1))
    best = 0
    while True:
        flipped, p = 0, perm[:]
        while p[0]:
            k = p[0] + 1
            p[:k] = p[k - 1 :: -1]
            flipped += 1
        best = max(best, flipped)
        r = 1
        while True:
            if r == n:
                return best
            perm.insert(r, perm.pop(0))
            count[r] -= 1
            if count[r]:
                break
            count[r] = r + 1
            r += 1


def spectral_norm(n: int = 160) -> float:
    def a(i, j):
        return 1.0 / ((i + j) * (i + j + 1) // 2 + i + 1)

    def times(v, transpose):
        if transpose:
            return [sum(a(j, i) * v[j] for j in range(n)) for i in range(n)]
        return [sum(a(i, j) * v[j] for j in range(n)) for i in range(n)]

    u = [1.0] * n
    for _ in range(8):
        v = times(times(u, False), True)
        u = times(times(v, False), True)
    return sum(x * y for x, y in zip(u, v, strict=True))


def json_round_trip(rounds: int = 300) -> int:
    doc = {
        "orders": [
            {"id": i, "sku": f"SKU-{i:05}", "qty": i % 7, "price": i * 1.25, "tags": ["a", "b"]}
            for i in range(200)
        ]
    }
    size = 0
    for _ in range(rounds):
        size += len(json.dumps(json.loads(json.dumps(doc))))
    return size


def regex(rounds: int = 40) -> int:
    text = " ".join(f"user{i}@example{i % 13}.org visited /items/{i}?ref=x{i}" for i in range(2000))
    email = re.compile(r"[\w.]+@[\w.]+\.\w+")
    path = re.compile(r"/items/(\d+)\?ref=(\w+)")
    return sum(len(email.findall(text)) + len(path.findall(text)) for _ in range(rounds))


def dict_updates(rounds: int = 300_000) -> int:
    counts: dict[str, int] = {}
    keys = [f"key{i}" for i in range(1000)]
    for i in range(rounds):
        key = keys[i % 1000]
        counts[key] = counts.get(key, 0) + i % 3
    return len(counts)


WORKLOADS = [nbody, fannkuch, spectral_norm, json_round_trip, regex, dict_updates]


def best_of(function, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


if __name__ == "__main__":
    results = {f.__name__: round(best_of(f), 4) for f in WORKLOADS}
    results["python"] = sys.version.split()[0]
    print(json.dumps(results))
