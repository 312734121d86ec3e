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
    _mode_color,
    _mode_handles,
    _reason_color,
    _styled,
    _title,
)

_SURGE = {"facecolor": "none", "edgecolor": "#333333", "linestyle": "--", "linewidth": 1.0}
_FAILED_WIDTH = 0.2  # the thin bar of failed starts beside a service's bar


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
    ``InsufficientFreeAddressesInSubnet`` when the task's ENI cannot get an IP) are a
    thin bar beside the service's, with their count.

    Parameters
    ----------
    res : Results or dict
        The results of :func:`ecsnetsim.simulate`, or their ``results.json`` document.

    Returns
    -------
    matplotlib.figure.Figure or None
        The figure, or None when no variant has a service.

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
    failed_reasons = sorted({r for _, _, s in bars for r in s.get("launch_failures") or {}})
    fig, axes = _figure(_cat_width(len(bars), 0.8), 4.6)
    ax = axes[0]
    modes, waiting, surged = [], False, False
    for x, (_, v, s) in enumerate(bars):
        mode = _mode(v, s["name"])
        bottom = 0
        if s["running"]:
            ax.bar(x, s["running"], width=0.6, color=_mode_color(mode), edgecolor="white",
                   linewidth=0.8)
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
        text = f"{s['running']}/{s['desired']}"
        surge = _surge(s)
        deploying = any(d.get("service") == s["name"] for d in v.get("deployments") or [])
        if surge and not deploying:
            text += f"\n+{surge} above desired"
        elif surge:
            # the part of the stack above the desired line: the deployment's surge
            ax.bar(x, surge, bottom=s["desired"], width=0.72, zorder=5, **_SURGE)
            text += f"\n+{surge} surge"
            surged = True
        ax.annotate(text, (x, max(bottom, s["desired"])), xytext=(0, 3),
                    textcoords="offset points", ha="center", va="bottom", fontsize=7)
        failed = s.get("launch_failures") or {}
        if failed:
            fx, base = x + 0.3 + _FAILED_WIDTH / 2 + 0.04, 0
            for r in failed_reasons:
                n = failed.get(r, 0)
                if n:
                    ax.bar(fx, n, bottom=base, width=_FAILED_WIDTH, facecolor="white",
                           edgecolor=_reason_color(r, failed_reasons), linewidth=0.8,
                           hatch="xxx")
                    base += n
            ax.annotate(f"{base}\nfailed\nto start", (fx, base), xytext=(0, 3),
                        textcoords="offset points", ha="center", va="bottom", fontsize=7,
                        color="#9c2a2a")
    _categories(ax, [b[0] for b in bars])
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_ylabel("tasks")
    ax.margins(y=0.12)
    _title(fig, "Placement outcome: running tasks, and the rest by the reason ECS gives")
    handles = _mode_handles(modes, "running ({})")
    handles += [Patch(facecolor=_reason_color(r, reasons), edgecolor="white", hatch="///",
                      label=f"not running: {r}") for r in reasons]
    if waiting:
        handles.append(Patch(facecolor=_PENDING_COLOR, edgecolor="white", hatch="///",
                             label="pending, no reason yet"))
    handles.append(Line2D([], [], color="black", linewidth=2.2,
                          label="desired count\n(label: running/desired)"))
    if surged:
        handles.append(Patch(label="above desired: surge (deployment,\nnew tasks beside the "
                                   "old, up to\nmaximum_percent of desired)", **_SURGE))
    handles += [Patch(facecolor="white", edgecolor=_reason_color(r, failed_reasons),
                      hatch="xxx", label=f"placed, failed to start\nduring the run: {r}")
                for r in failed_reasons]
    _legend(fig, handles, title="tasks")
    return fig
