"""Independent replications and their 95 % confidence intervals.

One run is one sample path: a latency, a p99 or a deployment's finish time from one
seed says nothing about how much it would move with another. Replication ``i`` of a
variant runs on seed ``seeds[i]`` (the scenario's seed first, the rest spawned from it
by ``numpy.random.SeedSequence``), and replication ``i`` of every variant uses the same
seed, so variants are compared on common random numbers. A statistic's interval is
Student's t on the replication values (Law & Kelton, *Simulation Modeling and
Analysis*, ch. 9): ``mean ± t(0.975, R-1) · s / √R``; a difference between two
variants is judged on the paired differences of their replications.
"""

from __future__ import annotations

import math
from statistics import fmean, stdev

import numpy as np

#: The most replications ``precision`` may add (the cost estimate prices this many).
MAX_REPLICATIONS = 30

#: t(0.975, df) for df = 1..30 (any table of Student's t); 1.96 beyond.
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201,
         2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074,
         2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)

#: The flow statistics that get an interval (name in ``ci95`` -> how to read it).
FLOW_STATISTICS = {
    "latency_mean_us": lambda f: f["latency_us"]["mean"],
    "latency_p99_us": lambda f: f["latency_us"]["p99"],
    "throughput_pps": lambda f: f["throughput_pps"],
    "dropped_fraction": lambda f: f["dropped"] / f["sent"] if f["sent"] else None,
}
DEPLOYMENT_STATISTICS = ("finished_at", "zero_healthy_seconds")


def t975(df: int) -> float:
    return _T975[df - 1] if 1 <= df <= len(_T975) else 1.96


def seeds(seed: int, count: int) -> list[int]:
    """Replication seeds: the scenario's own first (one replication is today's run)."""
    spawned = np.random.SeedSequence(seed).spawn(max(0, count - 1))
    return [seed] + [int(s.generate_state(1, dtype=np.uint64)[0]) for s in spawned]


def interval(values: list[float]) -> list[float] | None:
    """The 95 % confidence interval of the mean of ``values`` (None below two values)."""
    vals = [v for v in values if v is not None]
    if len(vals) < 2:
        return None
    m = fmean(vals)
    half = t975(len(vals) - 1) * stdev(vals) / math.sqrt(len(vals))
    return [round(m - half, 6), round(m + half, 6)]


def half_width_ratio(values: list[float]) -> float | None:
    """The interval's half-width over the mean's magnitude (how precise it is)."""
    ci = interval(values)
    if ci is None:
        return None
    m = abs(fmean(v for v in values if v is not None))
    return (ci[1] - ci[0]) / 2 / m if m else (0.0 if ci[1] == ci[0] else math.inf)


def _mean_or_none(values):
    vals = [v for v in values if v is not None]
    return round(fmean(vals), 6) if vals else None


def combine(runs: list[dict]) -> dict:
    """One variant's record from its replications: the first replication's detail (paths,
    devices, placement), each flow's statistics as the mean over replications with their
    95 % intervals and its packet counts summed; deployments likewise."""
    out = dict(runs[0])
    r = len(runs)
    out["replications"] = r
    flows = []
    for i, f in enumerate(runs[0]["flows"]):
        reps = [run["flows"][i] for run in runs]
        row = dict(f)
        for key in ("sent", "delivered", "dropped", "unreachable", "in_flight"):
            if key in f:
                row[key] = sum(x[key] for x in reps)
        row["latency_us"] = {k: _mean_or_none([x["latency_us"][k] for x in reps])
                             for k in f["latency_us"] if k != "hist"}
        if "hist" in f["latency_us"]:
            row["latency_us"]["hist"] = merged_hist([x["latency_us"].get("hist") for x in reps])
        row["throughput_pps"] = _mean_or_none([x["throughput_pps"] for x in reps])
        if "drops" in f:  # packets dropped by a named limit: counts, summed as dropped is
            row["drops"] = _summed([x.get("drops") or {} for x in reps])
        if "connections" in f:
            row["connections"] = _connections([x["connections"] for x in reps])
        row["replications"] = r
        row["ci95"] = {name: interval([read(x) for x in reps if x["delivered"] or
                                       name == "dropped_fraction"])
                       for name, read in FLOW_STATISTICS.items()}
        flows.append(row)
    out["flows"] = flows
    deployments = []
    for i, d in enumerate(runs[0].get("deployments", [])):
        reps = [run["deployments"][i] for run in runs if i < len(run.get("deployments", []))]
        row = dict(d)
        row["replications"] = len(reps)
        row["ci95"] = {k: interval([x[k] for x in reps]) for k in DEPLOYMENT_STATISTICS}
        deployments.append(row)
    out["deployments"] = deployments
    return out


def _summed(counts: list[dict]) -> dict:
    """Counts by name added over replications, names in order."""
    out: dict = {}
    for c in counts:
        for k, n in c.items():
            out[k] = out.get(k, 0) + n
    return dict(sorted(out.items()))


def _connections(rows: list[dict]) -> dict:
    """A connection-level flow's connections over replications: counts added, the most
    open at once the highest of any replication."""
    return {"opened": sum(r["opened"] for r in rows),
            "completed": sum(r["completed"] for r in rows),
            "failed": _summed([r["failed"] for r in rows]),
            "peak_open": max(r["peak_open"] for r in rows)}


def merged_hist(hists: list[dict | None]) -> dict | None:
    """The histograms of a flow's replications as one: counts added bin by bin. Every
    histogram's bins are a run of one fixed set of edges
    (:data:`~ecsnetsim.net.engine.LOG_EDGES_US`); the result spans them all.

    >>> merged_hist([{"edges_us": [1.0, 1.12202], "counts": [1]},
    ...              {"edges_us": [1.25893, 1.41254], "counts": [5]}, None])
    {'edges_us': [1.0, 1.12202, 1.25893, 1.41254], 'counts': [1, 0, 5]}
    """
    from .net.engine import LOG_EDGES_US  # noqa: PLC0415 (the engine only when merging)

    hists = [h for h in hists if h and h.get("counts")]
    if not hists:
        return None
    lo = min(LOG_EDGES_US.index(h["edges_us"][0]) for h in hists)
    hi = max(LOG_EDGES_US.index(h["edges_us"][-1]) for h in hists)
    edges = list(LOG_EDGES_US[lo:hi + 1])
    at = {e: i for i, e in enumerate(edges)}
    counts = [0] * (len(edges) - 1)
    for h in hists:
        start = at[h["edges_us"][0]]
        for i, c in enumerate(h["counts"]):
            counts[start + i] += c
    return {"edges_us": edges, "counts": counts}


def paired(mine: list[dict], base: list[dict], name: str) -> dict | None:
    """The difference of a flow's mean latency between two variants, replication by
    replication (common random numbers): its mean, 95 % interval and whether the
    interval excludes zero."""
    diffs = []
    for a, b in zip(mine, base, strict=True):
        fa = next((f for f in a["flows"] if f["name"] == name), None)
        fb = next((f for f in b["flows"] if f["name"] == name), None)
        if fa and fb and fa["delivered"] and fb["delivered"]:
            diffs.append(fa["latency_us"]["mean"] - fb["latency_us"]["mean"])
    ci = interval(diffs)
    if ci is None:
        return None
    return {"mean": round(fmean(diffs), 6), "ci95": ci,
            "significant": ci[0] > 0 or ci[1] < 0}


def precise_enough(runs_by_variant: list[list[dict]], target: float) -> bool:
    """Whether every headline interval (each flow's mean and p99 latency, throughput) has a
    half-width within ``target`` (a fraction) of its mean."""
    for runs in runs_by_variant:
        for i, _ in enumerate(runs[0]["flows"]):
            reps = [run["flows"][i] for run in runs if run["flows"][i]["delivered"]]
            if len(reps) < 2:
                continue
            for key in ("latency_mean_us", "latency_p99_us", "throughput_pps"):
                ratio = half_width_ratio([FLOW_STATISTICS[key](f) for f in reps])
                if ratio is not None and ratio > target:
                    return False
    return True
