"""Placement outcome per service and variant: running tasks, tasks not running by the
reason ECS gives, a deployment's surge above the desired count, and tasks that were
placed but failed to start during the run."""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .data import _collapse, _mode
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
#: What happened to tasks during the run, beside the outcome: the service's field, the
#: hatch of its bars and its legend label.
_EVENT_FIELDS = (("failed", "launch_failures"), ("stopped", "stopped"))
_EVENT_HATCH = {"failed": "xxx", "stopped": "..."}
_EVENT_LABEL = {"failed": "placed, then failed to start: {}",
                "stopped": "started, then stopped: {}"}


def _events(bars: list[tuple[str, dict, dict]]) -> list[tuple[str, str]]:
    """(kind, reason) of the tasks that failed to start or were stopped in any bar."""
    return sorted({(kind, r) for _, _, s in bars for kind, key in _EVENT_FIELDS
                   for r in s.get(key) or {}})


def _draw_events(ax, bars: list[tuple[str, dict, dict]], events: list) -> None:
    """Tasks that failed to start or were stopped during the run, per service, stacked by
    reason, on an axis of their own: they are counts over the run, which can exceed the
    desired count many times over, not tasks present at the end."""
    colors = list(events)
    for x, (_, _, s) in enumerate(bars):
        base = 0
        for kind, r in events:
            n = (s.get(dict(_EVENT_FIELDS)[kind]) or {}).get(r, 0)
            if n:
                ax.bar(x, n, bottom=base, width=0.6, facecolor="white",
                       edgecolor=_reason_color(r, [c[1] for c in colors]), linewidth=0.8,
                       hatch=_EVENT_HATCH[kind])
                base += n
        if base:
            ax.annotate(f"{base}", (x, base), xytext=(0, 3), textcoords="offset points",
                        ha="center", va="bottom", fontsize=7, color="#9c2a2a")
    _categories(ax, [b[0] for b in bars])
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.margins(y=0.12)
    ax.set_ylabel("tasks, counted over the run")
    ax.set_title("during the run: failed to start, or stopped", loc="left",
                 fontweight="normal", fontsize=8)


def _surge(s: dict) -> int:
    """Tasks above the desired count: a deployment's new tasks started (or wanted)
    before the old ones stop, up to ``maximum_percent`` of desired."""
    return max(0, s["running"] + s["pending"] - s["desired"])


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
    variants = doc["variants"]
    if not any(v["placement"]["services"] for v in variants):
        return None

    def signature(v):
        return tuple((s["name"], s["running"], s["pending"], tuple(sorted(s["failures"].items())),
                      tuple(sorted((s.get("launch_failures") or {}).items())))
                     for s in v["placement"]["services"])

    cats = _collapse(variants, signature)
    services = list(dict.fromkeys(s["name"] for _, v in cats for s in v["placement"]["services"]))
    bars = []
    for lab, v in cats:
        for s in v["placement"]["services"]:
            bars.append((lab if len(services) == 1 else f"{lab}\n{s['name']}", v, s))
    reasons = sorted({r for _, _, s in bars for r in s["failures"]})
    events = _events(bars)
    wide = _cat_width(len(bars), 0.8)
    if events:  # a panel of their own: counts over the run, not tasks at the end
        fig, axes = _figure(wide + 2.2 + 0.35 * len(bars), 4.6, ncols=2,
                            gridspec_kw={"width_ratios": [3, 1.2 + 0.15 * len(bars)]})
    else:
        fig, axes = _figure(wide, 4.6)
    ax = axes[0]
    modes, waiting, surged, olds = [], False, False, False
    for x, (_, v, s) in enumerate(bars):
        mode = _mode(v, s["name"])
        old = min(s.get("running_old") or 0, s["running"])
        bottom = 0
        if s["running"]:  # the current revision's tasks, the old revision's above them
            ax.bar(x, s["running"] - old, width=0.6, color=_mode_color(mode),
                   edgecolor="white", linewidth=0.8)
            if old:
                ax.bar(x, old, bottom=s["running"] - old, width=0.6,
                       color=_lighten(_mode_color(mode), 0.5), edgecolor="white",
                       linewidth=0.8)
                olds = True
            modes.append(mode)
            bottom = s["running"]
        for r in reasons:
            n = s["failures"].get(r, 0)
            if n:
                ax.bar(x, n, bottom=bottom, width=0.6, color=_reason_color(r, reasons),
                       edgecolor="white", linewidth=0.8, hatch="///")
                bottom += n
        rest = s["pending"] - sum(s["failures"].values())
        if rest > 0:
            ax.bar(x, rest, bottom=bottom, width=0.6, color=_PENDING_COLOR, edgecolor="white",
                   linewidth=0.8, hatch="///")
            bottom += rest
            waiting = True
        ax.plot([x - 0.38, x + 0.38], [s["desired"]] * 2, color="black", linewidth=2.2,
                solid_capstyle="butt", zorder=4)
        text = (f"{s['running'] - old}/{s['desired']} new\n+{old} old" if old
                else f"{s['running']}/{s['desired']}")
        surge = _surge(s)
        deploying = any(d.get("service") == s["name"] for d in v.get("deployments") or [])
        if surge and not deploying:
            text += f"\n+{surge} above desired"
        elif surge:
            # the part of the stack above the desired line: the deployment's surge
            ax.bar(x, surge, bottom=s["desired"], width=0.72, zorder=5, **_SURGE)
            text += "" if old == surge else f"\n+{surge} surge"
            surged = True
        ax.annotate(text, (x, max(bottom, s["desired"])), xytext=(0, 3),
                    textcoords="offset points", ha="center", va="bottom", fontsize=7)
    _categories(ax, [b[0] for b in bars])
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_ylabel("tasks at the end of the run")
    ax.margins(y=0.12)
    if events:
        _draw_events(axes[1], bars, events)
    _title(fig, "Placement outcome: running tasks, and the rest by the reason ECS gives")
    shown = {"old": olds, "waiting": waiting, "surged": surged}
    handles = _handles(modes, reasons, events, shown)
    _legend(fig, handles, title="tasks")
    return fig


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
