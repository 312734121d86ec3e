"""Run a scenario: every variant on its own simpy clock, control plane then data plane.

One ``seed`` drives every random draw through per-component streams spawned from
``numpy.random.SeedSequence``; each variant uses the same streams (common random
numbers), so differences between variants come from the model, not from luck.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np
import simpy

from . import __version__
from .control.scheduler import Cluster
from .results import SCHEMA_VERSION, Results
from .scenario import Scenario, VariantSpec, load_scenario, source_of, variants_of

#: Stream indexes of SeedSequence(seed).spawn(); fixed so that adding a stream never
#: changes the draws of another.
STREAM_PLACEMENT = 0
STREAM_TRAFFIC = 1


def _placement_block(cluster: Cluster) -> dict:
    services = []
    for svc in cluster.services:
        failures = Counter(t.last_failure for t in svc.unplaced if t.last_failure)
        services.append({
            "name": svc.name,
            "network_mode": svc.spec.network_mode,
            "desired": svc.spec.desired_count,
            "running": len(svc.running),
            "pending": svc.spec.desired_count - len(svc.running),
            "failures": dict(sorted(failures.items())),
            "steady_at": svc.steady_at,
        })
    instances = []
    for inst in cluster.instances:
        live = inst.running_tasks
        task_ips = sum(1 for t in live if t.binding.ip)
        instances.append({
            "id": inst.id,
            "group": inst.group,
            "type": inst.type.name,
            "az": inst.az,
            "subnet": inst.subnet.name,
            "status": inst.status,
            "trunked": inst.trunked,
            "tasks": len(live),
            "eni": {"used": inst.eni_used, "limit": inst.eni_limit},
            "branch_eni": {"used": inst.branch_used, "limit": inst.branch_limit},
            "ips_used": (1 if inst.primary_ip else 0) + (1 if inst.trunk_ip else 0) + task_ips,
            "ports": {"static": inst.ports.static_ports(),
                      "dynamic_used": len(inst.ports.dynamic)},
            "cpu": {"used": inst.cpu_used, "limit": inst.cpu_limit},
            "memory": {"used": inst.memory_used, "limit": inst.memory_limit},
        })
    subnets = [{"name": s.name, "cidr": s.cidr, "az": s.az, "usable": s.usable,
                "ips_used": s.used, "ips_free": s.free} for s in cluster.subnets.values()]
    unplaced = [{"task": t.id, "service": t.service, "reason": t.last_failure,
                 "closest": t.closest[0] if t.closest else None, "why_not": t.why_not}
                for svc in cluster.services for t in svc.unplaced]
    events = [{"t": round(e.t, 6), "service": e.service, "message": e.message}
              for e in cluster.events]
    return {"services": services, "instances": instances, "subnets": subnets,
            "unplaced": unplaced, "events": events}


def run_variant(variant: VariantSpec, seed: int) -> dict:
    """Simulate one variant and return its block of ``results.json``."""
    sc = variant.scenario
    streams = np.random.SeedSequence(seed).spawn(8)
    env = simpy.Environment()
    cluster = Cluster(sc, env, np.random.default_rng(streams[STREAM_PLACEMENT]))
    env.run(until=cluster.steady)
    steady_at = env.now
    from .net.dataplane import DataPlane  # noqa: PLC0415 (imported late: heavy)

    plane = DataPlane(sc, env, cluster, np.random.default_rng(streams[STREAM_TRAFFIC]),
                      start=steady_at)
    if sc.duration > 0:
        env.run(until=steady_at + sc.duration)
    return {
        "name": variant.name,
        "overrides": variant.overrides,
        "steady_at": steady_at,
        "end": env.now,
        "placement": _placement_block(cluster),
        "flows": plane.flow_results(),
        "devices": plane.device_results(),
    }


def _by_kind(mine: dict, base: dict) -> dict:
    """Measured time per device kind in a variant minus the baseline's, nonzero only."""
    out = {k: round(mine.get(k, 0.0) - base.get(k, 0.0), 6) for k in sorted(set(mine) | set(base))}
    return {k: v for k, v in out.items() if v}


def _comparison(variants: list[dict], baseline: str | None) -> dict:
    """Per flow, each variant against the baseline: extra hops and latency overhead."""
    names = [v["name"] for v in variants]
    if baseline is None:
        baseline = "host" if "host" in names else names[0]
    base = next(v for v in variants if v["name"] == baseline)
    base_flows = {f["name"]: f for f in base["flows"]}
    rows = []
    for v in variants:
        if v["name"] == baseline:
            continue
        for f in v["flows"]:
            b = base_flows.get(f["name"])
            if not b or not f["delivered"] or not b["delivered"]:
                rows.append({"name": f["name"], "variant": v["name"], "extra_hops": None,
                             "latency_overhead_us": None, "latency_ratio": None,
                             "note": "no delivered packets in one of the two variants"})
                continue
            rows.append({
                "name": f["name"], "variant": v["name"],
                "extra_hops": round(f["hops"]["mean"] - b["hops"]["mean"], 6),
                "latency_overhead_us": {k: round(f["latency_us"][k] - b["latency_us"][k], 6)
                                        for k in ("mean", "p50", "p99")},
                "latency_ratio": round(f["latency_us"]["mean"] / b["latency_us"]["mean"], 6),
                "overhead_by_kind_us": _by_kind(f.get("breakdown_us", {}),
                                                b.get("breakdown_us", {})),
            })
    return {"baseline": baseline, "flows": rows}


def simulate(scenario: Scenario | str | dict, seed: int | None = None,
             progress: Callable[[str], None] | None = None,
             baseline: str | None = None) -> Results:
    """Run every variant of ``scenario`` and return :class:`Results`.

    ``seed`` defaults to the scenario's ``seed``; the same scenario and seed give
    byte-identical results.
    """
    if not isinstance(scenario, Scenario) or getattr(scenario, "_variants", None) is None:
        scenario = load_scenario(scenario)
    seed = scenario.seed if seed is None else int(seed)
    src = source_of(scenario)
    variants = []
    for spec in variants_of(scenario):
        if progress:
            progress(spec.name)
        variants.append(run_variant(spec, seed))
    doc = {
        "schema_version": SCHEMA_VERSION,
        "ecsnetsim_version": __version__,
        "seed": seed,
        "scenario": {"name": scenario.name, "path": src.path, "sha256": src.sha256},
        "variants": variants,
        "comparison": _comparison(variants, baseline) if len(variants) > 1 else {},
    }
    return Results(doc)
