"""A service's state as the controller keeps it: its tasks, the ones waiting, its
deployments and its launch rate and back-off.

Plain data, kept apart from the controller (``service.py``) and the parts it drives
(``deployments.py``, ``lifecycle.py``, ``scaling.py``), which all read and change it: each
of them imports this module, and none of them imports another for its types.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field

import simpy

from ..model.instance import Task
from ..model.states import TaskState
from ..model.tally import TaskTally
from ..modes import TaskSpec
from ..rows import DeploymentRow, TrafficShiftPoint
from ..scenario.schema import Service
from ..targetgroups import weighted_targets
from .daemonwatch import DaemonCandidates
from .events import Row
from .waiting import WaitingTasks

#: Retry delays after tasks fail to start (assumption: ECS throttles retries of a service
#: whose tasks keep failing, "unable to consistently start tasks", without a published
#: schedule): doubling from 10 s up to 5 min.
RETRY_FIRST = 10.0
RETRY_MAX = 300.0


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
    #: reason -> [tasks it blocked, the newest task number counted] (see ``unplaced``)
    blocked_tasks: dict = field(default_factory=dict)
    failed_tasks: int = 0
    old_stopped: bool = True  # an old task stopped since the last wave began: next start
    # of new tasks is a new wave (replacing failed new tasks alone is not)
    last_failed_at: float | None = None
    last_healthy_at: float | None = None  # a task of this revision last turned healthy
    blocked: bool = False
    _zero_since: float | None = None
    #: CODE_DEPLOY (blue/green) only: the controller, when the replacement set was ready
    #: and traffic began to shift, the shift's steps (seconds after that, percent to the
    #: replacement set), those applied (time, percent) and when the original set was deleted
    controller: str = "ECS"
    shift_started_at: float | None = None
    shift_steps: list = field(default_factory=list)
    shifted: list = field(default_factory=list)
    original_terminated_at: float | None = None

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

    def row(self) -> DeploymentRow:
        """The deployment's row of ``results.json``."""
        return DeploymentRow(
            service=self.service, revision=self.revision, started_at=self.started_at,
            finished_at=self.finished_at, status=self.status, waves=self.waves,
            min_healthy_observed=self.min_healthy_observed,
            zero_healthy_seconds=round(self.zero_healthy_seconds, 6),
            failures=dict(sorted(self.failures.items())),
            **self._blue_green_fields(),
        )

    def _blue_green_fields(self) -> dict:
        """A CODE_DEPLOY deployment's own fields of its row (none for a rolling update, so
        that its row stays as it was)."""
        if self.controller != "CODE_DEPLOY":
            return {}
        return {"controller": self.controller,
                "traffic_shift": [TrafficShiftPoint(round(t, 6), p) for t, p in self.shifted],
                "original_terminated_at": self.original_terminated_at}

    def as_dict(self) -> dict:
        return self.row().to_json()


@dataclass
class ServiceState:
    spec: Service
    task_spec: TaskSpec
    desired: int
    load_balanced: bool
    revision: int = 1
    revisions: dict = field(default_factory=dict)  # revision -> (Service, TaskSpec)
    tasks: list[Task] = field(default_factory=list)
    waiting: WaitingTasks | None = None  # wanted, not placed (PENDING); see waiting.py
    tally: TaskTally = field(default_factory=TaskTally)  # live tasks counted by class
    _targets: list = field(default_factory=list, repr=False)
    _targets_version: int = -1
    launch_failures: Counter = field(default_factory=Counter)
    last_event_reason: str | None = None
    steady_at: float | None = None
    wake: simpy.Event | None = None
    launches: deque[float] = field(default_factory=deque)  # launch times in the window
    retry_at: float = 0.0
    retry_delay: float = RETRY_FIRST
    deployment: Deployment | None = None
    deployments: list[Deployment] = field(default_factory=list)
    blocked: bool = False
    awaiting_capacity: int = 0  # waiting tasks that instances being launched will take
    last_launch_failure: str | None = None
    last_launch_where: dict = field(default_factory=dict)  # instance -> why a task failed
    why_waiting: dict = field(default_factory=dict)  # per instance, during a back-off
    why_waiting_for: float | None = None  # the back-off ``why_waiting`` was worked out for
    throttled: bool = False  # more tasks wanted than the launch rate allows right now
    dirty: bool = False  # something changed while the service was being reconciled
    health_check_blocked: object = None  # Unreachable: why the balancer's checks cannot reach
    #: during a CODE_DEPLOY deployment, the share of production traffic (percent) the
    #: listener sends to the replacement task set; None otherwise (all healthy tasks)
    green_percent: int | None = None
    _group: tuple | None = field(default=None, repr=False)
    daemon_watch: DaemonCandidates | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def group(self) -> str:
        """The task group of its tasks, ``service:<name>`` (one string: a dictionary key
        on every instance)."""
        group = self._group
        if group is None or group[0] != self.spec.name:
            group = self._group = (self.spec.name, f"service:{self.spec.name}")
        return group[1]

    @property
    def live(self) -> list[Task]:
        """Placed tasks not stopped (draining ones included: they still hold resources)."""
        return list(self.tally.live)

    @property
    def running(self) -> list[Task]:
        """Tasks whose containers run (draining ones included)."""
        return [t for t in self.tasks
                if t.state in (TaskState.RUNNING, TaskState.DEACTIVATING)]

    @property
    def unplaced(self) -> list[Task]:
        """The waiting tasks, made as :class:`Task` objects with their reasons."""
        return list(self.waiting)

    @property
    def healthy(self) -> list[Task]:
        return [t for t in self.tally.live if t.healthy and t.state == TaskState.RUNNING]

    @property
    def targets(self) -> list[Task]:
        """The healthy tasks traffic may reach, in placement order. Every packet asks, so
        the list is kept until a task of the service changes class (the tally's version).
        During a blue/green deployment, the original and replacement sets' healthy tasks in
        the proportion the listener's weights give (see :func:`weighted_targets`)."""
        if self._targets_version != self.tally.version:
            healthy = self.healthy
            if self.green_percent is not None:
                r = self.tally.revision
                healthy = weighted_targets([t for t in healthy if t.revision != r],
                                           [t for t in healthy if t.revision == r],
                                           self.green_percent)
            self._targets = healthy
            self._targets_version = self.tally.version
        return self._targets

    @property
    def test_targets(self) -> list[Task]:
        """What a CODE_DEPLOY service's test listener reaches: the replacement set's
        healthy tasks during a deployment, else the service's healthy tasks."""
        healthy = self.healthy
        if self.green_percent is None:
            return healthy
        return [t for t in healthy if t.revision == self.tally.revision]

    def shift_traffic(self, percent: int | None) -> None:
        """Set the replacement set's share (None: no shift in progress); the tally's
        version moves, so that every view of the targets reads them again."""
        if percent != self.green_percent:
            self.green_percent = percent
            self.tally.version += 1

    def counts(self) -> Row:
        """The timeline's row: running old, running new, pending, healthy, draining."""
        running, new, draining = self.tally.row()
        return (running - new - draining, new, max(0, self.desired - new),
                self.tally.healthy(), draining)
