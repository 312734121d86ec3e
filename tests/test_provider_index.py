"""An Auto Scaling group capacity provider chooses through a placement index that sees
only its instances: the same instance for every task, with the same draws, as the full
scan over them (``placement.place`` on the provider's instances), for each strategy and
constraint a service can give."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import simpy

from ecsnetsim.control import providers
from ecsnetsim.control.scheduler import Cluster
from ecsnetsim.scenario import load_scenario

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import bench_shapes  # noqa: E402  (the capacity-provider shape of the complexity benchmark)

AZ = "attribute:ecs.availability-zone"
RULES = {
    "default": ([], []),
    "binpack-cpu": ([{"type": "binpack", "field": "cpu"}], []),
    "spread-instanceId": ([{"type": "spread", "field": "instanceId"}], []),
    "spread-az+binpack-memory": ([{"type": "spread", "field": AZ},
                                  {"type": "binpack", "field": "memory"}], []),
    "random": ([{"type": "random"}], []),
    "memberOf": ([], [{"type": "memberOf", "expression": f"{AZ} == us-east-1a"}]),
}


class _NoIndex:
    """An index that never finds an instance: the full scan chooses every task."""

    def choose(self, draws):
        return None


def _placements(rules: str, full_scan: bool, monkeypatch) -> dict[str, str]:
    doc = bench_shapes.scenario("capacity-providers", 300)
    strategy, constraints = RULES[rules]
    svc = doc["services"][0]
    svc["placement_strategy"], svc["placement_constraints"] = strategy, constraints
    doc["cluster"]["instance_groups"][1]["subnet"] = "b"  # the second provider in us-east-1b
    with monkeypatch.context() as m:
        if full_scan:
            m.setattr(providers.GroupPlacement, "_index", lambda *a, **k: _NoIndex())
        env = simpy.Environment()
        cluster = Cluster(load_scenario(doc), env, np.random.default_rng(7))
        env.run(until=cluster.steady)
    return {t.id: t.instance.id for s in cluster.services for t in s.tally.live}


@pytest.mark.parametrize("rules", list(RULES))
def test_the_index_chooses_what_the_full_scan_chooses(rules, monkeypatch):
    indexed = _placements(rules, False, monkeypatch)
    scanned = _placements(rules, True, monkeypatch)
    assert len(indexed) >= 30
    assert indexed == scanned


def _deal_one_by_one(strategy, dealt, blocked, budget):
    """The dealing :func:`providers.deal_past` jumps through, one task at a time."""
    for k in range(budget):
        name = providers.next_provider(strategy, dealt)
        dealt[name] += 1
        if name not in blocked:
            return name, budget - k - 1
    return None, 0


def test_dealing_in_jumps_deals_as_one_by_one():
    """Random strategies (bases, weights 0 to 7, one provider with a base as AWS allows),
    tasks already dealt and providers without room: the same provider found, the same
    budget left and the same tasks dealt."""
    import random
    from collections import Counter

    from ecsnetsim.scenario.schema import CapacityProviderStrategyItem as Item

    rng = random.Random(1)
    for _ in range(3000):
        names = [f"p{i}" for i in range(rng.randint(1, 4))]
        based = rng.choice([None, *names])
        strategy = [Item(capacity_provider=n, base=rng.choice([1, 3, 10]) if n == based else 0,
                         weight=rng.choice([0, 1, 1, 2, 3, 4, 7])) for n in names]
        dealt = Counter({n: rng.randint(0, 12) for n in names if rng.random() < 0.7})
        blocked = {n for n in names if rng.random() < 0.5}
        budget = rng.randint(1, 40)
        one, jumps = Counter(dealt), Counter(dealt)
        found = _deal_one_by_one(strategy, one, blocked, budget)
        assert providers.deal_past(strategy, jumps, blocked, budget) == found
        if found[0] is not None:
            assert +one == +jumps
