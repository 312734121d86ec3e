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
from .providers import StrategyPlacement

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
        #: the cluster's capacity providers (set by the service controller); their groups
        #: grow for their own tasks only, toward their target capacity
        self.providers = None
        self.awaiting: Counter = Counter()  # (service, provider) -> tasks launching
        # instances will take

    @property
    def pending(self) -> int:
        """Instances launched and not yet registered."""
        return sum(self.launching.values())

    def scale_out(self, svc: ServiceState) -> None:
        """Launch instances for tasks that no instance can take, in the first group with
        room and an instance type that takes at least one of them."""
        mode = modes.get(svc.spec.network_mode)
        placement = self.providers.for_service(svc) if self.providers is not None else None
        if placement is not None:  # a strategy's groups scale for it; EXTERNAL never does
            if isinstance(placement, StrategyPlacement):
                self._provider_scale_out(svc, placement, mode)
            return
        provider_groups = self.providers.groups if self.providers is not None else {}
        for g in self.fleet.scenario.cluster.instance_groups:
            if g.scaling is None or g.name in provider_groups or g.external:
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

    def _provider_scale_out(self, svc: ServiceState, placement: StrategyPlacement,
                            mode: NetworkMode) -> None:
        """Managed scaling of each provider of the strategy that the waiting tasks need:
        its Auto Scaling group grows to ``ceil(M x 100 / target_capacity)`` instances, M
        the instances needed (those running tasks, those launching, and those the waiting
        tasks need), within the scaling step sizes and the group's maximum (ECS Developer
        Guide, cluster auto scaling: CapacityProviderReservation = M / N x 100 is kept at
        the target)."""
        for item in placement.strategy:
            cp = self.providers.by_name.get(item.capacity_provider)
            if cp is None or not cp.groups or cp.managed_scaling is None or \
                    cp.managed_scaling.status != "ENABLED":
                continue
            key = (svc.name, cp.name)
            waiting = placement.waiting_on(svc, cp.name, len(svc.waiting)) - \
                self.awaiting[key]
            groups = [self.fleet.groups[name] for name in cp.groups]
            if waiting <= 0 or any(g.scaling is None for g in groups):
                continue
            per_instance = self.fit_on_new(groups[0], svc, mode, waiting)
            if per_instance == 0:
                continue
            n, reservation = self.reservation_step(cp, groups,
                                                   math.ceil(waiting / per_instance))
            if n <= 0:
                continue
            self.awaiting[key] += min(waiting, n * per_instance)
            self.log.instance(
                "launch", f"capacity provider {cp.name}: CapacityProviderReservation "
                          f"{reservation}% against target {cp.managed_scaling.target_capacity}%: "
                          f"managed scaling launches {n} {groups[0].type} instance(s) in "
                          f"{', '.join(cp.groups)} for {waiting} task(s) waiting for capacity",
                n, service=svc.name)
            by_name = {g.name: g for g in groups}
            for name, k in self._balance(groups, n).items():
                g = by_name[name]
                self.launching[g.name] += k
                self.env.process(self._arrive_for_provider(g, k, key))
            self.env.process(self._awaited(groups[0], key, min(waiting, n * per_instance)))

    def _balance(self, groups: list[InstanceGroup], n: int) -> dict[str, int]:
        """Where ``n`` new instances go (group name -> how many): each to the group
        (subnet, AZ) with the fewest,
        as an Auto Scaling group balances its Availability Zones."""
        size = {g.name: self.fleet.held(g.name) + self.launching[g.name] for g in groups}
        out: dict = {}
        for _ in range(n):
            g = min((g for g in groups if size[g.name] < g.scaling.max),
                    key=lambda g: size[g.name], default=None)
            if g is None:
                break
            size[g.name] += 1
            out[g.name] = out.get(g.name, 0) + 1
        return out

    def reservation_step(self, cp, groups: list[InstanceGroup],
                         needed: int) -> tuple[int, int]:
        """(instances to launch, CapacityProviderReservation in % before they are) for an
        Auto Scaling group that needs ``needed`` more instances for its waiting tasks."""
        ms = cp.managed_scaling
        launching = sum(self.launching[g.name] for g in groups)
        have = sum(self.fleet.held(g.name) for g in groups) + launching  # N
        busy = sum(1 for g in groups for i in self.fleet.members(g.name)
                   if i.status in ("ACTIVE", "DRAINING") and i.running_tasks)
        needed_total = busy + needed + launching  # M
        # N = 0: ECS publishes 200 % (scale out from zero)
        reservation = round(100 * needed_total / have) if have else 200
        target = math.ceil(needed_total * 100 / ms.target_capacity)
        step = max(ms.minimum_scaling_step_size, min(ms.maximum_scaling_step_size,
                                                     target - have))
        room = sum(g.scaling.max for g in groups) - have
        return (min(step, room) if target > have else 0), reservation

    def _arrive_for_provider(self, g: InstanceGroup, n: int, key: tuple):
        yield self.env.timeout(g.scaling.launch_delay)
        self._register(g, n)
        self.wake()

    def _register(self, g: InstanceGroup, n: int) -> None:
        """``n`` instances of ``g`` launched by managed scaling register, now."""
        for _ in range(n):
            inst = self.fleet.launch(g)
            self.log.instance("register", f"container instance {inst.id} registered in "
                                          f"{g.name} by managed scaling")
        self.launching[g.name] -= n

    def _awaited(self, g: InstanceGroup, key: tuple, expected: int):
        """The tasks the launched instances were for are asked for again once they are
        in (after the instances' own arrivals at the same time)."""
        yield self.env.timeout(g.scaling.launch_delay)
        self.awaiting[key] = max(0, self.awaiting[key] - expected)
        self.wake()

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
                        mode=svc.spec.network_mode, cpu=svc.spec.cpu, memory=svc.spec.memory,
                        gpu=svc.spec.gpu)
            mode.attach(probe, task, svc.task_spec)
            probe.add(task)
            advance(task, TaskState.RUNNING)  # a stand-in holding its share, not started
            n += 1
        for task in list(probe.tasks):  # the probe's tasks give back what they took (an
            mode.release(probe, task)  # awsvpc task's IP came from the real subnet)
        return n

    def _arrive(self, g: InstanceGroup, n: int, svc: ServiceState, expected: int):
        yield self.env.timeout(g.scaling.launch_delay)
        self._register(g, n)
        svc.awaiting_capacity = max(0, svc.awaiting_capacity - expected)
        self.wake()
