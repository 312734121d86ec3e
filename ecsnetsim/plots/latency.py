"""One-way latency per variant: percentiles as points, the mean as a diamond."""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .data import _flow, _flow_names, _flow_panels, _label, _mode
from .style import (
    _cat_width,
    _categories,
    _figure,
    _legend,
    _mode_color,
    _mode_handles,
    _note,
    _num,
    _styled,
    _title,
    _wide,
)

#: Latency percentiles and their markers (a line joins p50 to p99).
_PERCENTILE_MARKERS = (("p50", "o"), ("p90", "s"), ("p99", "^"))


@_styled
def latency_by_mode(doc: dict) -> Figure | None:
    """One-way latency per variant: p50, p90 and p99 as points on one line (µs), the mean
    as a diamond.

    Points, not bars: a bar's length would mean nothing on the logarithmic axis used when
    the latencies span more than a factor of 20, and equal percentiles show as one point.
    Points take the colour of the variant's network mode.

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
    variants = doc["variants"]
    flows = [n for n in _flow_names(variants)
             if any((_flow(v, n) or {}).get("latency_us", {}).get("p50") is not None
                    for v in variants)]
    if not flows:
        return None
    panels = _flow_panels(variants, flows, [[(_label(v), v) for v in variants]] * len(flows))
    n = max(len(cats) for _, cats in panels)
    fig, axes = _figure(_cat_width(n, 0.8), 1.4 + 3.4 * len(panels), nrows=len(panels))
    modes = []
    for ax, (title, cats) in zip(axes, panels, strict=True):
        values = []
        for x, (_, v, name) in enumerate(cats):
            f = _flow(v, name)
            lat = (f or {}).get("latency_us") or {}
            mode = _mode(v, f["to"] if f else None)
            if lat.get("p50") is None:
                _note(ax, x, "no packets delivered" if f else "no such flow")
                continue
            modes.append(mode)
            color = _mode_color(mode)
            ax.plot([x + 0.1] * 2, [lat["p50"], lat["p99"]], color=color, linewidth=2.5,
                    solid_capstyle="round", zorder=2)
            for p, marker in _PERCENTILE_MARKERS:
                ax.plot([x + 0.1], [lat[p]], marker=marker, color=color, markersize=6,
                        markeredgecolor="white", markeredgewidth=0.6, linestyle="none",
                        zorder=3)
                values.append(lat[p])
            ax.plot([x - 0.1], [lat["mean"]], marker="D", color="black", markersize=5,
                    zorder=4, linestyle="none")
            ci = ((f or {}).get("ci95") or {}).get("latency_mean_us")
            if ci:  # replications: the mean's 95 % interval as an error bar
                ax.errorbar([x - 0.1], [lat["mean"]], yerr=[[lat["mean"] - ci[0]],
                                                            [ci[1] - lat["mean"]]],
                            color="black", capsize=3, linewidth=1, zorder=4)
            ax.annotate(_num(lat["mean"]), (x, lat["p99"]), xytext=(0, 6),
                        textcoords="offset points", ha="center", va="bottom", fontsize=7)
        if _wide(values):
            ax.set_yscale("log")
        else:
            ax.set_ylim(bottom=0, top=max(values, default=1) * 1.18)
        _categories(ax, [c[0] for c in cats])
        ax.set_ylabel("one-way latency (µs)")
        ax.set_title(title, loc="left")
    _title(fig, "One-way latency by variant")
    handles = _mode_handles(modes) + [
        Line2D([], [], marker=m, color="#555555", linestyle="none", label=p)
        for p, m in _PERCENTILE_MARKERS
    ] + [Line2D([], [], marker="D", color="black", linestyle="none",
                label="mean (value above)")]
    _legend(fig, handles, title="network mode / percentile")
    return fig
