"""The busiest devices and shared resources of a variant, drops annotated once."""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.patches import Patch

from .data import _label, _one_line, _pool
from .style import _figure, _kind_color, _kind_order, _legend, _styled, _title

_DOTS = "...."


def _duplicate(pool: dict, devices: list[dict]) -> bool:
    """Whether a shared resource only repeats one device of its host (a card link that
    one ENI alone uses): the same packets, busy time and drops."""
    return any(not _pool(d["kind"]) and d.get("host") == pool.get("host")
               and d["packets"] == pool["packets"] and d["drops"] == pool["drops"]
               and abs(d["utilization"] - pool["utilization"]) < 1e-9 for d in devices)


def _ranked(devices: list[dict]) -> list[dict]:
    """Devices and shared resources, busiest first; a shared resource that repeats a
    single device is left out, every other one competes for a bar like any device."""
    shown = [d for d in devices if not (_pool(d["kind"]) and _duplicate(d, devices))]
    return sorted(shown, key=lambda d: (-d["utilization"], -d["drops"], d["id"]))


def _drops(v: dict) -> int:
    """Packets a variant's devices dropped; a shared resource's drops are those of the
    devices that use it, so they are not counted again."""
    return sum(d["drops"] for d in v["devices"] if not _pool(d["kind"]))


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
    variants = [v for v in doc["variants"] if v.get("devices")]
    if not variants:
        return None
    swept = any(v.get("sweep") for v in doc["variants"])
    if len(variants) > 4 or swept:
        variants = [max(variants, key=lambda v: (_drops(v),
                                                 max(d["utilization"] for d in v["devices"])))]
        top_n = top
    else:
        top_n = top if len(variants) == 1 else max(4, top // 2)
    picked = [(v, _ranked(v["devices"])[:top_n]) for v in variants]
    kinds = _kind_order({d["kind"] for _, devs in picked for d in devs})
    heights = [len(devs) for _, devs in picked]
    longest = max(len(d["id"]) for _, devs in picked for d in devs)
    fig, axes = _figure(min(14.0, 6.0 + 0.07 * longest),
                        1.0 + sum(0.22 * h + 0.65 for h in heights), nrows=len(picked),
                        sharex=True, gridspec_kw={"height_ratios": heights})
    umax = max(d["utilization"] for _, devs in picked for d in devs) * 100
    for ax, (v, devs) in zip(axes, picked, strict=True):
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
        drops = _drops(v)
        ax.set_title(f"variant {_one_line(_label(v))}"
                     + (f" \u2014 {drops:,} packets dropped in all" if drops else ""),
                     loc="left")
    axes[-1].set_xlabel("utilization (% of the run's measured window busy)")
    axes[-1].set_xlim(0, umax * 1.35 if umax > 0 else 1)
    busiest = " (busiest variant)" if len(picked) == 1 and len(doc["variants"]) > 1 else ""
    _title(fig, f"Busiest devices{busiest}")
    handles = [Patch(facecolor=_kind_color(k, kinds), hatch=_DOTS if _pool(k) else None,
                     edgecolor="white", label=k + (" (shared)" if _pool(k) else ""))
               for k in kinds]
    if any(_pool(k) for k in kinds):
        handles.append(Patch(facecolor="none", edgecolor="none",
                             label="shared (dotted): busy with the work\nof the devices on "
                                   "it; its drops\nare counted at those devices"))
    _legend(fig, handles, title="device kind")
    return fig
