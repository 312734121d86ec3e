"""Latency each device kind adds or saves against the baseline variant."""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .data import _flow_title, _label, _short
from .figdata import overhead_rows
from .style import (
    RESOLUTION_US,
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
    comp = doc.get("comparison") or {}
    rows = overhead_rows(doc)  # not empty: the figure applies (see figdata.APPLIES)
    by_name = {v["name"]: v for v in doc["variants"]}
    flows = list(dict.fromkeys(r["name"] for r in rows))
    kinds = _kind_order({k for r in rows for k, d in (r.get("overhead_by_kind_us") or {}).items()
                         if abs(d) >= RESOLUTION_US})
    n = max(sum(1 for r in rows if r["name"] == f) for f in flows)
    fig, axes = _figure(_cat_width(n, 0.75), 1.4 + 3.4 * len(flows), nrows=len(flows))
    for ax, name in zip(axes, flows, strict=True):
        frows = [r for r in rows if r["name"] == name]
        labels = []
        for x, r in enumerate(frows):
            v = by_name.get(r["variant"])
            labels.append(_label(v) if v else _short(r["variant"]))
            by_kind = r.get("overhead_by_kind_us") or {}
            if not r.get("latency_overhead_us"):
                _note(ax, x, "no packets delivered")
                continue
            up = down = 0.0
            for kind in kinds:
                d = by_kind.get(kind, 0.0)
                if abs(d) < RESOLUTION_US:
                    continue
                base = up if d > 0 else down
                ax.bar(x, d, bottom=base, width=0.6, color=_kind_color(kind, kinds),
                       edgecolor="white", linewidth=0.8)
                if d > 0:
                    up += d
                else:
                    down += d
            net = (r.get("latency_overhead_us") or {}).get("mean")
            if net is not None:
                ax.plot([x], [net], marker="D", color="black", linestyle="none", zorder=4)
                hops = r.get("extra_hops")
                text = f"{'+' if net >= 0 else '-'}{_num(abs(net))} µs"
                if hops is not None:
                    text += f"\n{hops:+g} hop{'' if abs(hops) == 1 else 's'}"
                # above the bar and above the diamond (5 pt across): never on it
                ax.annotate(text, (x, max(up, net)), xytext=(0, _LABEL_GAP),
                            textcoords="offset points", ha="center", va="bottom", fontsize=7)
        ax.axhline(0, color="black", linewidth=0.8)  # linear: a bar's size is its share
        ax.margins(y=0.18)
        _categories(ax, labels)
        ax.set_ylabel("latency added per device kind\n(µs, one way)")
        ax.set_title(f"{_flow_title(doc['variants'], name)} \u2014 against baseline "
                     f"{_short(comp.get('baseline', ''))!r}", loc="left")
    _title(fig, "What each variant adds to a packet's path, by device kind")
    handles = [Patch(facecolor=_kind_color(k, kinds), label=k) for k in reversed(kinds)]
    handles.append(Line2D([], [], marker="D", color="black", linestyle="none",
                          label="net change of mean latency"))
    _legend(fig, handles, title="device kind")
    return fig
