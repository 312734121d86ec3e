"""Data-plane speed and memory of the whole simulator against bare SimPy and a hand-written
heapq DES, in one run, over a range of packet counts (a curve, not a point).

Workloads, each run in a fresh interpreter per packet count so that its peak memory is
its own:

``scenario_bridge``
    The whole simulator, as ``ecsnetsim run`` does it, on ``scenarios/bridge-contention.yaml``
    (bridge variant: 8 bridge tasks on one c5.large, a client sending Poisson 150k packets/s
    of 200 bytes; 9 devices a packet): loading, placement, topology, routing, the packet
    engine, the statistics. ``duration`` is set so that about ``N`` packets are sent.
``scenario_awsvpc``
    The same, with the service in awsvpc mode without ENI trunking (2 tasks, each on an
    ENI of its own; 5 devices a packet: client stack, instance ENI, VPC fabric, task ENI,
    task stack): the short path, where the per-packet costs (source, choice of the
    target, route lookup, delivery) weigh most against the hops.
``heapq_des``
    The reference floor for one Python event per hop: K=5 FIFO stations in tandem, Poisson
    arrivals (lambda=0.7), exponential service (mu=1.0), a heap of events and a deque per
    station, no simulation library (the anchor of ``reference/anchors.md`` section 3).
``simpy_store``
    The same tandem line in bare SimPy: a ``simpy.Store`` and one server process per
    station.

Reported per workload and packet count: wall and CPU seconds of the simulation (model
construction to the end of the run and its statistics; imports, and what the first load
of a scenario builds once per process, excluded; CPU is
``time.process_time``, which a loaded, shared machine disturbs much less than wall time),
packet-hops per second and per CPU second (packets delivered x devices crossed / seconds),
peak resident memory of the process, and bytes per packet (peak memory minus the memory
before the run, over the packets). The workloads alternate within each packet count and
each of ``--repeat`` rounds, so they see the same machine load; the summary gives, per
packet count, each workload's median and the simulator's ratio to each reference, median
over the rounds of the ratio within a round.

Which packet engine the simulator runs (compiled or pure Python) is in each
``scenario_bridge`` row (``compiled``); ``ECSNETSIM_PURE_PYTHON=1`` forces pure Python.

Usage::

    python benchmarks/bench_dataplane.py --packets 100000 1000000 --repeat 3
    python benchmarks/bench_dataplane.py --packets 10000000 --workloads scenario_bridge heapq_des
    python benchmarks/bench_dataplane.py --packets 1000000 --repeat 3 \
        --workloads scenario_awsvpc scenario_bridge heapq_des
"""

from __future__ import annotations

import argparse
import gc
import heapq
import json
import platform
import random
import resource
import statistics
import subprocess
import sys
import time
from collections import deque
from pathlib import Path

K, LAM, MU = 5, 0.7, 1.0
RATE = 150_000  # packets/s of the bridge scenario's client
SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "bridge-contention.yaml"


def _rss_bytes() -> int:
    """Current resident memory (Linux /proc), or 0 where it cannot be read."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize()
    except OSError:
        return 0


def _peak_rss_bytes() -> int:
    """Peak resident memory of this process (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run_heapq_des(n: int, seed: int) -> dict:
    """Tandem line on a plain heap of events (the anchor's algorithm, unchanged)."""
    rnd = random.Random(seed)
    expo = rnd.expovariate
    sojourn = [0.0] * n
    t_arr = [0.0] * n
    queues = [deque() for _ in range(K)]
    busy = [False] * K
    heap: list = []  # (time, seq, station, packet); station -1: an external arrival
    push, pop = heapq.heappush, heapq.heappop
    seq = 0
    push(heap, (expo(LAM), seq, -1, 0))
    while heap:
        now, _, k, i = pop(heap)
        if k == -1:
            t_arr[i] = now
            if i + 1 < n:
                seq += 1
                push(heap, (now + expo(LAM), seq, -1, i + 1))
            k_next = 0
        else:
            if queues[k]:
                seq += 1
                push(heap, (now + expo(MU), seq, k, queues[k].popleft()))
            else:
                busy[k] = False
            k_next = k + 1
            if k_next == K:
                sojourn[i] = now - t_arr[i]
                continue
        if busy[k_next]:
            queues[k_next].append(i)
        else:
            busy[k_next] = True
            seq += 1
            push(heap, (now + expo(MU), seq, k_next, i))
    return {"packets": n, "hops": n * K, "mean_latency": sum(sojourn) / n}


def run_simpy_store(n: int, seed: int) -> dict:
    """Tandem line in bare SimPy: Store + one server process per station. The same model as
    ``bench_engine.bench_simpy_store``, written out here so that this process imports
    neither numpy nor ecsnetsim: their memory would count against bare SimPy's peak."""
    import simpy

    rnd = random.Random(seed)
    expo = rnd.expovariate
    sojourn = [0.0] * n
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
    return {"packets": n, "hops": n * K, "mean_latency": sum(sojourn) / n}


AWSVPC = ["services[0].network_mode=awsvpc", "services[0].desired_count=2",
          "services[0].containers[0].port_mappings[0].host_port=8080",
          "account.awsvpc_trunking=false"]


def run_scenario_bridge(n: int, seed: int, more: tuple[str, ...] = ()) -> dict:
    """The whole simulator on the bridge scenario, about ``n`` packets."""
    import ecsnetsim

    sc = ecsnetsim.load_scenario(SCENARIO, overrides=[
        "sweep={}", "compare={}", "warmup=0", f"duration={n / RATE}",
        f"traffic[0].rate={RATE}/s", *more])
    from ecsnetsim.net.engine import COMPILED

    res = ecsnetsim.simulate(sc, seed=seed, workers=1)
    f = res.variants[0]["flows"][0]
    return {"packets": f["sent"], "hops": f["delivered"] * f["hops"]["mean"],
            "mean_latency": f["latency_us"]["mean"], "in_flight": f["in_flight"],
            "dropped": f["dropped"], "compiled": COMPILED}


def run_scenario_awsvpc(n: int, seed: int) -> dict:
    """The whole simulator on the scenario's 5-device awsvpc path, about ``n`` packets."""
    return run_scenario_bridge(n, seed, tuple(AWSVPC))


WORKLOADS = {"scenario_bridge": run_scenario_bridge, "scenario_awsvpc": run_scenario_awsvpc,
             "heapq_des": run_heapq_des, "simpy_store": run_simpy_store}


def one(workload: str, n: int, seed: int) -> dict:
    """Run one workload once in this process; the figures as a dict."""
    fn = WORKLOADS[workload]
    if workload.startswith("scenario_"):  # import the simulator before the clock starts
        import ecsnetsim
        import ecsnetsim.net.dataplane  # noqa: F401

        ecsnetsim.load_scenario(SCENARIO)  # and what a first load builds lazily (schemas)
    else:
        import simpy  # noqa: F401
    gc.collect()
    before = _rss_bytes()
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn(n, seed)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    peak = _peak_rss_bytes()
    return {"workload": workload, "n": n, "wall_s": round(wall, 4), "cpu_s": round(cpu, 4),
            "packet_hops_per_s": round(out["hops"] / wall),
            "packet_hops_per_cpu_s": round(out["hops"] / cpu),
            "packets_per_s": round(out["packets"] / wall),
            "peak_mib": round(peak / 2**20, 1),
            "bytes_per_packet": round(max(0, peak - before) / out["packets"], 2), **out}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packets", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--workloads", nargs="+", choices=list(WORKLOADS), default=list(WORKLOADS))
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--repeat", type=int, default=1,
                    help="rounds; the workloads alternate within each (medians reported)")
    ap.add_argument("--one", nargs=2, metavar=("WORKLOAD", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(one(args.one[0], int(args.one[1]), args.seed)))
        return 0
    rows = []
    for n in args.packets:
        for r in range(args.repeat):
            for w in args.workloads:
                proc = subprocess.run([sys.executable, __file__, "--one", w, str(n),
                                       "--seed", str(args.seed)],
                                      capture_output=True, text=True, check=True)
                row = {**json.loads(proc.stdout.strip().splitlines()[-1]), "round": r}
                rows.append(row)
                print(f"{w:<16} {n:>10,} packets {row['wall_s']:>8.2f} s "
                      f"{row['packet_hops_per_s']:>10,} hops/s {row['cpu_s']:>8.2f} cpu s "
                      f"{row['packet_hops_per_cpu_s']:>10,} hops/cpu s "
                      f"{row['peak_mib']:>7.1f} MiB {row['bytes_per_packet']:>7.2f} B/packet",
                      file=sys.stderr, flush=True)
    summary = []
    for n in args.packets:
        at = [r for r in rows if r["n"] == n]
        for w in args.workloads:
            mine = [r for r in at if r["workload"] == w]
            s = {"workload": w, "n": n, "rounds": len(mine)}
            for k in ("wall_s", "cpu_s", "packet_hops_per_s", "packet_hops_per_cpu_s",
                      "peak_mib"):
                s[k] = statistics.median(r[k] for r in mine)
            if w.startswith("scenario_"):
                for ref in ("heapq_des", "simpy_store"):
                    if ref not in args.workloads:
                        continue
                    for k, key in (("packet_hops_per_s", "wall"),
                                   ("packet_hops_per_cpu_s", "cpu")):
                        ratios = [a[k] / b[k] for a in mine for b in at
                                  if b["workload"] == ref and b["round"] == a["round"]]
                        s[f"{key}_ratio_vs_{ref}"] = round(statistics.median(ratios), 3)
                        s[f"{key}_ratio_vs_{ref}_range"] = [round(min(ratios), 3),
                                                             round(max(ratios), 3)]
            summary.append(s)
    print(json.dumps({"bench": "ecsnetsim_dataplane", "python": platform.python_version(),
                      "rows": rows, "summary": summary}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
