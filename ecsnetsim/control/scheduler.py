"""The cluster on the simpy clock: instances, the service scheduler, deployments, events.

Tasks go PROVISIONING (awsvpc: waiting for the ENI or branch to attach) -> PENDING
(containers starting) -> RUNNING, and count as healthy once the load balancer's health
check has passed (see :func:`target_health`: ``healthy_threshold`` checks ``interval``
apart, after the application's ``startup_time``) or, for a service behind no load
balancer, once RUNNING. A target that turns unhealthy first has its task stopped once the
grace period is over. A task that no instance can take waits, unplaced,
with ECS's reason and a per-instance answer to "why not here?".

Each service is reconciled whenever something it depends on changes (a task starts,
becomes healthy or stops; an instance registers, drains or goes away; an event). During
a deployment the reconciler follows ECS's rolling update: at most
``floor(desired * maximum_percent / 100)`` tasks exist, at least
``ceil(desired * minimum_healthy_percent / 100)`` stay healthy; new tasks start up to
the maximum, old tasks stop (draining for the deregistration delay when a load balancer
sends them traffic) as far as the minimum allows, in waves until only the new revision
runs. The scheduler launches at most 250 tasks per service per minute (ECS best
practices, task launch).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import simpy

from .. import catalog, modes
from ..modes import TaskSpec
from ..scenario.schema import (
    LINUX_DYNAMIC_PORT_RANGE,
    LINUX_MEMORY_OVERHEAD_PERCENT,
    LINUX_RESERVED_PORTS,
    WINDOWS_DYNAMIC_PORT_RANGE,
    WINDOWS_MEMORY_OVERHEAD_PERCENT,
    WINDOWS_RESERVED_PORTS,
    HealthCheck,
    InstanceGroup,
    Scenario,
    Service,
)
from . import trunking
from .instance import ContainerInstance, Task, instance_id
from .ipam import SubnetPool
from .placement import DEFAULT_SERVICE_STRATEGY, check_constraints, check_resources, place
from .ports import PortNeed

#: ECS service scheduler launch rate on EC2 (best practices guide: 250 tasks/service/min).
LAUNCH_BATCH = 250
LAUNCH_WINDOW = 60.0
#: Retry delays after tasks fail to start (assumption: ECS throttles retries of a service
#: whose tasks keep failing, "unable to consistently start tasks", without a published
#: schedule): doubling from 10 s up to 5 min.
RETRY_FIRST = 10.0
RETRY_MAX = 300.0

_SUFFIX = {
    "RESOURCE:CPU": "has insufficient CPU units available.",
    "RESOURCE:MEMORY": "has insufficient memory available.",
    "RESOURCE:PORTS": "is already using a port required by your task.",
    "ATTRIBUTE": "is missing an attribute required by your task.",
}
_CONFIG_BLOCKED = ("was unable to stop or start tasks during a deployment because of the "
                   "service deployment configuration. Update the minimumHealthyPercent or "
                   "maximumPercent value and try again.")


#: Failure key of a task stopped for failing its load balancer health checks.
UNHEALTHY = "ELB:UNHEALTHY"


def target_health(hc: HealthCheck, startup_time: float) -> tuple[float, float | None]:
    """``(healthy_after, stopped_after)``: when a new target turns healthy and, if ECS
    stops its task before that, when; in seconds after the task started RUNNING.

    The load balancer checks every ``interval``; check ``k`` (at ``k * interval``) fails
    while the application is still starting (``k * interval < startup_time``). The target
    is healthy after ``healthy_threshold`` passes in a row and unhealthy after
    ``unhealthy_threshold`` failures in a row. ECS ignores an unhealthy target for
    ``grace_period`` after the task starts, then stops the task; a target that turns
    healthy first keeps its task.
    """
    first_pass = max(1, math.ceil(startup_time / hc.interval - 1e-9))
    healthy_after = (first_pass + hc.healthy_threshold - 1) * hc.interval
    if first_pass - 1 >= hc.unhealthy_threshold:  # enough failures in a row
        stop_at = max(hc.unhealthy_threshold * hc.interval, hc.grace_period)
        if stop_at < healthy_after:
            return healthy_after, stop_at
    return healthy_after, None


@dataclass
class Event:
    """A service event in ECS's wording, or an instance event (``kind`` says which: drain,
    terminate, launch, register, launch-failed; ``instances`` how many it concerns)."""

    t: float
    service: str
    message: str
    kind: str | None = None
    instances: int = 0

    def as_dict(self) -> dict:
        out = {"t": round(self.t, 6), "service": self.service, "message": self.message}
        if self.kind is not None:
            out.update(kind=self.kind, instances=self.instances)
        return out


@dataclass
class Deployment:
    """One rollout of a service to a revision, with what it measured on the way."""

    service: str
    revision: int
    started_at: float
    finished_at: float | None = None
    status: str = "IN_PROGRESS"  # COMPLETED | STALLED | FAILED | ROLLED_BACK
    waves: int = 0
    min_healthy_observed: int | None = None
    zero_healthy_seconds: float = 0.0
    failures: Counter = field(default_factory=Counter)
    failed_tasks: int = 0
    old_stopped: bool = True  # an old task stopped since the last wave began: next start
    # of new tasks is a new wave (replacing failed new tasks alone is not)
    last_failed_at: float | None = None
    last_healthy_at: float | None = None  # a task of this revision last turned healthy
    blocked: bool = False
    _zero_since: float | None = None

    def observe(self, now: float, healthy: int) -> None:
        if self.min_healthy_observed is None or healthy < self.min_healthy_observed:
            self.min_healthy_observed = healthy
        if healthy == 0 and self._zero_since is None:
            self._zero_since = now
        elif healthy > 0 and self._zero_since is not None:
            self.zero_healthy_seconds += now - self._zero_since
            self._zero_since = None

    def close(self, now: float, status: str) -> None:
        if self._zero_since is not None:  # a zero-healthy window still open ends here
            self.zero_healthy_seconds += now - self._zero_since
            self._zero_since = None
        self.status = status
        if status in ("COMPLETED", "ROLLED_BACK", "FAILED"):
            self.finished_at = now

    def as_dict(self) -> dict:
        return {
            "service": self.service, "revision": self.revision, "started_at": self.started_at,
            "finished_at": self.finished_at, "status": self.status, "waves": self.waves,
            "min_healthy_observed": self.min_healthy_observed,
            "zero_healthy_seconds": round(self.zero_healthy_seconds, 6),
            "failures": dict(sorted(self.failures.items())),
        }


@dataclass
class ServiceState:
    spec: Service
    task_spec: TaskSpec
    desired: int
    load_balanced: bool
    revision: int = 1
    revisions: dict = field(default_factory=dict)  # revision -> (Service, TaskSpec)
    tasks: list[Task] = field(default_factory=list)
    waiting: list[Task] = field(default_factory=list)  # wanted, not placed (PENDING)
    launch_failures: Counter = field(default_factory=Counter)
    last_event_reason: str | None = None
    steady_at: float | None = None
    wake: simpy.Event | None = None
    launches: list[float] = field(default_factory=list)
    retry_at: float = 0.0
    retry_delay: float = RETRY_FIRST
    deployment: Deployment | None = None
    deployments: list[Deployment] = field(default_factory=list)
    targets: list[Task] = field(default_factory=list)  # healthy tasks traffic may reach
    blocked: bool = False
    awaiting_capacity: int = 0  # waiting tasks that instances being launched will take
    last_launch_failure: str | None = None
    last_launch_where: dict = field(default_factory=dict)  # instance -> why a task failed
    throttled: bool = False  # more tasks wanted than the launch rate allows right now
    dirty: bool = False  # something changed while the service was being reconciled

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def live(self) -> list[Task]:
        """Placed tasks not stopped (draining ones included: they still hold resources)."""
        return [t for t in self.tasks if t.instance is not None and t.state != "STOPPED"]

    @property
    def running(self) -> list[Task]:
        return [t for t in self.tasks if t.state == "RUNNING"]

    @property
    def unplaced(self) -> list[Task]:
        return self.waiting

    @property
    def healthy(self) -> list[Task]:
        return [t for t in self.tasks if t.healthy and t.state == "RUNNING" and not t.draining]


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
        self.timeline: list[dict] = []
        self._last_row: dict[str, tuple] = {}
        self.subnets = {s.name: SubnetPool(s.name, s.cidr, s.az, s.reserved_ips)
                        for s in scenario.vpc.subnets}
        self.instances: list[ContainerInstance] = []
        self._groups = {g.name: g for g in scenario.cluster.instance_groups}
        self._launching: Counter = Counter()  # group -> instances on their way
        self._task_seq = 0
        for g in scenario.cluster.instance_groups:
            for _ in range(g.count):
                self._launch_instance(g)
        balanced = {f.to for f in scenario.traffic if f.via in ("alb", "nlb")}
        self.services = [self._service_state(s, s.name in balanced) for s in scenario.services]
        self.steady = env.event()
        for svc in self.services:
            env.process(self._run_service(svc))
        for ev in sorted(scenario.events, key=lambda e: e.at):
            env.process(self._at(ev))
        if not self.services:
            self.steady.succeed(0.0)

    # ---- instances ------------------------------------------------------------------
    def _new_instance(self, g: InstanceGroup, index: int, subnet: SubnetPool
                      ) -> ContainerInstance:
        sc = self.scenario
        itype = catalog.get(g.type)
        windows = g.os == "windows"
        trunk = trunking.decide(itype, g.os, sc.account.awsvpc_trunking, g.awsvpc_trunking,
                                g.trunk_tasks)
        overhead = g.memory_overhead_percent
        if overhead is None:
            overhead = WINDOWS_MEMORY_OVERHEAD_PERCENT if windows else \
                LINUX_MEMORY_OVERHEAD_PERCENT
        agent = g.agent
        reserved = agent.reserved_ports if agent.reserved_ports is not None else (
            WINDOWS_RESERVED_PORTS if windows else LINUX_RESERVED_PORTS)
        drange = agent.dynamic_port_range or (
            WINDOWS_DYNAMIC_PORT_RANGE if windows else LINUX_DYNAMIC_PORT_RANGE)
        return ContainerInstance(
            id=instance_id(sc.name, g.name, index), group=g.name, index=index, itype=itype,
            os=g.os, subnet=subnet, reserved_ports=reserved,
            reserved_ports_udp=agent.reserved_ports_udp, dynamic_range=_range(drange),
            reserved_memory=agent.reserved_memory,
            memory_overhead_percent=overhead, trunk_tasks=trunk.branches,
            trunk_note=trunk.reason, attributes=g.attributes,
            eni_attach_delay=agent.eni_attach_delay,
            branch_attach_delay=agent.branch_attach_delay,
            container_start_delay=agent.container_start_delay)

    def _subnet_of(self, g: InstanceGroup) -> SubnetPool:
        return self.subnets[g.subnet or self.scenario.vpc.subnets[0].name]

    def _launch_instance(self, g: InstanceGroup) -> ContainerInstance:
        index = sum(1 for i in self.instances if i.group == g.name)
        inst = self._new_instance(g, index, self._subnet_of(g))
        failure = inst.register()
        if failure:
            self.events.append(Event(self.env.now, "", failure, "launch-failed", 1))
        self.instances.append(inst)
        return inst

    def _group_instances(self, group: str) -> list[ContainerInstance]:
        return [i for i in self.instances if i.group == group and i.status == "ACTIVE"]

    # ---- services -------------------------------------------------------------------
    def _task_spec(self, svc: Service) -> TaskSpec:
        mode = modes.get(svc.network_mode)
        instance_subnets = list(dict.fromkeys(i.subnet.name for i in self.instances))
        if svc.launch_type == "FARGATE" or not instance_subnets:
            instance_subnets = [s.name for s in self.scenario.vpc.subnets]
        subnets = mode.task_subnets(tuple(self.subnets[n] for n in svc.subnets or ()),
                                    tuple(self.subnets[n] for n in instance_subnets))
        maps = tuple(PortNeed(pm.ports[0], pm.host_port, pm.protocol, pm.ports[1])
                     for c in svc.containers for pm in c.port_mappings)
        platform = svc.runtime_platform
        return TaskSpec(service=svc.name, mode=svc.network_mode, cpu=svc.cpu,
                        memory=svc.memory, port_mappings=maps, subnets=subnets,
                        os=platform.os if platform else None,
                        cpu_architecture=platform.arch if platform else None)

    def _service_state(self, svc: Service, behind_lb: bool) -> ServiceState:
        spec = self._task_spec(svc)
        state = ServiceState(spec=svc, task_spec=spec, desired=svc.desired_count,
                             load_balanced=behind_lb or svc.health_check is not None)
        state.revisions[1] = (svc, spec)
        return state

    def _event(self, svc: ServiceState, message: str) -> None:
        self.events.append(Event(self.env.now, svc.name, f"service ({svc.name}) {message}"))

    def _new_task(self, svc: ServiceState) -> Task:
        self._task_seq += 1
        spec = svc.spec
        task = Task(id=f"{spec.name}-{self._task_seq:04d}", service=spec.name,
                    group=f"service:{spec.name}", mode=spec.network_mode, cpu=spec.cpu,
                    memory=spec.memory)
        task.revision = svc.revision
        return task

    def _failure_message(self, task: Task) -> str:
        if not self.instances or task.last_failure == "NO_INSTANCES":  # none ACTIVE
            return ("was unable to place a task. Reason: No Container Instances were found in "
                    "your cluster.")
        if task.closest is None:
            return f"was unable to place a task: {task.last_failure}."
        inst_id, why = task.closest
        suffix = _SUFFIX.get(why.reason, f'encountered error "{why.reason}".')
        return ("was unable to place a task because no container instance met all of its "
                f"requirements. The closest matching container-instance {inst_id} {suffix} "
                "For more information, see the Troubleshooting section of the Amazon ECS "
                "Developer Guide.")

    def wake_all(self) -> None:
        """Something changed: every service looks again (at once if it is looking now)."""
        for svc in self.services:
            svc.dirty = True
            if svc.wake is not None and not svc.wake.triggered:
                svc.wake.succeed()

    def _run_service(self, svc: ServiceState):
        env = self.env
        while True:
            svc.dirty = False
            delay = self._reconcile(svc)
            self._observe(svc)
            self._maybe_steady()
            svc.wake = env.event()
            if svc.dirty:
                yield env.timeout(0)
            elif delay is None:
                yield svc.wake
            else:
                yield svc.wake | env.timeout(delay)

    # ---- the reconciler ---------------------------------------------------------------
    def _eligible(self, svc: ServiceState, inst: ContainerInstance) -> bool:
        return inst.status == "ACTIVE"

    def _reconcile(self, svc: ServiceState) -> float | None:
        """Start and stop tasks toward the desired state; return when to look again."""
        if svc.spec.scheduling == "daemon":
            return self._reconcile_daemon(svc)
        live = [t for t in svc.live if not t.draining]
        current = [t for t in live if t.revision == svc.revision
                   and t.instance.status == "ACTIVE"]
        old = [t for t in live if t not in current]
        dep = svc.deployment
        desired = svc.desired
        changed = False
        if dep is None and not old:
            for t in current[desired:]:  # scale in: the newest go first
                self._stop(svc, t, "Scaling activity initiated by (deployment ecs-svc)")
                changed = True
            room = desired - len(current)
        else:
            max_total = desired * svc.spec.deployment.maximum_percent // 100
            min_healthy = math.ceil(desired * svc.spec.deployment.minimum_healthy_percent / 100)
            healthy = len(svc.healthy)
            for t in sorted(old, key=lambda t: (t.healthy, t.id)):
                if not t.healthy:
                    self._stop(svc, t, "Task replaced by a deployment")
                    changed = True
                elif healthy - 1 >= min_healthy:
                    self._stop(svc, t, "Task replaced by a deployment")
                    healthy -= 1
                    changed = True
            old = [t for t in svc.live if not t.draining and t not in current]
            room = min(desired - len(current), max_total - len(old) - len(current))
            if room <= 0 and old and not changed and len(current) < desired and not any(
                    t.state != "RUNNING" or not t.healthy for t in current):
                if dep is not None and not dep.blocked:
                    self._event(svc, _CONFIG_BLOCKED)
                    dep.failures["DEPLOYMENT_CONFIGURATION"] += 1
                    dep.blocked = True
        started, delay = self._start_tasks(svc, max(0, room))
        if dep is not None:
            if started and dep.old_stopped:
                dep.waves += 1
                dep.old_stopped = False
                dep.blocked = False
            self._check_deployment(svc)
        if changed:
            self.wake_all()
        return delay

    def _start_tasks(self, svc: ServiceState, count: int,
                     only: ContainerInstance | None = None) -> tuple[int, float | None]:
        """Place up to ``count`` tasks within the launch rate; return (started, next look)."""
        env = self.env
        now = env.now
        delay = None
        # the tasks still wanted but not placed are waiting (PENDING) with their reasons
        while len(svc.waiting) > count:
            svc.waiting.pop()
        while len(svc.waiting) < count:
            svc.waiting.append(self._new_task(svc))
        if count and now < svc.retry_at:
            for t in svc.waiting:  # waiting out the back-off after tasks failed to start
                t.last_failure, t.closest = svc.last_launch_failure, None
                t.why_not = dict(svc.last_launch_where)
            return 0, svc.retry_at - now
        svc.launches = [t for t in svc.launches if t > now - LAUNCH_WINDOW]
        budget = LAUNCH_BATCH - len(svc.launches)
        svc.throttled = count > budget
        if count > budget:
            delay = svc.launches[0] + LAUNCH_WINDOW - now if svc.launches else LAUNCH_WINDOW
        mode = modes.get(svc.spec.network_mode)
        strategies = svc.spec.placement_strategy or DEFAULT_SERVICE_STRATEGY
        cluster = [only] if only is not None else self.instances
        started = []
        blocked = None
        for _ in range(min(count, budget)):
            if not svc.waiting:  # a failure tripped the circuit breaker mid-batch
                break
            task = svc.waiting[0]
            task.revision = svc.revision
            decision = place(svc.task_spec, task.group, mode, cluster, strategies,
                             svc.spec.placement_constraints, self.rng)
            if decision.instance is None:
                blocked = decision
                break
            svc.waiting.pop(0)
            svc.tasks.append(task)
            svc.launches.append(now)
            if self._start(svc, task, decision.instance, mode):
                started.append(task)
        if started:
            ids = " ".join(f"(task {t.id})" for t in started)
            self._event(svc, f"has started {len(started)} tasks: {ids}.")
        if blocked is not None:
            closest = blocked.closest
            for task in svc.waiting:
                task.why_not = {k: str(v) for k, v in blocked.rejected.items()}
                task.last_failure = closest[1].reason if closest else "NO_INSTANCES"
                task.closest = closest
            reason = svc.waiting[0].last_failure
            if svc.deployment is not None:
                svc.deployment.failures[reason] += 1
            if reason != svc.last_event_reason:
                self._event(svc, self._failure_message(svc.waiting[0]))
                svc.last_event_reason = reason
            self._scale_out(svc)
        elif not svc.waiting:
            svc.last_event_reason = None
        svc.blocked = blocked is not None
        if svc.retry_at > now:  # tasks failed to start: look again after the back-off
            delay = min(delay, svc.retry_at - now) if delay is not None else svc.retry_at - now
        return len(started), delay

    def _reconcile_daemon(self, svc: ServiceState) -> float | None:
        """One task per eligible instance; on update, stop the old task before the new."""
        changed = False
        started_any = 0
        delay = None
        mode = modes.get(svc.spec.network_mode)
        eligible = [i for i in self.instances if i.status == "ACTIVE"
                    and i.os in mode.supported_os
                    and check_constraints(i, "", svc.spec.placement_constraints) is None]
        svc.desired = len(eligible)
        for inst in eligible:
            mine = [t for t in svc.live if t.instance is inst and not t.draining]
            if any(t.revision != svc.revision for t in mine):
                for t in mine:
                    if t.revision != svc.revision:
                        self._stop(svc, t, "Task replaced by a deployment")
                        changed = True
                continue
            if not mine and not any(t.instance is inst for t in svc.live):
                if check_resources(inst, svc.task_spec, mode) is None:
                    n, d = self._start_tasks(svc, 1, only=inst)
                    started_any += n
                    delay = d if delay is None else min(delay, d or delay)
        if svc.deployment is not None:
            if started_any:
                svc.deployment.waves += 1
            self._check_deployment(svc)
        if changed:
            self.wake_all()
        return delay

    def _check_deployment(self, svc: ServiceState) -> None:
        dep = svc.deployment
        current = [t for t in svc.live if t.revision == svc.revision]
        old = [t for t in svc.live if t.revision != svc.revision]
        done = not old and len([t for t in current if t.healthy and not t.draining]) >= \
            svc.desired and len(current) >= svc.desired
        if done:
            dep.close(self.env.now, "COMPLETED")
            svc.deployment = None
            self._event(svc, f"(deployment {svc.name}:{dep.revision}) deployment completed.")
            self._event(svc, "has reached a steady state.")

    # ---- task lifecycle -----------------------------------------------------------------
    def _start(self, svc: ServiceState, task: Task, inst: ContainerInstance, mode) -> bool:
        failure = mode.attach(inst, task, svc.task_spec)
        inst.add(task)
        task.placed_at = self.env.now
        task.why_not = {}
        task.last_failure = None
        task.closest = None
        task.state = "PROVISIONING"
        if failure:
            self._fail(svc, task, failure)
            return False
        self.env.process(self._activate(svc, task, inst, mode))
        return True

    def _fail(self, svc: ServiceState, task: Task, reason: str, key: str | None = None,
              drain: bool = False) -> None:
        """A placed task that could not start (or failed its health checks): it stops, it
        counts against the deployment's circuit breaker, and the service retries later."""
        if task.instance is not None:  # the tasks waiting to retry say where and why
            svc.last_launch_where = {task.instance.id: reason}
        self._stop(svc, task, reason, drain=drain)
        key = key or reason.split(":")[0]
        svc.launch_failures[key] += 1
        if svc.deployment is not None:
            dep = svc.deployment
            dep.failures[key] += 1
            dep.failed_tasks += 1
            dep.last_failed_at = self.env.now
            self._circuit_breaker(svc)
        svc.last_launch_failure = key
        if svc.retry_at <= self.env.now:  # the first failure of a batch sets the back-off
            svc.retry_at = self.env.now + svc.retry_delay
            if svc.retry_delay > RETRY_FIRST:
                self._event(svc, "is unable to consistently start tasks successfully.")
            else:
                self._event(svc, f"task {task.id} stopped: {reason}")
            svc.retry_delay = min(RETRY_MAX, svc.retry_delay * 2)

    def _circuit_breaker(self, svc: ServiceState) -> None:
        dep = svc.deployment
        cb = svc.spec.deployment.circuit_breaker
        threshold = min(max(math.ceil(svc.desired / 2), 3), 200)
        if not cb.enable or dep.failed_tasks < threshold:
            return
        self._event(svc, f"(deployment {svc.name}:{dep.revision}) deployment failed: tasks "
                         "failed to start.")
        if cb.rollback and dep.revision > 1:
            dep.close(self.env.now, "ROLLED_BACK")
            svc.deployment = None
            self._deploy(svc, svc.revisions[dep.revision - 1][0], rollback=True)
        else:
            dep.close(self.env.now, "FAILED")
            svc.deployment = None

    def _activate(self, svc: ServiceState, task: Task, inst: ContainerInstance, mode):
        delay = mode.attach_delay(inst, task)
        if delay:
            yield self.env.timeout(delay)
        if task.state == "STOPPED":
            return
        task.state = "PENDING"
        yield self.env.timeout(inst.container_start_delay)
        if task.state == "STOPPED":
            return
        task.state = "RUNNING"
        task.running_at = self.env.now
        svc.retry_delay = RETRY_FIRST
        if svc.load_balanced:
            healthy_after, stopped_after = target_health(
                svc.spec.health_check or HealthCheck(), svc.spec.startup_time)
            self._refresh(svc)
            if stopped_after is not None:
                yield self.env.timeout(stopped_after)
                if task.state != "STOPPED" and not task.draining:
                    self._event(svc, f"(task {task.id}) is unhealthy in (target-group "
                                     f"{svc.name}) due to (reason Health checks failed).")
                    self._fail(svc, task, "Task failed ELB health checks in (target-group "
                                          f"{svc.name})", key=UNHEALTHY, drain=True)
                return
            yield self.env.timeout(healthy_after)
            if task.state == "STOPPED" or task.draining:
                return
        task.healthy = True
        task.healthy_at = self.env.now
        if svc.deployment is not None and task.revision == svc.deployment.revision:
            svc.deployment.last_healthy_at = self.env.now
        self._refresh(svc)
        self._check_steady(svc)
        self.wake_all()

    def _stop(self, svc: ServiceState, task: Task, reason: str, drain: bool = True) -> None:
        """Stop a task; behind a load balancer a running task drains first."""
        if task.state == "STOPPED" or task.draining:
            return
        if svc.deployment is not None and task.revision != svc.revision:
            svc.deployment.old_stopped = True
        if drain and svc.load_balanced and task.state == "RUNNING" and \
                svc.spec.deregistration_delay > 0:
            task.draining = True
            task.healthy = False
            self._refresh(svc)
            self.env.process(self._drain(svc, task, reason))
            return
        self._release(svc, task, reason)

    def _drain(self, svc: ServiceState, task: Task, reason: str):
        yield self.env.timeout(svc.spec.deregistration_delay)
        self._release(svc, task, reason)
        self.wake_all()

    def _release(self, svc: ServiceState, task: Task, reason: str) -> None:
        inst = task.instance
        if inst is not None and task.state != "STOPPED":
            modes.get(task.mode).release(inst, task)
            inst.remove(task)
        task.state = "STOPPED"
        task.healthy = False
        task.stopped_at = self.env.now
        task.stopped_reason = reason
        self._refresh(svc)

    def _refresh(self, svc: ServiceState) -> None:
        svc.targets = svc.healthy
        self._observe(svc)

    def _observe(self, svc: ServiceState) -> None:
        """Record the service's counts on the timeline when they change."""
        now = self.env.now
        running = [t for t in svc.tasks if t.state == "RUNNING"]
        draining = sum(1 for t in running if t.draining)
        new = sum(1 for t in running if t.revision == svc.revision and not t.draining)
        healthy = len(svc.healthy)
        row = (len(running) - new - draining, new, max(0, svc.desired - new), healthy, draining)
        if svc.deployment is not None:
            svc.deployment.observe(now, healthy)
        if self._last_row.get(svc.name) != row:
            self._last_row[svc.name] = row
            if self.timeline and self.timeline[-1]["t"] == now and \
                    self.timeline[-1]["service"] == svc.name:
                self.timeline.pop()
            self.timeline.append({"t": round(now, 6), "service": svc.name,
                                  "running_old": row[0], "running_new": row[1],
                                  "pending": row[2], "healthy": row[3],
                                  "draining": row[4]})

    def _check_steady(self, svc: ServiceState) -> None:
        if len(svc.healthy) >= svc.desired and svc.steady_at is None and svc.desired > 0:
            svc.steady_at = self.env.now
            self._event(svc, "has reached a steady state.")

    def _maybe_steady(self) -> None:
        """Fire ``self.steady`` once every task that can start is RUNNING."""
        if self.steady.triggered or sum(self._launching.values()):
            return
        for svc in self.services:
            if any(t.state in ("PROVISIONING", "PENDING") or not (t.healthy or t.draining)
                   for t in svc.live):
                return
            if svc.throttled or (len(svc.live) < svc.desired and not (svc.blocked or
                                                                        svc.waiting)):
                return
        self.steady.succeed(self.env.now)

    def finish(self) -> None:
        """At the end of the run: a deployment still waiting on a blocker, or whose new
        tasks keep failing with none turning healthy since, is STALLED."""
        for svc in self.services:
            dep = svc.deployment
            if dep is not None:
                self._observe(svc)
                moving = sum(self._launching.values()) or any(
                    t.draining or t.state in ("PROVISIONING", "PENDING") or not t.healthy
                    for t in svc.live) or self.env.now < svc.retry_at
                looping = dep.last_failed_at is not None and (
                    dep.last_healthy_at is None or dep.last_failed_at > dep.last_healthy_at)
                status = "IN_PROGRESS" if moving and not looping else "STALLED"
                dep.close(self.env.now, status)
                if status == "STALLED":
                    reasons = ", ".join(dep.failures) or "no progress"
                    self._event(svc, f"(deployment {svc.name}:{dep.revision}) is STALLED: "
                                     f"{reasons}.")

    # ---- managed scale-out ------------------------------------------------------------
    def _scale_out(self, svc: ServiceState) -> None:
        """Launch instances for tasks that no instance can take, counting every dimension
        (CPU, memory, ports, ENIs, branches) by placing them on a probe instance."""
        mode = modes.get(svc.spec.network_mode)
        for g in self.scenario.cluster.instance_groups:
            if g.scaling is None:
                continue
            have = sum(1 for i in self.instances if i.group == g.name
                       and i.status in ("ACTIVE", "DRAINING")) + self._launching[g.name]
            room = g.scaling.max - have
            waiting = len(svc.waiting) - svc.awaiting_capacity
            if room <= 0 or waiting <= 0:
                continue
            per_instance = self._fit_on_new(g, svc, mode, waiting)
            if per_instance == 0:
                continue
            n = min(room, math.ceil(waiting / per_instance))
            self._launching[g.name] += n
            svc.awaiting_capacity += n * per_instance
            self.events.append(Event(self.env.now, svc.name,
                                     f"managed scaling launches {n} {g.type} instance(s) in "
                                     f"{g.name} for {waiting} task(s) that cannot be placed",
                                     "launch", n))
            self.env.process(self._arrive(g, n, svc, n * per_instance))
            return

    def _fit_on_new(self, g: InstanceGroup, svc: ServiceState, mode, limit: int) -> int:
        real = self._subnet_of(g)
        probe_subnet = SubnetPool(real.name, real.cidr, real.az)
        probe = self._new_instance(g, 10**6, probe_subnet)
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
            task.state = "RUNNING"
            n += 1
        return n

    def _arrive(self, g: InstanceGroup, n: int, svc: ServiceState, expected: int):
        yield self.env.timeout(g.scaling.launch_delay)
        for _ in range(n):
            inst = self._launch_instance(g)
            self.events.append(Event(self.env.now, "", f"container instance {inst.id} "
                                                       f"registered in {g.name} by managed "
                                                       "scaling", "register", 1))
        self._launching[g.name] -= n
        svc.awaiting_capacity = max(0, svc.awaiting_capacity - expected)
        self.wake_all()

    # ---- events -------------------------------------------------------------------------
    def _service(self, name: str) -> ServiceState:
        return next(s for s in self.services if s.name == name)

    def _deploy(self, svc: ServiceState, spec: Service, rollback: bool = False) -> None:
        svc.revision += 1
        svc.spec = spec
        svc.task_spec = self._task_spec(spec)
        svc.revisions[svc.revision] = (spec, svc.task_spec)
        svc.waiting = []
        svc.retry_at = 0.0
        svc.retry_delay = RETRY_FIRST
        if svc.deployment is not None:  # a newer deployment replaces one in progress
            svc.deployment.close(self.env.now, "STALLED")
        dep = Deployment(service=svc.name, revision=svc.revision, started_at=self.env.now)
        dep.observe(self.env.now, len(svc.healthy))
        svc.deployment = dep
        svc.deployments.append(dep)
        what = "rollback to the previous revision" if rollback else "new deployment"
        self._event(svc, f"(deployment {svc.name}:{svc.revision}) {what} started.")

    def _at(self, ev):
        env = self.env
        if ev.at > env.now:
            yield env.timeout(ev.at - env.now)
        if ev.deploy is not None:
            svc = self._service(ev.deploy)
            spec = Service.model_validate({**svc.spec.model_dump(by_alias=True), **ev.set})
            self._deploy(svc, spec)
        elif ev.scale is not None:
            svc = self._service(ev.scale)
            svc.desired = ev.desired_count
            self._event(svc, f"desired count changed to {ev.desired_count}.")
        else:
            sel, drain = (ev.drain, True) if ev.drain is not None else (ev.terminate, False)
            for inst in self._group_instances(sel.group)[:sel.count]:
                self._retire(inst, drain)
        self.wake_all()

    def _retire(self, inst: ContainerInstance, drain: bool) -> None:
        """Drain (tasks are replaced elsewhere first) or terminate (tasks die now)."""
        if drain:
            inst.status = "DRAINING"
            self.events.append(Event(self.env.now, "", f"container instance {inst.id} is "
                                                       "DRAINING", "drain", 1))
            return
        inst.status = "INACTIVE"
        self.events.append(Event(self.env.now, "", f"container instance {inst.id} was "
                                                   "terminated", "terminate", 1))
        for svc in self.services:
            for t in [t for t in svc.live if t.instance is inst]:
                t.draining = False
                self._release(svc, t, "Host EC2 (instance " + inst.id + ") terminated.")
        for ip in (inst.primary_ip, inst.trunk_ip):
            if ip:
                inst.subnet.release(ip)
