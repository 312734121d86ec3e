"""Hops a packet crosses one way, per variant, stacked by device kind."""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.patches import Patch

from . import pathdata
from .style import (
    _cat_width,
    _categories,
    _figure,
    _kind_color,
    _kind_order,
    _legend,
    _note,
    _styled,
    _title,
)


@_styled
def hops_by_mode(doc: dict) -> Figure | None:
    """Hops a packet crosses one way, per variant, broken down by device kind.

    One stacked bar per variant (one panel per flow); each segment counts the devices of
    one kind on the flow's typical path. Sweep points whose paths are all the same show as
    one bar per compare variant.

    Parameters
    ----------
    res : Results or dict
        The results of :func:`ecsnetsim.simulate`, or their ``results.json`` document.

    Returns
    -------
    matplotlib.figure.Figure or None
        The figure, or None when no flow has a path (no traffic).

    Examples
    --------
    >>> from ecsnetsim import plots
    >>> plots.hops_by_mode({"variants": []}) is None
    True
    """
    data = pathdata.hops(doc)
    if data is None:
        return None
    n = max(len(panel.bars) for panel in data.panels)
    fig, axes = _figure(_cat_width(n, 0.7), 1.4 + 3.2 * len(data.panels),
                        nrows=len(data.panels))
    kinds_seen: list[str] = _kind_order(data.kinds)
    for ax, panel in zip(axes, data.panels, strict=True):
        for x, bar in enumerate(panel.bars):
            bottom = 0
            for kind in kinds_seen:
                if bar.counts.get(kind):
                    ax.bar(x, bar.counts[kind], bottom=bottom, width=0.6,
                           color=_kind_color(kind, kinds_seen), edgecolor="white",
                           linewidth=0.8)
                    bottom += bar.counts[kind]
            if bottom:
                ax.annotate(f"{bottom}", (x, bottom), xytext=(0, 2),
                            textcoords="offset points", ha="center", va="bottom",
                            fontsize=8, fontweight="bold")
            else:
                _note(ax, x, bar.note)
        _categories(ax, [bar.label for bar in panel.bars])
        ax.set_ylim(bottom=0, top=max(1, ax.get_ylim()[1]))
        ax.set_ylabel("hops, one way (devices)")
        ax.set_title(panel.title, loc="left")
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.margins(y=0.1)
    _title(fig, "Hops a packet crosses, by device kind")
    _legend(fig, [Patch(facecolor=_kind_color(k, kinds_seen), label=k)
                  for k in reversed(kinds_seen)], title="device kind")
    return fig
