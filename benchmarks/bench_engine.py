"""Speed of the packet engine against bare SimPy, in one process and one run.

Three workloads, each timed from model construction to the end of the run:

(a) ``simpy_store``: bare SimPy tandem line, K=5 FIFO stations, each a ``simpy.Store``
    drained by one server process; Poisson arrivals (lambda=0.7), exponential service
    (mu=1.0) at every station, drawn with ``random.expovariate``.
(b) ``engine_tandem``: the same tandem line on ecsnetsim's packet engine: 5 devices with
    exponential service samplers, a Poisson :class:`~ecsnetsim.net.traffic.Source`.
(c) ``engine_bridge``: a bridge-mode-like path of 9 devices with deterministic services:
    client stack -> client ENI -> VPC fabric -> server ENI -> host forward -> iptables DNAT
    -> docker0 -> veth -> container stack, with each host's kernel devices on a shared
    2-vCPU pool and each instance's ENI on its shared network-card link.

Reports packet-hops per second (packets delivered x devices crossed / wall seconds), the
median over ``--repeat`` rounds (the three workloads alternate within a round), the
ratio engine / bare SimPy, a small table and one JSON line.

``--jitter`` instead measures what latency jitter costs: the bridge path of (c) with the
default profile's jitter on the kinds that have one (stacks, ENIs, fabric, NAT, docker0),
against the same path with constant delays, and the whole bridge scenario of (d) with the
default profile against every kind at ``jitter: none``; CPU seconds (process time) per
packet-hop, the pairs alternating within each round, and the ratio jitter / constant.
``--only engine_bridge_jitter`` (or any workload's name) runs one workload alone, for
timing whole processes side by side.

Usage::

    python benchmarks/bench_engine.py --packets 200000 --repeat 3
    python benchmarks/bench_engine.py --jitter --packets 300000 --repeat 5
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import simpy

from ecsnetsim.calibration import default_profile
from ecsnetsim.net.engine import (
    Device,
    Draws,
    Engine,
    Environment,
    FlowStats,
    Route,
    Server,
    sampler,
)
from ecsnetsim.net.traffic import Source

K = 5
LAM = 0.7
MU = 1.0
THEORY_TANDEM_SOJOURN = K / (MU - LAM)


def bench_simpy_store(n: int, seed: int) -> dict:
    """(a) Bare SimPy: Store + one server process per station (the reference style)."""
    rnd = random.Random(seed)
    expo = rnd.expovariate
    sojourn = [0.0] * n
    t0 = time.perf_counter()
    env = simpy.Environment()
    timeout = env.timeout
    stores = [simpy.Store(env) for _ in range(K)]

    def sink(pkt):
        sojourn[pkt[0]] = env.now - pkt[1]

    def server(inbox, out):
        get = inbox.get
        while True:
            pkt = yield get()
            yield timeout(expo(MU))
            out(pkt)

    for k in range(K):
        env.process(server(stores[k], stores[k + 1].put if k + 1 < K else sink))

    def source():
        put = stores[0].put
        for i in range(n):
            yield timeout(expo(LAM))
            put([i, env.now])

    env.process(source())
    env.run()
    wall = time.perf_counter() - t0
    return {"wall_s": wall, "hops": n * K, "mean_sojourn": sum(sojourn) / n}


def bench_engine_tandem(n: int, seed: int) -> dict:
    """(b) The engine on the same tandem line (service redrawn at every device)."""
    t0 = time.perf_counter()
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(K + 1)]
    env = Environment()
    engine = Engine(env)
    flow = FlowStats("tandem")
    devices = [
        Device(f"station{k}",
               service_sampler=sampler(lambda m, g=streams[k + 1]: g.exponential(1 / MU, m)))
        for k in range(K)
    ]
    route = Route(devices, flow)
    Source(env, engine, streams[0], rate_per_s=LAM, arrival="poisson", size_bytes=100,
           pick_route=lambda: route, max_packets=n, stats=flow)
    env.run()
    wall = time.perf_counter() - t0
    assert flow.delivered == n
    return {"wall_s": wall, "hops": flow.hops_sum,
            "mean_sojourn": sum(flow.latencies) / flow.delivered}


def build_bridge_path(flow: FlowStats) -> Route:
    """A bridge-mode-like path from a client instance to a container (9 devices)."""
    us = 1e-6
    card = 1.25e9  # 10 Gbit/s in bytes/s
    client_cpu = Server("client/cpu", servers=2)
    client_card = Server("client/card", servers=1, bandwidth=card)
    host_cpu = Server("host/cpu", servers=2)
    host_card = Server("host/card", servers=1, bandwidth=card)
    devices = [
        Device("client/stack", kind="host_stack", host="client", service=2.5 * us,
               latency=1.5 * us, cpu=client_cpu, buffer=1000),
        Device("client/eni", kind="eni", host="client", service=0.5 * us, latency=5 * us,
               cpu=client_cpu, link=client_card, buffer=1000),
        Device("vpc", kind="vpc_fabric", latency=12 * us),
        Device("host/eni", kind="eni", host="host", service=0.5 * us, latency=5 * us,
               cpu=host_cpu, link=host_card, buffer=1000),
        Device("host/forward", kind="host_forward", host="host", service=0.5 * us,
               cpu=host_cpu, buffer=1000),
        Device("host/iptables", kind="iptables_nat", host="host", service=0.7 * us,
               cpu=host_cpu, buffer=1000),
        Device("host/docker0", kind="docker0", host="host", service=1.5 * us, cpu=host_cpu,
               buffer=1000),
        Device("host/veth", kind="veth", host="host", service=0.3 * us, cpu=host_cpu,
               buffer=1000),
        Device("task/stack", kind="task_stack", host="host", service=2.5 * us,
               latency=1.5 * us, cpu=host_cpu, buffer=1000),
    ]
    return Route(devices, flow)


def bench_engine_bridge(n: int, seed: int, jitter: bool = False) -> dict:
    """(c) The engine on a bridge-mode-like path with shared CPU pools and card links;
    with ``jitter``, each device whose kind has a jitter in the default profile draws it
    (one :class:`Draws` per kind, blocks of 4096, as the data plane does)."""
    t0, c0 = time.perf_counter(), time.process_time()
    env = Environment()
    engine = Engine(env)
    flow = FlowStats("client->task", keep_latencies=False)
    route = build_bridge_path(flow)
    if jitter:
        _add_jitter(route, seed)
    Source(env, engine, np.random.default_rng(seed), rate_per_s=150_000, arrival="poisson",
           size_bytes=1000, pick_route=lambda: route, max_packets=n, stats=flow)
    env.run()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert flow.delivered + flow.dropped == n
    return {"wall_s": wall, "cpu_s": cpu, "hops": flow.hops_sum,
            "mean_latency_us": flow.histogram.mean * 1e6,
            "host_cpu_utilization": route.devices[4].cpu.utilization(env.now)}


def _add_jitter(route: Route, seed: int) -> None:
    """The default profile's jitter on the route's devices, one stream per kind."""
    profile = default_profile()
    draws: dict[str, Draws] = {}
    for d, s in zip(route.devices, np.random.SeedSequence(seed + 1).spawn(len(route)),
                    strict=True):
        spec = profile[d.kind].jitter
        if spec is not None and d.kind not in draws:
            rng = np.random.default_rng(s)
            draws[d.kind] = Draws(lambda m, spec=spec, rng=rng: spec.draw(rng, m), 4096)
        d.jitter = draws.get(d.kind)


def bench_engine_bridge_jitter(n: int, seed: int) -> dict:
    """(c') (c) with the default profile's jitter."""
    return bench_engine_bridge(n, seed, jitter=True)


SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "bridge-contention.yaml"


def bench_scenario_bridge(n: int, seed: int, jitter: bool = True) -> dict:
    """(d) The whole simulator on the bridge-mode scenario: placement, topology from the
    placed tasks, routing per mode, traffic and statistics, as ``ecsnetsim run`` does
    (the default profile, jitter included; ``jitter=False``: every kind at none)."""
    import ecsnetsim

    rate = 150_000
    off = [] if jitter else [f"calibration.{k}.jitter=none" for k in default_profile()]
    sc = ecsnetsim.load_scenario(SCENARIO, overrides=[
        "sweep={}", "compare={}", "warmup=0s", f"duration={n / rate}s",
        f"traffic[0].rate={rate}/s", *off])
    t0, c0 = time.perf_counter(), time.process_time()
    res = ecsnetsim.simulate(sc, seed=seed, workers=1)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    f = res.variants[0]["flows"][0]
    return {"wall_s": wall, "cpu_s": cpu, "hops": f["delivered"] * f["hops"]["mean"],
            "mean_latency_us": f["latency_us"]["mean"], "packets": f["sent"]}


def bench_scenario_bridge_constant(n: int, seed: int) -> dict:
    """(d') (d) with every kind's jitter none."""
    return bench_scenario_bridge(n, seed, jitter=False)


WORKLOADS = {
    "simpy_store": bench_simpy_store,
    "engine_tandem": bench_engine_tandem,
    "engine_bridge": bench_engine_bridge,
    "scenario_bridge": bench_scenario_bridge,
}
#: --jitter: (constant, with jitter) pairs.
JITTER_PAIRS = {
    "engine_bridge": (bench_engine_bridge, bench_engine_bridge_jitter),
    "scenario_bridge": (bench_scenario_bridge_constant, bench_scenario_bridge),
}
ALL_WORKLOADS = {**WORKLOADS, "engine_bridge_jitter": bench_engine_bridge_jitter,
                 "scenario_bridge_constant": bench_scenario_bridge_constant}


def jitter_cost(packets: int, repeat: int, seed: int) -> dict:
    """CPU per packet-hop with jitter against constant delays, the pair alternating."""
    out = {"bench": "ecsnetsim_jitter_cost", "packets": packets, "repeat": repeat,
           "python": platform.python_version(), "compiled": _compiled(), "pairs": {}}
    print(f"{'workload':<16} {'constant us/hop':>15} {'jitter us/hop':>13} {'ratio':>7} "
          f"{'ratio range':>13}")
    for name, (plain, jittered) in JITTER_PAIRS.items():
        a, b, ratios = [], [], []
        for r in range(repeat):
            gc.collect()
            x = plain(packets, seed + r)
            gc.collect()
            y = jittered(packets, seed + r)
            a.append(x["cpu_s"] / x["hops"] * 1e6)
            b.append(y["cpu_s"] / y["hops"] * 1e6)
            ratios.append(b[-1] / a[-1])
        entry = {"constant_cpu_us_per_hop": round(statistics.median(a), 4),
                 "jitter_cpu_us_per_hop": round(statistics.median(b), 4),
                 "ratio_median": round(statistics.median(ratios), 3),
                 "ratio_range": [round(min(ratios), 3), round(max(ratios), 3)]}
        out["pairs"][name] = entry
        print(f"{name:<16} {entry['constant_cpu_us_per_hop']:>15.3f} "
              f"{entry['jitter_cpu_us_per_hop']:>13.3f} {entry['ratio_median']:>6.3f}x "
              f"{entry['ratio_range'][0]:>6.3f}-{entry['ratio_range'][1]:.3f}")
    sys.stdout.write(json.dumps(out) + "\n")
    return out


def _compiled() -> bool:
    from ecsnetsim.net.engine import COMPILED

    return COMPILED


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packets", type=int, default=200_000, help="packets per workload")
    ap.add_argument("--repeat", type=int, default=3, help="rounds; the median is reported")
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--jitter", action="store_true",
                    help="CPU per packet-hop with jitter against constant delays")
    ap.add_argument("--only", choices=sorted(ALL_WORKLOADS),
                    help="run one workload once (for timing whole processes)")
    args = ap.parse_args(argv)
    if args.packets < 1 or args.repeat < 1:
        ap.error("--packets and --repeat must be >= 1")
    if args.only:
        r = ALL_WORKLOADS[args.only](args.packets, args.seed)
        print(json.dumps({"workload": args.only, **{k: round(v, 6) for k, v in r.items()}}))
        return 0
    if args.jitter:
        jitter_cost(args.packets, args.repeat, args.seed)
        return 0

    runs: dict[str, list[dict]] = {name: [] for name in WORKLOADS}
    for r in range(args.repeat):
        for name, fn in WORKLOADS.items():
            gc.collect()
            runs[name].append(fn(args.packets, args.seed + r))

    result: dict = {"bench": "ecsnetsim_packet_engine", "packets": args.packets,
                    "repeat": args.repeat, "python": platform.python_version(),
                    "simpy": simpy.__version__, "cpus": os.cpu_count(), "workloads": {}}
    rows = []
    for name, rs in runs.items():
        rates = [x["hops"] / x["wall_s"] for x in rs]
        med = statistics.median(rates)
        entry = {
            "wall_s_median": round(statistics.median(x["wall_s"] for x in rs), 4),
            "hops_per_packet": rs[0]["hops"] / rs[0].get("packets", args.packets),
            "packet_hops_per_s_median": round(med),
            "packet_hops_per_s_range": [round(min(rates)), round(max(rates))],
            "us_per_hop": round(1e6 / med, 3),
        }
        for key in ("mean_sojourn", "mean_latency_us", "host_cpu_utilization"):
            if key in rs[0]:
                entry[key] = round(statistics.median(x[key] for x in rs), 4)
        result["workloads"][name] = entry
        rows.append((name, entry))
    base = result["workloads"]["simpy_store"]["packet_hops_per_s_median"]
    for name in ("engine_tandem", "engine_bridge", "scenario_bridge"):
        w = result["workloads"][name]
        w["ratio_vs_simpy_store"] = round(w["packet_hops_per_s_median"] / base, 2)
    result["theory_tandem_sojourn"] = round(THEORY_TANDEM_SOJOURN, 4)

    print(f"{'workload':<15} {'hops/pkt':>8} {'wall s':>8} {'hops/s':>11} "
          f"{'us/hop':>7} {'vs simpy':>8}")
    for name, e in rows:
        ratio = e.get("ratio_vs_simpy_store", 1.0)
        print(f"{name:<15} {e['hops_per_packet']:>8.0f} {e['wall_s_median']:>8.3f} "
              f"{e['packet_hops_per_s_median']:>11,} {e['us_per_hop']:>7.3f} {ratio:>7.2f}x")
    ms = result["workloads"]
    print(f"tandem mean sojourn: simpy {ms['simpy_store']['mean_sojourn']:.3f}, "
          f"engine {ms['engine_tandem']['mean_sojourn']:.3f}, "
          f"theory {THEORY_TANDEM_SOJOURN:.3f}")
    sys.stdout.write(json.dumps(result) + "\n")
    return 0 if math.isfinite(base) else 1


if __name__ == "__main__":
    raise SystemExit(main())
