"""Which instances a daemon service's reconcile pass has to look at.

A daemon service runs one task on every eligible instance, and it is reconciled whenever
anything in the cluster changes. Looking at every instance on every pass made each pass
O(instances): with 10,000 instances and a busy cluster, most of a run. What a pass
decides for an instance (stop an old task, start a task, or nothing) depends only on
the instance (its status, resources and tasks, all of which mark it in the fleet's
change log when they change), the daemon's revision, and whether a start it tried went
through. So a pass looks at:

* the instances changed since the last pass (the fleet's change log), and new ones;
* the instances where a start was due and did not happen (the launch rate, a back-off),
  once a start can happen again: while the launch rate is spent or the service backs
  off, a start tried changes nothing, so they are not looked at before then;
* every instance, on the first pass and after a deployment (a new revision).

and keeps the count of eligible instances (the daemon's desired count) as it goes. The
instances are looked at in cluster order, as a pass over all of them would.
"""

from __future__ import annotations


class DaemonCandidates:
    """The instances one daemon service's next pass must look at, and how many of the
    cluster's instances are eligible for it."""

    def __init__(self, instances: list, changes: list | None) -> None:
        self.instances = instances
        self.changes = changes  # None: look at every instance on every pass
        self.cursor = 0
        self.revision: int | None = None
        self.eligible: set[int] = set()  # positions of eligible instances
        self._retry: set[int] = set()  # a start was due there and did not happen
        self._known = 0  # instances there were at the last pass
        #: until when no start can happen (the launch rate is spent, or the service
        #: backs off after failed starts): the instances waiting for a start wait
        self.starts_held_until = 0.0

    def positions(self, revision: int, now: float) -> list[int]:
        """The positions to look at now, in cluster order."""
        changes, known = self.changes, self._known
        self._known = len(self.instances)
        if changes is None or revision != self.revision:
            self.revision = revision
            self.cursor = len(changes) if changes is not None else 0
            self._retry = set()
            self.starts_held_until = 0.0
            return list(range(len(self.instances)))
        if now < self.starts_held_until:  # their starts cannot happen yet: they wait
            due = set()
        else:
            due, self._retry = self._retry, set()
        due.update(inst.position for inst in changes[self.cursor:])
        self.cursor = len(changes)
        due.update(range(known, len(self.instances)))  # registered since the last pass
        return sorted(due)

    def eligible_now(self, pos: int, eligible: bool) -> None:
        """Whether the instance at ``pos`` is eligible, as the pass found it."""
        if eligible:
            self.eligible.add(pos)
        else:
            self.eligible.discard(pos)

    def start_pending(self, pos: int) -> None:
        """A start was due at ``pos`` and did not happen: look there on the next pass."""
        self._retry.add(pos)

    def waiting_starts(self) -> bool:
        """Whether some instance waits for a start."""
        return bool(self._retry)
