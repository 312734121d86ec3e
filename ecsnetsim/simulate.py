"""Run a scenario: every variant on its own simpy clock, control plane then data plane.

One ``seed`` drives every random draw through per-component streams spawned from
``numpy.random.SeedSequence``; each variant uses the same streams (common random
numbers), so differences between variants come from the model, not from luck.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections import Counter
from collections.abc import Callable

import numpy as np

from . import __version__, collector, executors, modes
from . import replications as replicas
from .control.scheduler import Cluster
from .control.service import UNHEALTHY
from .replications import MAX_REPLICATIONS
from .results import Results
from .rows import (
    SCHEMA_VERSION,
    ComparisonRow,
    DiscoveryRecord,
    FargateRow,
    InstanceRow,
    OverheadUs,
    PlacementBlock,
    Ports,
    ServiceRow,
    SubnetRow,
    SweepPoint,
    UnplacedRow,
    UsedLimit,
    VariantResult,
)
from .scenario import Scenario, VariantSpec, expect, load_scenario, source_of, variants_of
from .scenario.capacitychecks import EXTERNAL_MODES

#: Stream indexes of SeedSequence(seed).spawn(); fixed so that adding a stream never
#: changes the draws of another.
STREAM_PLACEMENT = 0
STREAM_TRAFFIC = 1
STREAM_JITTER = 2
STREAM_JITTER = 2


def _service_row(svc, providers=None) -> ServiceRow:
    failures = Counter(t.last_failure for t in svc.unplaced if t.last_failure)
    running = [t for t in svc.running if not t.draining]
    # the counts the timeline records (running old + new, pending = the new revision's
    # tasks still wanted), so that the service row and timeline.csv's last row agree
    old, new, pending, _healthy, _draining = svc.counts()
    return ServiceRow(
        name=svc.name, network_mode=svc.spec.network_mode, launch_type=svc.spec.launch_type,
        scheduling=svc.spec.scheduling, desired=svc.desired, running=old + new,
        running_old=old, pending=pending, unplaced=len(svc.unplaced),
        health_check_blocked=(None if svc.health_check_blocked is None else
                              "health checks dropped: " + svc.health_check_blocked.reason),
        failures=dict(sorted(failures.items())),
        launch_failures=dict(sorted((k, n) for k, n in svc.launch_failures.items()
                                    if k != UNHEALTHY)),
        # a task that failed its health checks had started: it was stopped, not a launch
        stopped=dict(sorted((k, n) for k, n in svc.launch_failures.items() if k == UNHEALTHY)),
        steady_at=svc.steady_at,
        last_running_at=max((t.running_at for t in running if t.running_at is not None),
                            default=None),
        capacity_providers=_per_provider(svc, running, providers),
    )


def _per_provider(svc, running, providers) -> dict[str, int] | None:
    """A strategy's running tasks per capacity provider (None without a strategy)."""
    if providers is None or not svc.spec.capacity_provider_strategy:
        return None
    counts = Counter(providers.provider_of(svc, t) for t in running)
    counts.pop(None, None)
    return dict(sorted(counts.items()))


def _task_limits(inst) -> dict[str, int]:
    """The most tasks of each network mode with a per-instance limit that ``inst`` takes,
    for the modes it can run: an external instance (ECS Anywhere) runs only its own
    (no awsvpc: it has no ENIs to give)."""
    external = inst.attributes.get("ecs.capability.external") == "true"
    own = EXTERNAL_MODES.get(inst.os, ()) if external else None
    return {name: report["task_limit"] for name, mode in modes.MODES.items()
            if inst.os in mode.supported_os and (own is None or name in own)
            and "task_limit" in (report := mode.instance_report(inst))}


def _instance_row(inst, connections: dict, gpus_asked: bool = False) -> InstanceRow:
    """An instance at the end of the run; its GPUs only where it has some or a task of
    the run asked for GPUs (so that runs without GPUs keep the rows they had)."""
    live = inst.running_tasks
    task_ips = sum(1 for t in live if t.binding.subnet is not None)
    per_mode = Counter(t.mode for t in live)
    return InstanceRow(
        id=inst.id, group=inst.group, type=inst.type.name, az=inst.az,
        subnet=inst.subnet.name, status=inst.status, os=inst.os, trunked=inst.trunked,
        trunk_reason=inst.trunk_note, tasks=len(live),
        tasks_by_mode=dict(sorted(per_mode.items())),
        task_limits=_task_limits(inst),
        eni=UsedLimit(inst.eni_used, inst.eni_limit),
        branch_eni=UsedLimit(inst.branch_used, inst.branch_limit),
        ips_used=(1 if inst.primary_ip else 0) + (1 if inst.trunk_ip else 0) + task_ips,
        ports=Ports(inst.ports.static_ports(), len(inst.ports.dynamic)),
        cpu=UsedLimit(inst.cpu_used, inst.cpu_limit),
        memory=UsedLimit(inst.memory_used, inst.memory_limit),
        gpu=(UsedLimit(inst.gpu_used, inst.gpu_limit) if gpus_asked or inst.gpu_limit
             else None),
        **connections,
    )


def _placement_block(cluster: Cluster, plane) -> PlacementBlock:
    """Services, instances, subnets, unplaced tasks and events at the end of the run (with
    each instance's connection state from the data plane ``plane``, when it keeps any)."""
    services = cluster.services
    on_fargate = [t for svc in services if svc.spec.launch_type == "FARGATE" for t in svc.live]
    discovery = [_records(svc) for svc in services if svc.spec.service_discovery]
    gpus_asked = any(spec.gpu for svc in services for spec, _ in svc.revisions.values())
    return PlacementBlock(
        services=[_service_row(svc, cluster.providers) for svc in services],
        instances=[_instance_row(inst, plane.instance_connections(inst), gpus_asked)
                   for inst in cluster.instances],
        subnets=[SubnetRow(s.name, s.cidr, s.az, s.usable, s.used, s.free)
                 for s in cluster.subnets.values()],
        unplaced=[UnplacedRow(t.id, t.service, t.last_failure,
                              t.closest[0] if t.closest else None, t.why_not)
                  for svc in services for t in svc.unplaced],
        events=[e.row() for e in cluster.events],
        service_discovery=discovery or None,
        fargate=(_fargate_block(on_fargate)
                 if any(svc.spec.launch_type == "FARGATE" for svc in services) else None),
    )


def _records(svc) -> DiscoveryRecord:
    """What Cloud Map answers for a service at the end of the run: an A record per healthy
    task (its own IP), or an SRV record per task (the address and port its ENI answers on:
    the instance's IP and the host port in bridge mode)."""
    sd = svc.spec.service_discovery
    maps = [pm for c in svc.spec.containers for pm in c.port_mappings]
    port, proto = (maps[0].ports[0], maps[0].protocol) if maps else (None, "tcp")
    values = []
    for t in svc.targets:
        ep = modes.get(t.mode).endpoint(t, svc.spec)
        if sd.record == "A":
            values.append(ep.ip)
        else:
            values.append(f"{ep.ip}:{t.binding.host_ports.get((port, proto), port)}")
    return DiscoveryRecord(f"{svc.name}.{sd.namespace}", sd.record, sorted(values))


def _fargate_block(tasks: list) -> FargateRow:
    """Fargate tasks run off the cluster: each in its own micro-VM with its own ENI."""
    return FargateRow(
        tasks=len(tasks),
        enis=sum(1 for t in tasks if t.binding.interface),
        ips_used=sum(1 for t in tasks if t.binding.subnet is not None),
        by_az=dict(sorted(Counter(t.instance.az for t in tasks).items())),
        by_subnet=dict(sorted(Counter(t.binding.subnet.name for t in tasks
                                      if t.binding.subnet is not None).items())),
        cpu=sum(t.cpu for t in tasks),
        memory=sum(t.memory for t in tasks),
    )


#: Steps in which a run reports its progress through simulated time.
PROGRESS_STEPS = 100


def run_variant(variant: VariantSpec, seed: int,
                tick: Callable[[float], None] | None = None) -> dict:
    """Simulate one variant and return its block of ``results.json`` (the JSON of its
    :class:`~ecsnetsim.rows.VariantResult`, built once at the end of the run).

    ``tick``, when given, is called with the fraction of the traffic phase simulated so
    far (0 < f <= 1) as the clock advances; running the clock in steps changes no result.
    """
    with collector.paused():  # see ecsnetsim.collector: it grew with the model
        return _run_variant(variant, seed, tick)


def _run_variant(variant: VariantSpec, seed: int, tick: Callable[[float], None] | None) -> dict:
    sc = variant.scenario
    streams = np.random.SeedSequence(seed).spawn(8)
    from .net.engine import Environment  # noqa: PLC0415 (carries the packets too)
    env = Environment()
    cluster = Cluster(sc, env, np.random.default_rng(streams[STREAM_PLACEMENT]))
    # traffic starts when every service is steady, or at the horizon if one never is
    horizon = max((e.at for e in sc.events), default=0.0) + sc.steady_horizon
    env.run(until=cluster.steady | env.timeout(horizon))
    steady_at = env.now
    from .net.dataplane import DataPlane  # noqa: PLC0415 (imported late: heavy)

    plane = DataPlane(sc, env, cluster, np.random.default_rng(streams[STREAM_TRAFFIC]),
                      start=steady_at, jitter_seed=streams[STREAM_JITTER])
    if sc.duration > 0:
        steps = PROGRESS_STEPS if tick else 1
        for k in range(1, steps + 1):
            env.run(until=steady_at + (sc.duration if k == steps else sc.duration * k / steps))
            if tick:
                tick(k / steps)
    cluster.finish()
    return VariantResult(
        name=variant.name,
        group=variant.group,
        sweep=_sweep_point(variant),
        overrides=variant.overrides,
        steady_at=steady_at,
        steady=cluster.steady.triggered,
        end=env.now,
        placement=_placement_block(cluster, plane),
        flows=plane.flow_results(),
        devices=plane.device_results(),
        flow_logs=plane.flow_log.records() if plane.flow_log else None,
        deployments=[d.row() for svc in cluster.services for d in svc.deployments],
        timeline=cluster.timeline,
        timeseries=plane.timeseries_results(),
        nat_gateways=plane.nat_gateway_results(),
    ).to_json()


def _sweep_point(variant: VariantSpec) -> SweepPoint | None:
    """The sweep field's value as written and as the model read it (a number for plots)."""
    if not variant.sweep:
        return None
    from .scenario.overrides import parse_path  # noqa: PLC0415

    node = variant.scenario
    for part in parse_path(variant.sweep["path"]):
        node = node[part] if isinstance(part, int) else getattr(node, part.replace(
            "from", "from_") if part == "from" else part)
    value = variant.sweep["value"]
    return SweepPoint(variant.sweep["path"], value,
                      node if isinstance(node, int | float) and not isinstance(node, bool)
                      else None)


def _by_kind(mine: dict, base: dict) -> dict:
    """Measured time per device kind in a variant minus the baseline's, nonzero only."""
    out = {k: round(mine.get(k, 0.0) - base.get(k, 0.0), 6) for k in sorted(set(mine) | set(base))}
    return {k: v for k, v in out.items() if v}


def _comparison(variants: list[dict], baseline: str | None) -> dict:
    """Per flow, each variant against the baseline variant at the same sweep point:
    extra hops, latency overhead and the overhead by device kind."""
    groups = list(dict.fromkeys(v["group"] for v in variants))
    if baseline is None:
        preferred = modes.baseline()
        baseline = preferred if preferred in groups else groups[0]

    def point(v):
        return None if v["sweep"] is None else repr(v["sweep"]["value"])

    bases = {point(v): v for v in variants if v["group"] == baseline}
    rows = []
    for v in variants:
        base = bases.get(point(v))
        if v["group"] == baseline or base is None:
            continue
        base_flows = {f["name"]: f for f in base["flows"]}
        for f in v["flows"]:
            b = base_flows.get(f["name"])
            if not b or not f["delivered"] or not b["delivered"]:
                rows.append(ComparisonRow(
                    f["name"], v["name"], base["name"], extra_hops=None,
                    latency_overhead_us=None, latency_ratio=None,
                    note="no delivered packets in one of the two variants"))
                continue
            rows.append(ComparisonRow(
                f["name"], v["name"], base["name"],
                extra_hops=round(f["hops"]["mean"] - b["hops"]["mean"], 6),
                latency_overhead_us=OverheadUs(*(
                    round(f["latency_us"][k] - b["latency_us"][k], 6)
                    for k in ("mean", "p50", "p99"))),
                latency_ratio=round(f["latency_us"]["mean"] / b["latency_us"]["mean"], 6),
                overhead_by_kind_us=_by_kind(f["breakdown_us"], b["breakdown_us"]),
            ))
    return {"baseline": baseline, "flows": [r.to_json() for r in rows]}


def _run_all(ex: executors.Executor, specs: list[VariantSpec], seeds: list[int],
             tracker: _Progress) -> list[list[dict]]:
    """Every variant on every seed, submitted to ``ex`` at once as one job per (variant,
    seed), the longest variants first; ``runs[r][v]`` is variant ``v`` on ``seeds[r]``,
    in that order whatever order the jobs finish in."""
    nv = len(specs)
    jobs = [(specs[v], s) for s in seeds for v in range(nv)]
    rank = {v: k for k, v in enumerate(_longest_first(specs))}
    order = sorted(range(len(jobs)), key=lambda j: (rank[j % nv], j // nv))
    fn = run_variant if tracker.tick is None else functools.partial(run_variant,
                                                                    tick=tracker.tick)
    out = ex.map(fn, jobs, order, lambda j: tracker.done(specs[j % nv].name))
    return [out[r * nv:(r + 1) * nv] for r in range(len(seeds))]


class _Progress:
    """What a run shows while it runs: a bar of finished runs on a terminal (or, for one
    long run in this process, of simulated time), and the caller's callback per run."""

    def __init__(self, progress, total: int, specs: list[VariantSpec], in_process: bool):
        self.callback = progress if callable(progress) else None
        self.bar = self.tick = None
        if progress is not True or not sys.stderr.isatty():
            return
        from tqdm import tqdm  # noqa: PLC0415

        if total > 1:
            self.bar = tqdm(total=total, unit="run", file=sys.stderr, leave=False)
        elif in_process and specs[0].scenario.duration > 0:  # one long run: simulated time
            bar = self.bar = tqdm(
                total=PROGRESS_STEPS, file=sys.stderr, leave=False,
                desc=f"{specs[0].name}: simulated {specs[0].scenario.duration:g} s",
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}")

            def tick(_fraction: float) -> None:
                bar.update()
            self.tick = tick

    def done(self, name: str) -> None:
        if self.callback:
            self.callback(name)
        if self.bar is not None and self.tick is None:
            self.bar.update()

    def grow(self, more: int) -> None:
        """More runs to come (``precision`` added replications)."""
        if self.bar is not None and self.tick is None:
            self.bar.total += more
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


#: Packets one placed task is worth when guessing how long a variant runs.
TASK_WEIGHT = 50


def _longest_first(specs: list[VariantSpec]) -> list[int]:
    """The variants' indexes, the one expected to run longest first (packets sent plus
    tasks placed, each task weighted as :data:`TASK_WEIGHT` packets); equal estimates keep
    the scenario's order. Only the order of starting changes, never a result."""
    from .cost import _instances, _packets, _tasks  # noqa: PLC0415

    def work(i: int) -> float:
        sc = specs[i].scenario
        return _packets(sc) + TASK_WEIGHT * _tasks(sc, _instances(sc))

    return sorted(range(len(specs)), key=lambda i: -work(i))




def _replicate(ex: executors.Executor, specs: list[VariantSpec], seed: int, count: int,
               precision: float | None, progress) -> list[list[dict]]:
    """``count`` replications of every variant, then, for ``precision``, more until every
    headline interval is narrow enough (or :data:`MAX_REPLICATIONS`).

    Replications are added a batch at a time, enough to keep every slot of the executor
    busy, and kept up to the first one after which the intervals are narrow enough: the
    answer is the one adding them one at a time would give, byte for byte.
    """
    nv = len(specs)
    # one job on the local executor runs in this process: it can report simulated time
    tracker = _Progress(progress, nv * count, specs, isinstance(ex, executors.LocalExecutor))
    try:
        runs = _run_all(ex, specs, replicas.seeds(seed, count), tracker)
        while precision is not None and len(runs) < MAX_REPLICATIONS \
                and not _precise(runs, nv, precision):
            k = min(MAX_REPLICATIONS - len(runs), max(1, -(-ex.slots // nv)))
            tracker.grow(k * nv)
            have = len(runs)
            for run in _run_all(ex, specs, replicas.seeds(seed, have + k)[have:], tracker):
                runs.append(run)
                if _precise(runs, nv, precision):
                    break
    finally:
        tracker.close()
    return runs


def _precise(runs: list[list[dict]], nv: int, precision: float) -> bool:
    return replicas.precise_enough([[run[i] for run in runs] for i in range(nv)], precision)


def simulate(scenario: Scenario | str | dict, seed: int | None = None,
             progress: Callable[[str], None] | bool | None = None,
             baseline: str | None = None, workers: int | None = None,
             replications: int | None = None, precision: float | None = None,
             executor: str | executors.Executor | None = None) -> Results:
    """Run every variant of ``scenario`` and return :class:`Results`.

    ``seed`` defaults to the scenario's ``seed``; the same scenario and seed give
    byte-identical results, however many ``workers`` run the variants (default: one
    per core; ``workers=1`` runs them in this process) and whichever ``executor``:
    ``"local"`` (the default: a process pool on this machine), ``"dask"`` (a Dask
    ``LocalCluster`` of ``workers`` processes started for the run) or
    ``"dask://HOST:PORT"`` (the cluster of a running Dask scheduler), or an executor of
    :mod:`ecsnetsim.executors` already entered, which the caller then shuts down. Every
    (variant, replication) pair is one job carrying its own seed, all submitted at once.
    ``progress=True`` shows a progress bar on a terminal; a callable is called with each
    finished run's variant name.

    ``replications`` (default the scenario's) runs each variant that many times on seeds
    spawned from ``seed`` (replication ``i`` of every variant on the same seed); flows and
    deployments then carry 95 % intervals and the comparison a paired difference.
    ``precision`` (a fraction, e.g. 0.05) keeps adding replications, up to
    :data:`MAX_REPLICATIONS`, until every flow's mean and p99 latency and throughput
    interval is that narrow relative to its mean.
    """
    if not isinstance(scenario, Scenario) or getattr(scenario, "_variants", None) is None:
        scenario = load_scenario(scenario)
    seed = scenario.seed if seed is None else int(seed)
    src = source_of(scenario)
    specs = variants_of(scenario)
    count = replications or scenario.replications
    if precision is not None:
        count = max(count, 2)
    ex = executors.resolve(executor, workers)
    with ex if ex is not executor else contextlib.nullcontext(ex):
        runs = _replicate(ex, specs, seed, count, precision, progress)
    if len(runs) == 1:
        variants = runs[0]
    else:
        variants = [replicas.combine([run[i] for run in runs]) for i in range(len(specs))]
    doc = {
        "schema_version": SCHEMA_VERSION,
        "ecsnetsim_version": __version__,
        "seed": seed,
        "scenario": {"name": scenario.name, "path": src.path, "sha256": src.sha256},
        "variants": variants,
        "comparison": _comparison(variants, baseline) if len(variants) > 1 else {},
    }
    if len(runs) > 1:
        doc["replications"] = len(runs)
        _paired_differences(doc["comparison"], runs, [v["name"] for v in variants])
    block = expect.evaluate(scenario, src, doc)  # does the run agree with the scenario's claims?
    if block is not None:
        doc["expectations"] = block
    return Results(doc)


def _paired_differences(comparison: dict, runs: list[list[dict]], names: list[str]) -> None:
    """Each comparison row's mean-latency difference from paired replications."""
    for row in comparison.get("flows", []):
        mine = [run[names.index(row["variant"])] for run in runs]
        base = [run[names.index(row["baseline_variant"])] for run in runs]
        row["difference"] = replicas.paired(mine, base, row["name"])
