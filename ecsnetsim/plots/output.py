"""Every figure by name (:data:`FIGURES`), the network-mode comparison, and
:func:`draw_all`; :func:`save` (from :mod:`.saving`) writes one figure."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from matplotlib.figure import Figure

from .cdf import latency_cdf
from .data import Source
from .fate import packet_fate
from .hops import hops_by_mode
from .latency import latency_by_mode
from .load import overhead_vs_load
from .overhead import overhead_by_device
from .overtime import over_time
from .placement import placement_outcome
from .saving import draw_some, save
from .tasks import tasks_per_instance
from .timeline import deployment_timeline
from .utilization import device_utilization


def compare_modes(res: Source, metric: str = "hops") -> Figure | None:
    """The network-mode comparison: ``metric`` is ``hops`` (:func:`hops_by_mode`),
    ``latency`` (:func:`latency_by_mode`) or ``overhead`` (:func:`overhead_by_device`).

    Parameters
    ----------
    res : Results or dict
        The results of :func:`ecsnetsim.simulate`, or their ``results.json`` document.
    metric : {"hops", "latency", "overhead"}

    Returns
    -------
    matplotlib.figure.Figure or None

    Examples
    --------
    >>> from ecsnetsim import plots
    >>> plots.compare_modes({"variants": []}, "latency") is None
    True
    """
    funcs = {"hops": hops_by_mode, "latency": latency_by_mode, "overhead": overhead_by_device}
    if metric not in funcs:
        raise ValueError(f"metric must be one of {sorted(funcs)}, got {metric!r}")
    return funcs[metric](res)


#: Figure name (the file name) -> function, in the order ``write_all`` writes them.
FIGURES: dict[str, Callable[[Source], Figure | None]] = {
    "hops_by_mode": hops_by_mode,
    "latency_by_mode": latency_by_mode,
    "latency_cdf": latency_cdf,
    "overhead_by_device": overhead_by_device,
    "overhead_vs_load": overhead_vs_load,
    "tasks_per_instance": tasks_per_instance,
    "placement_outcome": placement_outcome,
    "packet_fate": packet_fate,
    "device_utilization": device_utilization,
    "deployment_timeline": deployment_timeline,
    "over_time": over_time,
}

def draw_all(res: Source, names: list[str], outdir: Path, formats=("png",),
             dpi: float | None = None) -> list[Path]:
    """Draw the figures ``names`` of ``res`` and write each in ``formats`` into
    ``outdir``; a figure that turns out to have nothing to show is skipped."""
    return draw_some(res, [(name, FIGURES[name]) for name in names], outdir, formats, dpi)


__all__ = ["FIGURES", "compare_modes", "draw_all", "draw_some", "save"]
