"""A figure as a file, the same bytes for the same figure: fixed metadata (no dates),
fixed SVG ids.

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
from .data import Source
from .style import STYLE

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


def draw_some(res: Source, figures: list[tuple[str, Callable[[Source], Figure | None]]],
              outdir: Path, formats=("png",), dpi: float | None = None) -> list[Path]:
    """Draw each (name, function) of ``figures`` and write it in ``formats``."""
    written = []
    for name, fn in figures:
        fig = fn(res)
        if fig is None:
            continue
        try:
            for fmt in formats:
                written.append(save(fig, outdir / f"{name}.{fmt}", dpi=dpi))
        finally:
            fig.clear()
    return written
