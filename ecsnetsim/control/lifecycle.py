"""The task lifecycle: ECS's task states, as far as the model goes, and the moves between them.

A task the service wants but no instance has taken yet waits PENDING. Placed, it is
PROVISIONING while its network mode attaches what it needs (awsvpc: waiting for the ENI
or branch to attach), then PENDING while its containers start, then RUNNING. Behind a
load balancer it counts as healthy once the health check has passed (see
:func:`~ecsnetsim.control.deployments.target_health`); a target that turns unhealthy
first has its task stopped once the grace period is over. A running task behind a load
balancer that is stopped is DEACTIVATING for the deregistration delay (it drains, its
containers still run and hold their resources) before it is STOPPED; any other task stops
at once. ECS's ACTIVATING, STOPPING and DEPROVISIONING steps take no time in the model
and are not states here.

Every change of state goes through :func:`advance`, which refuses a move that ECS does
not make (:class:`IllegalTransition`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import simpy
from simpy.events import URGENT

from ..model.fargate import MicroVm
from ..model.states import (  # noqa: F401 (the states are part of the lifecycle's surface)
    STARTING,
    TRANSITIONS,
    IllegalTransition,
    TaskState,
    advance,
)
from ..model.tally import retally
from ..scenario.schema import HealthCheck
from .deployments import target_health
from .timers import Timers

if TYPE_CHECKING:
    from ..model.instance import ContainerInstance, Task
    from ..modes import NetworkMode
    from .servicestate import ServiceState


class Listener(Protocol):
    """What the rest of the control plane hears from the lifecycle."""

    def changed(self, svc: ServiceState) -> None:
        """The service's tasks changed state or health."""

    def running(self, svc: ServiceState, task: Task) -> None:
        """A task's containers are running."""

    def healthy(self, svc: ServiceState, task: Task) -> None:
        """A task passed its health checks (or is RUNNING, with no load balancer)."""

    def settled(self, svc: ServiceState) -> None:
        """Tasks of the service turned healthy just now (one or more, told once for a run
        of them): its counts changed, it may be steady, the services look again."""

    def unhealthy(self, svc: ServiceState, task: Task) -> None:
        """A task failed its health checks after the grace period: it must stop."""

    def failed(self, svc: ServiceState, task: Task, reason: str) -> None:
        """A placed task's network could not be attached: it must stop."""

    def stopping(self, svc: ServiceState, task: Task) -> None:
        """A task is about to drain or stop."""

    def drained(self, svc: ServiceState) -> None:
        """A task's deregistration delay is over."""

    def health_check_blocked(self, svc: ServiceState, task: Task):
        """Why the load balancer's health checks cannot reach the task, or None."""


class Lifecycle:
    """Moves tasks through their states on the simpy clock and tells a :class:`Listener`."""

    def __init__(self, env: simpy.Environment, listener: Listener,
                 mode_of: Callable[[str], NetworkMode]) -> None:
        self.env = env
        self.listener = listener
        self.mode_of = mode_of
        self.timers = Timers(env, on_run_end=self.settle)
        self._unsettled: ServiceState | None = None  # tasks turned healthy, not yet told
        #: tell the listener once per run of tasks turned healthy (False: after each one)
        self.coalesce = True

    def start(self, svc: ServiceState, task: Task, inst: ContainerInstance | MicroVm,
              mode: NetworkMode) -> bool:
        """Place ``task`` on ``inst`` and attach its network: PROVISIONING, then on its way
        to RUNNING; False (the listener hears why) when the attachment failed."""
        self.settle()
        failure = mode.attach(inst, task, svc.task_spec)
        advance(task, TaskState.PROVISIONING)  # before the instance counts it, once
        inst.add(task)
        task.placed_at = self.env.now
        if task.why_not:  # reasons it waited (shared by the tasks waiting with it)
            task.why_not = {}
        task.last_failure = None
        task.closest = None
        if failure:
            self.listener.failed(svc, task, failure)
            return False
        _Activation(self, svc, task, inst, mode)
        return True

    def stop(self, svc: ServiceState, task: Task, reason: str, drain: bool = True) -> None:
        """Stop a task; behind a load balancer a running task drains first."""
        self.settle()
        if task.state in (TaskState.STOPPED, TaskState.DEACTIVATING):
            return
        self.listener.stopping(svc, task)
        if drain and svc.load_balanced and task.state == TaskState.RUNNING and \
                svc.spec.deregistration_delay > 0:
            advance(task, TaskState.DEACTIVATING)
            task.healthy = False
            retally(task)
            self.listener.changed(svc)
            self.env.process(self._drain(svc, task, reason))
            return
        self.release(svc, task, reason)

    def _drain(self, svc: ServiceState, task: Task, reason: str):
        yield self.env.timeout(svc.spec.deregistration_delay)
        self.settle()
        if task.state == TaskState.DEACTIVATING:
            self.release(svc, task, reason)
        else:  # stopped meanwhile (its instance was terminated): that reason stands
            self.listener.changed(svc)
        self.listener.drained(svc)

    def release(self, svc: ServiceState, task: Task, reason: str) -> None:
        """STOPPED: the task's network mode and instance give back what it held."""
        self.settle()
        advance(task, TaskState.STOPPED)
        inst = task.instance
        if inst is not None:
            self.mode_of(task.mode).release(inst, task)
            inst.remove(task)
        task.healthy = False
        retally(task)
        task.stopped_at = self.env.now
        task.stopped_reason = reason
        self.listener.changed(svc)

    def turned_healthy(self, svc: ServiceState) -> None:
        """A task of ``svc`` turned healthy: the listener is told once the run of such
        tasks ends (the end of the batch of steps, or a step of another kind or service).

        Told after each task, it recorded the service's counts, checked whether it was
        steady and woke the services, once per task; within one instant, with healthy
        counts only rising and nothing else happening in between, once for the run
        records the same rows, the same lowest healthy count and the same steady time.
        """
        if self._unsettled is not svc:
            self.settle()
            self._unsettled = svc
        if not self.coalesce:
            self.settle()

    def settle(self) -> None:
        """Tell the listener of the tasks that turned healthy and have not been told."""
        svc = self._unsettled
        if svc is not None:
            self._unsettled = None
            self.listener.settled(svc)


class _Activation:
    """One placed task on its way to RUNNING and healthy: attach delay -> PENDING ->
    container start -> RUNNING -> health checks.

    Each step is a callback on the lifecycle's :class:`~.timers.Timers`, due where a
    process per task would wait: its start urgent at once (as a process's initialisation
    is), then each delay. Tasks placed together share one simpy event per step, in the
    order separate events would run; no generator or process per task.
    """

    __slots__ = ("life", "svc", "task", "inst", "mode")

    def __init__(self, life: Lifecycle, svc: ServiceState, task: Task,
                 inst: ContainerInstance | MicroVm, mode: NetworkMode) -> None:
        self.life, self.svc, self.task, self.inst, self.mode = life, svc, task, inst, mode
        life.timers.call_at(0, self._attaching, URGENT)

    def _attaching(self) -> None:
        self.life.settle()
        delay = self.mode.attach_delay(self.inst, self.task)
        if delay:
            self.life.timers.call_at(delay, self._attached)
        else:
            self._attached()

    def _attached(self) -> None:
        self.life.settle()
        task = self.task
        if task.state is TaskState.STOPPED:
            return
        advance(task, TaskState.PENDING)
        self.life.timers.call_at(self.inst.container_start_delay, self._started)

    def _started(self) -> None:
        task, svc, life = self.task, self.svc, self.life
        if task.state is TaskState.STOPPED:
            return
        advance(task, TaskState.RUNNING)
        task.running_at = life.env.now
        life.listener.running(svc, task)
        if svc.load_balanced:
            self._health_checks()
        else:
            self._healthy()

    def _health_checks(self) -> None:
        """Wait for the load balancer's verdict on a RUNNING task: healthy once the target
        passed its health checks; nothing if the task was stopped meanwhile; stopped by
        ECS once the grace period is over if it failed them."""
        svc, task, life = self.svc, self.task, self.life
        life.settle()
        hc = svc.spec.health_check or HealthCheck()  # type: ignore[call-arg]
        healthy_after: float | None
        healthy_after, stopped_after = target_health(hc, svc.spec.startup_time)
        if life.listener.health_check_blocked(svc, task) is not None:
            # the checks never arrive (a security group drops them): every one times out
            healthy_after = None
            stopped_after = max(hc.unhealthy_threshold * hc.interval, hc.grace_period)
        life.listener.changed(svc)
        if stopped_after is not None:
            life.timers.call_at(stopped_after, self._failed_checks)
        else:
            life.timers.call_at(healthy_after, self._healthy)  # type: ignore[arg-type]

    def _failed_checks(self) -> None:
        self.life.settle()
        if self.task.state is TaskState.RUNNING:
            self.life.listener.unhealthy(self.svc, self.task)

    def _healthy(self) -> None:
        task, life = self.task, self.life
        if task.state is not TaskState.RUNNING:
            return
        task.healthy = True
        retally(task)
        task.healthy_at = life.env.now
        life.listener.healthy(self.svc, task)
        life.turned_healthy(self.svc)

