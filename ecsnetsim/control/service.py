"""The service controller: each service reconciled toward its desired state.

Each service is reconciled whenever something it depends on changes (a task starts,
becomes healthy or stops; an instance registers, drains or goes away; an event). During
a deployment the reconciler follows ECS's rolling update: at most
``floor(desired * maximum_percent / 100)`` tasks exist, at least
``ceil(desired * minimum_healthy_percent / 100)`` stay healthy; new tasks start up to
the maximum, old tasks stop (draining for the deregistration delay when a load balancer
sends them traffic) as far as the minimum allows, in waves until only the new revision
runs. A daemon service runs one task on each eligible instance. The scheduler launches
at most 250 tasks per service per minute (ECS best practices, task launch). A task that
no instance can take waits, unplaced, with ECS's reason and a per-instance answer to
"why not here?".
"""

from __future__ import annotations

import math

import numpy as np
import simpy

from .. import modes
from ..model.instance import ContainerInstance, Task
from ..model.ipam import SubnetPool
from ..model.ports import PortNeed
from ..model.states import TaskState
from ..modes import TaskSpec
from ..scenario.schema import Scenario, Service
from .bluegreen import BlueGreen
from .capacity import EC2_LAUNCH_BATCH, ContainerInstancePlacement, FargateMicroVmPerTask
from .daemonwatch import DaemonCandidates
from .deployments import DeploymentTracker
from .events import EventLog, Timeline
from .fleet import Fleet
from .lifecycle import Lifecycle
from .placement import check_constraints, check_resources
from .providers import CapacityProviders
from .scaling import ManagedScaling
from .servicestate import RETRY_FIRST, RETRY_MAX, ServiceState
from .waiting import WaitingTasks

#: ECS service scheduler launch rate on EC2 (best practices guide: 250 tasks/service/min;
#: Fargate: 500, see ``capacity.py``).
LAUNCH_BATCH = EC2_LAUNCH_BATCH
LAUNCH_WINDOW = 60.0

#: Failure key of a task stopped for failing its load balancer health checks.
UNHEALTHY = "ELB:UNHEALTHY"

_SUFFIX = {
    "RESOURCE:CPU": "has insufficient CPU units available.",
    "RESOURCE:MEMORY": "has insufficient memory available.",
    "RESOURCE:PORTS": "is already using a port required by your task.",
    "ATTRIBUTE": "is missing an attribute required by your task.",
}


def _error_name(why) -> str:
    """The error ECS's event names: a constraint by its own words (``MemberOf placement
    constraint unsatisfied.``), any other failure by its reason (``RESOURCE:ENI``)."""
    if why.reason == "CONSTRAINT":
        return why.detail.split(":")[0].rstrip(".") + "."
    return why.reason


def task_spec(svc: Service, fleet: Fleet, subnets: dict[str, SubnetPool]) -> TaskSpec:
    """What the network mode and placement need to know of a service's tasks.

    A task with an ENI of its own takes its IP from the service's subnets, by default
    those of the cluster's instances (all of the VPC's for Fargate or with no instances);
    other modes ignore ``subnets``, so that a scenario compares across modes.
    """
    mode = modes.get(svc.network_mode)
    instance_subnets = list(dict.fromkeys(i.subnet.name for i in fleet.instances))
    if svc.launch_type == "FARGATE" or not instance_subnets:
        instance_subnets = [sn.name for sn in fleet.scenario.vpc.subnets]
    chosen = mode.task_subnets(tuple(subnets[n] for n in svc.subnets or ()),
                               tuple(subnets[n] for n in instance_subnets))
    maps = tuple(PortNeed(pm.ports[0], pm.host_port, pm.protocol, pm.ports[1])
                 for c in svc.containers for pm in c.port_mappings)
    platform = svc.runtime_platform
    return TaskSpec(service=svc.name, mode=svc.network_mode, cpu=svc.cpu,
                    memory=svc.memory, port_mappings=maps, subnets=chosen,
                    os=platform.os if platform else None,
                    cpu_architecture=platform.arch if platform else None, gpu=svc.gpu)


class ServiceController:
    """Runs one reconciler per service on the simpy clock; fires ``steady`` once every
    task that can start is RUNNING."""

    def __init__(self, scenario: Scenario, env: simpy.Environment, rng: np.random.Generator,
                 fleet: Fleet, subnets: dict[str, SubnetPool], log: EventLog,
                 timeline: Timeline, lifecycle: Lifecycle, deployments: DeploymentTracker,
                 scaling: ManagedScaling) -> None:
        self.env = env
        self.rng = rng
        self.fleet = fleet
        self.subnets = subnets
        self.log = log
        self.timeline = timeline
        self.deployments = deployments
        self.scaling = scaling
        self.lifecycle = lifecycle
        self.blue_green = BlueGreen(log, lifecycle.stop)
        self._task_seq = 0
        self.capacity = {
            "EC2": ContainerInstancePlacement(fleet.instances, rng, fleet.changes),
            "FARGATE": FargateMicroVmPerTask(scenario.fargate.task_start_delay),
        }
        #: capacity provider strategies and EXTERNAL: where such a service's tasks go
        self.providers = CapacityProviders(scenario, fleet, self.capacity["EC2"],
                                           self.capacity["FARGATE"])
        scaling.providers = self.providers
        balanced = {scenario.service_named(f.to).name for f in scenario.traffic
                    if f.via != "direct" and scenario.service_named(f.to) is not None}
        balanced |= {s.name for s in scenario.services if s.balancers}
        self.services = [self._service_state(s, s.name in balanced) for s in scenario.services]
        self.steady = env.event()

    def _service_state(self, svc: Service, behind_lb: bool) -> ServiceState:
        spec = task_spec(svc, self.fleet, self.subnets)
        state = ServiceState(spec=svc, task_spec=spec, desired=svc.desired_count,
                             load_balanced=behind_lb or svc.health_check is not None)
        state.revisions[1] = (svc, spec)
        state.waiting = WaitingTasks(lambda number: self._new_task(state, number))
        return state

    def service(self, name: str) -> ServiceState:
        return next(s for s in self.services if s.name == name)

    def _event(self, svc: ServiceState, message: str) -> None:
        self.log.service(svc.name, message)

    # ---- what changes a service -------------------------------------------------------
    def deploy(self, svc: ServiceState, spec: Service, rollback: bool = False) -> None:
        """Roll the service out to ``spec`` as its next revision."""
        svc.revision += 1
        svc.spec = spec
        svc.task_spec = task_spec(spec, self.fleet, self.subnets)
        svc.revisions[svc.revision] = (spec, svc.task_spec)
        svc.tally.set_revision(svc.revision)
        svc.waiting.clear()
        svc.retry_at = 0.0
        svc.retry_delay = RETRY_FIRST
        dep = self.deployments.begin(svc, rollback)
        if spec.deployment_controller == "CODE_DEPLOY":
            self.blue_green.begin(svc, dep)

    def scale(self, svc: ServiceState, desired: int) -> None:
        svc.desired = desired
        self._event(svc, f"desired count changed to {desired}.")

    def wake_all(self) -> None:
        """Something changed: every service looks again (at once if it is looking now)."""
        for svc in self.services:
            svc.dirty = True
            if svc.wake is not None and not svc.wake.triggered:
                svc.wake.succeed()

    # ---- the reconciler ---------------------------------------------------------------
    def run(self, svc: ServiceState):
        """The service's reconciler: a simpy process that looks whenever woken, or when
        the launch rate or a back-off lets it start more tasks."""
        env = self.env
        while True:
            svc.dirty = False
            delay = self._reconcile(svc)
            self.observe(svc)
            self._maybe_steady()
            svc.wake = env.event()
            if svc.dirty:
                yield env.timeout(0)
            elif delay is None:
                yield svc.wake
            else:
                yield svc.wake | env.timeout(delay)

    def _reconcile(self, svc: ServiceState) -> float | None:
        """Start and stop tasks toward the desired state; return when to look again."""
        if svc.spec.scheduling == "daemon":
            return self._reconcile_daemon(svc)
        tally = svc.tally
        current = tally.current()
        dep = svc.deployment
        desired = svc.desired
        changed = False
        step_in = None
        if dep is None and not tally.old():
            if current > desired:
                for t in self._current_tasks(svc)[desired:]:  # scale in: the newest go first
                    self.lifecycle.stop(svc, t,
                                        "Scaling activity initiated by (deployment ecs-svc)")
                    changed = True
            room = desired - current
        elif dep is not None and svc.spec.deployment_controller == "CODE_DEPLOY":
            changed, room, step_in = self.blue_green.step(svc, current, self.env.now)
        else:
            changed, room = self._replace(svc, current)
        started, delay = self._start_tasks(svc, max(0, room))
        if step_in is not None:  # the blue/green deployment's next step is due then
            delay = step_in if delay is None else min(delay, step_in)
        if dep is not None:
            self.deployments.started(dep, started)
            self.deployments.check(svc)
        if changed:
            self.wake_all()
        return delay

    @staticmethod
    def _current_tasks(svc: ServiceState) -> list[Task]:
        """The current tasks in placement order (listed only to choose which stop)."""
        return [t for t in svc.tally.live if not t.draining and t.revision == svc.revision
                and t.instance.status == "ACTIVE"]

    def _replace(self, svc: ServiceState, current: int) -> tuple[bool, int]:
        """One step of the rolling update: stop old tasks as far as the minimum healthy
        percent allows; return (stopped any, room for new tasks under the maximum).

        ``current``: how many current tasks there are. Old tasks stop in the order
        (healthy, task id): every unhealthy one, then healthy ones by id while the
        minimum allows (once it does not, it does not for a later one either).
        """
        desired = svc.desired
        max_total = desired * svc.spec.deployment.maximum_percent // 100
        min_healthy = math.ceil(desired * svc.spec.deployment.minimum_healthy_percent / 100)
        tally = svc.tally
        healthy = tally.healthy()
        changed = False
        for t in tally.old_unhealthy():
            self.lifecycle.stop(svc, t, "Task replaced by a deployment")
            changed = True
        while healthy - 1 >= min_healthy:
            t = tally.pop_old_healthy()
            if t is None:
                break
            self.lifecycle.stop(svc, t, "Task replaced by a deployment")
            healthy -= 1
            changed = True
        old = tally.old()
        room = min(desired - current, max_total - old - current)
        if room <= 0 and old and not changed and current < desired and \
                not tally.current_unready():
            self.deployments.config_blocked(svc)
        return changed, room

    def _reconcile_daemon(self, svc: ServiceState) -> float | None:
        """One task per eligible instance; on update, stop the old task before the new.
        Only the instances where something may have changed are looked at (see
        :mod:`.daemonwatch`), in cluster order."""
        changed = False
        started_any = 0
        delay = None
        mode = modes.get(svc.spec.network_mode)
        watch = svc.daemon_watch
        if watch is None:
            watch = svc.daemon_watch = DaemonCandidates(self.fleet.instances,
                                                        self.fleet.changes)
        instances = self.fleet.instances
        now = self.env.now
        eligible = []  # first which instances are eligible, as the pass begins
        for pos in watch.positions(svc.revision, now):
            inst = instances[pos]
            ok = inst.status == "ACTIVE" and inst.os in mode.supported_os and \
                check_constraints(inst, "", svc.spec.placement_constraints) is None
            watch.eligible_now(pos, ok)
            if ok:
                eligible.append(inst)
        svc.desired = len(watch.eligible)
        for inst in eligible:
            here = [t for t in inst.running_tasks if t.tally is svc.tally]  # placement order
            mine = [t for t in here if not t.draining]
            if any(t.revision != svc.revision for t in mine):
                for t in mine:
                    if t.revision != svc.revision:
                        self.lifecycle.stop(svc, t, "Task replaced by a deployment")
                        changed = True
            elif not here and now < watch.starts_held_until:
                # no start can happen before then (the launch rate, a back-off), and a
                # start tried meanwhile changes nothing: tried again then
                watch.start_pending(inst.position)
            elif not here and check_resources(inst, svc.task_spec, mode) is None:
                n, d = self._start_tasks(svc, 1, only=inst)
                started_any += n
                delay = d if delay is None else min(delay, d or delay)
                if not n:
                    watch.start_pending(inst.position)
                    if d is not None and (svc.throttled or now < svc.retry_at):
                        watch.starts_held_until = now + d
        if watch.waiting_starts() and now < watch.starts_held_until:
            held = watch.starts_held_until - now  # when the waiting starts are tried again
            delay = held if delay is None else min(delay, held)
        if svc.deployment is not None:
            self.deployments.daemon_started(svc, started_any)
            self.deployments.check(svc)
        if changed:
            self.wake_all()
        return delay

    # ---- starting tasks ---------------------------------------------------------------
    def _new_task(self, svc: ServiceState, number: int) -> Task:
        """Task ``number`` of the service (numbers run across services: see ``_want``)."""
        spec = svc.spec
        task = Task(id=f"{spec.name}-{number:04d}", service=spec.name,
                    group=svc.group, mode=spec.network_mode, cpu=spec.cpu,
                    memory=spec.memory, gpu=spec.gpu)
        task.revision = svc.revision
        task.tally = svc.tally
        return task

    def _want(self, svc: ServiceState, count: int) -> None:
        """The tasks still wanted but not placed are waiting (PENDING) with their reasons;
        each new one takes the cluster's next task number."""
        waiting = svc.waiting
        while len(waiting) > count:
            waiting.pop()
        while len(waiting) < count:
            self._task_seq += 1
            waiting.append(self._task_seq)

    def _why_waiting(self, svc: ServiceState) -> dict[str, str]:
        """Why a task waiting out the retry back-off is on no instance, per ACTIVE instance:
        where tasks failed to start, that failure; elsewhere what placement would say, or
        that it would fit but the service is backing off. Worked out once per back-off."""
        if svc.why_waiting_for == svc.retry_at:
            return svc.why_waiting
        mode = modes.get(svc.spec.network_mode)
        why = {}
        if svc.spec.launch_type == "EC2":
            group = f"service:{svc.name}"
            for inst in self.fleet.instances:
                if inst.status != "ACTIVE":
                    continue
                rejection = check_resources(inst, svc.task_spec, mode) or check_constraints(
                    inst, group, svc.spec.placement_constraints)
                why[inst.id] = str(rejection) if rejection else (
                    f"fits; the service waits out its retry back-off after tasks failed to "
                    f"start ({svc.last_launch_failure})")
        why.update(svc.last_launch_where)
        svc.why_waiting, svc.why_waiting_for = why, svc.retry_at
        return why

    def _start_tasks(self, svc: ServiceState, count: int,
                     only: ContainerInstance | None = None) -> tuple[int, float | None]:
        """Place up to ``count`` tasks within the launch rate; return (started, next look)."""
        now = self.env.now
        delay = None
        self._want(svc, count)
        if count and now < svc.retry_at:
            # waiting out the back-off after tasks failed to start
            svc.waiting.explain(svc.last_launch_failure, None, dict(self._why_waiting(svc)))
            return 0, svc.retry_at - now
        launches = svc.launches  # in time order: the ones out of the window are first
        while launches and launches[0] <= now - LAUNCH_WINDOW:
            launches.popleft()
        budget = self._capacity(svc).launch_batch - len(svc.launches)
        svc.throttled = count > budget
        if count > budget:
            delay = svc.launches[0] + LAUNCH_WINDOW - now if svc.launches else LAUNCH_WINDOW
        started, blocked = self._place(svc, min(count, budget), only)
        if started:
            ids = " ".join(f"(task {t.id})" for t in started)
            self._event(svc, f"has started {len(started)} tasks: {ids}.")
        if blocked is not None:
            self._unplaced(svc, blocked)
        elif not svc.waiting:
            svc.last_event_reason = None
        svc.blocked = blocked is not None
        if svc.retry_at > now:  # tasks failed to start: look again after the back-off
            delay = min(delay, svc.retry_at - now) if delay is not None else svc.retry_at - now
        return len(started), delay

    def _place(self, svc: ServiceState, count: int, only: ContainerInstance | None):
        """Place and start up to ``count`` waiting tasks; return (started, the placement
        decision that found no instance, if one did not)."""
        mode = modes.get(svc.spec.network_mode)
        capacity = self._capacity(svc)
        started = []
        now = self.env.now
        for _ in range(count):
            if not svc.waiting:  # a failure tripped the circuit breaker mid-batch
                break
            task = svc.waiting.first()
            task.revision = svc.revision
            decision = capacity.choose(svc, task, mode, only)
            if decision.instance is None:
                return started, decision
            svc.waiting.take_first()
            svc.tasks.append(task)
            svc.launches.append(now)
            if self.lifecycle.start(svc, task, decision.instance, mode):
                started.append(task)
        return started, None

    def _capacity(self, svc: ServiceState):
        """Where the service's tasks go: its capacity provider strategy's providers, the
        external instances (EXTERNAL), or its launch type's placement."""
        return self.providers.for_service(svc) or self.capacity[svc.spec.launch_type]

    def _unplaced(self, svc: ServiceState, blocked) -> None:
        """No instance takes the next task: every waiting task says why, the service says
        so once per reason, and managed scaling may launch instances."""
        closest = blocked.closest
        reason = closest[1].reason if closest else "NO_INSTANCES"
        svc.waiting.explain(reason, closest, {k: str(v) for k, v in blocked.rejected.items()})
        self.deployments.unplaced(svc, reason, svc.waiting)
        if reason != svc.last_event_reason:
            self._event(svc, self._failure_message(svc.waiting.first()))
            svc.last_event_reason = reason
        self.scaling.scale_out(svc)

    def _failure_message(self, task: Task) -> str:
        if not self.fleet.instances or task.last_failure == "NO_INSTANCES":  # none ACTIVE
            return ("was unable to place a task. Reason: No Container Instances were found in "
                    "your cluster.")
        if task.closest is None:
            return f"was unable to place a task: {task.last_failure}."
        inst_id, why = task.closest
        suffix = _SUFFIX.get(why.reason, f'encountered error "{_error_name(why)}".')
        return ("was unable to place a task because no container instance met all of its "
                f"requirements. The closest matching container-instance {inst_id} {suffix} "
                "For more information, see the Troubleshooting section of the Amazon ECS "
                "Developer Guide.")

    # ---- what the lifecycle reports -----------------------------------------------------
    def fail(self, svc: ServiceState, task: Task, reason: str, key: str | None = None,
             drain: bool = False) -> None:
        """A placed task that could not start (or failed its health checks): it stops, it
        counts against the deployment's circuit breaker, and the service retries later."""
        if task.instance is not None:  # the tasks waiting to retry say where and why
            svc.last_launch_where = {task.instance.id: reason}
        self.lifecycle.stop(svc, task, reason, drain=drain)
        key = key or reason.split(":")[0]
        svc.launch_failures[key] += 1
        rollback = self.deployments.task_failed(svc, key)
        if rollback is not None:
            self.deploy(svc, rollback, rollback=True)
        svc.last_launch_failure = key
        self._back_off(svc, task, reason)

    def _back_off(self, svc: ServiceState, task: Task, reason: str) -> None:
        """The first failure of a batch sets when the service tries again, doubling."""
        now = self.env.now
        if svc.retry_at <= now:
            svc.retry_at = now + svc.retry_delay
            if svc.retry_delay > RETRY_FIRST:
                self._event(svc, "is unable to consistently start tasks successfully.")
            else:
                self._event(svc, f"task {task.id} stopped: {reason}")
            svc.retry_delay = min(RETRY_MAX, svc.retry_delay * 2)

    def unhealthy(self, svc: ServiceState, task: Task) -> None:
        self._event(svc, f"(task {task.id}) is unhealthy in (target-group {svc.name}) due to "
                         "(reason Health checks failed).")
        self.fail(svc, task, f"Task failed ELB health checks in (target-group {svc.name})",
                  key=UNHEALTHY, drain=True)
        if task.state == TaskState.STOPPED:  # no drain to wait for: look again now
            self.wake_all()

    def running(self, svc: ServiceState, task: Task) -> None:
        svc.retry_delay = RETRY_FIRST

    def refresh(self, svc: ServiceState) -> None:
        """The service's tasks changed: traffic goes to the healthy ones; counts recorded."""
        self.observe(svc)

    def observe(self, svc: ServiceState) -> None:
        """Record the service's counts on the timeline (and its deployment's) when they
        change."""
        row = svc.counts()
        self.deployments.observe(svc, row[3])
        self.timeline.record(self.env.now, svc.name, row)

    def check_steady(self, svc: ServiceState) -> None:
        if svc.tally.healthy() >= svc.desired and svc.steady_at is None and svc.desired > 0:
            svc.steady_at = self.env.now
            self._event(svc, "has reached a steady state.")

    def _maybe_steady(self) -> None:
        """Fire ``self.steady`` once every task that can start is RUNNING."""
        if self.steady.triggered or self.scaling.pending:
            return
        for svc in self.services:
            if svc.tally.unsettled():
                return
            if svc.throttled or (svc.tally.live_count() < svc.desired and not (svc.blocked or
                                                                        svc.waiting)):
                return
        self.steady.succeed(self.env.now)

    def _moving(self, svc: ServiceState) -> bool:
        """Instances or tasks are still on their way, or a retry is due."""
        return bool(self.scaling.pending or svc.tally.moving()
                    or self.env.now < svc.retry_at)

    def finish(self) -> None:
        """At the end of the run: each deployment in progress is closed, STALLED unless
        it is still moving (see :meth:`DeploymentTracker.finish`)."""
        for svc in self.services:
            if svc.deployment is not None:
                self.observe(svc)
                self.deployments.finish(svc, self._moving(svc))
