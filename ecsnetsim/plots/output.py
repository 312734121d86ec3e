"""Figures as files: :func:`save` one, :func:`draw_all` those a result set supports.

The same results give byte-identical files: fixed metadata (no dates), fixed SVG ids.
PNG is written from the Agg canvas as RGB (no alpha: the background is white) with
zlib's fastest level, which costs a third of the default's time for files a few per
cent larger.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib as mpl
from matplotlib.figure import Figure

from .. import __version__
from .cdf import latency_cdf
from .data import Source
from .fate import packet_fate
from .hops import hops_by_mode
from .latency import latency_by_mode
from .load import overhead_vs_load
from .overhead import overhead_by_device
from .overtime import over_time
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

_METADATA = {
    "svg": {"Date": None, "Creator": f"ecsnetsim {__version__}"},
    "png": {"Software": f"ecsnetsim {__version__}"},
    "pdf": {"CreationDate": None, "ModDate": None, "Creator": f"ecsnetsim {__version__}"},
}


_PNG_LEVEL = 1  # zlib level: 1 is the fastest; 6 (the default) saves 2-4 % of the bytes


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
        if fmt == "png" and dpi in (None, fig.dpi):
            _png(fig, path)
        else:
            fig.savefig(path, format=fmt, dpi=dpi, metadata=_METADATA.get(fmt))
    return path


def _png(fig: Figure, path: Path) -> None:
    """Render ``fig`` once on its Agg canvas and write it as an RGB PNG."""
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    canvas = fig.canvas
    canvas.draw()
    image = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw",
                             "RGBA", 0, 1).convert("RGB")
    info = PngInfo()
    for key, value in _METADATA["png"].items():
        info.add_text(key, value)
    image.save(path, format="png", pnginfo=info, compress_level=_PNG_LEVEL,
               dpi=(fig.dpi, fig.dpi))


def draw_all(res: Source, names: list[str], outdir: Path, formats=("png",),
             dpi: float | None = None) -> list[Path]:
    """Draw the figures ``names`` of ``res`` and write each in ``formats`` into
    ``outdir``; a figure that turns out to have nothing to show is skipped."""
    written = []
    for name in names:
        fig = FIGURES[name](res)
        if fig is None:
            continue
        try:
            for fmt in formats:
                written.append(save(fig, outdir / f"{name}.{fmt}", dpi=dpi))
        finally:
            fig.clear()
    return written
