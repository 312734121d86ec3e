"""Managed scale-out: instances launched for tasks that no instance can take.

How many tasks one new instance takes is found by placing them on a probe instance of
the group, so every dimension counts (CPU, memory, ports, ENIs, branches). The instances
register ``scaling.launch_delay`` later; until then the tasks they will take are not
asked for again.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

import simpy

from .. import modes
from ..model.instance import Task
from ..model.ipam import SubnetPool
from ..model.states import TaskState, advance
from ..modes import NetworkMode
from ..scenario.schema import InstanceGroup
from .events import EventLog
from .fleet import Fleet
from .placement import check_constraints, check_resources

if TYPE_CHECKING:
    from .servicestate import ServiceState

#: Index of the probe instance (never a real one's).
_PROBE_INDEX = 10**6


class ManagedScaling:
    """Launches instances in groups with ``scaling`` for a service's unplaced tasks."""

    def __init__(self, env: simpy.Environment, fleet: Fleet, log: EventLog,
                 wake: Callable[[], None]) -> None:
        self.env = env
        self.fleet = fleet
        self.log = log
        self.wake = wake  # every service looks again once instances arrived
        self.launching: Counter = Counter()  # group -> instances on their way

    @property
    def pending(self) -> int:
        """Instances launched and not yet registered."""
        return sum(self.launching.values())

    def scale_out(self, svc: ServiceState) -> None:
        """Launch instances for tasks that no instance can take, in the first group with
        room and an instance type that takes at least one of them."""
        mode = modes.get(svc.spec.network_mode)
        for g in self.fleet.scenario.cluster.instance_groups:
            if g.scaling is None:
                continue
            room = g.scaling.max - self.fleet.held(g.name) - self.launching[g.name]
            waiting = len(svc.waiting) - svc.awaiting_capacity
            if room <= 0 or waiting <= 0:
                continue
            per_instance = self.fit_on_new(g, svc, mode, waiting)
            if per_instance == 0:
                continue
            n = min(room, math.ceil(waiting / per_instance))
            self.launching[g.name] += n
            svc.awaiting_capacity += n * per_instance
            self.log.instance("launch", f"managed scaling launches {n} {g.type} instance(s) "
                                        f"in {g.name} for {waiting} task(s) that cannot be "
                                        "placed", n, service=svc.name)
            self.env.process(self._arrive(g, n, svc, n * per_instance))
            return

    def fit_on_new(self, g: InstanceGroup, svc: ServiceState, mode: NetworkMode,
                   limit: int) -> int:
        """How many of the service's tasks (up to ``limit``) a new instance of ``g`` takes."""
        real = self.fleet.subnet_of(g)
        probe = self.fleet.build(g, _PROBE_INDEX, SubnetPool(real.name, real.cidr, real.az))
        if probe.register():
            return 0
        n = 0
        while n < limit and check_resources(probe, svc.task_spec, mode) is None and \
                check_constraints(probe, f"service:{svc.name}",
                                  svc.spec.placement_constraints) is None:
            task = Task(id=f"probe-{n}", service=svc.name, group=f"service:{svc.name}",
                        mode=svc.spec.network_mode, cpu=svc.spec.cpu, memory=svc.spec.memory)
            mode.attach(probe, task, svc.task_spec)
            probe.add(task)
            advance(task, TaskState.RUNNING)  # a stand-in holding its share, not started
            n += 1
        for task in list(probe.tasks):  # the probe's tasks give back what they took (an
            mode.release(probe, task)  # awsvpc task's IP came from the real subnet)
        return n

    def _arrive(self, g: InstanceGroup, n: int, svc: ServiceState, expected: int):
        yield self.env.timeout(g.scaling.launch_delay)
        for _ in range(n):
            inst = self.fleet.launch(g)
            self.log.instance("register", f"container instance {inst.id} registered in "
                                          f"{g.name} by managed scaling")
        self.launching[g.name] -= n
        svc.awaiting_capacity = max(0, svc.awaiting_capacity - expected)
        self.wake()
