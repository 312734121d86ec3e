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

from ..scenario.schema import HealthCheck
from .deployments import target_health
from .states import (  # noqa: F401 (the states are part of the lifecycle's surface)
    STARTING,
    TRANSITIONS,
    IllegalTransition,
    TaskState,
    advance,
)
from .tally import retally

if TYPE_CHECKING:
    from ..modes import NetworkMode
    from .instance import ContainerInstance, Task
    from .service import ServiceState


class Listener(Protocol):
    """What the rest of the control plane hears from the lifecycle."""

    def changed(self, svc: ServiceState) -> None:
        """The service's tasks changed state or health."""

    def running(self, svc: ServiceState, task: Task) -> None:
        """A task's containers are running."""

    def healthy(self, svc: ServiceState, task: Task) -> None:
        """A task passed its health checks (or is RUNNING, with no load balancer)."""

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

    def start(self, svc: ServiceState, task: Task, inst: ContainerInstance,
              mode: NetworkMode) -> bool:
        """Place ``task`` on ``inst`` and attach its network: PROVISIONING, then on its way
        to RUNNING; False (the listener hears why) when the attachment failed."""
        failure = mode.attach(inst, task, svc.task_spec)
        inst.add(task)
        task.placed_at = self.env.now
        task.why_not = {}
        task.last_failure = None
        task.closest = None
        advance(task, TaskState.PROVISIONING)
        if failure:
            self.listener.failed(svc, task, failure)
            return False
        self.env.process(self._activate(svc, task, inst, mode))
        return True

    def _activate(self, svc: ServiceState, task: Task, inst: ContainerInstance,
                  mode: NetworkMode):
        """Attach delay -> PENDING -> container start -> RUNNING -> health checks."""
        delay = mode.attach_delay(inst, task)
        if delay:
            yield self.env.timeout(delay)
        if task.state == TaskState.STOPPED:
            return
        advance(task, TaskState.PENDING)
        yield self.env.timeout(inst.container_start_delay)
        if task.state == TaskState.STOPPED:
            return
        advance(task, TaskState.RUNNING)
        task.running_at = self.env.now
        self.listener.running(svc, task)
        if svc.load_balanced and not (yield from self._health_checks(svc, task)):
            return
        task.healthy = True
        retally(task)
        task.healthy_at = self.env.now
        self.listener.healthy(svc, task)

    def _health_checks(self, svc: ServiceState, task: Task):
        """Wait for the load balancer's verdict on a RUNNING task: True once the target
        passed its health checks; False if the task was stopped meanwhile, or if it failed
        them and ECS stops it once the grace period is over."""
        hc = svc.spec.health_check or HealthCheck()
        healthy_after, stopped_after = target_health(hc, svc.spec.startup_time)
        if self.listener.health_check_blocked(svc, task) is not None:
            # the checks never arrive (a security group drops them): every one times out
            healthy_after = None
            stopped_after = max(hc.unhealthy_threshold * hc.interval, hc.grace_period)
        self.listener.changed(svc)
        if stopped_after is not None:
            yield self.env.timeout(stopped_after)
            if task.state == TaskState.RUNNING:
                self.listener.unhealthy(svc, task)
            return False
        yield self.env.timeout(healthy_after)
        return task.state == TaskState.RUNNING

    def stop(self, svc: ServiceState, task: Task, reason: str, drain: bool = True) -> None:
        """Stop a task; behind a load balancer a running task drains first."""
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
        if task.state == TaskState.DEACTIVATING:
            self.release(svc, task, reason)
        else:  # stopped meanwhile (its instance was terminated): that reason stands
            self.listener.changed(svc)
        self.listener.drained(svc)

    def release(self, svc: ServiceState, task: Task, reason: str) -> None:
        """STOPPED: the task's network mode and instance give back what it held."""
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
