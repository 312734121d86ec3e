"""The numbers of the deployment timeline, worked out from a results document without
matplotlib (the figure module, :mod:`.timeline`, only draws them): which panels, the
window zoomed to the action, each deployment's span, status and windows without a
healthy task.

Examples
--------
>>> def row(t, old, new, healthy):
...     return {"t": t, "service": "web", "running_old": old, "running_new": new,
...             "pending": 0, "healthy": healthy}
>>> rows = [row(0.0, 0, 2, 2), row(60.0, 2, 2, 0), row(70.0, 0, 2, 2)]
>>> v = {"name": "base", "end": 600.0, "timeline": rows, "placement": {"events": []},
...      "deployments": [{"service": "web", "revision": 2, "status": "COMPLETED",
...                       "started_at": 60.0, "finished_at": 70.0, "waves": 1}]}
>>> data = deployment_timeline({"variants": [v]})
>>> data.window, data.panels[0].deployments[0].status, data.panels[0].deployments[0].zero
((59.0, 71.0), 'rev 2 COMPLETED, 1 wave(s)', [(60.0, 70.0)])
"""

from __future__ import annotations

from dataclasses import dataclass

from .data import _changes, _cluster_marks, _label, _one_line, _settled, _stopped, _stops

#: The zoomed window is padded by this share of its span on each side (at least 1 s).
_PAD = 0.1
#: A window spanning more than this share of the run (less than a 2x zoom) is not zoomed:
#: the whole run is drawn alone.
_WHOLE = 0.5
#: An axis whose left end has an instance event on it starts this share of its span
#: earlier, so that the event's line is not drawn on the y axis.
_LEAD = 0.03


@dataclass
class DeploymentSpan:
    """A deployment of the panel's service: from its start to its end (the run's end if
    it never finished), whether it stalled, the windows in it without a healthy task, and
    its status text (revision, status, waves, failures)."""

    start: float
    end: float
    stalled: bool
    zero: list[tuple[float, float]]
    status: str


@dataclass
class TimelinePanel:
    """One service of one variant: its timeline rows, the end of its run, its
    deployments and its title."""

    variant: dict
    service: str
    rows: list[dict]
    end: float
    deployments: list[DeploymentSpan]
    title: str


@dataclass
class Timeline:
    panels: list[TimelinePanel]
    #: the end of the longest run
    end: float
    #: the window every zoomed panel shows, or None: the whole run alone
    window: tuple[float, float] | None


def action(v: dict, svc: str, rows: list[dict]) -> tuple[float, float] | None:
    """(first, last) time at which something happens to ``svc`` in ``v`` after start-up:
    its counts change, a deployment of it starts or finishes, an instance event."""
    times = _changes(rows) if (_stopped(rows) or v.get("deployments") or _cluster_marks(v)
                               or any(_settled(r) for r in rows)) else []
    for d in v.get("deployments") or []:
        if d.get("service") == svc:
            times.append(float(d["started_at"]))
            if d.get("finished_at") is not None:
                times.append(float(d["finished_at"]))
    times += [t for t, _ in _cluster_marks(v)]
    return (min(times), max(times)) if times else None


def _pad(window: tuple[float, float], end: float) -> tuple[float, float]:
    t0, t1 = window
    pad = max(_PAD * (t1 - t0), 1.0)
    return max(0.0, t0 - pad), min(end, t1 + pad)


def zero_healthy(rows: list[dict], t0: float, t1: float) -> list[tuple[float, float]]:
    """Windows within [t0, t1] in which the service had no healthy task."""
    windows, start = [], None
    for r in rows:
        t = min(max(r["t"], t0), t1)
        if r.get("healthy", 0) == 0 and start is None and r["t"] < t1:
            start = t
        elif r.get("healthy", 0) > 0 and start is not None:
            windows.append((start, t))
            start = None
    if start is not None:
        windows.append((start, t1))
    return [(a, b) for a, b in windows if b > a]


def left(w0: float, w1: float, variants: list[dict]) -> float:
    """The left end of an axis spanning [w0, w1]: w0, or a little before it when an
    instance event falls on it (its line would hide in the axis and its tick labels).

    >>> left(0.0, 100.0, [{"placement": {"events": [{"t": 0.0, "kind": "drain"}]}}])
    -3.0
    >>> left(0.0, 100.0, [{"placement": {"events": []}}])
    0.0
    """
    span = w1 - w0
    if any(abs(t - w0) <= 0.005 * span for v in variants for t, _ in _cluster_marks(v)):
        return w0 - _LEAD * span
    return w0


def _window(panels: list[tuple[dict, str, list[dict]]],
            end: float) -> tuple[float, float] | None:
    """The zoomed window, shared by every panel so that variants compare, or None when
    the action fills most of the run (the whole run is then drawn alone)."""
    known = [_pad(a, end) for a in (action(v, svc, rows) for v, svc, rows in panels)
             if a is not None]
    if not known:
        return None
    union = (min(a for a, _ in known), max(b for _, b in known))
    if (union[1] - union[0]) > _WHOLE * end:
        return None
    return union


def _span(d: dict, rows: list[dict], end: float) -> DeploymentSpan:
    t0 = d["started_at"]
    t1 = d["finished_at"] if d.get("finished_at") is not None else end
    stalled = d.get("status") == "STALLED"
    failures = d.get("failures") or {}
    text = (f"rev {d.get('revision', '?')} {d.get('status', '')}".rstrip()
            + (f", {d['waves']} wave(s)" if d.get("waves") else ""))
    if failures:
        text += (" on " if stalled else ", failures: ") + ", ".join(
            f"{r}\u00d7{n}" for r, n in failures.items())
    return DeploymentSpan(t0, t1, stalled, zero_healthy(rows, t0, t1), text)


def _panel(v: dict, svc: str, rows: list[dict]) -> TimelinePanel:
    end = max(float(v.get("end") or rows[-1]["t"]), rows[-1]["t"])
    spans = [_span(d, rows, end) for d in v.get("deployments") or [] if d.get("service") == svc]
    status = [s.status for s in spans]
    stops = _stops(rows)
    if stops and not status:  # tasks stopped with no deployment: health checks, ...
        status = [f"running tasks fell {stops} time(s): stopped and replaced"]
    title = f"{_one_line(_label(v))} \u00b7 service {svc}"
    if status:  # on a line of its own when long: a title is no wider than its panel
        sep = "\n" if len(title) + sum(len(x) + 2 for x in status) > 75 else "  \u2014  "
        title += sep + "; ".join(status)
    return TimelinePanel(v, svc, rows, end, spans, title)


def deployment_timeline(doc: dict) -> Timeline | None:
    """One panel per variant and service with a timeline, or None when no variant has
    one."""
    variants = [v for v in doc["variants"] if v.get("timeline")]
    if not variants:
        return None
    found = [(v, svc, [r for r in v["timeline"] if r["service"] == svc]) for v in variants
             for svc in dict.fromkeys(r["service"] for r in v["timeline"])]
    end = max(float(v.get("end") or max(r["t"] for r in v["timeline"])) for v in variants)
    return Timeline([_panel(*p) for p in found], end, _window(found, end))
