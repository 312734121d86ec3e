"""Where packets stop: arrived, dropped, unreachable (and why) or in flight."""

from __future__ import annotations

import textwrap

import matplotlib.ticker as mticker
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from .data import _flow, _flow_names, _label
from .style import _figure, _legend, _styled, _title

_FATE = (("delivered", "#59a14f"), ("dropped", "#f28e2b"), ("unreachable", "#9c2a2a"),
         ("in_flight", "#bab0ac"))


def _short_reason(blocked: dict | None, width: int = 64, lines: int = 3) -> str:
    """Why packets stopped, wrapped beside a bar (the device id is in results.json)."""
    if not blocked:
        return ""
    wrapped = textwrap.wrap(blocked["reason"], width)
    if len(wrapped) > lines:
        wrapped = wrapped[:lines]
        wrapped[-1] = wrapped[-1][:width - 1] + "\u2026"
    return "\n".join(wrapped)


def _drop_reasons(drops: dict | None, width: int = 64, lines: int = 3) -> str:
    """The limits that dropped packets, by the names Linux and AWS give them (a full
    conntrack table, ErrorPortAllocation, an ENA allowance), beside a bar."""
    named = [textwrap.shorten(f"dropped: {k} \u00d7{n:,}", width) for k, n in (drops or {}).items()
             if n]
    return "\n".join(named[:lines])


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
    variants = doc["variants"]
    flows = _flow_names(variants)
    if not any(f.get("unreachable") or f.get("blocked") or f.get("drops") for v in variants
               for f in v.get("flows", [])):
        return None
    rows = [(name, v) for name in flows for v in variants if _flow(v, name)]
    fig, axes = _figure(11.0, 1.2 + 0.62 * len(rows))
    ax = axes[0]
    labels = []
    for y, (name, v) in enumerate(rows):
        f = _flow(v, name)
        sent = max(1, f["sent"])
        left = 0.0
        for key, color in _FATE:
            share = (f.get(key) or 0) / sent
            if share:
                ax.barh(y, share, left=left, height=0.6, color=color, edgecolor="white",
                        linewidth=0.6)
                left += share
        ax.text(1.02, y, _short_reason(f.get("blocked")) or _drop_reasons(f.get("drops")),
                va="center", fontsize=7,
                color="#9c2a2a", transform=ax.get_yaxis_transform())
        labels.append(f"{name} \u00b7 {_label(v).replace(chr(10), ' ')}" if len(flows) > 1
                      else _label(v).replace(chr(10), " "))
    ax.set_yticks(range(len(rows)), labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(mticker.PercentFormatter(1.0))
    ax.set_xlabel("share of the packets sent")
    ax.grid(True, axis="x")
    ax.grid(False, axis="y")
    _title(fig, "Where packets stop: arrived, dropped, or unreachable and why")
    used = [(k, c) for k, c in _FATE if any((_flow(v, n) or {}).get(k) for n, v in rows)]
    _legend(fig, [Patch(facecolor=c, label=k.replace("_", " ")) for k, c in used],
            title="packets")
    return fig
