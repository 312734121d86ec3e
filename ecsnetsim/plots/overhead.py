"""Latency each device kind adds or saves against the baseline variant."""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from . import pathdata
from .data import _flow_title, _short
from .style import (
    _cat_width,
    _categories,
    _figure,
    _kind_color,
    _kind_order,
    _legend,
    _note,
    _num,
    _styled,
    _title,
)

_LABEL_GAP = 7  # points between the top of the bar (or the diamond) and its label


@_styled
def overhead_by_device(doc: dict) -> Figure | None:
    """Latency each device kind adds (or saves) per variant against the baseline variant.

    Stacked bars of the comparison's ``overhead_by_kind_us``: positive kinds stack up from
    zero, negative ones down; a diamond marks the net change of the mean latency.

    Parameters
    ----------
    res : Results or dict
        The results of :func:`ecsnetsim.simulate`, or their ``results.json`` document.

    Returns
    -------
    matplotlib.figure.Figure or None
        The figure, or None when there is no comparison, or no variant differs from
        the baseline by more than :data:`RESOLUTION_US`.

    Examples
    --------
    >>> from ecsnetsim import plots
    >>> plots.overhead_by_device({"variants": []}) is None
    True
    """
    data = pathdata.overhead(doc)
    if data is None:
        return None
    kinds = _kind_order(data.kinds)
    n = max(len(panel.bars) for panel in data.panels)
    fig, axes = _figure(_cat_width(n, 0.75), 1.4 + 3.4 * len(data.panels),
                        nrows=len(data.panels))
    for ax, panel in zip(axes, data.panels, strict=True):
        for x, bar in enumerate(panel.bars):
            if bar.delivered:
                _bar(ax, x, bar, kinds)
            else:
                _note(ax, x, "no packets delivered")
        ax.axhline(0, color="black", linewidth=0.8)  # linear: a bar's size is its share
        ax.margins(y=0.18)
        _categories(ax, [bar.label for bar in panel.bars])
        ax.set_ylabel("latency added per device kind\n(µs, one way)")
        ax.set_title(f"{_flow_title(doc['variants'], panel.flow)} \u2014 against baseline "
                     f"{_short(data.baseline)!r}", loc="left")
    _title(fig, "What each variant adds to a packet's path, by device kind")
    handles = [Patch(facecolor=_kind_color(k, kinds), label=k) for k in reversed(kinds)]
    handles.append(Line2D([], [], marker="D", color="black", linestyle="none",
                          label="net change of mean latency"))
    _legend(fig, handles, title="device kind")
    return fig


def _bar(ax, x: int, bar: pathdata.OverheadBar, kinds: list[str]) -> None:
    """One variant's stacked kinds (up from zero when they add, down when they save), a
    diamond at the net change and its label above both."""
    up = down = 0.0
    for kind in kinds:
        d = bar.by_kind.get(kind, 0.0)
        if not d:
            continue
        ax.bar(x, d, bottom=up if d > 0 else down, width=0.6,
               color=_kind_color(kind, kinds), edgecolor="white", linewidth=0.8)
        if d > 0:
            up += d
        else:
            down += d
    if bar.net is not None:
        ax.plot([x], [bar.net], marker="D", color="black", linestyle="none", zorder=4)
        text = f"{'+' if bar.net >= 0 else '-'}{_num(abs(bar.net))} µs"
        if bar.extra_hops is not None:
            hops = bar.extra_hops
            text += f"\n{hops:+g} hop{'' if abs(hops) == 1 else 's'}"
        # above the bar and above the diamond (5 pt across): never on it
        ax.annotate(text, (x, max(up, bar.net)), xytext=(0, _LABEL_GAP),
                    textcoords="offset points", ha="center", va="bottom", fontsize=7)
