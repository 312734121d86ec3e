"""Deployments: the rolling update's bookkeeping, the circuit breaker, target health.

During a deployment the service controller follows ECS's rolling update (at most
``floor(desired * maximum_percent / 100)`` tasks exist, at least
``ceil(desired * minimum_healthy_percent / 100)`` stay healthy); the tracker here counts
what that costs: waves of new tasks, the fewest healthy tasks seen, how long none was
healthy, why tasks failed. The deployment circuit breaker fails (or rolls back) a
deployment once ``min(max(ceil(desired / 2), 3), 200)`` of its tasks failed to start.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import simpy

from ..scenario.schema import HealthCheck, Service
from .events import EventLog
from .servicestate import Deployment, ServiceState

if TYPE_CHECKING:
    from ..model.instance import Task
    from .waiting import WaitingTasks

_CONFIG_BLOCKED = ("was unable to stop or start tasks during a deployment because of the "
                   "service deployment configuration. Update the minimumHealthyPercent or "
                   "maximumPercent value and try again.")


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


def breaker_threshold(desired: int) -> int:
    """Failed tasks that trip the deployment circuit breaker (ECS: half the desired count,
    at least 3 and at most 200)."""
    return min(max(math.ceil(desired / 2), 3), 200)


class DeploymentTracker:
    """Opens, follows and closes each service's deployments (``svc.deployment``, the one
    in progress; ``svc.deployments``, all of them) and words their events."""

    def __init__(self, env: simpy.Environment, log: EventLog) -> None:
        self.env = env
        self.log = log

    def begin(self, svc: ServiceState, rollback: bool = False) -> Deployment:
        """A deployment of the service's current revision; one in progress is STALLED."""
        now = self.env.now
        if svc.deployment is not None:  # a newer deployment replaces one in progress
            svc.deployment.close(now, "STALLED")
        dep = Deployment(service=svc.name, revision=svc.revision, started_at=now)
        dep.observe(now, svc.tally.healthy())
        svc.deployment = dep
        svc.deployments.append(dep)
        what = "rollback to the previous revision" if rollback else "new deployment"
        self._event(svc, dep, f"{what} started.")
        return dep

    def started(self, dep: Deployment | None, count: int) -> None:
        """``count`` new tasks started: a new wave if an old task stopped since the last."""
        if dep is not None and count and dep.old_stopped:
            dep.waves += 1
            dep.old_stopped = False
            dep.blocked = False

    def daemon_started(self, svc: ServiceState, count: int) -> None:
        """A daemon service started ``count`` tasks: each such pass is a wave."""
        if svc.deployment is not None and count:
            svc.deployment.waves += 1

    def stopping(self, svc: ServiceState, task: Task) -> None:
        if svc.deployment is not None and task.revision != svc.revision:
            svc.deployment.old_stopped = True

    def healthy(self, svc: ServiceState, task: Task) -> None:
        if svc.deployment is not None and task.revision == svc.deployment.revision:
            svc.deployment.last_healthy_at = self.env.now

    def observe(self, svc: ServiceState, healthy: int) -> None:
        if svc.deployment is not None:
            svc.deployment.observe(self.env.now, healthy)

    def unplaced(self, svc: ServiceState, reason: str, tasks: WaitingTasks) -> None:
        """New tasks could not be placed, for ``reason``: the deployment counts each task
        once per reason, however many placement passes it waits through (tasks wait in
        the order they are numbered, so those after the newest counted are the new ones)."""
        dep = svc.deployment
        if dep is None:
            return
        counted = dep.blocked_tasks.setdefault(reason, [0, 0])  # tasks, newest number
        newer = tasks.newer_than(counted[1])  # the others were counted at an earlier pass
        if newer:
            counted[0] += len(newer)
            counted[1] = newer[-1]
        dep.failures[reason] = max(dep.failures[reason], counted[0], 1)

    def config_blocked(self, svc: ServiceState) -> None:
        """Neither a start nor a stop is allowed by minimum/maximum percent (said once a
        wave)."""
        dep = svc.deployment
        if dep is not None and not dep.blocked:
            self.log.service(svc.name, _CONFIG_BLOCKED)
            dep.failures["DEPLOYMENT_CONFIGURATION"] += 1
            dep.blocked = True

    def task_failed(self, svc: ServiceState, key: str) -> Service | None:
        """A task of the service failed to start; when that trips the circuit breaker with
        rollback on, the previous revision's service to deploy again."""
        dep = svc.deployment
        if dep is None:
            return None
        dep.failures[key] += 1
        dep.failed_tasks += 1
        dep.last_failed_at = self.env.now
        return self._circuit_breaker(svc)

    def _circuit_breaker(self, svc: ServiceState) -> Service | None:
        dep = svc.deployment
        cb = svc.spec.deployment.circuit_breaker
        if svc.spec.deployment_controller != "ECS":  # the breaker is the rolling update's
            return None
        if not cb.enable or dep.failed_tasks < breaker_threshold(svc.desired):
            return None
        self._event(svc, dep, "deployment failed: tasks failed to start.")
        svc.deployment = None
        if cb.rollback and dep.revision > 1:
            dep.close(self.env.now, "ROLLED_BACK")
            return svc.revisions[dep.revision - 1][0]
        dep.close(self.env.now, "FAILED")
        return None

    def check(self, svc: ServiceState) -> None:
        """COMPLETED once only the new revision runs, with the desired count healthy."""
        dep = svc.deployment
        tally = svc.tally
        done = not tally.by_revision(current=False) and \
            tally.by_revision(current=True, healthy_only=True) >= svc.desired and \
            tally.by_revision(current=True) >= svc.desired
        if done:
            dep.close(self.env.now, "COMPLETED")
            svc.deployment = None
            svc.shift_traffic(None)  # a blue/green deployment's listener: one set again
            self._event(svc, dep, "deployment completed.")
            self.log.service(svc.name, "has reached a steady state.")

    def finish(self, svc: ServiceState, moving: bool) -> None:
        """At the end of the run: a deployment still waiting on a blocker, or whose new
        tasks keep failing with none turning healthy since, is STALLED (``moving``: tasks
        are still on their way)."""
        dep = svc.deployment
        looping = dep.last_failed_at is not None and (
            dep.last_healthy_at is None or dep.last_failed_at > dep.last_healthy_at)
        status = "IN_PROGRESS" if moving and not looping else "STALLED"
        dep.close(self.env.now, status)
        if status == "STALLED":
            reasons = ", ".join(dep.failures) or "no progress"
            self._event(svc, dep, f"is STALLED: {reasons}.")

    def _event(self, svc: ServiceState, dep: Deployment, message: str) -> None:
        self.log.service(svc.name, f"(deployment {svc.name}:{dep.revision}) {message}")
