"""The CODE_DEPLOY (blue/green) deployment controller.

With ``deployment_controller: CODE_DEPLOY`` a deployment does not roll: CodeDeploy creates
a replacement (green) task set at the service's full desired count beside the original
(blue) one, so that for a while the service holds twice its tasks' ENIs, IPs, ports, CPU
and memory (``minimumHealthyPercent``/``maximumPercent`` do not limit it: for CODE_DEPLOY
services ECS uses them only while instances drain; ECS API reference,
DeploymentConfiguration). Once every replacement task is healthy the production
listener's traffic moves to it in the configured steps (all at once, canary, linear: ECS
Developer Guide, "CodeDeploy blue/green deployments for Amazon ECS"); while it moves, the
listener forwards to both target groups by weight, so both sets receive traffic in
proportion. After the last step and the original revision termination wait
(``termination_wait``, CodeDeploy's ``terminationWaitTimeInMinutes``) the original task set
is deleted: its tasks deregister (draining for the deregistration delay) and stop. The
deployment is COMPLETED when only the replacement set runs; a replacement set that cannot
be placed leaves it STALLED with the placement's reason, as a rolling update that cannot
progress.
"""

from __future__ import annotations

from collections.abc import Callable

from ..targetgroups import shift_steps
from .events import EventLog
from .servicestate import Deployment, ServiceState

#: Why an original task stops when CodeDeploy deletes its task set.
ORIGINAL_DELETED = "Task set deleted by CodeDeploy: traffic shifted to the replacement task set"


class BlueGreen:
    """One step of a blue/green deployment per look of the service's reconciler."""

    def __init__(self, log: EventLog, stop: Callable) -> None:
        self.log = log
        self.stop = stop  # stop(svc, task, reason)

    def begin(self, svc: ServiceState, dep: Deployment) -> None:
        """A deployment of a CODE_DEPLOY service: production traffic stays on the original
        set (weight 0 to the replacement) until the replacement set is ready."""
        dep.controller = "CODE_DEPLOY"
        svc.shift_traffic(0)

    def step(self, svc: ServiceState, current: int, now: float) -> tuple[bool, int,
                                                                        float | None]:
        """``(stopped tasks, room for replacement tasks, seconds to the next step or
        None)``: the replacement set grows to the desired count; once it is all healthy
        the shift's due steps apply; after the last one and the termination wait the
        original set is deleted."""
        dep = svc.deployment
        room = svc.desired - current
        if dep.shift_started_at is None:
            tally = svc.tally
            if current < svc.desired or \
                    tally.by_revision(current=True, healthy_only=True) < svc.desired:
                return False, room, None
            shift = svc.spec.blue_green.traffic_shift
            dep.shift_started_at = now
            dep.shift_steps = shift_steps(shift.type, shift.percent, shift.interval)
        wait = self._shift(svc, dep, now)
        if wait is not None:
            return False, room, wait
        done_at = dep.shifted[-1][0] + svc.spec.blue_green.termination_wait
        if now < done_at:
            return False, room, done_at - now
        if dep.original_terminated_at is not None:
            return False, room, None
        return self._delete_original(svc, dep, now), room, None

    def _shift(self, svc: ServiceState, dep: Deployment, now: float) -> float | None:
        """Apply the shift's steps that are due; seconds to the next one (None: all
        applied)."""
        steps = dep.shift_steps
        while len(dep.shifted) < len(steps):
            offset, percent = steps[len(dep.shifted)]
            at = dep.shift_started_at + offset
            if at > now:
                return at - now
            dep.shifted.append((now, percent))
            svc.shift_traffic(percent)
            self._event(svc, dep, f"shifted {percent}% of production traffic to the "
                                  "replacement task set.")
        return None

    def _delete_original(self, svc: ServiceState, dep: Deployment, now: float) -> bool:
        """Delete the original task set: each of its tasks drains and stops."""
        dep.original_terminated_at = now
        old = [t for t in svc.tally.live if t.revision != svc.revision and not t.draining]
        for task in old:
            self.stop(svc, task, ORIGINAL_DELETED)
        self._event(svc, dep, f"original task set deleted ({len(old)} tasks).")
        return bool(old)

    def _event(self, svc: ServiceState, dep: Deployment, message: str) -> None:
        self.log.service(svc.name, f"(deployment {svc.name}:{dep.revision}) {message}")
