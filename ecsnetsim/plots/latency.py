"""One-way latency per variant: each variant's spread, the mean marked beside its value."""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from .data import Source, _doc
from .figdata import LatencySpread, Spread, latency_spread
from .style import (
    _cat_width,
    _categories,
    _figure,
    _legend,
    _lighten,
    _log_ticks,
    _mode_color,
    _mode_handles,
    _note,
    _num,
    _styled,
    _title,
    _wide,
)

#: Latency percentiles and their markers when a flow has no histogram (older results):
#: points on a line from p50 to p99.
_PERCENTILE_MARKERS = (("p50", "o"), ("p90", "s"), ("p99", "^"))
_BOX = 0.36  # box width (category units)
_MEAN_X = -0.3  # the mean's diamond, left of the box; its value left of the diamond
_TAIL = {"p999": ("^", "p99.9"), "high": ("_", "max")}


def _boxed(ax, x: float, sp: Spread, color) -> list[float]:
    """Box p25-p75 with the median across it, whiskers p1-p99, p99.9 and max as marks."""
    q = sp.quantiles
    ax.plot([x, x], [q["p1"], q["p99"]], color=color, linewidth=1.2, zorder=2,
            solid_capstyle="butt")
    ax.add_patch(Rectangle((x - _BOX / 2, q["p25"]), _BOX, q["p75"] - q["p25"],
                           facecolor=_lighten(color, 0.55), edgecolor=color, linewidth=1.2,
                           zorder=3))
    ax.plot([x - _BOX / 2, x + _BOX / 2], [q["p50"]] * 2, color=color, linewidth=2.4,
            solid_capstyle="butt", zorder=4)
    values = [q["p1"], q["p99"]]
    for key, (marker, _) in _TAIL.items():
        y = getattr(sp, key)
        if y is not None and y > q["p99"]:
            ax.plot([x], [y], marker=marker, color=color, markersize=6, linestyle="none",
                    markeredgewidth=1.4, zorder=3)
            values.append(y)
    return values


def _points(ax, x: float, sp: Spread, color) -> list[float]:
    """p50, p90, p99 as points on one line (results without a histogram)."""
    q = sp.quantiles
    ax.plot([x] * 2, [q["p50"], q["p99"]], color=color, linewidth=2.5, solid_capstyle="round",
            zorder=2)
    for p, marker in _PERCENTILE_MARKERS:
        if p in q:
            ax.plot([x], [q[p]], marker=marker, color=color, markersize=6,
                    markeredgecolor="white", markeredgewidth=0.6, linestyle="none", zorder=3)
    return list(q.values())


def _mean(ax, x: float, sp: Spread) -> None:
    """The mean as a diamond left of the box, its value beside it at the same height, and
    its 95 % interval when replicated."""
    mx = x + _MEAN_X
    ax.plot([mx], [sp.mean], marker="D", color="black", markersize=5, zorder=5,
            linestyle="none")
    if sp.ci:
        ax.errorbar([mx], [sp.mean], yerr=[[sp.mean - sp.ci[0]], [sp.ci[1] - sp.mean]],
                    color="black", capsize=3, linewidth=1, zorder=5)
    ax.annotate(_num(sp.mean), (mx, sp.mean), xytext=(-5, 0), textcoords="offset points",
                ha="right", va="center", fontsize=7)


def draw(data: LatencySpread) -> Figure:
    """The figure of :func:`.figdata.latency_spread`'s numbers."""
    n = max(len(p.spreads) for p in data.panels)
    fig, axes = _figure(_cat_width(n, 1.0), 1.4 + 3.4 * len(data.panels),
                        nrows=len(data.panels))
    modes, boxed, pointed = [], False, False
    for ax, panel in zip(axes, data.panels, strict=True):
        values: list[float] = []
        for x, sp in enumerate(panel.spreads):
            if sp.note:
                _note(ax, x, sp.note)
                continue
            modes.append(sp.mode)
            color = _mode_color(sp.mode)
            draw_one = _boxed if sp.boxed else _points
            values += draw_one(ax, x, sp, color)
            boxed, pointed = boxed or sp.boxed, pointed or not sp.boxed
            if sp.mean is not None:
                _mean(ax, x, sp)
                values.append(sp.mean)
        log = _wide(values)
        if log:
            ax.set_yscale("log")
            ax.set_ylim(min(values) / 1.3, max(values) * 1.3)
            _log_ticks(ax.yaxis, min(values) / 1.3, max(values) * 1.3)
        else:
            ax.set_ylim(bottom=0, top=max(values, default=1) * 1.12)
        _categories(ax, [s.label for s in panel.spreads])
        ax.set_ylabel("one-way latency (µs" + (", log scale)" if log else ")"))
        ax.set_title(panel.title, loc="left")
    _title(fig, "One-way latency by variant: the spread of every packet's latency")
    _legend(fig, _handles(modes, boxed, pointed), title="network mode / statistic")
    return fig


def _handles(modes: list[str], boxed: bool, pointed: bool) -> list:
    grey = "#555555"
    handles = _mode_handles(modes)
    if boxed:
        handles += [
            Patch(facecolor=_lighten(grey, 0.55), edgecolor=grey, label="p25\u2013p75 (box)"),
            Line2D([], [], color=grey, linewidth=2.4, label="median (line across)"),
            Line2D([], [], color=grey, linewidth=1.2, label="p1\u2013p99 (whiskers)"),
            *(Line2D([], [], marker=m, color=grey, linestyle="none", markeredgewidth=1.4,
                     label=lab) for m, lab in _TAIL.values()),
        ]
    if pointed:
        handles += [Line2D([], [], marker=m, color=grey, linestyle="none", label=p)
                    for p, m in _PERCENTILE_MARKERS]
    handles.append(Line2D([], [], marker="D", color="black", linestyle="none",
                          label="mean (its value beside it)"))
    return handles


@_styled
def latency_by_mode(doc: dict) -> Figure | None:
    """One-way latency per variant: each variant's spread, from its latency histogram,
    as a box (p25 to p75, the median across it) with whiskers from p1 to p99 and marks
    at p99.9 and the maximum; the mean is a diamond beside the box, its value written
    beside it.

    Results without a histogram show p50, p90 and p99 as points on one line. The axis
    turns logarithmic (and says so) when the values span more than a factor of 20.
    Boxes and points take the colour of the variant's network mode.

    Parameters
    ----------
    res : Results or dict
        The results of :func:`ecsnetsim.simulate`, or their ``results.json`` document.

    Returns
    -------
    matplotlib.figure.Figure or None
        The figure, or None when no packet of any flow was delivered.

    Examples
    --------
    >>> from ecsnetsim import plots
    >>> plots.latency_by_mode({"variants": []}) is None
    True
    """
    data = latency_spread(doc)
    return None if data is None else draw(data)


def data(res: Source) -> LatencySpread | None:
    """The numbers :func:`latency_by_mode` draws (:func:`.figdata.latency_spread`)."""
    return latency_spread(_doc(res))
