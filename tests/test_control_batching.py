"""The control plane's bookkeeping for scale, against the plain way of doing the same.

* :class:`~ecsnetsim.control.timers.Timers` runs callbacks due together from one simpy
  event: random programs (callbacks that schedule more callbacks, urgent and normal,
  start processes, set timeouts) must leave exactly the trace one event per callback
  leaves.
* :class:`~ecsnetsim.control.waiting.WaitingTasks` keeps waiting tasks as numbers: a
  service that cannot place 20,000 tasks makes a Task object only for the one it tries.
* Fargate's per-AZ count, kept by the micro-VMs, equals a count of the live tasks at
  every step, through scale-in and scale-out.
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import random
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import simpy
from conftest import make_scenario
from simpy.events import NORMAL, URGENT

from ecsnetsim.control import waiting as waiting_module
from ecsnetsim.control.scheduler import Cluster
from ecsnetsim.control.timers import Timers
from ecsnetsim.scenario import load_scenario


def _one_event_each(env: simpy.Environment):
    """The reference: one simpy event per callback."""
    def at(delay, callback, priority=NORMAL):
        event = simpy.Event(env)
        event.callbacks.append(lambda _event: callback())
        event._ok, event._value = True, None
        env.schedule(event, priority, delay)
    return at


def _trace(seed: int, batched: bool, simpy_internals: bool = True) -> tuple[list, int]:
    """Run a random program of callbacks; return what ran when, and the events used."""
    env = simpy.Environment()
    rng = random.Random(seed)
    trace = []
    timers = Timers(env)
    timers.batching = simpy_internals  # False: as with a simpy that hides its counter
    at = timers.call_at if batched else _one_event_each(env)

    def callback(name: str, depth: int):
        def run():
            trace.append((env.now, name))
            if depth >= 4:
                return
            for j in range(rng.choice([0, 1, 2, 3, 8])):
                kind, delay = rng.random(), rng.choice([0, 0, 0.5, 1])
                child = f"{name}.{j}"
                if kind < 0.6:
                    at(delay, callback(child, depth + 1), rng.choice([NORMAL, NORMAL, URGENT]))
                elif kind < 0.8:
                    env.process(process(child, depth + 1))
                else:
                    env.timeout(delay).callbacks.append(
                        lambda _e, child=child: trace.append((env.now, child + "/timeout")))
        return run

    def process(name: str, depth: int):
        trace.append((env.now, name + "/start"))
        if rng.random() < 0.5:
            at(0, callback(name + ".u", depth + 1), URGENT)
        yield env.timeout(rng.choice([0, 1]))
        trace.append((env.now, name + "/end"))

    for i in range(30):
        at(rng.choice([0, 0, 1, 2]), callback(f"a{i}", 0), rng.choice([NORMAL, URGENT]))
    env.run()
    return trace, timers.events


@pytest.mark.parametrize("seed", range(150))
def test_batched_callbacks_run_in_the_order_of_one_event_each(seed):
    batched, events = _trace(seed, batched=True)
    reference, _ = _trace(seed, batched=False)
    assert batched == reference
    assert len(batched) > 30


@pytest.mark.parametrize("seed", range(20))
def test_without_simpys_counter_every_callback_has_its_event(seed):
    trace, events = _trace(seed, batched=True, simpy_internals=False)
    assert trace == _trace(seed, batched=False)[0]
    assert events == sum(1 for _t, name in trace if "/" not in name)


def test_callbacks_scheduled_back_to_back_share_one_event():
    env = simpy.Environment()
    timers, ran = Timers(env), []
    for i in range(100):
        timers.call_at(2.0, lambda i=i: ran.append(i))
    env.timeout(2.0)  # scheduled between: the next callbacks need an event of their own
    for i in range(100, 150):
        timers.call_at(2.0, lambda i=i: ran.append(i))
    timers.call_at(3.0, lambda: ran.append("later"))
    env.run()
    assert ran == [*range(150), "later"] and timers.events == 3


def test_a_callback_due_now_as_urgent_runs_before_the_rest_of_a_normal_batch():
    env = simpy.Environment()
    timers, order = Timers(env), []

    def first():
        order.append("first")
        timers.call_at(0, lambda: order.append("urgent"), URGENT)
        env.process(_started(order))

    timers.call_at(1, first)
    timers.call_at(1, lambda: order.append("second"))
    timers.call_at(1, lambda: order.append("third"))
    env.run()
    assert order == ["first", "urgent", "process", "second", "third"]


def _started(order):
    order.append("process")
    yield from ()


@pytest.mark.parametrize("module", ["ecsnetsim.control.timers", "ecsnetsim.control.waiting",
                                    "ecsnetsim.control.draws",
                                    "ecsnetsim.control.placeindex", "ecsnetsim.collector"])
def test_docstring_examples(module):
    result = doctest.testmod(_from_source(module))
    assert result.attempted > 0 and result.failed == 0


def _from_source(name: str):
    """The module as its ``.py`` file runs it: compiled (mypyc), its functions keep no
    docstrings, so their examples are found in a copy loaded from the source."""
    package, _, leaf = name.rpartition(".")
    source = Path(importlib.import_module(package).__path__[0], f"{leaf}.py")
    spec = importlib.util.spec_from_file_location(f"{package}._source_of_{leaf}", source)
    module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)  # (dataclasses
    spec.loader.exec_module(module)  # look their module up)
    return module


def test_a_blocked_service_makes_a_task_only_for_the_one_it_tries(monkeypatch):
    """20,000 tasks that no instance takes: each failed pass looks at the front task only;
    all of them are reported, with the closest instance's reason, at the end."""
    made = Counter()
    real_init = waiting_module.WaitingTasks.__init__

    def counting_init(self, make):
        def counted(number):
            made[number] += 1
            return make(number)
        real_init(self, counted)

    monkeypatch.setattr(waiting_module.WaitingTasks, "__init__", counting_init)
    doc = make_scenario(services=[{
        "name": "big", "network_mode": "bridge", "desired_count": 20000, "cpu": 8192,
        "memory": 512, "containers": [{"name": "app", "port_mappings": [
            {"container_port": 80}]}]}], steady_horizon="10min")
    sc = load_scenario(doc)
    env = simpy.Environment()
    cluster = Cluster(sc, env, np.random.default_rng(1))
    env.run(until=600)
    (svc,) = cluster.services
    assert len(svc.waiting) == 20000 and sum(made.values()) <= 3
    unplaced = svc.unplaced
    assert len(unplaced) == 20000
    assert {t.last_failure for t in unplaced} == {"RESOURCE:CPU"}
    assert unplaced[-1].why_not == unplaced[0].why_not and unplaced[0].why_not


def test_fargate_per_az_counts_follow_the_live_tasks():
    doc = make_scenario(
        vpc={"subnets": [{"name": "a", "cidr": "10.0.0.0/24", "az": "us-east-1a"},
                         {"name": "b", "cidr": "10.0.1.0/24", "az": "us-east-1b"},
                         {"name": "c", "cidr": "10.0.2.0/24", "az": "us-east-1c"}]},
        cluster={"instance_groups": []}, steady_horizon="30min",
        services=[{"name": "f", "network_mode": "awsvpc", "launch_type": "FARGATE",
                   "desired_count": 7, "cpu": 256, "memory": 512,
                   "containers": [{"name": "app", "port_mappings": [{"container_port": 80}]}]}],
        events=[{"at": "3min", "scale": "f", "desired_count": 2},
                {"at": "6min", "scale": "f", "desired_count": 11},
                {"at": "9min", "deploy": "f", "set": {"cpu": 512, "memory": 1024}}])
    sc = load_scenario(doc)
    env = simpy.Environment()
    cluster = Cluster(sc, env, np.random.default_rng(1))
    (svc,) = cluster.services
    kept = cluster.controller.capacity["FARGATE"]._per_az  # noqa: SLF001
    seen = set()
    while env._queue and env.now < 20 * 60:  # noqa: SLF001
        env.step()
        counted = Counter(t.instance.az for t in svc.live)
        assert +kept.get("f", Counter()) == counted
        seen.add(sum(counted.values()))
    assert {2, 7, 11} <= seen


def _cluster(doc: dict) -> tuple[simpy.Environment, Cluster]:
    env = simpy.Environment()
    return env, Cluster(load_scenario(doc), env, np.random.default_rng(1))


def _services(*names: str, desired: int = 6) -> list[dict]:
    return [{"name": n, "network_mode": mode, "desired_count": desired, "cpu": 256,
             "memory": 256, "containers": [{"name": "app", "port_mappings": [
                 {"container_port": 80}]}]}
            for n, mode in zip(names, ("bridge", "awsvpc", "host"), strict=False)]


def test_a_terminated_instance_stops_exactly_its_live_tasks():
    doc = make_scenario(cluster={"instance_groups": [
        {"name": "g", "type": "c5.xlarge", "count": 3, "subnet": "a"}]},
        services=_services("web", "api"), steady_horizon="30min",
        events=[{"at": "5min", "terminate": {"group": "g", "count": 1}}])
    env, cluster = _cluster(doc)
    env.run(until=299)
    (gone,) = cluster.fleet.active("g")[:1]
    expected = {t.id for svc in cluster.services for t in svc.live if t.instance is gone}
    assert expected
    env.run(until=301)
    stopped = {t.id for svc in cluster.services for t in svc.tasks
               if t.stopped_reason and "terminated" in t.stopped_reason}
    assert stopped == expected
    assert not any(t.instance is gone for svc in cluster.services for t in svc.live)


def test_deployments_keep_one_placement_index_per_service():
    doc = make_scenario(services=_services("web", "api", desired=4), steady_horizon="1h",
                        events=[{"at": f"{m}min", "deploy": "web", "set": {"cpu": 256 + m}}
                                for m in (5, 10, 15, 20)])
    env, cluster = _cluster(doc)
    env.run(until=25 * 60)
    web = cluster.services[0]
    assert web.revision == 5 and not web.deployment
    indexes = cluster.controller.capacity["EC2"]._indexes  # noqa: SLF001
    assert set(indexes) == {"service:web", "service:api"}
    assert indexes["service:web"].spec is web.task_spec


def test_tie_breaks_draw_what_numpy_draws():
    from ecsnetsim.control.draws import TieBreaks
    r = random.Random(3)
    sizes = [r.choice([2, 3, 9, 1000, 5000, 2**20 + 7, 2**32 - 1, 2**32, 2**32 + 1,
                       2**45 + 9, 2**63 - 1]) for _ in range(20000)]
    numpy_draws, ours = np.random.default_rng(11), TieBreaks(np.random.default_rng(11))
    assert ours.exact
    assert [int(numpy_draws.integers(n)) for n in sizes] == [ours.integers(n) for n in sizes]


def test_tie_breaks_use_numpy_when_they_cannot_reproduce_it():
    from ecsnetsim.control.draws import TieBreaks
    half_used = np.random.default_rng(5)
    half_used.integers(10)  # the upper half of a word is waiting in the generator
    other = np.random.Generator(np.random.MT19937(5))
    for rng in (half_used, other):
        twin = np.random.Generator(type(rng.bit_generator)())
        twin.bit_generator.state = rng.bit_generator.state
        draws = TieBreaks(rng)
        assert not draws.exact
        assert [draws.integers(n) for n in (7, 100, 2)] == \
            [int(twin.integers(n)) for n in (7, 100, 2)]


def test_placement_with_tie_breaks_places_as_with_numpy(monkeypatch):
    """A whole run (spread with random ties, binpack, awsvpc and bridge) with the tie
    breaks drawn by numpy itself gives the same placement."""
    from ecsnetsim.control import draws
    doc = make_scenario(cluster={"instance_groups": [
        {"name": "g", "type": "c5.xlarge", "count": 12, "subnet": "a"}]},
        services=_services("web", "api", "edge", desired=30), steady_horizon="30min")

    def placed():
        env, cluster = _cluster(doc)
        env.run(until=cluster.steady)
        return [(t.id, t.instance.id) for svc in cluster.services for t in svc.tasks]

    ours = placed()
    monkeypatch.setattr(draws, "_reproducible", lambda rng: False)
    assert placed() == ours
