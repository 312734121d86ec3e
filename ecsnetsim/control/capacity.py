"""Where a service's tasks run: the launch type's way of finding a host for a task.

Two strategies with one method, :meth:`choose`, so that the service controller does not
care where a task lands:

* :class:`ContainerInstancePlacement` (``launch_type: EC2``): ECS's placement over the
  cluster's instances (resources, constraints, strategies; see ``placement.py``);
* :class:`FargateMicroVmPerTask` (``launch_type: FARGATE``): a micro-VM of the task's own,
  off the cluster, in the AZ of the service's subnets where it runs the fewest tasks.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from ..model import fargate
from ..model.instance import ContainerInstance, Task
from .draws import TieBreaks
from .placeindex import PlacementIndex
from .placement import DEFAULT_SERVICE_STRATEGY, PLACED, Decision, place

#: ECS service scheduler launch rate on EC2 (best practices guide: 250 tasks/service/min).
EC2_LAUNCH_BATCH = 250


class ContainerInstancePlacement:
    """EC2: place the task on one of the cluster's container instances.

    With the fleet's change log (``changes``) a :class:`PlacementIndex` per kind of task
    picks the instance the full scan would, looking only at instances that changed; the
    full scan still runs when no instance takes the task, for its "why not" answers.
    """

    launch_batch = EC2_LAUNCH_BATCH

    def __init__(self, instances: list[ContainerInstance], rng: np.random.Generator,
                 changes: list | None = None) -> None:
        self.instances = instances
        self.draws = TieBreaks(rng)  # the placement stream's only user from here on
        self.changes = changes
        self._indexes: dict[str, PlacementIndex] = {}  # task group -> its index
        self._last: PlacementIndex | None = None
        self.indexes_built = 0  # how many indexes were made: one per kind of task

    def choose(self, svc, task: Task, mode, only: ContainerInstance | None = None) -> Decision:
        strategies = svc.spec.placement_strategy or DEFAULT_SERVICE_STRATEGY
        constraints = svc.spec.placement_constraints
        changes = self.changes
        if only is None and changes is not None:
            index = self._index(svc.task_spec, task.group, mode, strategies, constraints,
                                changes)
            inst = index.choose(self.draws)
            if inst is not None:
                return Decision(inst, PLACED)
        cluster = [only] if only is not None else self.instances
        return place(svc.task_spec, task.group, mode, cluster, strategies, constraints,
                     self.draws)

    def _index(self, spec, group: str, mode, strategies, constraints,
               changes: list) -> PlacementIndex:
        """The index of this kind of task: one per task group (service), made anew when
        the service's task definition, mode, strategies or constraints change (a
        deployment), so that an old revision's index is dropped, not kept.

        The rules are compared by value (:meth:`PlacementIndex.places`): an equal tuple
        read anew (compiled, a module constant such as the default strategy is boxed anew
        at each read) is the same kind of task, and must not cost an index per task."""
        index = self._last  # a service places its tasks in runs: the same as last time?
        if index is None or index.group != group:
            index = self._indexes.get(group)
        if index is None or not index.places(spec, mode, strategies, constraints):
            index = self._indexes[group] = PlacementIndex(
                self.instances, changes, spec, group, mode, strategies, constraints)
            self.indexes_built += 1
        self._last = index
        return index


class FargateMicroVmPerTask:
    """Fargate: a micro-VM per task, spread over the AZs of the service's subnets."""

    launch_batch = fargate.LAUNCH_BATCH

    def __init__(self, start_delay: float) -> None:
        self.start_delay = start_delay
        self._per_az: dict[str, Counter] = {}  # service -> its live tasks per AZ

    def choose(self, svc, task: Task, mode, only=None) -> Decision:
        spec = svc.task_spec
        per_az = self._per_az.setdefault(svc.name, Counter())  # kept by the micro-VMs
        az = fargate.pick_az([s.az for s in spec.subnets], per_az)
        arch = spec.cpu_architecture or "x86_64"
        vm = fargate.MicroVm(id=f"fargate-{task.id}", az=az,
                             type=fargate.vm_type(spec.cpu, spec.memory, arch),
                             container_start_delay=self.start_delay, os=spec.os or "linux",
                             per_az=per_az)
        return Decision(vm, PLACED)
