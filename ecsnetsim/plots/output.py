"""Every figure at once, and figures as files.

The same results give byte-identical files: fixed metadata (no dates), fixed SVG ids.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib as mpl
from matplotlib.figure import Figure

from .. import __version__
from .data import Source
from .fate import packet_fate
from .hops import hops_by_mode
from .latency import latency_by_mode
from .load import overhead_vs_load
from .overhead import overhead_by_device
from .placement import placement_outcome
from .style import STYLE
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
    "overhead_by_device": overhead_by_device,
    "overhead_vs_load": overhead_vs_load,
    "tasks_per_instance": tasks_per_instance,
    "placement_outcome": placement_outcome,
    "packet_fate": packet_fate,
    "device_utilization": device_utilization,
    "deployment_timeline": deployment_timeline,
}

_METADATA = {
    "svg": {"Date": None, "Creator": f"ecsnetsim {__version__}"},
    "png": {"Software": f"ecsnetsim {__version__}"},
    "pdf": {"CreationDate": None, "ModDate": None, "Creator": f"ecsnetsim {__version__}"},
}


def save(fig: Figure, path: str | Path, dpi: float | None = None) -> Path:
    """Save ``fig`` in the package style with reproducible metadata.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or Path
        Where to write; the format comes from the suffix (``.png``, ``.svg``, ``.pdf``).
    dpi : float, optional
        Dots per inch; the style's 100 when not given.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    with mpl.rc_context(STYLE):
        fig.savefig(path, format=fmt, dpi=dpi, metadata=_METADATA.get(fmt))
    return path


def write_all(res: Source, outdir: str | Path, formats=("png",),
              dpi: float | None = None) -> list[Path]:
    """Write every figure the results support into ``outdir`` as ``<name>.<format>``.

    Figures that do not apply (e.g. ``overhead_vs_load`` without a sweep) are skipped.
    The same results give byte-identical files. Each figure is cleared once written.

    Parameters
    ----------
    res : Results or dict
        The results of :func:`ecsnetsim.simulate`, or their ``results.json`` document.
    outdir : str or Path
        Created when missing.
    formats : sequence of str
        File formats of each figure: PNG alone by default, ``("png", "svg")`` for both.
    dpi : float, optional
        Dots per inch of raster formats.

    Returns
    -------
    list of Path
        The files written, in :data:`FIGURES` order.

    Examples
    --------
    >>> import tempfile
    >>> from ecsnetsim import plots
    >>> plots.write_all({"variants": []}, tempfile.mkdtemp())  # nothing to draw
    []
    """
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, fn in FIGURES.items():
        fig = fn(res)
        if fig is None:
            continue
        try:
            for fmt in formats:
                written.append(save(fig, out / f"{name}.{fmt}", dpi=dpi))
        finally:
            fig.clear()
    return written
