"""What the cluster says happened: service and instance events, and the timeline of counts.

Service events keep ECS's wording (``service (<name>) has reached a steady state.``);
instance events carry a ``kind`` and how many instances they concern, so that readers
(the timeline plot, the report) never parse the prose.
"""

from __future__ import annotations

from dataclasses import dataclass

import simpy

from ..rows import EventRow, TimelinePoint


@dataclass
class Event:
    """A service event in ECS's wording, or an instance event (``kind`` says which: drain,
    terminate, launch, register, launch-failed; ``instances`` how many it concerns)."""

    t: float
    service: str
    message: str
    kind: str | None = None
    instances: int = 0

    def row(self) -> EventRow:
        """The event's row of ``results.json`` (``kind`` and ``instances`` only for an
        instance event)."""
        instance = self.kind is not None
        return EventRow(round(self.t, 6), self.service, self.message, self.kind,
                        self.instances if instance else None)

    def as_dict(self) -> dict:
        return self.row().to_json()


class EventLog:
    """The events of one cluster in the order they happened, stamped by the simpy clock."""

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self.entries: list[Event] = []

    def service(self, name: str, message: str) -> Event:
        """``service (<name>) <message>``, as ECS words a service event."""
        return self._add(Event(self.env.now, name, f"service ({name}) {message}"))

    def instance(self, kind: str, message: str, count: int = 1, service: str = "") -> Event:
        """An instance event (drain, terminate, launch, register, launch-failed); a launch
        names the service whose tasks it is for."""
        return self._add(Event(self.env.now, service, message, kind, count))

    def _add(self, event: Event) -> Event:
        self.entries.append(event)
        return event

    def __iter__(self):
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


#: A service's counts on the timeline: running of an older revision, running of the
#: current one, pending, healthy, draining.
Row = tuple[int, int, int, int, int]


class Timeline:
    """Each service's task counts over time, one row whenever they change.

    Rows are kept as plain tuples while the run goes (a row replaced within the same
    instant costs no object) and read as :class:`TimelinePoint` rows.
    """

    def __init__(self) -> None:
        self._rows: list[tuple] = []  # (t, service, *row)
        self._last: dict[str, Row] = {}
        self._read: list[TimelinePoint] = []
        self._read_key: tuple = (0, None)

    def record(self, now: float, service: str, row: Row) -> None:
        """Append ``row`` if the service's counts changed; a later change at the same
        instant replaces the service's row of that instant."""
        if self._last.get(service) == row:
            return
        self._last[service] = row
        t = round(now, 6)  # rows hold the rounded time: compare like with like
        rows = self._rows
        if rows and rows[-1][0] == t and rows[-1][1] == service:
            rows[-1] = (t, service, *row)
        else:
            rows.append((t, service, *row))

    @property
    def rows(self) -> list[TimelinePoint]:
        """The rows so far, as :class:`TimelinePoint` rows (built again only after a
        change)."""
        key = (len(self._rows), self._rows[-1] if self._rows else None)
        if key != self._read_key:
            self._read = [TimelinePoint(*r) for r in self._rows]
            self._read_key = key
        return self._read
