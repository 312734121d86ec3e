"""How the control plane's time grows with the cluster: placement and rolling deployments.

Two workloads, each on c5.xlarge instances (4 vCPUs, 20 trunk branch ENIs) split over
two AZs, one /16 subnet per AZ:

* ``placement``: N tasks on N/10 instances, half of them in an awsvpc service with
  trunking (spread over AZs, then over instances) and half in a bridge service with one
  dynamic host port (binpack on memory); timed from building the cluster until every
  task is RUNNING (the scheduler launches 250 tasks per service per simulated minute, so
  this is many reconcile passes, not one batch).
* ``deployment``: one awsvpc service of N tasks (N/10 instances, room for twice as
  many) placed, then rolled to a new revision (minimum healthy 100 %, maximum 200 %);
  timed from the deploy event until the deployment completes.
* ``daemon``: ``placement`` with a daemon service (host mode, one task on each of the
  N/10 instances) beside the two services; a daemon service is reconciled whenever
  anything in the cluster changes, so this shows what a pass costs as the cluster grows.

Each size runs in a fresh interpreter, so one size's garbage does not slow the next.
Prints a line per run and one JSON line with every figure.

``--against DIR`` runs each size also on another checkout of the project (its source
tree, put first on ``PYTHONPATH``; ``--against source``: this checkout with its control
plane run from source rather than compiled), the two in turn ``--repeat`` times, and prints the
ratio pair by pair: this machine's speed drifts by up to 1.7x within an hour, so a
change is measured against the version before it side by side, not against an old
table.

Usage::

    python benchmarks/bench_control.py placement --tasks 1000 10000 100000
    python benchmarks/bench_control.py deployment --tasks 1000 10000
    python benchmarks/bench_control.py placement --tasks 10000 100000 --repeat 3 \
        --against ../previous-checkout
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

TASK_CPU, TASK_MEMORY = 256, 512


def scenario(kind: str, tasks: int) -> dict:
    """The scenario of one run: ``tasks`` tasks on ``tasks // 10`` instances."""
    instances = max(2, tasks // 10)
    half = instances // 2
    subnets = [{"name": "a", "cidr": "10.0.0.0/16", "az": "us-east-1a"},
               {"name": "b", "cidr": "10.1.0.0/16", "az": "us-east-1b"}]
    groups = [{"name": "hosts-a", "type": "c5.xlarge", "count": half, "subnet": "a"},
              {"name": "hosts-b", "type": "c5.xlarge", "count": instances - half,
               "subnet": "b"}]
    web = {"name": "web", "network_mode": "awsvpc", "cpu": TASK_CPU, "memory": TASK_MEMORY,
           "placement_strategy": [{"type": "spread", "field": "attribute:ecs.availability-zone"},
                                  {"type": "spread", "field": "instanceId"}],
           "containers": [{"name": "app", "port_mappings": [{"container_port": 80}]}]}
    doc = {"version": 1, "name": f"bench-{kind}-{tasks}", "seed": 1, "duration": 0,
           "steady_horizon": "720h", "account": {"awsvpc_trunking": True},
           "vpc": {"subnets": subnets}, "cluster": {"instance_groups": groups}}
    if kind in ("placement", "daemon"):
        api = {"name": "api", "network_mode": "bridge", "cpu": TASK_CPU,
               "memory": TASK_MEMORY,
               "placement_strategy": [{"type": "binpack", "field": "memory"}],
               "containers": [{"name": "app", "port_mappings": [{"container_port": 8080}]}]}
        doc["services"] = [{**web, "desired_count": tasks - tasks // 2},
                           {**api, "desired_count": tasks // 2}]
        if kind == "daemon":
            doc["services"].insert(0, {
                "name": "agent", "scheduling": "daemon", "network_mode": "host",
                "cpu": 64, "memory": 64,
                "containers": [{"name": "a", "port_mappings": [{"container_port": 9100}]}]})
    else:
        doc["services"] = [{**web, "desired_count": tasks,
                            "deployment": {"minimum_healthy_percent": 100,
                                           "maximum_percent": 200}}]
        at = f"{(tasks // 250 + 10) * 60}s"  # after the first placement settled
        doc["events"] = [{"at": at, "deploy": "web", "set": {"cpu": TASK_CPU + 1}}]
    return doc


def run_once(kind: str, tasks: int) -> dict:
    """One run in this process: build, place (and deploy), return the figures. The cyclic
    collector is paused as :func:`ecsnetsim.simulate.run_variant` pauses it
    (``--collector`` keeps it running, to show what that costs)."""
    from ecsnetsim import collector  # noqa: PLC0415

    if COLLECTOR_ON:
        return _run_once(kind, tasks)
    with collector.paused():
        return _run_once(kind, tasks)


#: Keep the cyclic collector running during the timed run (``--collector``).
COLLECTOR_ON = False


def _run_once(kind: str, tasks: int) -> dict:
    import numpy as np  # noqa: PLC0415
    import simpy  # noqa: PLC0415

    from ecsnetsim.control.scheduler import Cluster  # noqa: PLC0415
    from ecsnetsim.scenario import load_scenario  # noqa: PLC0415

    sc = load_scenario(scenario(kind, tasks))
    t0 = time.perf_counter()
    env = simpy.Environment()
    cluster = Cluster(sc, env, np.random.default_rng(1))
    if kind in ("placement", "daemon"):
        env.run(until=cluster.steady)
        wall = time.perf_counter() - t0
        placed = sum(len(s.running) for s in cluster.services)
        return {"kind": kind, "tasks": tasks, "instances": len(cluster.instances),
                "placed": placed, "wall_s": round(wall, 3), "sim_s": env.now,
                "source": _source()}
    env.run(until=cluster.steady)
    t1 = time.perf_counter()
    svc = cluster.services[0]
    while not svc.deployments or svc.deployment is not None:
        if not env._queue:  # noqa: SLF001 (nothing left to happen)
            break
        env.step()
    wall = time.perf_counter() - t1
    dep = svc.deployments[-1] if svc.deployments else None
    return {"kind": kind, "tasks": tasks, "instances": len(cluster.instances),
            "placement_wall_s": round(t1 - t0, 3), "wall_s": round(wall, 3),
            "status": dep.status if dep else None, "waves": dep.waves if dep else None,
            "sim_s": env.now, "source": _source()}


def _source() -> str:
    """The source tree the run imported the simulator from, and whether its control plane
    ran compiled (see :mod:`ecsnetsim.compiled`; older versions have no compiled one)."""
    import ecsnetsim  # noqa: PLC0415

    try:
        from ecsnetsim.compiled import COMPILED  # noqa: PLC0415
    except ImportError:
        COMPILED = False  # noqa: N806
    tree = str(Path(ecsnetsim.__file__).resolve().parent.parent)
    return f"{tree} ({'compiled' if COMPILED else 'from source'})"


def _one(kind: str, tasks: int, collector_on: bool, tree: str | None = None) -> dict:
    """One run in a fresh interpreter (on the source tree ``tree``, if given; ``source``:
    this checkout with its control plane run from source, not compiled)."""
    env = dict(os.environ)
    if tree == "source":
        env["ECSNETSIM_PURE_PYTHON"] = "1"
        tree = None
    elif tree is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(Path(tree).resolve()),
                                             env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), kind, "--one",
                          "--tasks", str(tasks), *(["--collector"] if collector_on else [])],
                         capture_output=True, text=True, check=True, env=env,
                         cwd=tree or None)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("kind", choices=("placement", "deployment", "daemon"))
    ap.add_argument("--tasks", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--collector", action="store_true",
                    help="keep Python's cyclic garbage collector running (the simulator "
                         "pauses it during a run)")
    ap.add_argument("--against", metavar="DIR",
                    help="another checkout of the project to run side by side, in turn "
                         "('source': this one with its control plane run from source)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per size (default 1)")
    args = ap.parse_args()
    global COLLECTOR_ON
    COLLECTOR_ON = args.collector
    if args.one:
        print(json.dumps(run_once(args.kind, args.tasks[0])))
        return
    rows = []
    for n in args.tasks:
        for _ in range(args.repeat):
            row = _one(args.kind, n, args.collector)
            line = (f"{args.kind} {n:>7} tasks on {row['instances']:>6} instances: "
                    f"{row['wall_s']:8.2f} s wall")
            if args.against:
                other = _one(args.kind, n, args.collector, args.against)
                if other["source"] == row["source"]:
                    sys.exit(f"--against {args.against}: the run imported the simulator "
                             f"from {other['source']}, as this one does")
                row["against_wall_s"] = other["wall_s"]
                row["ratio"] = round(row["wall_s"] / other["wall_s"], 3)
                line += f", {other['wall_s']:8.2f} s against, ratio {row['ratio']:.3f}"
            rows.append(row)
            print(line, flush=True)
    if args.against:
        for n in args.tasks:
            ratios = sorted(r["ratio"] for r in rows if r["tasks"] == n)
            print(f"{n:>7} tasks: ratio median {statistics.median(ratios):.3f} "
                  f"(range {ratios[0]:.3f}-{ratios[-1]:.3f}, {len(ratios)} pairs)")
    print(json.dumps({"python": platform.python_version(), "rows": rows}))


if __name__ == "__main__":
    main()
