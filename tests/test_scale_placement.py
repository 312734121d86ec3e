"""The indexed control plane against the straightforward one, on random clusters.

The placement indexes must choose exactly what the full scan over every instance chooses
(same random draws), and say the same "why not" when no instance takes a task; the task
tallies must give the same counts as scanning the task lists. Random clusters (mixed
types and AZs), services (bridge static and dynamic ports, awsvpc, host; every strategy,
both constraints) and events (deploy, scale, drain, terminate) run twice, once through
the indexes and once through the full scan, and everything they did is compared.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import simpy

from ecsnetsim.control.daemonwatch import DaemonCandidates
from ecsnetsim.control.scheduler import Cluster
from ecsnetsim.model.instance import Task
from ecsnetsim.model.states import TaskState
from ecsnetsim.scenario import load_scenario

TYPES = ["c5.large", "c5.xlarge", "m5.large", "t3.medium"]
STRATEGIES = [
    [{"type": "spread", "field": "attribute:ecs.availability-zone"}],
    [{"type": "spread", "field": "instanceId"}],
    [{"type": "binpack", "field": "memory"}],
    [{"type": "binpack", "field": "cpu"}, {"type": "spread", "field": "instanceId"}],
    [{"type": "spread", "field": "attribute:ecs.availability-zone"},
     {"type": "binpack", "field": "memory"}],
    [{"type": "random"}],
    [{"type": "binpack", "field": "memory"},
     {"type": "spread", "field": "attribute:ecs.instance-type"}, {"type": "random"}],
]


def random_scenario(seed: int) -> dict:
    """A cluster, services and events drawn from ``seed``."""
    r = random.Random(seed)
    azs = ["us-east-1a", "us-east-1b", "us-east-1c"][:r.randint(1, 3)]
    subnets = [{"name": f"s{i}", "cidr": f"10.{i}.0.0/22", "az": az}
               for i, az in enumerate(azs)]
    groups = [{"name": f"g{i}", "type": r.choice(TYPES), "count": r.randint(1, 6),
               "subnet": r.choice(subnets)["name"]} for i in range(r.randint(1, 4))]
    services = []
    for i in range(r.randint(1, 3)):
        mode = r.choice(["bridge", "bridge", "awsvpc", "host"])
        port = {"container_port": 8000 + i}
        if mode == "bridge" and r.random() < 0.4:
            port["host_port"] = 9000 + i
        svc = {"name": f"svc{i}", "network_mode": mode, "desired_count": r.randint(1, 30),
               "cpu": r.choice([128, 256, 512, 1024]), "memory": r.choice([256, 512, 1024]),
               "placement_strategy": r.choice(STRATEGIES),
               "containers": [{"name": "app", "port_mappings": [port]}]}
        c = r.random()
        if c < 0.2:
            svc["placement_constraints"] = [{"type": "distinctInstance"}]
        elif c < 0.35:
            svc["placement_constraints"] = [{
                "type": "memberOf",
                "expression": f"attribute:ecs.instance-type != {r.choice(TYPES)}"}]
        services.append(svc)
    events = []
    for _k in range(r.randint(0, 4)):
        at = f"{r.randint(1, 40) * 15}s"
        kind = r.choice(["deploy", "scale", "drain", "terminate"])
        if kind == "deploy":
            events.append({"at": at, "deploy": r.choice(services)["name"],
                           "set": {"cpu": r.choice([128, 256, 512])}})
        elif kind == "scale":
            events.append({"at": at, "scale": r.choice(services)["name"],
                           "desired_count": r.randint(0, 40)})
        else:
            events.append({"at": at, kind: {"group": r.choice(groups)["name"], "count": 1}})
    return {"version": 1, "name": f"oracle-{seed}", "seed": seed, "duration": 0,
            "steady_horizon": "20min", "account": {"awsvpc_trunking": r.random() < 0.5},
            "vpc": {"subnets": subnets}, "cluster": {"instance_groups": groups},
            "services": services, "events": events}


def scanned_counts(svc) -> dict:
    """The tally's answers, recomputed by scanning the service's tasks."""
    live = [t for t in svc.tasks if t.instance is not None and t.state != TaskState.STOPPED]
    nd = [t for t in live if not t.draining]
    current = [t for t in nd if t.revision == svc.revision and t.instance.status == "ACTIVE"]
    healthy = [t for t in svc.tasks if t.healthy and t.state == TaskState.RUNNING]
    return {"live": live, "current": len(current), "old": len(nd) - len(current),
            "healthy": len(healthy)}


def run(doc: dict, indexed: bool, check_tally: bool = False):
    """Run the scenario's control plane; return everything it did, comparably."""
    sc = load_scenario(doc)
    env = simpy.Environment()
    cluster = Cluster(sc, env, np.random.default_rng(sc.seed))
    if not indexed:
        cluster.controller.capacity["EC2"].changes = None  # the full scan, every time
    while env._queue and env.now < 30 * 60:  # noqa: SLF001
        env.step()
        if check_tally:
            for svc in cluster.services:
                want = scanned_counts(svc)
                assert list(svc.tally.live) == want["live"]
                assert svc.tally.current() == want["current"]
                assert svc.tally.old() == want["old"]
                assert svc.tally.healthy() == want["healthy"]
            for inst in cluster.instances:
                counts = {}
                for t in inst.running_tasks:
                    counts[t.group] = counts.get(t.group, 0) + 1
                assert {g: n for g, n in inst.group_counts.items() if n} == counts
    out = {"events": [e.as_dict() for e in cluster.events], "timeline": cluster.timeline}
    for svc in cluster.services:
        out[svc.name] = [(t.id, t.instance.id if t.instance else None, str(t.state),
                          t.stopped_reason) for t in svc.tasks]
        out[svc.name + "/waiting"] = [(t.id, t.last_failure, t.why_not, str(t.closest))
                                      for t in svc.waiting]
    return out


@pytest.mark.parametrize("seed", range(40))
def test_indexed_placement_chooses_as_the_full_scan(seed):
    doc = random_scenario(seed)
    assert run(doc, indexed=True) == run(doc, indexed=False)


@pytest.mark.parametrize("seed", range(6))
def test_tallies_match_a_scan_at_every_step(seed):
    run(random_scenario(1000 + seed), indexed=True, check_tally=True)


def test_tasks_compare_by_identity():
    a = Task(id="t", service="s", group="service:s", mode="bridge", cpu=1, memory=1)
    b = Task(id="t", service="s", group="service:s", mode="bridge", cpu=1, memory=1)
    assert a != b and a == a and len({a, b}) == 2


def test_a_run_pauses_the_cyclic_collector_and_gives_it_back(monkeypatch):
    """The collector's passes grew with the model (ecsnetsim.collector): a variant runs
    with it paused, and the caller's setting is back afterwards, also after an error."""
    import gc

    from conftest import SCENARIOS

    import ecsnetsim

    seen = []
    finish = Cluster.finish

    def spy(self):
        seen.append(gc.isenabled())
        return finish(self)

    monkeypatch.setattr(Cluster, "finish", spy)
    sc = ecsnetsim.load_scenario(SCENARIOS / "binpack-vs-spread.yaml")
    assert gc.isenabled()
    ecsnetsim.simulate(sc, workers=1)
    assert seen and not any(seen) and gc.isenabled()

    def boom(self):
        raise RuntimeError("stop")

    monkeypatch.setattr(Cluster, "finish", boom)
    with pytest.raises(RuntimeError):
        ecsnetsim.simulate(sc, workers=1)
    assert gc.isenabled()


def random_daemon_scenario(seed: int) -> dict:
    """A random scenario (see :func:`random_scenario`) with a daemon service added, that
    some instances cannot take (a constraint, or too little room), deployed, and with
    instances drained, terminated and scaled out beside it."""
    r = random.Random(seed)
    doc = random_scenario(seed)
    daemon = {"name": "agent", "scheduling": "daemon",
              "network_mode": r.choice(["host", "bridge", "awsvpc"]),
              "cpu": r.choice([64, 512, 2048]), "memory": r.choice([64, 1024, 3072]),
              "containers": [{"name": "a", "port_mappings": [{"container_port": 9100}]}]}
    if r.random() < 0.4:
        daemon["placement_constraints"] = [{
            "type": "memberOf",
            "expression": f"attribute:ecs.instance-type != {r.choice(TYPES)}"}]
    doc["services"].insert(r.randint(0, len(doc["services"])), daemon)
    doc["events"] += [{"at": f"{r.randint(1, 40) * 15}s", "deploy": "agent",
                       "set": {"cpu": r.choice([64, 128])}} for _ in range(r.randint(0, 2))]
    return doc


def run_recorded(doc: dict, prepare=None) -> dict:
    """Run the scenario's control plane for 30 minutes (``prepare(cluster)`` first);
    return everything it did, comparably: events, timeline, deployments, and per service
    its tasks' fates, desired count and steady time."""
    sc = load_scenario(doc)
    env = simpy.Environment()
    cluster = Cluster(sc, env, np.random.default_rng(sc.seed))
    if prepare is not None:
        prepare(cluster)
    while env._queue and env.now < 30 * 60:  # noqa: SLF001
        env.step()
    out = {"events": [e.as_dict() for e in cluster.events], "timeline": cluster.timeline,
           "deployments": [(svc.name, [d.row() for d in svc.deployments])
                           for svc in cluster.services]}
    for svc in cluster.services:
        out[svc.name] = [(t.id, t.instance.id if t.instance else None, str(t.state),
                          t.stopped_reason, t.revision, t.healthy_at) for t in svc.tasks]
        out[svc.name + "/desired"] = (svc.desired, svc.steady_at)
    return out


def run_daemon(doc: dict, watched: bool) -> dict:
    """``watched=False`` makes every daemon pass look at every instance (the oracle)."""
    def full_passes(cluster):
        for svc in cluster.services:
            svc.daemon_watch = DaemonCandidates(cluster.instances, None)
    return run_recorded(doc, None if watched else full_passes)


@pytest.mark.parametrize("seed", range(40))
def test_daemon_passes_over_changed_instances_do_what_full_passes_do(seed):
    doc = random_daemon_scenario(seed)
    assert run_daemon(doc, watched=True) == run_daemon(doc, watched=False)


def _daemon_doc(name: str, instances: int, cidr: str, mode: str) -> dict:
    return {"version": 1, "name": name, "seed": 1, "duration": 0, "steady_horizon": "20min",
            "vpc": {"subnets": [{"name": "s", "cidr": cidr, "az": "us-east-1a"}]},
            "cluster": {"instance_groups": [{"name": "g", "type": "c5.large",
                                             "count": instances, "subnet": "s"}]},
            "services": [{"name": "agent", "scheduling": "daemon", "network_mode": mode,
                          "cpu": 64, "memory": 64, "containers": [
                              {"name": "a", "port_mappings": [{"container_port": 9100}]}]}],
            "events": [{"at": "8min", "deploy": "agent", "set": {"cpu": 128}}]}


def test_daemon_starts_held_by_the_launch_rate_are_tried_again_as_full_passes_do():
    """300 instances, 250 launches a minute: 50 starts wait for the next minute."""
    watched = run_daemon(_daemon_doc("throttled", 300, "10.0.0.0/20", "host"), watched=True)
    assert watched == run_daemon(_daemon_doc("throttled", 300, "10.0.0.0/20", "host"),
                                 watched=False)
    assert watched["agent/desired"][0] == 300
    assert sum(1 for t in watched["agent"] if t[2] == "RUNNING" and t[4] == 2) == 300


def test_daemon_starts_that_fail_are_tried_again_as_full_passes_do():
    """Task ENIs in a /28 run out of addresses: starts fail and the service backs off."""
    doc = _daemon_doc("backing-off", 6, "10.0.0.0/28", "awsvpc")
    watched = run_daemon(doc, watched=True)
    assert watched == run_daemon(doc, watched=False)
    assert any("InsufficientFreeAddresses" in (t[3] or "") for t in watched["agent"])


def random_balanced_scenario(seed: int) -> dict:
    """A random scenario (see :func:`random_scenario`) whose services mostly sit behind
    load-balancer health checks (and drain when stopped), plus a daemon service."""
    r = random.Random(seed)
    doc = random_daemon_scenario(seed)
    for svc in doc["services"]:
        if r.random() < 0.7:
            svc["health_check"] = {"interval": f"{r.choice([5, 10, 30])}s",
                                   "healthy_threshold": r.randint(2, 5)}
            svc["deregistration_delay"] = f"{r.choice([0, 5, 30])}s"
    return doc


def run_coalesced(doc: dict, coalesce: bool) -> dict:
    """Tasks turned healthy told once per run of them (``coalesce``) or after each one
    (the oracle)."""
    def tell(cluster):
        cluster.lifecycle.coalesce = coalesce
    return run_recorded(doc, tell)


@pytest.mark.parametrize("seed", range(40))
def test_tasks_turned_healthy_told_once_per_run_as_after_each(seed):
    doc = random_balanced_scenario(seed)
    assert run_coalesced(doc, coalesce=True) == run_coalesced(doc, coalesce=False)
