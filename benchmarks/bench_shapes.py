"""Growth of the control plane's time with the cluster, for every placement shape.

A control-plane step that looks at every task or instance per event is a defect at 10k
tasks even when the answer is right, and the tests that compare the placement index with
the full scan cannot see it (both give the same answer). So this script places ``N``
tasks for each shape a user can write (each strategy, each constraint, combinations, and
no strategy at all: the default most services use), at two sizes, in both builds
(compiled, and from source with ``ECSNETSIM_PURE_PYTHON=1``), and reports the growth
exponent ``log(t2 / t1) / log(n2 / n1)``: 1 is linear, 2 quadratic. It also times a
rolling deployment, a daemon service's passes, and a scale-in, the other control-plane
paths.

Each run is a fresh interpreter; the time is CPU time (``time.process_time``) from
building the cluster until every task is RUNNING (placement shapes), or from the event
until the service is steady again (deployment, scale-in). Instances are c5.xlarge
(4 vCPUs, 20 trunk branches) split over two AZs; tasks take 256 CPU units and 512 MiB, so
an instance holds 16; there are ``N / 10`` instances, and ``N`` for ``distinctInstance``.
``memberOf`` keeps the tasks in one AZ, whose instances hold them all.

Usage::

    python benchmarks/bench_shapes.py                         # every shape, 2k and 20k
    python benchmarks/bench_shapes.py --tasks 1000 4000 --shapes default memberOf
    python benchmarks/bench_shapes.py --against ../before     # another checkout beside

Prints a line per shape and build, and one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

TASK_CPU, TASK_MEMORY = 256, 512
AZ = "attribute:ecs.availability-zone"

#: shape -> (placement_strategy, placement_constraints, network mode, instances per task)
SHAPES: dict[str, tuple[list, list, str, float]] = {
    "default": ([], [], "awsvpc", 0.1),
    "binpack-cpu": ([{"type": "binpack", "field": "cpu"}], [], "awsvpc", 0.1),
    "binpack-memory": ([{"type": "binpack", "field": "memory"}], [], "bridge", 0.1),
    "spread-az": ([{"type": "spread", "field": AZ}], [], "awsvpc", 0.1),
    "spread-instanceId": ([{"type": "spread", "field": "instanceId"}], [], "bridge", 0.1),
    "spread-instance-type": ([{"type": "spread", "field": "attribute:ecs.instance-type"}],
                             [], "awsvpc", 0.1),
    "random": ([{"type": "random"}], [], "awsvpc", 0.1),
    "memberOf": ([], [{"type": "memberOf",
                       "expression": "attribute:ecs.availability-zone == us-east-1a"}],
                 "awsvpc", 0.2),
    "distinctInstance": ([], [{"type": "distinctInstance"}], "host", 1.0),
    "spread-az+binpack-memory": ([{"type": "spread", "field": AZ},
                                  {"type": "binpack", "field": "memory"}], [], "awsvpc", 0.1),
    "memberOf+spread-instanceId": (
        [{"type": "spread", "field": "instanceId"}],
        [{"type": "memberOf", "expression": "attribute:ecs.availability-zone == us-east-1a"}],
        "bridge", 0.2),
    "distinctInstance+binpack-cpu": ([{"type": "binpack", "field": "cpu"}],
                                     [{"type": "distinctInstance"}], "bridge", 1.0),
    "capacity-providers": ([], [], "awsvpc", 0.1),
    "capacity-providers-short": ([], [], "awsvpc", 0.025),
    "fargate-spot": ([], [], "awsvpc", 0.0),
    "deployment": ([], [], "awsvpc", 0.1),
    "daemon": ([], [], "host", 0.1),
    "scale-in": ([], [], "awsvpc", 0.1),
}


def scenario(shape: str, tasks: int) -> dict:
    """The scenario of one run of ``shape`` with ``tasks`` tasks."""
    strategy, constraints, mode, per_task = SHAPES[shape]
    instances = max(2, math.ceil(tasks * per_task))
    half = instances // 2
    subnets = [{"name": "a", "cidr": "10.0.0.0/16", "az": "us-east-1a"},
               {"name": "b", "cidr": "10.1.0.0/16", "az": "us-east-1b"}]
    groups = [{"name": "hosts-a", "type": "c5.xlarge", "count": instances - half,
               "subnet": "a"},
              {"name": "hosts-b", "type": "c5.xlarge", "count": half, "subnet": "b"}]
    port = {"container_port": 80, "host_port": 80} if mode == "host" else \
        {"container_port": 80}
    svc = {"name": "web", "network_mode": mode, "cpu": TASK_CPU, "memory": TASK_MEMORY,
           "desired_count": tasks, "containers": [{"name": "app", "port_mappings": [port]}]}
    if strategy:
        svc["placement_strategy"] = strategy
    if constraints:
        svc["placement_constraints"] = constraints
    name = f"shape-{shape.replace('+', '_')}-{tasks}"
    doc = {"version": 1, "name": name, "seed": 1, "duration": 0, "steady_horizon": "720h",
           "account": {"awsvpc_trunking": True},
           "vpc": {"subnets": subnets}, "cluster": {"instance_groups": groups},
           "services": [svc]}
    settle = f"{(tasks // 250 + 10) * 60}s"  # after the first placement settled
    if shape.startswith("capacity-providers"):  # a provider per group: base 10, then 1:3
        # (-short: room for a quarter of the tasks, the rest wait for capacity)
        doc["cluster"]["capacity_providers"] = [
            {"name": "first", "instance_group": "hosts-a"},
            {"name": "second", "instance_group": "hosts-b"}]
        svc["capacity_provider_strategy"] = [
            {"capacity_provider": "first", "base": 10, "weight": 1},
            {"capacity_provider": "second", "weight": 3}]
    elif shape == "fargate-spot":  # no instances: FARGATE base 10, then 1:3 with Spot
        doc["cluster"] = {"instance_groups": [], "capacity_providers": ["FARGATE",
                                                                        "FARGATE_SPOT"]}
        svc["subnets"] = ["a", "b"]
        svc["capacity_provider_strategy"] = [
            {"capacity_provider": "FARGATE", "base": 10, "weight": 1},
            {"capacity_provider": "FARGATE_SPOT", "weight": 3}]
    if shape in ("deployment", "scale-in"):
        doc["duration"] = f"{(tasks // 250 + 70) * 60}s"  # the event falls within the run
    if shape == "deployment":
        svc["deployment"] = {"minimum_healthy_percent": 100, "maximum_percent": 200}
        doc["events"] = [{"at": settle, "deploy": "web", "set": {"cpu": TASK_CPU + 1}}]
    elif shape == "scale-in":
        doc["events"] = [{"at": settle, "scale": "web", "desired_count": tasks // 10}]
    elif shape == "daemon":
        svc.pop("desired_count")
        svc["scheduling"] = "daemon"
        svc["cpu"], svc["memory"] = 64, 64
        svc["network_mode"] = "awsvpc"
        doc["services"].append({"name": "api", "network_mode": "bridge", "cpu": TASK_CPU,
                                "memory": TASK_MEMORY, "desired_count": tasks,
                                "containers": [{"name": "app",
                                                "port_mappings": [{"container_port": 80}]}]})
    return doc


def run_once(shape: str, tasks: int) -> dict:
    """Build, place (and run the event), in this process; the figures of the run."""
    import numpy as np  # noqa: PLC0415
    import simpy  # noqa: PLC0415

    import ecsnetsim  # noqa: PLC0415
    from ecsnetsim import collector  # noqa: PLC0415
    from ecsnetsim.compiled import COMPILED  # noqa: PLC0415
    from ecsnetsim.control.scheduler import Cluster  # noqa: PLC0415
    from ecsnetsim.scenario import load_scenario  # noqa: PLC0415

    sc = load_scenario(scenario(shape, tasks))
    with collector.paused():
        t0 = time.process_time()
        env = simpy.Environment()
        cluster = Cluster(sc, env, np.random.default_rng(1))
        # (tasks that never find room: the run until 15 min, every retry included)
        env.run(until=900.0 if shape == "capacity-providers-short" else cluster.steady)
        placed_s = time.process_time() - t0
        event_s = None
        if shape in ("deployment", "scale-in"):
            at = float(scenario(shape, tasks)["events"][0]["at"].rstrip("s"))
            env.run(until=at)
            t1 = time.process_time()
            svc = cluster.services[0]
            while env.peek() != float("inf") and not _settled(shape, svc, tasks):
                env.step()
            event_s = time.process_time() - t1
    running = sum(len(s.running) for s in cluster.services)
    return {"shape": shape, "tasks": tasks, "instances": len(cluster.instances),
            "running": running, "cpu_s": round(event_s if event_s is not None else placed_s, 4),
            "compiled": COMPILED, "tree": str(Path(ecsnetsim.__file__).resolve().parent.parent)}


def _settled(shape: str, svc, tasks: int) -> bool:
    if shape == "deployment":
        return bool(svc.deployments) and svc.deployment is None
    return len(svc.running) <= tasks // 10


def _one(shape: str, tasks: int, pure: bool, tree: str | None) -> dict:
    env = dict(os.environ)
    if pure:
        env["ECSNETSIM_PURE_PYTHON"] = "1"
    script = Path(__file__).resolve()
    if tree is not None:
        env["PYTHONPATH"] = str(Path(tree).resolve())
    out = subprocess.run([sys.executable, str(script), "--one", shape, "--tasks", str(tasks)],
                         capture_output=True, text=True, env=env)
    if out.returncode:
        sys.exit(f"{shape} at {tasks} tasks failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def exponent(small: dict, large: dict) -> float:
    """Growth exponent between two runs: 1 linear, 2 quadratic."""
    t1, t2 = max(small["cpu_s"], 1e-4), max(large["cpu_s"], 1e-4)
    return math.log(t2 / t1) / math.log(large["tasks"] / small["tasks"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shapes", nargs="+", choices=list(SHAPES), default=list(SHAPES))
    ap.add_argument("--tasks", type=int, nargs="+", default=[2000, 20000],
                    help="two sizes (default 2000 20000)")
    ap.add_argument("--builds", nargs="+", choices=("compiled", "pure"),
                    default=["compiled", "pure"])
    ap.add_argument("--against", metavar="DIR", help="another checkout, run beside")
    ap.add_argument("--one", metavar="SHAPE", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_once(args.one, args.tasks[0])))
        return
    rows = []
    trees = [None] + ([args.against] if args.against else [])
    for shape in args.shapes:
        for build in args.builds:
            for tree in trees:
                small, large = (_one(shape, n, build == "pure", tree) for n in args.tasks)
                row = {"shape": shape, "build": build, "tree": large["tree"],
                       "compiled": large["compiled"], "small": small, "large": large,
                       "exponent": round(exponent(small, large), 2)}
                rows.append(row)
                print(f"{shape:>30} {build:>8} {'(against)' if tree else '':>9} "
                      f"{small['tasks']:>6}: {small['cpu_s']:7.3f} s  "
                      f"{large['tasks']:>6}: {large['cpu_s']:7.3f} s  "
                      f"exponent {row['exponent']:.2f}  "
                      f"(running {large['running']}, compiled {large['compiled']})",
                      flush=True)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
