"""The placement index is made once per kind of task, not once per task.

The index gives the same answer as the full scan whether it is kept or made anew for
each task, so the equivalence tests cannot see an index rebuilt per task; only the time
grows (quadratically). These tests count the indexes made while a service places its
tasks, for every shape a user can write, in whichever build is installed (compiled in
CI: a module constant read there is a new tuple each time).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import simpy

from ecsnetsim.control.scheduler import Cluster
from ecsnetsim.scenario import load_scenario

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import bench_shapes  # noqa: E402  (the shapes the complexity benchmark places)

TASKS = 120


def _placed(shape: str) -> tuple[Cluster, simpy.Environment]:
    env = simpy.Environment()
    cluster = Cluster(load_scenario(bench_shapes.scenario(shape, TASKS)), env,
                      np.random.default_rng(1))
    env.run(until=cluster.steady)
    return cluster, env


def _built(cluster: Cluster) -> int:
    """Indexes made, by EC2 placement and by each Auto Scaling group capacity provider."""
    providers = cluster.providers.placements.values() if cluster.providers else ()
    return cluster.controller.capacity["EC2"].indexes_built + sum(
        getattr(p, "indexes_built", 0) for p in providers)


def _group_providers(cluster: Cluster) -> int:
    return sum(1 for cp in cluster.scenario.cluster.capacity_providers if cp.groups) \
        if cluster.providers else 0


#: Shapes placed on instances through the placement index (Fargate runs a micro-VM per
#: task: no instance to choose).
PLACEMENT_SHAPES = [s for s in bench_shapes.SHAPES
                    if s not in ("deployment", "scale-in", "fargate-spot",
                                 "capacity-providers-short")]


@pytest.mark.parametrize("shape", PLACEMENT_SHAPES)
def test_one_index_per_service_whatever_the_shape(shape):
    cluster, _ = _placed(shape)
    assert sum(len(s.running) for s in cluster.services) >= TASKS
    # one index per service (per service and capacity provider with a strategy); a
    # daemon service places through the full scan of its own instance, so it makes none
    assert 1 <= _built(cluster) <= len(cluster.services) * max(1, _group_providers(cluster))


def test_a_deployment_makes_one_index_for_the_new_revision():
    cluster, env = _placed("deployment")
    before = _built(cluster)
    svc = cluster.services[0]
    env.run(until=float(bench_shapes.scenario("deployment", TASKS)["events"][0]["at"][:-1]))
    while env.peek() != float("inf") and not (svc.deployments and svc.deployment is None):
        env.step()
    assert svc.deployments[-1].status == "COMPLETED"
    assert _built(cluster) == before + 1


def test_default_strategy_equal_rules_read_anew_reuse_the_index():
    """Rules are compared by value: an equal tuple read anew is the same kind of task."""
    from ecsnetsim.control.placement import DEFAULT_SERVICE_STRATEGY

    cluster, _ = _placed("default")
    index = cluster.controller.capacity["EC2"]._last
    svc = cluster.services[0]
    assert index.places(svc.task_spec, index.mode, tuple(DEFAULT_SERVICE_STRATEGY),
                        list(svc.spec.placement_constraints))
    assert not index.places(svc.task_spec, index.mode, (), svc.spec.placement_constraints)
