"""ECS task placement: filter by resources, then constraints, then rank by strategies.

One task at a time, in ECS's order (Amazon ECS Developer Guide, task placement):
1. instances with the task's CPU, GPUs, memory, ports and ENI/branch (and a subnet IP);
2. instances that satisfy the constraints (``distinctInstance``, ``memberOf``);
3. strategies, applied in the order listed, each narrowing the ties of the previous
   (``binpack`` cpu|memory, ``spread`` instanceId/host/attribute, ``random``);
4. one instance is selected; remaining ties are broken at random (seeded).
Every rejected instance keeps its reason so that "why not here?" has an answer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from ..model import query
from ..model.fargate import MicroVm
from ..model.instance import ContainerInstance
from ..modes import NetworkMode, Rejection, TaskSpec
from ..scenario.schema import PlacementConstraint, PlacementStrategy
from .draws import TieBreaks

#: A service with no strategy spreads over Availability Zones (ECS default).
DEFAULT_SERVICE_STRATEGY = (
    PlacementStrategy(type="spread", field="attribute:ecs.availability-zone"),
)

#: Why-not of an instance that is draining or gone: not a candidate at all.
NOT_ACTIVE = "NOT_ACTIVE"

#: Filter stages in ECS's order; a later stage means a closer match.
_STAGE = {"AGENT": 0, "ATTRIBUTE": 1, "LOCATION": 2, "RESOURCE:CPU": 3, "RESOURCE:GPU": 4,
          "RESOURCE:MEMORY": 5, "RESOURCE:PORTS": 6, "RESOURCE:ENI": 7, "RESOURCE:IP": 8,
          "CONSTRAINT": 9}


@dataclass
class Decision:
    """The outcome of placing one task."""

    instance: ContainerInstance | MicroVm | None  # a micro-VM on Fargate
    rejected: Mapping[str, Rejection] = field(default_factory=dict)  # instance id -> why not

    @property
    def closest(self) -> tuple[str, Rejection] | None:
        """The rejected instance that got furthest through the filters (ECS names it).

        Among equals, the first in cluster order. Instances that are not ACTIVE (draining,
        terminated) are not candidates at all: with only those, there is none and ECS says
        no container instances were found.
        """
        best = None
        for item in self.rejected.items():
            if item[1].reason == NOT_ACTIVE:
                continue
            if best is None or _STAGE.get(item[1].reason, 10) > _STAGE.get(best[1].reason, 10):
                best = item
        return best


#: The rejections of a decision that placed the task without looking at every instance.
PLACED: Mapping[str, Rejection] = MappingProxyType({})


def check_resources(inst: ContainerInstance, spec: TaskSpec, mode: NetworkMode) -> Rejection | None:
    """Stage 1: can this instance hold the task at all?"""
    if inst.status != "ACTIVE":
        return Rejection(NOT_ACTIVE, f"instance is {inst.status}; ECS places tasks on ACTIVE "
                                     "instances only")
    if spec.os is not None and inst.os != spec.os:
        return Rejection("ATTRIBUTE", f"ecs.os-type is {inst.os}; the task's runtimePlatform "
                         f"needs {spec.os}")
    if spec.cpu_architecture is not None and inst.cpu_architecture != spec.cpu_architecture:
        return Rejection("ATTRIBUTE", f"ecs.cpu-architecture is {inst.cpu_architecture}; the "
                         f"task's runtimePlatform needs {spec.cpu_architecture}")
    if inst.os not in mode.supported_os:
        return Rejection("ATTRIBUTE", f"ecs.os-type is {inst.os}; network mode {mode.name} "
                         f"needs {' or '.join(mode.supported_os)}")
    free_cpu = inst.cpu_limit - inst.cpu_used
    if spec.cpu > free_cpu:
        return Rejection("RESOURCE:CPU", f"needs {spec.cpu} CPU units, {free_cpu} of "
                         f"{inst.cpu_limit} free")
    if spec.gpu:  # (ECS checks CPU, GPU, memory and ports in that order: task placement)
        free_gpu = inst.gpu_limit - inst.gpu_used
        if spec.gpu > free_gpu:
            return Rejection("RESOURCE:GPU", f"needs {spec.gpu} GPU(s), {free_gpu} of "
                             f"{inst.gpu_limit} free")
    free_mem = inst.memory_limit - inst.memory_used
    if spec.memory > free_mem:
        return Rejection("RESOURCE:MEMORY", f"needs {spec.memory} MiB, {free_mem} of "
                         f"{inst.memory_limit} free")
    return mode.why_not(inst, spec)


def _view(inst: ContainerInstance) -> query.InstanceView:
    live = inst.running_tasks
    return query.InstanceView(
        ec2_instance_id=inst.id, attributes=inst.attributes, running_tasks_count=len(live),
        task_groups=frozenset(t.group for t in live))


def check_constraints(inst: ContainerInstance, group: str,
                      constraints: list[PlacementConstraint]) -> Rejection | None:
    """Stage 2: binding constraints."""
    for c in constraints:
        if c.type == "distinctInstance":
            if any(t.group == group for t in inst.running_tasks):
                return Rejection("CONSTRAINT", "DistinctInstance placement constraint "
                                 f"unsatisfied: a task of {group} already runs here")
        elif c.type == "memberOf" and not query.matches(c.expression or "", _view(inst)):
            return Rejection("CONSTRAINT", f"MemberOf placement constraint unsatisfied: "
                             f"{c.expression}")
    return None


def _group_count(inst: ContainerInstance, group: str) -> int:
    return sum(1 for t in inst.running_tasks if t.group == group)


def rank(candidates: list[ContainerInstance], strategies, group: str,
         cluster: list[ContainerInstance],
         rng: np.random.Generator | TieBreaks) -> ContainerInstance:
    """Stage 3-4: narrow the candidates strategy by strategy; break ties at random."""
    for st in strategies:
        if len(candidates) <= 1:
            break
        if st.type == "binpack":
            if st.field == "cpu":
                left = {i.id: i.cpu_limit - i.cpu_used for i in candidates}
            else:
                left = {i.id: i.memory_limit - i.memory_used for i in candidates}
            low = min(left.values())
            candidates = [i for i in candidates if left[i.id] == low]
        elif st.type == "spread":
            if st.field in ("instanceId", "host"):
                per = {i.id: _group_count(i, group) for i in candidates}
                low = min(per.values())
                candidates = [i for i in candidates if per[i.id] == low]
            else:
                attr = st.field.removeprefix("attribute:")
                counts: Counter = Counter()
                for inst in cluster:
                    if inst.status == "ACTIVE":
                        counts[inst.attributes.get(attr)] += _group_count(inst, group)
                low = min(counts[i.attributes.get(attr)] for i in candidates)
                candidates = [i for i in candidates if counts[i.attributes.get(attr)] == low]
        elif st.type == "random":
            candidates = [candidates[int(rng.integers(len(candidates)))]]
    if len(candidates) == 1:
        return candidates[0]
    return candidates[int(rng.integers(len(candidates)))]


def place(spec: TaskSpec, group: str, mode: NetworkMode, cluster: list[ContainerInstance],
          strategies, constraints: list[PlacementConstraint],
          rng: np.random.Generator | TieBreaks) -> Decision:
    """Choose an instance for one task, or say for every instance why not."""
    rejected: dict[str, Rejection] = {}
    candidates = []
    for inst in cluster:
        why = check_resources(inst, spec, mode) or check_constraints(inst, group, constraints)
        if why is None:
            candidates.append(inst)
        else:
            rejected[inst.id] = why
    chosen = rank(candidates, strategies, group, cluster, rng) if candidates else None
    return Decision(chosen, rejected)
