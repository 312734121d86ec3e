"""A service's tasks wanted and not placed yet (PENDING), kept as numbers until needed.

A service that cannot place its tasks (a deployment stalled on ENIs, a subnet out of
addresses, a burst above the launch rate) holds them by the thousand, and every
placement pass that fails says the same thing of each of them: the closest instance's
reason and, per instance, why not. Keeping a :class:`~.instance.Task` per waiting task
and writing the reasons into each made a failed pass cost O(waiting tasks). Here a
waiting task is its number until it is placed or read, and the reasons of the last
failed pass are kept once, for the tasks that were waiting then.

Tasks join at the back with increasing numbers, are placed from the front and are given
up from the back, so "waiting when the reasons were last given" is "numbered up to the
last one waiting then".
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator

from ..model.instance import Task


class WaitingTasks:
    """The tasks a service waits to place, oldest first, with why they wait.

    Examples
    --------
    >>> made = []
    >>> def make(n):
    ...     made.append(n)
    ...     return Task(id=f"web-{n:04d}", service="web", group="service:web",
    ...                 mode="awsvpc", cpu=256, memory=512)
    >>> waiting = WaitingTasks(make)
    >>> for n in (1, 2, 3):
    ...     waiting.append(n)
    >>> waiting.explain("RESOURCE:ENI", None, {"i-1": "all 3 ENI attachments in use"})
    >>> waiting.append(4)  # joined after the reasons were given: none yet
    >>> [t.last_failure for t in waiting]
    ['RESOURCE:ENI', 'RESOURCE:ENI', 'RESOURCE:ENI', None]
    >>> waiting.take_first().id, len(waiting), waiting.newer_than(2)
    ('web-0001', 3, [3, 4])
    """

    def __init__(self, make: Callable[[int], Task]) -> None:
        self.make = make  # task number -> a new Task of the service
        self._numbers: deque[int] = deque()
        self._first: Task | None = None  # the front task, made once placement looks at it
        #: the last failed pass's reasons, for the tasks numbered up to ``_explained``
        self.last_failure: str | None = None
        self.closest: tuple | None = None
        self.why_not: dict[str, str] = {}
        self._explained = 0

    def __len__(self) -> int:
        return len(self._numbers)

    def __bool__(self) -> bool:
        return bool(self._numbers)

    def append(self, number: int) -> None:
        self._numbers.append(number)

    def pop(self) -> None:
        """Give up the newest waiting task (fewer are wanted)."""
        if len(self._numbers) == 1:
            self._first = None
        self._numbers.pop()

    def clear(self) -> None:
        """Give up every waiting task (a new revision is deployed)."""
        self._numbers.clear()
        self._first = None
        self.last_failure, self.closest, self.why_not, self._explained = None, None, {}, 0

    def first(self) -> Task:
        """The oldest waiting task (the next to place), with its reasons."""
        if self._first is None:
            self._first = self._task(self._numbers[0])
        return self._first

    def take_first(self) -> Task:
        """The oldest waiting task, no longer waiting (it was placed)."""
        task = self.first()
        self._numbers.popleft()
        self._first = None
        return task

    def explain(self, last_failure: str | None, closest: tuple | None,
                why_not: dict[str, str]) -> None:
        """Why every task waiting now is on no instance (shared: not to be changed)."""
        self.last_failure, self.closest, self.why_not = last_failure, closest, why_not
        self._explained = self._numbers[-1] if self._numbers else 0
        if self._first is not None:
            self._reasons(self._first, self._numbers[0])

    def newer_than(self, number: int) -> list[int]:
        """The numbers of the waiting tasks after ``number``, oldest first."""
        newer = []
        for n in reversed(self._numbers):
            if n <= number:
                break
            newer.append(n)
        return newer[::-1]

    def __iter__(self) -> Iterator[Task]:
        """The waiting tasks as :class:`Task` objects, oldest first (made for the reader)."""
        for i, n in enumerate(self._numbers):
            yield self._first if i == 0 and self._first is not None else self._task(n)

    def _task(self, number: int) -> Task:
        task = self.make(number)
        self._reasons(task, number)
        return task

    def _reasons(self, task: Task, number: int) -> None:
        if number <= self._explained:
            task.last_failure, task.closest, task.why_not = (
                self.last_failure, self.closest, self.why_not)
