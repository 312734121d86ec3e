"""Callbacks due at the same instant run by one simpy event, in the order one event each
would run them.

Placing a batch of tasks starts each on the same steps at the same instants (its network
attaches, its containers start, it turns healthy), and an event per step per task made
simpy's queue the largest cost of placing 100,000 tasks. :class:`Timers` schedules one
event for a run of callbacks due at the same time with the same priority, provided the
run is one that separate events would process back to back. Two rules make that exact:

* **Only callbacks scheduled consecutively share an event.** simpy orders events due at
  the same time and priority by a counter it draws when it schedules one. Before adding
  a callback to the last batch, :meth:`Timers.call_at` draws from that counter itself:
  if no event was scheduled since its previous draw, the numbers follow on, and separate
  events would have been adjacent in simpy's order. (A drawn number is never used by an
  event, and simpy compares numbers, never counts them, so drawing one changes nothing.)
* **A batch of normal events gives way to urgent ones.** While a batch runs, a callback
  may schedule an urgent event for the same instant (a process starting); simpy would
  run that before the next normal event of the batch. Before each callback, the batch
  looks at the head of simpy's queue and, if an urgent event is due now, hands its
  remaining callbacks to a new batch scheduled as urgent, behind the ones waiting (and
  that batch looks again before each of its own: an urgent event scheduled meanwhile
  still goes first). A batch of urgent events never gives way: nothing sorts before an
  urgent event already queued.

The events of a batch are those of the callbacks it stands for, so the simulated results
are those of one event per callback (checked on every shipped scenario).
"""

from __future__ import annotations

from collections.abc import Callable

import simpy
from simpy.events import NORMAL, URGENT

__all__ = ["Timers"]


class _Batch:
    """Callbacks due at one time and priority, run by one simpy event."""

    __slots__ = ("at", "priority", "gives_way", "callbacks", "mark", "closed")

    def __init__(self, at: float, priority: int, gives_way: bool) -> None:
        self.at, self.priority, self.gives_way = at, priority, gives_way
        self.callbacks: list[Callable[[], None]] = []
        self.mark = -1  # the scheduler's counter as last drawn for this batch
        self.closed = False  # running, or standing for callbacks that gave way: none join


class Timers:
    """Calls functions after a delay on a simpy clock, batching those due together.

    Examples
    --------
    >>> env = simpy.Environment()
    >>> timers, seen = Timers(env), []
    >>> for name in "abc":
    ...     timers.call_at(2.0, lambda name=name: seen.append((env.now, name)))
    >>> _ = env.timeout(2.0)  # another event due then: after the three
    >>> env.run()
    >>> seen
    [(2.0, 'a'), (2.0, 'b'), (2.0, 'c')]
    >>> timers.events  # one simpy event for the three
    1
    """

    def __init__(self, env: simpy.Environment,
                 on_run_end: Callable[[], None] | None = None) -> None:
        self.env = env
        self.on_run_end = on_run_end  # called when a batch has run (or given way)
        self._last: _Batch | None = None
        self.events = 0  # simpy events scheduled (for tests and benchmarks)
        #: simpy's event counter and queue, which batching reads (simpy 4 keeps them as
        #: ``_eid`` and ``_queue``); without them every callback gets an event of its own
        self.batching = hasattr(env, "_eid") and hasattr(env, "_queue")

    def call_at(self, delay: float, callback: Callable[[], None],
                priority: int = NORMAL) -> None:
        """Call ``callback()`` ``delay`` seconds from now, where a simpy event of
        ``priority`` scheduled now would be processed."""
        env = self.env
        at = env.now + delay
        if self.batching:
            mark = next(env._eid)  # noqa: SLF001 (see the module's docstring)
            last = self._last
            if last is not None and last.mark + 1 == mark and last.at == at and \
                    last.priority == priority and not last.closed:
                last.callbacks.append(callback)
                last.mark = mark
                return
        batch = _Batch(at, priority, gives_way=self.batching and priority != URGENT)
        batch.callbacks.append(callback)
        batch.closed = not self.batching  # one callback, one event
        self._schedule(batch, priority, delay)

    def _schedule(self, batch: _Batch, priority: int, delay: float) -> None:
        env = self.env
        event = simpy.Event(env)
        event.callbacks.append(lambda _event: self._run(batch))
        event._ok = True  # noqa: SLF001 (a triggered event, as simpy's Timeout builds it)
        event._value = None  # noqa: SLF001
        env.schedule(event, priority, delay)  # type: ignore[arg-type]
        if self.batching:
            batch.mark = next(env._eid)  # noqa: SLF001
        self._last = batch
        self.events += 1

    def _run(self, batch: _Batch) -> None:
        batch.closed = True
        callbacks = batch.callbacks
        queue = self.env._queue if self.batching else None  # noqa: SLF001
        for i, callback in enumerate(callbacks):
            if batch.gives_way and queue and queue[0][1] < NORMAL and queue[0][0] == batch.at:
                rest = _Batch(batch.at, URGENT, gives_way=True)
                rest.callbacks = callbacks[i:]
                rest.closed = True
                self._schedule(rest, URGENT, 0)
                break
            callback()
        if self.on_run_end is not None:
            self.on_run_end()
