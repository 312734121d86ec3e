"""The numbers of the placement-outcome figure, worked out from a results document
without matplotlib (the figure module, :mod:`.placement`, only draws them).

Examples
--------
>>> v = {"name": "ec2", "placement": {"services": [
...     {"name": "api", "network_mode": "awsvpc", "desired": 6, "running": 4, "pending": 2,
...      "failures": {"RESOURCE:ENI": 2}}]}}
>>> (bar,) = placement_outcome({"variants": [v]}).bars
>>> bar.mode, bar.running, bar.not_running, bar.waiting, bar.desired
('awsvpc', 4, {'RESOURCE:ENI': 2}, 0, 6)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .data import _collapse, _mode

#: What happened to tasks during the run, beside the outcome: its kind and the service
#: field that counts it.
EVENT_FIELDS = (("failed", "launch_failures"), ("stopped", "stopped"))


@dataclass
class OutcomeBar:
    """A service of a variant at the end of the run: tasks running (``old`` of them of
    the older revision, during a deployment), not running by ECS's reason, pending
    without a reason yet, the desired count, the tasks above it, and what happened to
    tasks during the run (``(kind, reason) -> count``)."""

    label: str
    mode: str
    running: int
    old: int
    not_running: dict[str, int]
    waiting: int
    desired: int
    surge: int
    deploying: bool
    happened: dict[tuple[str, str], int] = field(default_factory=dict)

    @property
    def top(self) -> int:
        """The top of the stacked bar."""
        return self.running + sum(self.not_running.values()) + self.waiting


@dataclass
class PlacementOutcome:
    bars: list[OutcomeBar]
    #: every reason some bar's tasks are not running for, sorted
    reasons: list[str]
    #: every (kind, reason) of what happened during the run, sorted
    events: list[tuple[str, str]]


def _surge(s: dict) -> int:
    """Tasks above the desired count: a deployment's new tasks started (or wanted)
    before the old ones stop, up to ``maximum_percent`` of desired."""
    return max(0, s["running"] + s["pending"] - s["desired"])


def _signature(v: dict) -> tuple:
    return tuple((s["name"], s["running"], s["pending"], tuple(sorted(s["failures"].items())),
                  tuple(sorted((s.get("launch_failures") or {}).items())))
                 for s in v["placement"]["services"])


def _bar(label: str, v: dict, s: dict) -> OutcomeBar:
    deploying = any(d.get("service") == s["name"] for d in v.get("deployments") or [])
    happened = {(kind, r): n for kind, key in EVENT_FIELDS
                for r, n in (s.get(key) or {}).items()}
    return OutcomeBar(label, _mode(v, s["name"]), s["running"],
                      min(s.get("running_old") or 0, s["running"]),
                      dict(s["failures"]),
                      max(0, s["pending"] - sum(s["failures"].values())), s["desired"],
                      _surge(s), deploying, happened)


def placement_outcome(doc: dict) -> PlacementOutcome | None:
    """One bar per service and variant (variants with the same outcome at every sweep
    point shown once), or None when no variant has a service."""
    variants = doc["variants"]
    if not any(v["placement"]["services"] for v in variants):
        return None
    cats = _collapse(variants, _signature)
    services = list(dict.fromkeys(s["name"] for _, v in cats for s in v["placement"]["services"]))
    bars = [_bar(lab if len(services) == 1 else f"{lab}\n{s['name']}", v, s)
            for lab, v in cats for s in v["placement"]["services"]]
    reasons = sorted({r for b in bars for r in b.not_running})
    events = sorted({e for b in bars for e in b.happened})
    return PlacementOutcome(bars, reasons, events)
