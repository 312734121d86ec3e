"""Placement without looking at every instance for every task: an index per kind of task.

:func:`.placement.place` checks every instance for every task and ranks all candidates,
O(instances) per task. The choice it makes depends only on (a) which instances pass the
filters and (b) each candidate's rank by the strategies, and both change only where a
task was placed or stopped, or an instance changed status. So an index keeps, for one
kind of task (a service's task definition, group, mode, constraints and strategies):

* whether each instance passes the filters (re-checked only for instances the fleet's
  change log names since the last placement);
* the candidates bucketed by their rank: the strategies before the first ``random``
  narrow the candidates to those with the lexicographically smallest key (binpack: CPU or
  memory left; spread instanceId/host: the group's tasks on the instance; spread by an
  attribute: the group's tasks on all ACTIVE instances with the same value). Attribute
  counts are shared by every instance with that value, so the buckets are grouped by
  attribute values, and within a group a heap gives the smallest local key;
* each bucket as a sorted list of cluster positions, so that the random tie-break draws
  ``rng.integers(ties)`` and takes the tie at that rank in cluster order exactly as the
  full scan does (a ``random`` strategy draws the same way).

The same seed therefore picks the same instance as :func:`.placement.place`. Only when no
instance passes does the caller run the full scan, for the per-instance "why not" map.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right, insort
from dataclasses import dataclass, field

import numpy as np

from ..model.instance import ContainerInstance
from .draws import TieBreaks
from .placement import check_constraints, check_resources


@dataclass
class _Group:
    """Candidates sharing the same attribute values: buckets by local key, and a heap of
    the local keys (stale entries are dropped when they reach the top)."""

    buckets: dict[tuple, list[int]] = field(default_factory=dict)
    heap: list[tuple] = field(default_factory=list)

    def add(self, local: tuple, pos: int) -> None:
        bucket = self.buckets.get(local)
        if bucket is None:
            self.buckets[local] = [pos]
            heapq.heappush(self.heap, local)
        else:
            insort(bucket, pos)

    def remove(self, local: tuple, pos: int) -> None:
        bucket = self.buckets[local]
        del bucket[bisect_right(bucket, pos) - 1]
        if not bucket:
            del self.buckets[local]

    def best(self) -> tuple | None:
        """The smallest local key with candidates, or None."""
        heap = self.heap
        while heap and heap[0] not in self.buckets:
            heapq.heappop(heap)
        return heap[0] if heap else None


def _components(strategies) -> list[tuple[str, str]]:
    """The ranking keys, in order, up to the first ``random`` strategy (after it, one
    candidate is left and later strategies do nothing)."""
    comps = []
    for st in strategies:
        if st.type == "random":
            break
        if st.type == "binpack":
            comps.append(("cpu" if st.field == "cpu" else "memory", ""))
        elif st.type == "spread":
            if st.field in ("instanceId", "host"):
                comps.append(("count", ""))
            else:
                comps.append(("attr", st.field.removeprefix("attribute:")))
    return comps


class PlacementIndex:
    """Where one kind of task can go, kept up to date from the fleet's change log."""

    def __init__(self, instances: list[ContainerInstance], changes: list, spec, group: str,
                 mode, strategies, constraints,
                 members: frozenset[str] | None = None) -> None:
        self.instances = instances
        self.changes = changes
        #: the instance groups it places on (an Auto Scaling group capacity provider's),
        #: as if the others were not in the cluster; None: every instance
        self.members = members
        self.spec, self.group, self.mode = spec, group, mode
        self.strategies, self.constraints = strategies, constraints
        self.rules = (tuple(strategies), tuple(constraints))  # compared by value
        self.comps = _components(strategies)
        self.attrs = [name for kind, name in self.comps if kind == "attr"]
        self.counts: list[dict] = [{} for _ in self.attrs]  # per attribute: value -> tasks
        self.slot: list[tuple | None] = []  # per position: (attr values, local key)
        self.contrib: list[tuple[tuple, int]] = []  # per position: (values, tasks counted)
        self.groups: dict[tuple, _Group] = {}
        self.cursor = len(changes)
        self.size = 0  # candidates

    def places(self, spec, mode, strategies, constraints) -> bool:
        """Whether this index ranks tasks of this kind: the same task definition and mode
        (the same objects), and rules equal by value (rules are plain values: a tuple
        equal to this index's, read anew, ranks the same; the elements are usually the
        same objects, so comparing them costs an identity check each)."""
        return spec is self.spec and mode is self.mode and \
            (tuple(strategies), tuple(constraints)) == self.rules

    # ---- keeping up -------------------------------------------------------------------
    def sync(self) -> None:
        """Re-check the instances changed since the last look, and take in new ones."""
        log = self.changes
        cursor, end = self.cursor, len(log)
        known = len(self.slot)
        seen = set()
        for inst in log[cursor:end]:
            pos = inst.position
            if pos < known and pos not in seen:
                seen.add(pos)
                self._refresh(pos)
        self.cursor = end
        for pos in range(known, len(self.instances)):
            self.slot.append(None)
            self.contrib.append(((), 0))
            self._refresh(pos)

    def _local(self, inst: ContainerInstance) -> tuple:
        """The instance's own rank keys (binpack: CPU or memory left; spread over
        instances: the group's tasks on it), in the strategies' order."""
        out = []
        for kind, _name in self.comps:
            if kind == "cpu":
                out.append(inst.cpu_limit - inst.cpu_used)
            elif kind == "memory":
                out.append(inst.memory_limit - inst.memory_used)
            elif kind == "count":
                out.append(inst.group_counts.get(self.group, 0))
        return tuple(out)

    def _refresh(self, pos: int) -> None:
        """Re-check one instance: its attribute counts, whether it passes, its bucket."""
        inst = self.instances[pos]
        member = self.members is None or inst.group in self.members
        if self.attrs:
            attributes = inst.attributes
            values = tuple([attributes.get(a) for a in self.attrs])
            mine = inst.group_counts.get(self.group, 0) \
                if member and inst.status == "ACTIVE" else 0
            counted = self.contrib[pos]
            if counted[1] != mine or counted[0] != values:
                for i, v in enumerate(counted[0]):
                    self.counts[i][v] -= counted[1]
                for i, v in enumerate(values):
                    self.counts[i][v] = self.counts[i].get(v, 0) + mine
                self.contrib[pos] = (values, mine)
        else:
            values = ()
        ok = member and check_resources(inst, self.spec, self.mode) is None and \
            (not self.constraints or check_constraints(inst, self.group, self.constraints)
             is None)
        new = (values, self._local(inst)) if ok else None
        old = self.slot[pos]
        if new == old:
            return
        if old is not None:
            self.groups[old[0]].remove(old[1], pos)
            self.size -= 1
        if new is not None:
            group = self.groups.get(values)
            if group is None:
                group = self.groups[values] = _Group()
            group.add(new[1], pos)
            self.size += 1
        self.slot[pos] = new

    # ---- choosing ---------------------------------------------------------------------
    def _key(self, values: tuple, local: tuple) -> tuple:
        """The full rank key: attribute counts and local keys in the strategies' order."""
        out, a, m = [], 0, 0
        for kind, _name in self.comps:
            if kind == "attr":
                out.append(self.counts[a].get(values[a], 0))
                a += 1
            else:
                out.append(local[m])
                m += 1
        return tuple(out)

    def choose(self, rng: np.random.Generator | TieBreaks) -> ContainerInstance | None:
        """The instance the full scan would choose, drawing the same numbers; None when no
        instance passes the filters."""
        self.sync()
        if not self.size:
            return None
        if not self.attrs:  # one group: its best bucket holds every tie
            group = self.groups[()]
            bucket = group.buckets[group.best() or ()]  # (a candidate: a best key)
            n = len(bucket)
            return self.instances[bucket[0] if n == 1 else bucket[int(rng.integers(n))]]
        best, tied = None, []
        for values, group in self.groups.items():
            local = group.best()
            if local is None:
                continue
            key = self._key(values, local)
            if best is None or key < best:
                best, tied = key, [group.buckets[local]]
            elif key == best:
                tied.append(group.buckets[local])
        n = len(tied[0]) if len(tied) == 1 else sum(len(b) for b in tied)
        k = 0 if n == 1 else int(rng.integers(n))
        return self.instances[_kth(tied, k)]


def _kth(lists: list[list[int]], k: int) -> int:
    """The ``k``-th smallest (from 0) of the union of disjoint sorted lists.

    >>> _kth([[5, 9], [0, 1, 2]], 3)
    5
    >>> _kth([[1, 4, 6], [0, 5]], 3)
    5
    """
    if len(lists) == 1:
        return lists[0][k]
    ordered = sorted(lists, key=lambda b: b[0])
    if all(a[-1] < b[0] for a, b in zip(ordered, ordered[1:], strict=False)):
        for b in ordered:  # ranges apart (instances of each AZ listed together): index
            if k < len(b):
                return b[k]
            k -= len(b)
    lo = ordered[0][0]
    hi = max(b[-1] for b in lists)
    while lo < hi:  # smallest p with more than k elements <= p
        mid = (lo + hi) // 2
        if sum(bisect_right(b, mid) for b in lists) > k:
            hi = mid
        else:
            lo = mid + 1
    return lo
