"""Tasks over simulated time, zoomed to where something happens, with the whole run in a
small panel beside it.

A deployment of a few minutes in a 30-minute run, or the one second in which a daemon's
old task has stopped and its replacement has not started yet, is invisible on an axis
of the whole run: the main panel of each variant and service spans the *action* (what
happens after the service first settled: deployments, instance events, tasks stopping
or starting), and the small panel beside it the whole run with that window outlined.
"""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .data import _changes, _cluster_marks, _label, _one_line, _settled, _stopped, _stops
from .style import _figure, _legend, _styled, _title

#: Timeline task states, stacked from the bottom (every task is in exactly one of them):
#: the style of each area and its legend label.
_AREAS = {
    "running_old": {"facecolor": "#9fbad6", "label": "running, older revision"},
    "running_new": {"facecolor": "#f28e2b", "label": "running, current revision"},
    "draining": {"facecolor": "#b07aa1", "label": "draining (deregistration delay)"},
    "pending": {"facecolor": "white", "hatch": "xx", "edgecolor": "#9a9a9a",
                "label": "wanted, not running yet (pending)"},
}
_HEALTHY = {"color": "#222222", "linestyle": "--", "linewidth": 1.4}
_DEPLOY_SPAN = {"facecolor": "#f1ce63", "alpha": 0.25}
_STALL_SPAN = {"facecolor": "#bab0ac", "alpha": 0.35, "hatch": "//", "edgecolor": "#8c8c8c"}
_ZERO_SPAN = {"facecolor": "#e15759", "alpha": 0.30}
_WINDOW = {"facecolor": "#000000", "alpha": 0.08, "edgecolor": "#333333", "linewidth": 0.8}

#: The zoomed window is padded by this share of its span on each side (at least 1 s).
_PAD = 0.1
#: A window spanning more than this share of the run (less than a 2x zoom) is not zoomed:
#: the whole run is drawn alone.
_WHOLE = 0.5


# ---- what happens when ---------------------------------------------------------------------

def _action(v: dict, svc: str, rows: list[dict]) -> tuple[float, float] | None:
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


def _zero_healthy(rows: list[dict], t0: float, t1: float) -> list[tuple[float, float]]:
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


def _unit(span: float) -> tuple[float, str]:
    """(seconds per unit, unit) for an axis spanning ``span`` seconds."""
    return (60.0, "min") if span > 600 else (1.0, "s")


# ---- drawing -------------------------------------------------------------------------------

def _states(ax, rows: list[dict], end: float, scale: float) -> float:
    """Stacked task states and the healthy line; returns the highest stack."""
    ts = [r["t"] / scale for r in rows] + [end / scale]
    base = [0.0] * len(ts)
    for key, style in _AREAS.items():
        ys = [r.get(key, 0) for r in rows]
        top = [b + y for b, y in zip(base, ys + ys[-1:], strict=True)]
        ax.fill_between(ts, base, top, step="post", linewidth=0, zorder=1,
                        **{k: x for k, x in style.items() if k != "label"})
        base = top
    healthy = [r.get("healthy", 0) for r in rows]
    ax.step(ts, healthy + healthy[-1:], where="post", zorder=3, **_HEALTHY)
    return max(base)


def _deployments(ax, v: dict, svc: str, rows: list[dict], end: float, scale: float,
                 drawn: set[str]) -> list[str]:
    """Shade each deployment of ``svc`` and its windows without a healthy task; return
    the status text of each (revision, status, waves, failures)."""
    status = []
    for d in v.get("deployments") or []:
        if d.get("service") != svc:
            continue
        t0 = d["started_at"]
        t1 = d["finished_at"] if d.get("finished_at") is not None else end
        stalled = d.get("status") == "STALLED"
        ax.axvspan(t0 / scale, t1 / scale, linewidth=0, zorder=0,
                   **(_STALL_SPAN if stalled else _DEPLOY_SPAN))
        drawn.add("stalled" if stalled else "deploying")
        for z0, z1 in _zero_healthy(rows, t0, t1):
            ax.axvspan(z0 / scale, z1 / scale, linewidth=0, zorder=0, **_ZERO_SPAN)
            drawn.add("zero")
        failures = d.get("failures") or {}
        text = (f"rev {d.get('revision', '?')} {d.get('status', '')}".rstrip()
                + (f", {d['waves']} wave(s)" if d.get("waves") else ""))
        counts = ", ".join(f"{r}\u00d7{n}" for r, n in failures.items())
        if failures:
            text += (" on " if stalled else ", failures: ") + counts
        status.append(text)
    return status


def _marks(ax, v: dict, scale: float, drawn: set[str]) -> None:
    for t, label in _cluster_marks(v):
        ax.axvline(t / scale, color="#555555", linestyle="-.", linewidth=0.9)
        ax.annotate(label, (t / scale, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(3, -3), textcoords="offset points", va="top", fontsize=7,
                    color="#333333", annotation_clip=True)
        drawn.add("cluster")


#: An axis whose left end has an instance event on it starts this share of its span
#: earlier, so that the event's line is not drawn on the y axis.
_LEAD = 0.03


def _left(w0: float, w1: float, variants: list[dict]) -> float:
    """The left end of an axis spanning [w0, w1]: w0, or a little before it when an
    instance event falls on it (its line would hide in the axis and its tick labels).

    >>> _left(0.0, 100.0, [{"placement": {"events": [{"t": 0.0, "kind": "drain"}]}}])
    -3.0
    >>> _left(0.0, 100.0, [{"placement": {"events": []}}])
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
    actions = [_action(v, svc, rows) for v, svc, rows in panels]
    known = [_pad(a, end) for a in actions if a is not None]
    if not known:
        return None
    union = (min(a for a, _ in known), max(b for _, b in known))
    if (union[1] - union[0]) > _WHOLE * end:
        return None
    return union


@_styled
def deployment_timeline(doc: dict) -> Figure | None:
    """Tasks over simulated time, per variant and service: stacked areas of running
    tasks of the older and the current revision, draining tasks and pending ones, with the
    healthy count as a line.

    Drawn when a variant has a ``timeline`` with more than start-up in it (a deployment,
    scaling, tasks stopping, instance events); deployments are shaded from start to
    finish with their status, and windows without a healthy task in red. The main panel
    is zoomed to the action after start-up (padded by a tenth of its span, at least 1 s);
    when that is less than most of the run, a small panel beside it shows the whole run
    with the window outlined.

    Parameters
    ----------
    res : Results or dict
        The results of :func:`ecsnetsim.simulate`, or their ``results.json`` document.

    Returns
    -------
    matplotlib.figure.Figure or None
        The figure, or None when nothing happens after start-up (no deployment, no
        instance event, no task stopped).

    Examples
    --------
    >>> from ecsnetsim import plots
    >>> plots.deployment_timeline({"variants": []}) is None
    True
    """
    variants = [v for v in doc["variants"] if v.get("timeline")]
    panels = []
    for v in variants:
        for svc in dict.fromkeys(r["service"] for r in v["timeline"]):
            panels.append((v, svc, [r for r in v["timeline"] if r["service"] == svc]))
    end = max(float(v.get("end") or max(r["t"] for r in v["timeline"])) for v in variants)
    window = _window(panels, end)
    whole = window is None
    ncols = 1 if whole else 2
    fig, axes = _figure(9.5 if whole else 11.5, 1.2 + 2.0 * len(panels), nrows=len(panels),
                        ncols=ncols, sharey=True,
                        gridspec_kw=None if whole else {"width_ratios": [3.4, 1]})
    zooms, overviews = axes[::ncols], ([] if whole else axes[1::2])
    drawn: set[str] = set()
    peak = 0.0
    for row, (ax, (v, svc, rows)) in enumerate(zip(zooms, panels, strict=True)):
        v_end = max(float(v.get("end") or rows[-1]["t"]), rows[-1]["t"])
        w0, w1 = (0.0, end) if whole else window
        scale, unit = _unit(w1 - w0)
        peak = max(peak, _states(ax, rows, v_end, scale))
        status = _deployments(ax, v, svc, rows, v_end, scale, drawn)
        _marks(ax, v, scale, drawn)
        stops = _stops(rows)
        if stops and not status:  # tasks stopped with no deployment: health checks, ...
            status = [f"running tasks fell {stops} time(s): stopped and replaced"]
        title = f"{_one_line(_label(v))} \u00b7 service {svc}"
        if status:  # on a line of its own when long: a title is no wider than its panel
            sep = "\n" if len(title) + sum(len(x) + 2 for x in status) > 75 else "  \u2014  "
            title += sep + "; ".join(status)
        ax.set_title(title, loc="left")
        ax.set_ylabel("tasks")
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.grid(True, axis="both")
        ax.set_xlim(_left(w0, w1, variants) / scale, w1 / scale)
        last = row == len(panels) - 1
        if last:
            ax.set_xlabel(f"simulated time ({unit})" + ("" if whole else ", zoomed"))
        else:
            ax.tick_params(axis="x", labelbottom=False)
        if not whole:
            ov = overviews[row]
            ov.set_label("whole run")  # the artist's label: which panels are overviews
            oscale, ounit = _unit(end)
            _states(ov, rows, v_end, oscale)
            ov.axvspan(w0 / oscale, w1 / oscale, zorder=4, **_WINDOW)
            ov.plot([(w0 + w1) / 2 / oscale], [1.0], marker="v", color="#333333",
                    transform=ov.get_xaxis_transform(), clip_on=False, zorder=5)
            ov.set_xlim(_left(0.0, end, variants) / oscale, end / oscale)
            ov.grid(True, axis="both")
            ov.tick_params(labelsize=7)
            if last:
                ov.set_xlabel(f"whole run ({ounit})")
            else:
                ov.tick_params(axis="x", labelbottom=False)
    zooms[0].set_ylim(0, peak * 1.15 + 0.5)  # shared: the same task scale in every panel
    _title(fig, "Tasks over time" + ("" if whole else ": zoomed to the action, the whole "
                                                      "run beside it"))
    shown = {k for v in variants for r in v["timeline"] for k in _AREAS if r.get(k)}
    handles = [Patch(**style) for key, style in _AREAS.items() if key in shown]
    handles.append(Line2D([], [], label="healthy (passing the health check)", **_HEALTHY))
    spans = {"deploying": (_DEPLOY_SPAN, "deployment in progress"),
             "stalled": (_STALL_SPAN, "deployment stalled (no progress)"),
             "zero": (_ZERO_SPAN, "no healthy task during the deployment")}
    handles += [Patch(label=label, **style) for key, (style, label) in spans.items()
                if key in drawn]
    if "cluster" in drawn:
        handles.append(Line2D([], [], color="#555555", linestyle="-.", linewidth=0.9,
                              label="instance events (drain, terminate,\nlaunch, register)"))
    if not whole:
        handles.append(Patch(label="zoomed window (\u25bc, in the whole run)", **_WINDOW))
    _legend(fig, handles, title="tasks")
    return fig
