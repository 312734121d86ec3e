"""The cluster on the simpy clock: instances register, the service scheduler places tasks.

Tasks go PROVISIONING (awsvpc: waiting for the ENI or branch to attach) -> PENDING
(containers starting) -> RUNNING. A task that no instance can take stays PENDING,
unplaced, with ECS's reason and a per-instance answer to "why not here?". The
scheduler launches at most 250 tasks per service per minute on EC2 (Amazon ECS best
practices, task launch), in batches.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import simpy

from .. import catalog, modes
from ..modes import TaskSpec
from ..scenario.schema import (
    LINUX_DYNAMIC_PORT_RANGE,
    LINUX_RESERVED_PORTS,
    WINDOWS_DYNAMIC_PORT_RANGE,
    WINDOWS_RESERVED_PORTS,
    Scenario,
    Service,
)
from .instance import ContainerInstance, Task, instance_id
from .ipam import SubnetPool
from .placement import DEFAULT_SERVICE_STRATEGY, place

#: ECS service scheduler launch rate on EC2 (best practices guide: 250 tasks/service/min).
LAUNCH_BATCH = 250
LAUNCH_WINDOW = 60.0

_SUFFIX = {
    "RESOURCE:CPU": "has insufficient CPU units available.",
    "RESOURCE:MEMORY": "has insufficient memory available.",
    "RESOURCE:PORTS": "is already using a port required by your task.",
    "ATTRIBUTE": "is missing an attribute required by your task.",
}


@dataclass
class Event:
    t: float
    service: str
    message: str


@dataclass
class ServiceState:
    spec: Service
    task_spec: TaskSpec
    tasks: list[Task] = field(default_factory=list)
    last_event_reason: str | None = None
    steady_at: float | None = None
    wake: simpy.Event | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def live(self) -> list[Task]:
        return [t for t in self.tasks if t.state != "STOPPED" and t.instance is not None]

    @property
    def running(self) -> list[Task]:
        return [t for t in self.tasks if t.state == "RUNNING"]

    @property
    def unplaced(self) -> list[Task]:
        return [t for t in self.tasks if t.instance is None and t.state == "PENDING"]


def _range(text: str) -> tuple[int, int]:
    lo, hi = text.split("-")
    return int(lo), int(hi)


class Cluster:
    """The container instances, subnets and service schedulers of one variant."""

    def __init__(self, scenario: Scenario, env: simpy.Environment, rng: np.random.Generator):
        self.scenario = scenario
        self.env = env
        self.rng = rng
        self.events: list[Event] = []
        self.subnets = {s.name: SubnetPool(s.name, s.cidr, s.az, s.reserved_ips)
                        for s in scenario.vpc.subnets}
        self.instances: list[ContainerInstance] = []
        self._task_seq = 0
        self._register_instances()
        self.services = [self._service_state(s) for s in scenario.services]
        self.steady = env.event()
        for svc in self.services:
            env.process(self._run_service(svc))
        if not self.services:
            self.steady.succeed(0.0)

    # ---- instances ------------------------------------------------------------------
    def _register_instances(self) -> None:
        sc = self.scenario
        first_subnet = sc.vpc.subnets[0].name
        for g in sc.cluster.instance_groups:
            itype = catalog.get(g.type)
            windows = g.os == "windows"
            trunk = None
            if sc.account.awsvpc_trunking and not windows:
                trunk = g.trunk_tasks if g.trunk_tasks is not None else itype.trunk_tasks
            agent = g.agent
            reserved = agent.reserved_ports if agent.reserved_ports is not None else (
                WINDOWS_RESERVED_PORTS if windows else LINUX_RESERVED_PORTS)
            drange = agent.dynamic_port_range or (
                WINDOWS_DYNAMIC_PORT_RANGE if windows else LINUX_DYNAMIC_PORT_RANGE)
            for i in range(g.count):
                inst = ContainerInstance(
                    id=instance_id(sc.name, g.name, i), group=g.name, index=i, itype=itype,
                    os=g.os, subnet=self.subnets[g.subnet or first_subnet],
                    reserved_ports=reserved, reserved_ports_udp=agent.reserved_ports_udp,
                    dynamic_range=_range(drange), reserved_memory=agent.reserved_memory,
                    memory_overhead_percent=g.memory_overhead_percent, trunk_tasks=trunk,
                    attributes=g.attributes, eni_attach_delay=agent.eni_attach_delay,
                    branch_attach_delay=agent.branch_attach_delay,
                    container_start_delay=agent.container_start_delay)
                failure = inst.register()
                if failure:
                    self.events.append(Event(self.env.now, "", failure))
                self.instances.append(inst)

    # ---- services -------------------------------------------------------------------
    def _service_state(self, svc: Service) -> ServiceState:
        if svc.network_mode == "awsvpc":
            names = svc.subnets or list(dict.fromkeys(i.subnet.name for i in self.instances))
            subnets = tuple(self.subnets[n] for n in names)
        else:
            subnets = ()  # ignored outside awsvpc, so a scenario compares across modes
        maps = tuple((pm.container_port, pm.host_port, pm.protocol)
                     for c in svc.containers for pm in c.port_mappings)
        spec = TaskSpec(service=svc.name, mode=svc.network_mode, cpu=svc.cpu,
                        memory=svc.memory, port_mappings=maps, subnets=subnets)
        return ServiceState(spec=svc, task_spec=spec)

    def _event(self, svc: ServiceState, message: str) -> None:
        self.events.append(Event(self.env.now, svc.name, f"service ({svc.name}) {message}"))

    def _new_task(self, svc: ServiceState) -> Task:
        self._task_seq += 1
        spec = svc.spec
        return Task(id=f"{spec.name}-{self._task_seq:04d}", service=spec.name,
                    group=f"service:{spec.name}", mode=spec.network_mode, cpu=spec.cpu,
                    memory=spec.memory)

    def _failure_message(self, svc: ServiceState, task: Task) -> str:
        if not self.instances:
            return ("was unable to place a task. Reason: No Container Instances were found in "
                    "your cluster.")
        inst_id, why = task.closest
        suffix = _SUFFIX.get(why.reason, f'encountered error "{why.reason}".')
        return ("was unable to place a task because no container instance met all of its "
                f"requirements. The closest matching container-instance {inst_id} {suffix} "
                "For more information, see the Troubleshooting section of the Amazon ECS "
                "Developer Guide.")

    def _run_service(self, svc: ServiceState):
        env = self.env
        mode = modes.get(svc.spec.network_mode)
        strategies = svc.spec.placement_strategy or DEFAULT_SERVICE_STRATEGY
        while True:
            missing = svc.spec.desired_count - len(svc.live)
            started = []
            blocked = None
            for _ in range(min(missing, LAUNCH_BATCH)):
                pending = svc.unplaced
                task = pending[0] if pending else self._new_task(svc)
                if not pending:
                    svc.tasks.append(task)
                decision = place(svc.task_spec, task.group, mode, self.instances, strategies,
                                 svc.spec.placement_constraints, self.rng)
                if decision.instance is None:
                    blocked = decision
                    break
                self._start(svc, task, decision.instance, mode)
                started.append(task)
            if started:
                ids = " ".join(f"(task {t.id})" for t in started)
                self._event(svc, f"has started {len(started)} tasks: {ids}.")
            if blocked is not None:
                # every task still missing is pending, unplaced, for the same reasons
                while len(svc.live) + len(svc.unplaced) < svc.spec.desired_count:
                    svc.tasks.append(self._new_task(svc))
                for task in svc.unplaced:
                    task.why_not = {k: str(v) for k, v in blocked.rejected.items()}
                    closest = blocked.closest
                    task.last_failure = closest[1].reason if closest else "NO_INSTANCES"
                    task.closest = closest
                reason = svc.unplaced[0].last_failure
                if reason != svc.last_event_reason:
                    self._event(svc, self._failure_message(svc, svc.unplaced[0]))
                    svc.last_event_reason = reason
            elif missing <= LAUNCH_BATCH:
                svc.last_event_reason = None
            if blocked is None and missing > LAUNCH_BATCH:
                yield env.timeout(LAUNCH_WINDOW)
                continue
            self._maybe_steady()
            svc.wake = env.event()
            yield svc.wake

    def _start(self, svc: ServiceState, task: Task, inst: ContainerInstance, mode) -> None:
        mode.attach(inst, task, svc.task_spec)
        inst.add(task)
        task.placed_at = self.env.now
        task.why_not = {}
        task.last_failure = None
        task.state = "PROVISIONING"
        self.env.process(self._activate(svc, task, inst, mode))

    def _activate(self, svc: ServiceState, task: Task, inst: ContainerInstance, mode):
        delay = mode.attach_delay(inst, task)
        if delay:
            yield self.env.timeout(delay)
        task.state = "PENDING"
        yield self.env.timeout(inst.container_start_delay)
        task.state = "RUNNING"
        task.running_at = self.env.now
        self._check_steady(svc)
        self._maybe_steady()

    def _check_steady(self, svc: ServiceState) -> None:
        if len(svc.running) == svc.spec.desired_count and svc.steady_at is None:
            svc.steady_at = self.env.now
            self._event(svc, "has reached a steady state.")

    def _maybe_steady(self) -> None:
        """Fire ``self.steady`` once every placeable task is RUNNING."""
        if self.steady.triggered:
            return
        for svc in self.services:
            if any(t.state in ("PROVISIONING", "PENDING") and t.instance is not None
                   for t in svc.tasks):
                return
            if len(svc.live) < svc.spec.desired_count and not svc.unplaced:
                return
        self.steady.succeed(self.env.now)
