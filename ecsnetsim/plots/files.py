"""Every figure a result set supports, as files, with matplotlib imported only when one
is to be drawn.

Which figures apply is decided from the results alone (:data:`.figdata.APPLIES`), before
matplotlib is imported: a run whose results hold nothing to draw (no traffic, every
task placed, nothing happening after start-up) costs no figure at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .data import Source, _doc
from .figdata import APPLIES


def applicable(res: Source) -> list[str]:
    """The names of the figures ``res`` holds something for, in drawing order.

    >>> applicable({"variants": []})
    []
    """
    from . import FIGURE_NAMES

    doc = _doc(res)
    return [name for name in FIGURE_NAMES
            if APPLIES[name](res if name == "over_time" else doc)]


def write_all(res: Source, outdir: str | Path, formats=("png",),
              dpi: float | None = None, only: Iterable[str] | None = None) -> list[Path]:
    """Write every figure the results support (or those of them named in ``only``) into
    ``outdir`` as ``<name>.<format>``.

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
    only : iterable of str, optional
        Draw only these figures (names of :data:`ecsnetsim.plots.FIGURE_NAMES`; one the
        results hold nothing for is skipped like any other).

    Returns
    -------
    list of Path
        The files written, in :data:`ecsnetsim.plots.FIGURES` order.

    Examples
    --------
    >>> import tempfile
    >>> from ecsnetsim import plots
    >>> plots.write_all({"variants": []}, tempfile.mkdtemp())  # nothing to draw
    []
    """
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    names = applicable(res)
    if only is not None:
        wanted = set(only)
        names = [name for name in names if name in wanted]
    if not names:
        return []
    import importlib

    from . import _MODULES
    from .saving import draw_some  # matplotlib, now that something is to be drawn

    figures = [(name, getattr(importlib.import_module(f"{__package__}.{_MODULES[name]}"), name))
               for name in names]
    return draw_some(res, figures, out, formats=formats, dpi=dpi)
