"""Where packets stop: arrived, dropped, unreachable (and why) or in flight."""

from __future__ import annotations

import matplotlib.ticker as mticker
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from . import pathdata
from .style import _figure, _legend, _styled, _title

#: The colour of each fate, in :data:`.pathdata.FATES` order.
_COLORS = {"delivered": "#59a14f", "dropped": "#f28e2b", "unreachable": "#9c2a2a",
           "in_flight": "#bab0ac"}


@_styled
def packet_fate(doc: dict) -> Figure | None:
    """Per flow and variant, the share of packets sent that arrived, were dropped in a
    queue, could not arrive (no route, a security group, a loopback, a hop limit, no
    healthy target) or were still on their way; beside each bar, where and why packets
    stopped. Drawn when some packet of some flow could not arrive.

    Parameters
    ----------
    res : Results or dict
        The results of :func:`ecsnetsim.simulate`, or their ``results.json`` document.

    Returns
    -------
    matplotlib.figure.Figure or None
        The figure, or None when every packet of every flow could arrive.

    Examples
    --------
    >>> from ecsnetsim import plots
    >>> plots.packet_fate({"variants": []}) is None
    True
    """
    data = pathdata.packet_fate(doc)
    if data is None:
        return None
    fig, axes = _figure(11.0, 1.2 + 0.62 * len(data.bars))
    ax = axes[0]
    for y, bar in enumerate(data.bars):
        left = 0.0
        for key in pathdata.FATES:
            share = bar.shares[key]
            if share:
                ax.barh(y, share, left=left, height=0.6, color=_COLORS[key],
                        edgecolor="white", linewidth=0.6)
                left += share
        ax.text(1.02, y, bar.reason, va="center", fontsize=7,
                color="#9c2a2a", transform=ax.get_yaxis_transform())
    ax.set_yticks(range(len(data.bars)), [bar.label for bar in data.bars])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(mticker.PercentFormatter(1.0))
    ax.set_xlabel("share of the packets sent")
    ax.grid(True, axis="x")
    ax.grid(False, axis="y")
    _title(fig, "Where packets stop: arrived, dropped, or unreachable and why")
    _legend(fig, [Patch(facecolor=_COLORS[k], label=k.replace("_", " ")) for k in data.used],
            title="packets")
    return fig
