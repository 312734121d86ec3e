"""What a run will cost, estimated from the scenario before any of it is simulated.

A scenario is a few lines, but ``rate: 1e9/s`` for ``duration: 100h`` is 3.6e14 packets,
and ``desired_count: 100000`` in a sweep of twenty points is two million tasks to place:
hours of work that would otherwise start silently. ``run`` compares the estimate with
:data:`BUDGET` and refuses above it, naming the flag (``--force``) that goes on anyway;
``plan`` does the same with the worst case of its search (:func:`in_sequence`).

The figures are upper bounds of what drives the run time: every packet is one event
per device it crosses, and every task one placement (an indexed choice of instance, see
:mod:`ecsnetsim.control.placeindex`) and one trip through the task lifecycle.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from .scenario import Scenario, variants_of

#: Most of each quantity a run does without ``--force``, summed over its variants.
#: Measured on one core (benchmarks/README.md): the whole simulator moves about 2 million
#: packet-hops a second with the compiled engine (about 0.5 million in pure Python), so
#: 5 million bridge packets take half a minute to a minute and a half; 100,000 tasks on
#: 10,000 instances are placed in 5-7 s (the control plane is the same in both builds).
#: A run within the budget takes a few minutes at most.
BUDGET = {"packets": 5_000_000, "tasks": 100_000, "instances": 10_000, "variants": 1_000}

#: The flag that runs a scenario above the budget.
FORCE_FLAG = "--force"


@dataclass(frozen=True)
class Estimate:
    """Packets sent, tasks and instances to place, and variants, over the whole run."""

    packets: float
    tasks: int
    instances: int
    variants: int

    def over_budget(self) -> list[str]:
        """The quantities above :data:`BUDGET` (a packet count that is not finite is)."""
        over = []
        for key, limit in BUDGET.items():
            value = getattr(self, key)
            if not math.isfinite(value) or value > limit:
                over.append(key)
        return over

    def describe(self) -> str:
        """One line: ``3.6e+14 packets, 12 tasks, 2 instances, 1 variant(s)``."""
        return (f"{_count(self.packets)} packets, {_count(self.tasks)} tasks, "
                f"{_count(self.instances)} instances, {_count(self.variants)} variant(s)")


def _count(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    return f"{value:,.0f}" if value < 1e12 else f"{value:.2g}"


def _instances(sc: Scenario) -> int:
    """Instances a variant may have: each group's count, or its scaling maximum."""
    return sum(max(g.count, g.scaling.max if g.scaling else 0)
               for g in sc.cluster.instance_groups)


def _tasks(sc: Scenario, instances: int) -> int:
    """Tasks a variant places: a replica service's largest desired count (``scale``
    events included), doubled for each deployment that replaces its tasks; a daemon
    service one per instance."""
    total = 0
    for svc in sc.services:
        scaled = [e.desired_count for e in sc.events
                  if e.scale == svc.name and e.desired_count is not None]
        count = instances if svc.scheduling == "daemon" else max([svc.desired_count, *scaled])
        deploys = sum(1 for e in sc.events if e.deploy == svc.name)
        total += count * (1 + deploys)
    return total


def _packets(sc: Scenario) -> float:
    """Packets a variant sends: each flow's rate over the simulated duration."""
    return sum(flow.rate * sc.duration for flow in sc.traffic)


def estimate(scenario: Scenario) -> Estimate:
    """The cost of running every variant of a loaded scenario."""
    packets, tasks, instances = 0.0, 0, 0
    specs = variants_of(scenario)
    for spec in specs:
        n = _instances(spec.scenario)
        instances += n
        tasks += _tasks(spec.scenario, n)
        packets += _packets(spec.scenario)
    runs = scenario.replications  # every variant runs once per replication
    return Estimate(packets=packets * runs, tasks=tasks * runs, instances=instances * runs,
                    variants=len(specs) * runs)


def in_sequence(estimates: Iterable[Estimate], times: int = 1) -> Estimate:
    """The cost of simulations run one after another, ``times`` over (the planner's: one
    search per instance type, each simulation waiting for the answer of the one before).

    Packets, tasks and variants add up: they are the time the whole takes. Instances do
    not: they bound what one simulation holds at once (its instances with their ENIs and
    ports), and the simulations of a search do not run side by side, so the estimate
    keeps the most any one of them has.
    """
    packets, tasks, instances, variants = 0.0, 0, 0, 0
    for est in estimates:
        packets += est.packets
        tasks += est.tasks
        instances = max(instances, est.instances)
        variants += est.variants
    return Estimate(packets=packets * times, tasks=tasks * times, instances=instances,
                    variants=variants * times)
