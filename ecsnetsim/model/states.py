"""ECS's task states as far as the model goes, and the moves ECS makes between them.

Kept apart from the lifecycle's processes so that a task (``model/instance.py``) can
carry its state without importing the control plane.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from mypy_extensions import mypyc_attr

if TYPE_CHECKING:
    from .instance import Task


class TaskState(enum.StrEnum):
    """A task's ``lastStatus`` in ECS's words (a string: compares and prints as one)."""

    PENDING = "PENDING"  # wanted and not placed; or placed, containers starting
    PROVISIONING = "PROVISIONING"  # placed, its network attaching
    RUNNING = "RUNNING"
    DEACTIVATING = "DEACTIVATING"  # deregistering from the load balancer (draining)
    STOPPED = "STOPPED"


#: The moves ECS makes from each state.
TRANSITIONS: dict[TaskState, frozenset[TaskState]] = {
    TaskState.PENDING: frozenset({TaskState.PROVISIONING, TaskState.RUNNING,
                                  TaskState.STOPPED}),
    TaskState.PROVISIONING: frozenset({TaskState.PENDING, TaskState.STOPPED}),
    TaskState.RUNNING: frozenset({TaskState.DEACTIVATING, TaskState.STOPPED}),
    TaskState.DEACTIVATING: frozenset({TaskState.STOPPED}),
    TaskState.STOPPED: frozenset(),
}

#: Placed and on its way to RUNNING.
STARTING = frozenset({TaskState.PROVISIONING, TaskState.PENDING})


@mypyc_attr(native_class=False)  # (mypyc: an exception stays a Python class)
class IllegalTransition(RuntimeError):
    """A task was asked to move to a state ECS never moves it to from where it is."""


def advance(task: Task, to: TaskState) -> None:
    """Move ``task`` to state ``to``; its ``draining`` flag says whether it is DEACTIVATING.

    Its instance counts it as running until it is STOPPED (the only state it never
    leaves), so only that move is reported to the instance.
    """
    if to not in TRANSITIONS[task.state]:
        raise IllegalTransition(f"task {task.id}: {task.state} -> {to}")
    task.state = to
    task.draining = to is TaskState.DEACTIVATING
    if to is TaskState.STOPPED:
        inst = task.instance
        if inst is not None and hasattr(inst, "count_running"):
            inst.count_running(task)
    tally = task.tally
    if tally is not None and (task.instance is not None or task.tally_key is not None):
        tally.update(task)  # (an unplaced task is in no class, before and after)


__all__ = ["STARTING", "TRANSITIONS", "IllegalTransition", "TaskState", "advance"]
