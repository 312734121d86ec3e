"""A service's task counts kept up to date as tasks change, instead of recounted per event.

The reconciler, the deployment tracker and the steady-state check ask the same questions
on every event (how many tasks of the current revision run, how many are healthy, is
anything still starting). Answering them by scanning the service's task list made every
event cost O(tasks), and a run O(tasks^2). Here each placed, not-stopped task sits in one
class, ``(revision, state, healthy, on an ACTIVE instance)``, and a counter per class is
moved whenever one of those four changes (:func:`retally`, called by the state machine,
the lifecycle, the instance and the instance's status). The questions become sums over a
handful of classes.

The rolling update also needs the old tasks in ECS's stop order (unhealthy first, then by
task id); those are kept as a set (unhealthy) and a lazy heap by id (healthy).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import TYPE_CHECKING

from .states import TaskState

if TYPE_CHECKING:
    from .instance import Task

RUNNING = TaskState.RUNNING
DEACTIVATING = TaskState.DEACTIVATING
STOPPED = TaskState.STOPPED
_STARTING = (TaskState.PROVISIONING, TaskState.PENDING)

#: (revision, state, healthy, instance ACTIVE) of a placed task that is not STOPPED.
Key = tuple[int, TaskState, bool, bool]


def retally(task: Task) -> None:
    """Move the task to the class its state now says (call after any change of its state,
    health, instance or instance status)."""
    tally = task.tally
    if tally is not None:
        tally.update(task)


class TaskTally:
    """The live tasks of one service by class, in placement order, with ECS's stop order
    for the old ones of a rolling update."""

    def __init__(self, revision: int = 1) -> None:
        self.revision = revision
        self.counts: dict[Key, int] = {}  # Key -> tasks (none kept at 0)
        self.live: dict[Task, None] = {}  # placed and not STOPPED, in placement order
        self._old_unhealthy: dict[Task, None] = {}
        self._old_healthy: list[tuple[str, int, Task]] = []  # lazy heap by task id
        self.version = 0  # moves whenever a task changes class: views derived from it
        self._healthy = 0  # tasks in classes that are healthy and RUNNING
        #: told ``(task, old class, new class)`` whenever a task changes class, so that a
        #: count of the service's own (per capacity provider, say) is kept, not recounted
        self.watcher: Callable[[Task, Key | None, Key | None], None] | None = None

    # ---- keeping up -------------------------------------------------------------------
    def update(self, task: Task) -> None:
        """Re-class one task after a change."""
        inst = task.instance  # the class (see Key): none when unplaced or STOPPED
        new = None if inst is None or task.state is STOPPED else \
            (task.revision, task.state, task.healthy, inst.status == "ACTIVE")
        old = task.tally_key
        if old == new:
            return
        self.version += 1
        watcher = self.watcher
        if watcher is not None:
            watcher(task, old, new)
        counts = self.counts
        if old is not None:
            left = counts[old] - 1
            if left:
                counts[old] = left
            else:
                del counts[old]
            if old[2] and old[1] is RUNNING:
                self._healthy -= 1
        task.tally_key = new
        if new is None:
            self.live.pop(task, None)
            self._old_unhealthy.pop(task, None)
            return
        counts[new] = counts.get(new, 0) + 1
        if new[2] and new[1] is RUNNING:
            self._healthy += 1
        if old is None:
            self.live[task] = None
        if new[1] is DEACTIVATING or (new[0] == self.revision and new[3]):
            if self._old_unhealthy:  # not old: what _file_old does first, written out
                self._old_unhealthy.pop(task, None)  # for the current tasks' updates
            return
        self._file_old(task, new, old)

    def _is_old(self, key: Key) -> bool:
        """Not draining and not of the current revision on an ACTIVE instance."""
        return key[1] is not DEACTIVATING and not (key[0] == self.revision and key[3])

    def _file_old(self, task: Task, new: Key, old: Key | None) -> None:
        """Keep the old-task set and heap in step with the task's new class."""
        if not self._is_old(new):
            if self._old_unhealthy:
                self._old_unhealthy.pop(task, None)
            return
        if not new[2]:
            self._old_unhealthy[task] = None
            return
        self._old_unhealthy.pop(task, None)
        if not (old is not None and self._is_old(old) and old[2]):
            heapq.heappush(self._old_healthy, (task.id, id(task), task))

    def set_revision(self, revision: int) -> None:
        """A deployment began: which tasks are old changes for all of them at once."""
        self.revision = revision
        self._old_unhealthy = {}
        self._old_healthy = []
        for task in self.live:
            key = task.tally_key  # (a live task is in a class)
            if key is not None:
                self._file_old(task, key, None)

    # ---- questions --------------------------------------------------------------------
    def _sum(self, pred) -> int:
        return sum(n for k, n in self.counts.items() if pred(k))

    def current(self) -> int:
        """Not draining, of the current revision, on an ACTIVE instance."""
        r = self.revision
        return self._sum(lambda k: k[0] == r and k[3] and k[1] != DEACTIVATING)

    def old(self) -> int:
        """Not draining and not current: to be replaced."""
        return self._sum(self._is_old)

    def live_count(self) -> int:
        return len(self.live)

    def healthy(self) -> int:
        """Healthy and RUNNING (what traffic may reach). Asked on every change of health,
        so kept as tasks change class."""
        return self._healthy

    def current_unready(self) -> int:
        """Current tasks not yet RUNNING and healthy."""
        r = self.revision
        return self._sum(lambda k: k[0] == r and k[3] and k[1] != DEACTIVATING
                         and not (k[1] == RUNNING and k[2]))

    def unsettled(self) -> int:
        """Live tasks starting, or neither healthy nor draining."""
        return self._sum(lambda k: k[1] in _STARTING or not (k[2] or k[1] == DEACTIVATING))

    def moving(self) -> int:
        """Live tasks draining, starting or not healthy."""
        return self._sum(lambda k: k[1] == DEACTIVATING or k[1] in _STARTING or not k[2])

    def by_revision(self, current: bool, healthy_only: bool = False) -> int:
        """Live tasks of the current revision (or of others), optionally healthy and not
        draining only."""
        r = self.revision
        return self._sum(lambda k: (k[0] == r) == current and (
            not healthy_only or (k[2] and k[1] != DEACTIVATING)))

    def row(self) -> tuple[int, int, int]:
        """(running, running of the current revision not draining, draining)."""
        r = self.revision
        running = new = draining = 0
        for k, n in self.counts.items():
            if k[1] is RUNNING:
                running += n
                if k[0] == r:
                    new += n
            elif k[1] is DEACTIVATING:
                running += n
                draining += n
        return running, new, draining

    # ---- the rolling update's stop order ------------------------------------------------
    def old_unhealthy(self) -> list[Task]:
        """Old tasks that are not healthy, by task id (all are stopped at once)."""
        return sorted(self._old_unhealthy, key=lambda t: t.id)

    def pop_old_healthy(self) -> Task | None:
        """The healthy old task with the lowest id, taken off the heap (None: none left)."""
        heap = self._old_healthy
        while heap:
            _tid, _n, task = heapq.heappop(heap)
            key = task.tally_key
            if key is not None and key[2] and self._is_old(key):
                return task
        return None
