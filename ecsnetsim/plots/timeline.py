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

from . import timedata
from .data import _cluster_marks
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


def _deployments(ax, panel: timedata.TimelinePanel, scale: float, drawn: set[str]) -> None:
    """Shade each deployment of the panel's service and its windows without a healthy
    task."""
    for d in panel.deployments:
        ax.axvspan(d.start / scale, d.end / scale, linewidth=0, zorder=0,
                   **(_STALL_SPAN if d.stalled else _DEPLOY_SPAN))
        drawn.add("stalled" if d.stalled else "deploying")
        for z0, z1 in d.zero:
            ax.axvspan(z0 / scale, z1 / scale, linewidth=0, zorder=0, **_ZERO_SPAN)
            drawn.add("zero")


def _marks(ax, v: dict, scale: float, drawn: set[str]) -> None:
    for t, label in _cluster_marks(v):
        ax.axvline(t / scale, color="#555555", linestyle="-.", linewidth=0.9)
        ax.annotate(label, (t / scale, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(3, -3), textcoords="offset points", va="top", fontsize=7,
                    color="#333333", annotation_clip=True)
        drawn.add("cluster")


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
    data = timedata.deployment_timeline(doc)
    if data is None:
        return None
    panels, end, window = data.panels, data.end, data.window
    variants = [p.variant for p in panels]
    whole = window is None
    ncols = 1 if whole else 2
    fig, axes = _figure(9.5 if whole else 11.5, 1.2 + 2.0 * len(panels), nrows=len(panels),
                        ncols=ncols, sharey=True,
                        gridspec_kw=None if whole else {"width_ratios": [3.4, 1]})
    zooms, overviews = axes[::ncols], ([] if whole else axes[1::2])
    drawn: set[str] = set()
    peak = 0.0
    for row, (ax, panel) in enumerate(zip(zooms, panels, strict=True)):
        w0, w1 = (0.0, end) if whole else window
        scale, unit = _unit(w1 - w0)
        peak = max(peak, _states(ax, panel.rows, panel.end, scale))
        _deployments(ax, panel, scale, drawn)
        _marks(ax, panel.variant, scale, drawn)
        ax.set_title(panel.title, loc="left")
        ax.set_ylabel("tasks")
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.grid(True, axis="both")
        ax.set_xlim(timedata.left(w0, w1, variants) / scale, w1 / scale)
        last = row == len(panels) - 1
        if last:
            ax.set_xlabel(f"simulated time ({unit})" + ("" if whole else ", zoomed"))
        else:
            ax.tick_params(axis="x", labelbottom=False)
        if not whole:
            _overview(overviews[row], panel, (w0, w1), end, variants, last)
    zooms[0].set_ylim(0, peak * 1.15 + 0.5)  # shared: the same task scale in every panel
    _title(fig, "Tasks over time" + ("" if whole else ": zoomed to the action, the whole "
                                                      "run beside it"))
    _legend(fig, _handles(panels, drawn, whole), title="tasks")
    return fig


def _overview(ov, panel: timedata.TimelinePanel, window: tuple[float, float], end: float,
              variants: list[dict], last: bool) -> None:
    """The small panel of the whole run, with the zoomed window outlined."""
    w0, w1 = window
    ov.set_label("whole run")  # the artist's label: which panels are overviews
    oscale, ounit = _unit(end)
    _states(ov, panel.rows, panel.end, oscale)
    ov.axvspan(w0 / oscale, w1 / oscale, zorder=4, **_WINDOW)
    ov.plot([(w0 + w1) / 2 / oscale], [1.0], marker="v", color="#333333",
            transform=ov.get_xaxis_transform(), clip_on=False, zorder=5)
    ov.set_xlim(timedata.left(0.0, end, variants) / oscale, end / oscale)
    ov.grid(True, axis="both")
    ov.tick_params(labelsize=7)
    if last:
        ov.set_xlabel(f"whole run ({ounit})")
    else:
        ov.tick_params(axis="x", labelbottom=False)


def _handles(panels: list[timedata.TimelinePanel], drawn: set[str], whole: bool) -> list:
    """The legend: the task states some row has, the healthy line, what was shaded."""
    shown = {k for p in panels for r in p.rows for k in _AREAS if r.get(k)}
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
    return handles
