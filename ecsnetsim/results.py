"""Results of a run: the ``results.json`` document and its CSV tables.

The same tables that ``run`` writes as CSV are available in Python as lists of
dicts (and as pandas DataFrames when pandas is installed); their columns are the fields
of the row types in :mod:`ecsnetsim.rows`, which ``results.json`` is made from too. The
tables stay plain dicts (not the frozen rows) so that a notebook can add a column to a
row or hand the list to pandas as before, and so that a ``results.json`` read back from
disk gives the same tables as a fresh run. A result set is written
into a new directory beside OUTDIR and swapped in as one unit, so that a failed or
interrupted run leaves the previous set as it was and a reader never sees new
``results.json`` beside an old ``devices.csv``.
"""

from __future__ import annotations

import contextlib
import csv
import ctypes
import errno
import html
import io
import json
import os
import secrets
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .errors import InputError
from .rows import (
    DeviceRow,
    FlowLogRecord,
    FlowTableRow,
    PlacementRow,
    TimelinePoint,
    TimeseriesRow,
    table_columns,
)

#: Keys every variant of a results document has (the figures and tables read them).

#: The CSV headers, from the fields of the row types (:mod:`ecsnetsim.rows`): a column
#: cannot be added to a row and forgotten in its file.
PLACEMENT_COLUMNS = table_columns(PlacementRow)
FLOW_COLUMNS = table_columns(FlowTableRow)
#: Formats ``save(plots=True)`` writes each figure in (``svg=True`` adds SVG).
FIGURE_FORMATS = ("png",)
#: Every format a figure of a result set may have (an earlier run's are replaced).
_ALL_FIGURE_FORMATS = ("png", "svg")
TIMELINE_COLUMNS = table_columns(TimelinePoint)
TIMESERIES_COLUMNS = table_columns(TimeseriesRow)
FLOW_LOG_COLUMNS = table_columns(FlowLogRecord)
DEVICE_COLUMNS = table_columns(DeviceRow)


class Table(list):
    """A list of row dicts (the rows of a CSV file) that prints as an aligned text table,
    shows as an HTML table in Jupyter and becomes a DataFrame, all without needing pandas
    except for the last."""

    #: Rows a notebook shows before it says how many more there are.
    SHOWN = 50

    @property
    def columns(self) -> list[str]:
        """Every key of every row, in first-seen order."""
        return list(dict.fromkeys(k for row in self for k in row))

    def to_text(self, columns: list[str] | None = None) -> str:
        """The rows as an aligned text table of ``columns`` (default: every column)."""
        columns = columns or self.columns
        cells = [[_text(row.get(c)) for c in columns] for row in self]
        widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
        return "\n".join("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip()
                         for r in [columns, *cells])

    def show(self, columns: list[str] | None = None) -> None:
        """Print :meth:`to_text`."""
        print(self.to_text(columns))

    def _repr_html_(self) -> str:
        if not self:
            return "<p><i>no rows</i></p>"
        columns = self.columns
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(_text(row.get(c)))}</td>" for c in columns)
            + "</tr>" for row in self[:self.SHOWN])
        more = (f"<p>... {len(self) - self.SHOWN} more rows of {len(self)}</p>"
                if len(self) > self.SHOWN else "")
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"

    def to_dataframe(self):
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("to_dataframe() needs pandas: pip install 'ecsnetsim[pandas]'") \
                from exc
        return pd.DataFrame(list(self))


class Results:
    """What ``simulate`` returns: the document plus table views of it."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    @property
    def variants(self) -> list[dict]:
        return self.document["variants"]

    def variant(self, name: str | None = None, *, group: str | None = None,
                value: Any = None) -> dict:
        """One variant: by ``name``, or by its compare ``group`` and sweep ``value`` (the
        value as written, ``"20000/s"``, or as a number, ``20000``)."""
        def matches(v: dict) -> bool:
            if name is not None:
                return v["name"] == name
            sweep = v.get("sweep") or {}
            return (group is None or v.get("group") == group) and (
                value is None or value in (sweep.get("value"), sweep.get("number")))

        found = [v for v in self.variants if matches(v)]
        if len(found) == 1:
            return found[0]
        wanted = repr(name) if name is not None else f"group={group!r}, value={value!r}"
        have = [v["name"] for v in self.variants]
        raise KeyError(f"{'no' if not found else 'more than one'} variant {wanted}; have {have}")

    @property
    def comparison(self) -> dict:
        return self.document.get("comparison", {})

    @property
    def placement(self) -> Table:
        """placement.csv: one row per instance of each variant (:class:`PlacementRow`)."""
        return Table(PlacementRow.of(v["name"], inst).to_json() for v in self.variants
                     for inst in v["placement"]["instances"])

    @property
    def services(self) -> Table:
        """Each service of each variant (:class:`~ecsnetsim.rows.ServiceRow`)."""
        return Table({"variant": v["name"], **s} for v in self.variants
                      for s in v["placement"]["services"])

    @property
    def flows(self) -> Table:
        """flows.csv: one row per flow of each variant (:class:`FlowTableRow`)."""
        return Table(FlowTableRow.of(v["name"], f).to_json() for v in self.variants
                     for f in v["flows"])

    @property
    def flow_logs(self) -> Table:
        """VPC flow-log records (with ``flow_logs: true``): one per variant, ENI and 5-tuple."""
        return Table({"variant": v["name"], **r} for v in self.variants
                     for r in v.get("flow_logs") or [])

    @property
    def devices(self) -> Table:
        """devices.csv: each device of each variant (:class:`~ecsnetsim.rows.DeviceRow`)."""
        return Table({"variant": v["name"], **d} for v in self.variants for d in v["devices"])

    @property
    def deployments(self) -> Table:
        """Each deployment of each variant (:class:`~ecsnetsim.rows.DeploymentRow`, with
        ``replications`` and ``ci95`` when replicated)."""
        return Table({"variant": v["name"], **d} for v in self.variants
                      for d in v.get("deployments", []))

    @property
    def timeline(self) -> Table:
        """timeline.csv: each service's counts over time (:class:`TimelinePoint`)."""
        return Table({"variant": v["name"], **r} for v in self.variants
                      for r in v.get("timeline", []))

    @property
    def timeseries(self) -> Table:
        """timeseries.csv: each flow's and the busiest resources' figures per time window
        (:class:`~ecsnetsim.rows.TimeseriesRow`; windows of ``timeseries: {window: ..}``)."""
        return Table({"variant": v["name"], **r} for v in self.variants
                      for r in v.get("timeseries", []))

    def to_json(self) -> str:
        return json.dumps(self.document, indent=2, sort_keys=False) + "\n"

    def save(self, outdir: str | Path, plots: bool | Iterable[str] = False,
             svg: bool = False) -> list[Path]:
        """Write results.json, the CSV tables, report.html and, with ``plots``, every
        applicable figure (PNG; SVG too with ``svg``) into ``outdir`` as one set that
        replaces the previous one (see :func:`_write_set`). ``plots`` may instead name the
        figures to draw (:data:`ecsnetsim.plots.FIGURE_NAMES`); the others are not drawn."""
        files = {
            "results.json": self.to_json(),
            "placement.csv": _csv(self.placement, PLACEMENT_COLUMNS),
            "flows.csv": _csv(self.flows, FLOW_COLUMNS),
            "devices.csv": _csv(self.devices, DEVICE_COLUMNS),
            "timeline.csv": _csv(self.timeline, TIMELINE_COLUMNS),
            "timeseries.csv": _csv(self.timeseries, TIMESERIES_COLUMNS),
        }
        if any("flow_logs" in v for v in self.variants):
            files["flow_logs.csv"] = _csv(self.flow_logs, FLOW_LOG_COLUMNS)

        from . import htmlreport  # it imports the summary, which imports this module

        def write(tmp: Path) -> list[str]:
            for name, text in files.items():
                (tmp / name).write_text(text, encoding="utf-8")
            only = None if plots is True else plots
            drawn = self._draw(tmp, svg, only)[0] if plots else []
            return list(files) + drawn + [htmlreport.write(self, tmp, drawn)]

        return _write_set(outdir, write)

    def save_figures(self, outdir: str | Path, svg: bool = False) -> list[Path]:
        """Write every figure these results support (PNG, and SVG with ``svg``, see
        :mod:`ecsnetsim.plots`) and report.html with them into ``outdir``, and remove
        figures of an earlier run there that they no longer support."""
        from . import htmlreport

        def draw(tmp: Path) -> tuple[list[str], list[str]]:
            drawn, stale = self._draw(tmp, svg)
            return drawn + [htmlreport.write(self, tmp, drawn)], stale

        return _write_staged(outdir, draw)

    def _draw(self, tmp: Path, svg: bool = False,
              only: Iterable[str] | None = None) -> tuple[list[str], list[str]]:
        from . import plots  # matplotlib only when figures are wanted

        formats = FIGURE_FORMATS + (("svg",) if svg and "svg" not in FIGURE_FORMATS else ())
        drawn = [p.name for p in plots.write_all(self, tmp, formats=formats, only=only)]
        stale = [f"{fig}.{fmt}" for fig in plots.FIGURE_NAMES for fmt in _ALL_FIGURE_FORMATS
                 if f"{fig}.{fmt}" not in drawn]
        return drawn, stale

    @classmethod
    def load(cls, outdir: str | Path) -> Results:
        """Read ``outdir/results.json`` as ``run`` wrote it, checked against the result
        schema first (:mod:`ecsnetsim.resultcheck`): anything else is an
        :class:`InputError` naming the file and the field or line at fault."""
        from .resultcheck import load_results  # noqa: PLC0415 (it imports this module)

        return cls(load_results(outdir))


def _write_staged(outdir: str | Path,
                  write: Callable[[Path], tuple[list[str], list[str]]]) -> list[Path]:
    """Let ``write`` fill a staging directory beside ``outdir``, then move its files into
    ``outdir`` and remove the ones it names stale: a failure on the way (a full disk, an
    error while drawing) leaves ``outdir`` as it was. ``write`` returns (written, stale)."""
    out = Path(outdir)
    tmp = _staging(out)
    try:
        names, stale = write(tmp)
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for name in names:
            os.replace(tmp / name, out / name)
            written.append(out / name)
        for name in stale:
            (out / name).unlink(missing_ok=True)
        return written
    except OSError as exc:
        raise InputError(f"cannot write results: {exc.strerror or exc}", file=str(out)) \
            from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


#: Files of a result set besides the figures, in the order they are written;
#: ``results.json`` last, so that where a set cannot be swapped in as a directory a
#: reader who finds the new ``results.json`` finds the new tables beside it.
#: ``flow_logs.csv`` only in runs with flow logs: an earlier run's is stale otherwise.
DATA_FILES = ("placement.csv", "flows.csv", "devices.csv", "timeline.csv", "timeseries.csv",
              "flow_logs.csv", "report.html", "results.json")
#: Prefix of the staging directories written beside OUTDIR and removed on every exit.
STAGING_PREFIX = ".ecsnetsim-"
#: Signals that may stop a run; held back while a result set is swapped in.
_STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP")
                      if hasattr(signal, n))


#: The longest name a result set writes inside OUTDIR (a figure), for the length check.
_LONGEST_NAME = len("device_utilization.png") + 16


def check_outdir(outdir: str | Path) -> None:
    """Refuse, before any work, an OUTDIR that cannot be written: a name over the file
    system's file-name limit, a path over its path limit, or a file in the way. Without
    this the limit is met only after the whole simulation has run."""
    out = Path(outdir)
    base = out.absolute()
    existing = next((p for p in (base, *base.parents) if _exists(p)), Path("/"))
    try:
        name_max = os.pathconf(existing, "PC_NAME_MAX")
        path_max = os.pathconf(existing, "PC_PATH_MAX")
    except (OSError, ValueError, AttributeError):
        name_max, path_max = 255, 4096
    for part in base.parts:
        size = len(os.fsencode(part))
        if size > name_max:
            shown = part if len(part) <= 40 else part[:40] + "..."
            raise InputError(f"the name {shown!r} is {size} bytes; a file name may have at "
                             f"most {name_max} here (give -o a shorter directory, or the "
                             "scenario a shorter name)", file=str(out)[:200])
    size = len(os.fsencode(str(base))) + _LONGEST_NAME
    if size > path_max:
        raise InputError(f"the path is too long: {size} bytes with its file names; at most "
                         f"{path_max} here", file=str(out)[:200])
    if existing != base and not existing.is_dir():
        raise InputError("is a file, not a directory; expected a place for the output "
                         "directory", file=str(existing))
    if out.exists() and not out.is_dir():
        raise InputError("exists and is not a directory; expected an output directory",
                         file=str(out))


def _exists(path: Path) -> bool:
    """``path.exists()`` that is False, not an error, for a name over the limits."""
    try:
        os.stat(path)
    except (OSError, ValueError):
        return False
    return True


def _staging(out: Path) -> Path:
    """A new, empty staging directory beside ``out`` (same file system: renames work)."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out.parent))
    except OSError as exc:
        raise InputError(f"cannot write here: {exc.strerror or exc}", file=str(out)) from None


def _figure_names() -> set[str]:
    """Every file name a figure may have."""
    from . import plots

    return {f"{fig}.{fmt}" for fig in plots.FIGURE_NAMES for fmt in _ALL_FIGURE_FORMATS}


def _ours(out: Path) -> tuple[set[str], bool]:
    """The result-set files in ``out`` and whether ``out`` holds anything else."""
    entries = list(out.iterdir())
    names = {p.name for p in entries if p.is_file() and not p.is_symlink()}
    if any(n.endswith(tuple(f".{f}" for f in _ALL_FIGURE_FORMATS)) for n in names):
        known = set(DATA_FILES) | _figure_names()
    else:
        known = set(DATA_FILES)
    ours = names & known
    return ours, len(ours) < len(entries)


def _swappable(out: Path) -> bool:
    """Whether ``out`` can be replaced as a whole directory: absent, or a real directory
    (not a link, not the working directory or one above it) holding a result set only."""
    if not out.exists() and not out.is_symlink():
        return True
    if out.is_symlink() or not out.is_dir():
        return False
    here = Path.cwd().resolve()
    if out.resolve() in (here, *here.parents):
        return False
    return not _ours(out)[1]


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False
    where the system cannot, and the caller falls back to two renames."""
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                   ctypes.c_uint]
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):  # file system or kernel
        return False
    raise OSError(err, os.strerror(err), str(b))


@contextlib.contextmanager
def _signals_held():
    """Hold back SIGINT/SIGTERM/SIGHUP for the few system calls of a swap, so that a stop
    lands before or after it, never between two renames."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _swap_in(tmp: Path, out: Path) -> Path | None:
    """Put the directory ``tmp`` in place of ``out``; return where the old set went (to
    be removed), if there was one."""
    mode = out.stat().st_mode if out.exists() else None
    if mode is None:
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)
    else:
        tmp.chmod(mode & 0o7777)
    with _signals_held():
        if mode is None:
            os.rename(tmp, out)
            return None
        if _exchange(tmp, out):
            return tmp
        old = out.parent / f"{STAGING_PREFIX}old-{secrets.token_hex(4)}"
        os.rename(out, old)
        try:
            os.rename(tmp, out)
        except OSError:
            os.rename(old, out)
            raise
        return old


def _move_files(tmp: Path, out: Path, names: list[str]) -> None:
    """Where ``out`` holds other files too, replace the result set file by file:
    ``results.json`` last, and files of an earlier run that this one did not write (its
    figures, its flow logs) removed, so that nothing stale sits beside the new data."""
    out.mkdir(parents=True, exist_ok=True)
    ours, _ = _ours(out)
    for name in sorted(names, key=lambda n: n == "results.json"):
        os.replace(tmp / name, out / name)
    for name in sorted(ours - set(names)):
        (out / name).unlink(missing_ok=True)


def _write_set(outdir: str | Path, write: Callable[[Path], list[str]]) -> list[Path]:
    """Let ``write`` fill a new directory beside ``outdir`` with a whole result set, then
    swap it in for ``outdir`` as one unit (see :func:`_swappable` for when a directory
    holding other files is updated file by file instead). A failure or a stop on the way
    leaves ``outdir`` as it was and removes the staging directory."""
    out = Path(outdir)
    tmp = _staging(out)
    old = None
    try:
        names = write(tmp)
        if _swappable(out):
            old = _swap_in(tmp, out)
        else:
            _move_files(tmp, out, names)
        return [out / n for n in names]
    except OSError as exc:
        raise InputError(f"cannot write results: {exc.strerror or exc}", file=str(out)) \
            from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _text(value: Any) -> str:
    """A cell of a text or HTML table: short floats, ``RESOURCE:ENI×8`` counts, ``-`` for
    none."""
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) >= 10 else f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}×{v}" for k, v in value.items()) or "-"
    return "-" if value is None else str(value)


def _csv(rows: list[dict], columns: list[str]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for row in rows:
        w.writerow({k: spreadsheet_safe(row.get(k)) for k in columns})
    return buf.getvalue()


#: What a spreadsheet reads as the start of a formula in a cell (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """A text cell that a spreadsheet would run as a formula (``=HYPERLINK(...)``,
    ``@SUM(...)``, ``-2+3``) with a single quote in front, as OWASP advises, so that it
    shows as the text it is; numbers (a negative one too) and other text unchanged.

    >>> spreadsheet_safe("=1+2"), spreadsheet_safe("@x"), spreadsheet_safe(-2.5)
    ("'=1+2", "'@x", -2.5)
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
