"""The busiest devices and shared resources of a variant, drops annotated once."""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.patches import Patch

from . import pathdata
from .data import _pool
from .style import _figure, _kind_color, _kind_order, _legend, _styled, _title

_DOTS = "...."


@_styled
def device_utilization(doc: dict, top: int = 12) -> Figure | None:
    """The ``top`` busiest devices (horizontal bars of utilization), drops annotated.

    One panel per variant when there are at most four variants with traffic and no sweep;
    otherwise the busiest variant only (most drops, then highest utilization). Shared
    resources (an instance's vCPU pool, its card per direction) are dotted and ranked
    with the devices by their own utilization; one that only repeats a single device is
    left out. A shared resource's drops are those of the devices queued on it, so they
    are written on the devices only, and the panel title gives the variant's total.

    Parameters
    ----------
    res : Results or dict
        The results of :func:`ecsnetsim.simulate`, or their ``results.json`` document.
    top : int
        How many devices each panel shows at most (half of it, at least four, when
        several variants share the figure).

    Returns
    -------
    matplotlib.figure.Figure or None
        The figure, or None when no variant carried traffic.

    Examples
    --------
    >>> from ecsnetsim import plots
    >>> plots.device_utilization({"variants": []}) is None
    True
    """
    data = pathdata.busiest_devices(doc, top)
    if data is None:
        return None
    kinds = _kind_order(data.kinds)
    heights = [len(panel.devices) for panel in data.panels]
    longest = max(len(d["id"]) for panel in data.panels for d in panel.devices)
    fig, axes = _figure(min(14.0, 6.0 + 0.07 * longest),
                        1.0 + sum(0.22 * h + 0.65 for h in heights), nrows=len(data.panels),
                        sharex=True, gridspec_kw={"height_ratios": heights})
    umax = max(d["utilization"] for panel in data.panels for d in panel.devices) * 100
    for ax, panel in zip(axes, data.panels, strict=True):
        _bars(ax, panel.devices, kinds)
        ax.set_title(panel.title, loc="left")
    axes[-1].set_xlabel("utilization (% of the run's measured window busy)")
    axes[-1].set_xlim(0, umax * 1.35 if umax > 0 else 1)
    _title(fig, f"Busiest devices{' (busiest variant)' if data.busiest_only else ''}")
    handles = [Patch(facecolor=_kind_color(k, kinds), hatch=_DOTS if _pool(k) else None,
                     edgecolor="white", label=k + (" (shared)" if _pool(k) else ""))
               for k in kinds]
    if any(_pool(k) for k in kinds):
        handles.append(Patch(facecolor="none", edgecolor="none",
                             label="shared (dotted): busy with the work\nof the devices on "
                                   "it; its drops\nare counted at those devices"))
    _legend(fig, handles, title="device kind")
    return fig


def _bars(ax, devs: list[dict], kinds: list[str]) -> None:
    """A panel's bars: devices plain, shared resources dotted, each with its utilization
    and (devices only) its drops."""
    for shared in (False, True):
        rows = [(y, d) for y, d in enumerate(devs) if _pool(d["kind"]) == shared]
        if rows:
            ax.barh([y for y, _ in rows], [d["utilization"] * 100 for _, d in rows],
                    height=0.7, color=[_kind_color(d["kind"], kinds) for _, d in rows],
                    hatch=_DOTS if shared else None, edgecolor="white", linewidth=0)
    for y, d in enumerate(devs):
        u = d["utilization"] * 100
        text = f"{u:.3g} %"
        dropped = d["drops"] and not _pool(d["kind"])
        if dropped:
            text += f"  \u2022 {d['drops']:,} drops"
        ax.annotate(text, (u, y), xytext=(3, 0), textcoords="offset points", va="center",
                    fontsize=7, color="#b00000" if dropped else "#333333")
    ax.set_yticks(range(len(devs)), [d["id"] for d in devs])
    ax.invert_yaxis()
    ax.grid(False, axis="y")
    ax.grid(True, axis="x")
    ax.tick_params(axis="y", labelsize=7)
