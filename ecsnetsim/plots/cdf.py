"""The distribution of one-way latency per variant: a CDF per flow, on a log x axis."""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .data import Source, _doc
from .figdata import LatencyCdf
from .figdata import latency_cdf as _cdf_data
from .style import _figure, _group_colors, _legend, _lighten, _log_ticks, _styled, _title

_LEVELS = ((0.5, "p50"), (0.99, "p99"))
_STYLES = ("-", "--", ":", "-.")


def _colors(data: LatencyCdf) -> dict[str, object]:
    """A colour per curve label: its group's (mode) colour; several sweep points of a
    group go from light (first) to the full colour (last)."""
    base = _group_colors(data.groups)
    out: dict[str, object] = {}
    for panel in data.panels:
        by_group: dict[str, list[str]] = {}
        for c in panel.curves:
            by_group.setdefault(c.group, []).append(c.label)
        for group, labels in by_group.items():
            for k, label in enumerate(labels):
                amount = 0.6 * (len(labels) - 1 - k) / max(1, len(labels) - 1)
                out.setdefault(label, _lighten(base[group], amount) if amount else base[group])
    return out


def _twins(data: LatencyCdf) -> dict[str, str]:
    """Curve label -> the earlier label whose curves are the same in every panel (drawn
    over each other, the later would be hidden without a word)."""
    series: dict[str, list] = {}
    for k, panel in enumerate(data.panels):
        for c in panel.curves:
            series.setdefault(c.label, []).append((k, c.xs, c.ys))
    out: dict[str, str] = {}
    labels = list(series)
    for i, label in enumerate(labels):
        twin = next((other for other in labels[:i] if series[other] == series[label]), None)
        if twin is not None:
            out[label] = out.get(twin, twin)
    return out


def draw(data: LatencyCdf) -> Figure:
    """The figure of :func:`.figdata.latency_cdf`'s numbers."""
    fig, axes = _figure(8.0, 1.2 + 3.3 * len(data.panels), nrows=len(data.panels))
    colors = _colors(data)
    # a line style per curve too: curves that nearly coincide stay told apart
    labels = list(dict.fromkeys(c.label for p in data.panels for c in p.curves))
    styles = {lab: _STYLES[k % len(_STYLES)] for k, lab in enumerate(labels)}
    for ax, panel in zip(axes, data.panels, strict=True):
        lo = min(c.xs[0] for c in panel.curves)
        hi = max(c.xs[-1] for c in panel.curves)
        for c in panel.curves:
            ax.plot(c.xs, c.ys, color=colors[c.label], linewidth=1.6, zorder=3,
                    linestyle=styles[c.label])
        for level, name in _LEVELS:
            ax.axhline(level, color="#999999", linestyle=":", linewidth=0.9, zorder=1)
            ax.annotate(name, (1.0, level), xycoords=("axes fraction", "data"),
                        xytext=(3, 0), textcoords="offset points", va="center", fontsize=7,
                        color="#666666")
        ax.set_xscale("log")
        ax.set_xlim(lo / 1.05, hi * 1.05)
        _log_ticks(ax.xaxis, lo / 1.05, hi * 1.05)
        ax.set_ylim(0, 1.0)
        ax.grid(True, axis="both", which="major")
        ax.set_ylabel("share of packets delivered\nat or below this latency")
        ax.set_xlabel("one-way latency (µs, log scale)")
        ax.set_title(panel.title, loc="left")
    _title(fig, "Latency distribution (CDF) by variant")
    handles, seen = [], set()
    twins = _twins(data)
    for panel in data.panels:
        for c in panel.curves:
            if c.label not in seen:
                seen.add(c.label)
                label = c.label + (f" (same as {twins[c.label]})" if c.label in twins else "")
                handles.append(Line2D([], [], color=colors[c.label], linewidth=2.0,
                                      linestyle=styles[c.label], label=label))
    _legend(fig, handles, title="variant")
    return fig


@_styled
def latency_cdf(doc: dict) -> Figure | None:
    """The distribution of one-way latency per variant: for each flow, the share of
    delivered packets at or below each latency (a CDF from the flow's latency
    histogram), on a logarithmic latency axis, with p50 and p99 marked.

    A tail shows as a curve that bends late towards 1; a mix of two paths (two AZs) as a
    step in the middle.

    Parameters
    ----------
    res : Results or dict
        The results of :func:`ecsnetsim.simulate`, or their ``results.json`` document.

    Returns
    -------
    matplotlib.figure.Figure or None
        The figure, or None when no flow delivered packets or the results have no
        latency histograms (written by an older version).

    Examples
    --------
    >>> from ecsnetsim import plots
    >>> plots.latency_cdf({"variants": []}) is None
    True
    """
    data = _cdf_data(doc)
    return None if data is None else draw(data)


def data(res: Source) -> LatencyCdf | None:
    """The numbers :func:`latency_cdf` draws (:func:`.figdata.latency_cdf`)."""
    return _cdf_data(_doc(res))
