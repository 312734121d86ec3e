"""Latency (and drops) against the swept load, one line per compare variant."""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from . import sweepdata
from .data import _short
from .style import _compact, _figure, _group_colors, _legend, _styled, _title, _wide


def _log_label(label: str, log: bool) -> str:
    """An axis label that says when its axis is logarithmic.

    >>> _log_label("traffic[0].rate (packets/s)", True)
    'traffic[0].rate (packets/s, log scale)'
    >>> _log_label("desired_count", True), _log_label("x", False)
    ('desired_count (log scale)', 'x')
    """
    if not log:
        return label
    return label[:-1] + ", log scale)" if label.endswith(")") else label + " (log scale)"


@_styled
def overhead_vs_load(doc: dict) -> Figure | None:
    """Latency (mean and p99) against the swept value, one line per compare variant.

    Needs a sweep over a numeric field (two or more points). A second panel shows the
    share of packets dropped when any were.

    Parameters
    ----------
    res : Results or dict
        The results of :func:`ecsnetsim.simulate`, or their ``results.json`` document.

    Returns
    -------
    matplotlib.figure.Figure or None
        The figure, or None when there is no sweep over a number with two or more
        points.

    Examples
    --------
    >>> from ecsnetsim import plots
    >>> plots.overhead_vs_load({"variants": []}) is None
    True
    """
    data = sweepdata.latency_against_load(doc)
    if data is None:
        return None
    colors = _group_colors(data.modes)
    ncols, dropped = len(data.panels), data.dropped
    fig, axes = _figure(max(6.5, 1.5 + 4.8 * ncols), 4.2 + (2.4 if dropped else 0),
                        nrows=2 if dropped else 1, ncols=ncols, sharex="col",
                        gridspec_kw={"height_ratios": [2.2, 1]} if dropped else None)
    lat_axes, drop_axes = axes[:ncols], axes[ncols:]
    for col, panel in enumerate(data.panels):
        ax = lat_axes[col]
        for line in panel.lines:
            color = colors[line.group]
            if line.mean:
                ax.plot(*zip(*line.mean, strict=True), color=color, marker="o", linestyle="-")
                ax.plot(*zip(*line.p99, strict=True), color=color, marker="^", linestyle="--")
            if dropped:
                drop_axes[col].plot(*zip(*line.dropped, strict=True), color=color, marker="s")
        _axes(ax, drop_axes[col] if dropped else None, panel, data)
    title = "Latency against load"
    if data.unreachable:
        title += f" ({', '.join(data.unreachable)}: no packets delivered)"
    _title(fig, title)
    handles = []
    for group in data.drawn():
        twin = data.twin(group)
        label = _short(group) + ("" if twin == group else f" (same as {_short(twin)})")
        handles.append(Line2D([], [], color=colors[group], linewidth=3, label=label))
    handles += [
        Line2D([], [], color="#555555", marker="o", linestyle="-", label="mean"),
        Line2D([], [], color="#555555", marker="^", linestyle="--", label="p99"),
    ]
    if dropped:
        handles.append(Line2D([], [], color="#555555", marker="s",
                              label="dropped (% of sent)"))
    _legend(fig, handles, title="variant / statistic")
    return fig


def _axes(ax, dax, panel: sweepdata.LoadPanel, data: sweepdata.LatencyAgainstLoad) -> None:
    """A flow's latency axes (log when the values span a wide range) and, below them when
    packets were dropped, its drop axes; the swept value on the bottom one."""
    logy = _wide(panel.values)
    if logy:
        ax.set_yscale("log")
    ax.set_ylabel("one-way latency (µs" + (", log scale)" if logy else ")"))
    ax.set_title(panel.title, loc="left")
    ax.grid(True, axis="both")
    if dax is not None:
        dax.set_ylabel("packets dropped (%)")
        dax.set_ylim(bottom=0)
        dax.grid(True, axis="both")
    numbers = data.numbers
    logx = numbers[-1] / max(numbers[0], 1e-12) >= 10 and numbers[0] > 0
    (dax or ax).set_xlabel(_log_label(data.axis_label, logx))
    if logx:
        ax.set_xscale("log")
    if len(numbers) <= 8:
        ax.set_xticks(numbers, [_compact(x) for x in numbers])
        ax.minorticks_off()
        if dax is not None:
            # shared x: the labels belong to the bottom panel only
            ax.tick_params(axis="x", labelbottom=False)
