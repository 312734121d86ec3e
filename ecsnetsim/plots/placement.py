"""Placement outcome per service and variant: running tasks, tasks not running by the
reason ECS gives, a deployment's surge above the desired count, and tasks that were
placed but failed to start during the run."""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from . import placedata
from .style import (
    _PENDING_COLOR,
    _cat_width,
    _categories,
    _figure,
    _legend,
    _lighten,
    _mode_color,
    _mode_handles,
    _reason_color,
    _styled,
    _title,
)

_SURGE = {"facecolor": "none", "edgecolor": "#333333", "linestyle": "--", "linewidth": 1.0}
#: What happened to tasks during the run (see :data:`.placedata.EVENT_FIELDS`): the
#: hatch of its bars and its legend label.
_EVENT_HATCH = {"failed": "xxx", "stopped": "..."}
_EVENT_LABEL = {"failed": "placed, then failed to start: {}",
                "stopped": "started, then stopped: {}"}


def _draw_events(ax, data: placedata.PlacementOutcome) -> None:
    """Tasks that failed to start or were stopped during the run, per service, stacked by
    reason, on an axis of their own: they are counts over the run, which can exceed the
    desired count many times over, not tasks present at the end."""
    events = data.events
    for x, bar in enumerate(data.bars):
        base = 0
        for kind, r in events:
            n = bar.happened.get((kind, r), 0)
            if n:
                ax.bar(x, n, bottom=base, width=0.6, facecolor="white",
                       edgecolor=_reason_color(r, [e[1] for e in events]), linewidth=0.8,
                       hatch=_EVENT_HATCH[kind])
                base += n
        if base:
            ax.annotate(f"{base}", (x, base), xytext=(0, 3), textcoords="offset points",
                        ha="center", va="bottom", fontsize=7, color="#9c2a2a")
    _categories(ax, [bar.label for bar in data.bars])
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.margins(y=0.12)
    ax.set_ylabel("tasks, counted over the run")
    ax.set_title("during the run: failed to start, or stopped", loc="left",
                 fontweight="normal", fontsize=8)


@_styled
def placement_outcome(doc: dict) -> Figure | None:
    """Per service and variant: running tasks, and tasks not running split by the reason
    ECS gave (``RESOURCE:ENI``, ``RESOURCE:PORTS``, ...); a black bar marks the desired
    count.

    Tasks above the desired count are a deployment's surge (new tasks alongside the old,
    up to the service's ``maximum_percent``): a dashed bracket marks them, labelled
    ``+N surge``. Tasks that were placed but failed to start during the run (e.g.
    ``InsufficientFreeAddressesInSubnet`` when the task's ENI cannot get an IP) and
    tasks that started and were stopped (``ELB:UNHEALTHY``: failed health checks) are
    counted in a panel of their own beside it: counts over the run, not tasks present at
    the end, so they never stand above the desired line.

    Drawn when some service is not simply at its desired count (tasks not running,
    failed or stopped, a surge left): full bars everywhere add nothing to the summary's
    "N/N running".

    Parameters
    ----------
    res : Results or dict
        The results of :func:`ecsnetsim.simulate`, or their ``results.json`` document.

    Returns
    -------
    matplotlib.figure.Figure or None
        The figure, or None when no variant has a service, or every service simply
        runs its desired count.

    Examples
    --------
    >>> from ecsnetsim import plots
    >>> plots.placement_outcome({"variants": []}) is None
    True
    """
    data = placedata.placement_outcome(doc)
    if data is None:
        return None
    bars, reasons, events = data.bars, data.reasons, data.events
    wide = _cat_width(len(bars), 0.8)
    if events:  # a panel of their own: counts over the run, not tasks at the end
        fig, axes = _figure(wide + 2.2 + 0.35 * len(bars), 4.6, ncols=2,
                            gridspec_kw={"width_ratios": [3, 1.2 + 0.15 * len(bars)]})
    else:
        fig, axes = _figure(wide, 4.6)
    ax = axes[0]
    for x, bar in enumerate(bars):
        _stack(ax, x, bar, reasons)
    _categories(ax, [bar.label for bar in bars])
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_ylabel("tasks at the end of the run")
    ax.margins(y=0.12)
    if events:
        _draw_events(axes[1], data)
    _title(fig, "Placement outcome: running tasks, and the rest by the reason ECS gives")
    shown = {"old": any(b.old for b in bars), "waiting": any(b.waiting for b in bars),
             "surged": any(b.surge and b.deploying for b in bars)}
    handles = _handles([b.mode for b in bars if b.running], reasons, events, shown)
    _legend(fig, handles, title="tasks")
    return fig


def _stack(ax, x: int, bar: placedata.OutcomeBar, reasons: list[str]) -> None:
    """A service's bar: running tasks (the older revision's lighter, above), the rest by
    reason, the desired line, a deployment's surge bracketed, and the counts above."""
    color = _mode_color(bar.mode)
    if bar.running:  # the current revision's tasks, the old revision's above them
        ax.bar(x, bar.running - bar.old, width=0.6, color=color, edgecolor="white",
               linewidth=0.8)
        if bar.old:
            ax.bar(x, bar.old, bottom=bar.running - bar.old, width=0.6,
                   color=_lighten(color, 0.5), edgecolor="white", linewidth=0.8)
    bottom = bar.running
    for r in reasons:
        n = bar.not_running.get(r, 0)
        if n:
            ax.bar(x, n, bottom=bottom, width=0.6, color=_reason_color(r, reasons),
                   edgecolor="white", linewidth=0.8, hatch="///")
            bottom += n
    if bar.waiting:
        ax.bar(x, bar.waiting, bottom=bottom, width=0.6, color=_PENDING_COLOR,
               edgecolor="white", linewidth=0.8, hatch="///")
        bottom += bar.waiting
    ax.plot([x - 0.38, x + 0.38], [bar.desired] * 2, color="black", linewidth=2.2,
            solid_capstyle="butt", zorder=4)
    text = (f"{bar.running - bar.old}/{bar.desired} new\n+{bar.old} old" if bar.old
            else f"{bar.running}/{bar.desired}")
    if bar.surge and not bar.deploying:
        text += f"\n+{bar.surge} above desired"
    elif bar.surge:
        # the part of the stack above the desired line: the deployment's surge
        ax.bar(x, bar.surge, bottom=bar.desired, width=0.72, zorder=5, **_SURGE)
        text += "" if bar.old == bar.surge else f"\n+{bar.surge} surge"
    ax.annotate(text, (x, max(bottom, bar.desired)), xytext=(0, 3),
                textcoords="offset points", ha="center", va="bottom", fontsize=7)


def _handles(modes: list[str], reasons: list[str], events: list[tuple[str, str]],
             shown: dict[str, bool]) -> list:
    """The legend: modes running, reasons not running, what else the figure draws."""
    handles = _mode_handles(modes, "running: {}")
    if shown["old"]:
        handles.append(Patch(facecolor=_lighten("#777777", 0.5), edgecolor="white",
                             label="running, older revision\n(lighter: still beside the new)"))
    handles += [Patch(facecolor=_reason_color(r, reasons), edgecolor="white", hatch="///",
                      label=f"not running: {r}") for r in reasons]
    if shown["waiting"]:
        handles.append(Patch(facecolor=_PENDING_COLOR, edgecolor="white", hatch="///",
                             label="pending, no reason yet"))
    handles.append(Line2D([], [], color="black", linewidth=2.2,
                          label="desired count\n(label: running/desired)"))
    if shown["surged"]:
        handles.append(Patch(label="above desired: surge (deployment,\nnew tasks beside the "
                                   "old, up to\nmaximum_percent of desired)", **_SURGE))
    handles += [Patch(facecolor="white", edgecolor=_reason_color(r, [e[1] for e in events]),
                      hatch=_EVENT_HATCH[kind], label=_EVENT_LABEL[kind].format(r))
                for (kind, r) in events]
    return handles
