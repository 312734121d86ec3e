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
