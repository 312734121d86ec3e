"""EC2 instance-type catalog and the Amazon ECS ENI-trunking table.

Two package-data files back this module:

``data/instance_types.csv``
    Every instance type of the EC2 ``DescribeInstanceTypes`` data the catalog was built
    from (regenerate it with ``scripts/build_catalog.py``). ``max_enis`` is the total
    over all network cards, and the bandwidth columns are per-card sums in Gbps.
    ``gpus`` is the sum of ``GpuInfo.Gpus[].Count``: the whole GPUs of the type (g4dn.xlarge
    1, g4dn.12xlarge 4, p4d.24xlarge 8, ...), 0 for a type without GPUs and for the
    fractional-GPU types (g6f, gr6f: ``GpuPartitionSize`` below 1, a count of 0). The
    count is EC2's for every manufacturer (NVIDIA, AMD on g4ad, Habana on dl1); the ECS
    GPU-optimized AMI registers NVIDIA GPUs, and whether ECS registers the others was
    not checked. Types absent from the EC2 data (p3) have no row, so no GPU figure.

``data/trunking.csv``
    The table "Supported Amazon EC2 instance types" of the Amazon ECS Developer Guide
    page "Elastic network interface trunking" (docs as of 2023-04-18), copied exactly as
    printed: ``instance_type, tasks_without_trunking, tasks_with_trunking``.
    :func:`trunking_table` returns these raw rows.

How the two combine into :class:`InstanceType`:

* ``awsvpc_tasks_without_trunking`` is always ``max_enis - 1`` from the EC2 data (the
  primary ENI takes one slot). For 420 of the 430 table rows that are in the EC2 data
  this equals the table's untrunked column. The exceptions are ``c6in``, ``m6in``,
  ``m6idn``, ``r6in`` and ``r6idn`` in sizes ``.32xlarge`` and ``.metal``: the table
  prints 13, but the EC2 data gives 16 ENIs (15 tasks). The EC2 figure is used and
  ``trunk_note`` says so.
* ``trunk_tasks`` is the table's trunked column, after the decisions below. Types not
  in the table are not trunking-capable (``trunk_tasks is None``).
* Table types without EC2 data (``p3.2xlarge``, ``p3.8xlarge``, ``p3.16xlarge``,
  ``u-18tb1.metal``, ``u-24tb1.metal``) are not instance types here, because there are
  no vCPU, memory or ENI figures for them. They stay visible in :func:`trunking_table`.

Decisions on doubtful table rows (each one is also recorded in ``trunk_note``):

1. ``i4i.large,2,-2``: a negative task limit is a documentation typo. The type is
   treated as not trunking-capable.
2. Rows above 120 trunked tasks (``i4i.16xlarge`` 248, ``i4i.32xlarge`` 498,
   ``i4i.metal`` 498, ``trn1n.32xlarge`` 242) are clamped to 120. Every other row
   respects that ceiling, and the VPC resource controller's branch-interface limits
   confirm it.
3. ``u-6tb1.56xlarge,14,12``: the same page lists the ``u-6tb1`` family as unsupported,
   and the trunked figure is below the untrunked one. The type is treated as not
   trunking-capable. (Any row whose trunked figure is below its untrunked figure is
   refused the same way.)
4. Rows of types or families that the same page also lists as unsupported (``m5n``,
   ``m5zn``, ``r5b.16xlarge``, ``r5dn.16xlarge``, ``c5a.8xlarge``) are kept: the table
   is treated as the allow-list.
"""

from __future__ import annotations

import csv
import difflib
import fnmatch
import functools
import io
from dataclasses import dataclass
from importlib import resources

__all__ = [
    "CATALOG_SOURCE",
    "TRUNKING_SOURCE",
    "TRUNK_TASK_CAP",
    "InstanceType",
    "UnknownInstanceType",
    "all_types",
    "get",
    "match",
    "read_trunking_rows",
    "trunk_decision",
    "trunking_table",
]

#: The largest trunked task count the catalog accepts from the ECS table.
TRUNK_TASK_CAP = 120

#: Types and families that the ECS trunking page lists as unsupported (2023-04-18).
UNSUPPORTED_TYPES = frozenset(
    {
        "a1.metal",
        "c5.metal",
        "c5a.8xlarge",
        "c5ad.8xlarge",
        "c5d.metal",
        "m5.metal",
        "p3dn.24xlarge",
        "r5.metal",
        "r5.8xlarge",
        "r5d.metal",
    }
)
UNSUPPORTED_FAMILIES = frozenset(
    {
        "c5n",
        "d3",
        "d3en",
        "g3",
        "g3s",
        "g4dn",
        "i3",
        "i3en",
        "inf1",
        "m5dn",
        "m5n",
        "m5zn",
        "mac1",
        "r5b",
        "r5n",
        "r5dn",
        "u-12tb1",
        "u-6tb1",
        "u-9tb1",
        "z1d",
    }
)

_CATALOG_FILE = "instance_types.csv"
_TRUNKING_FILE = "trunking.csv"

#: Source line of the catalog CSV (read lazily from its header).
CATALOG_SOURCE: str
#: Source line of the trunking CSV (read lazily from its header).
TRUNKING_SOURCE: str


class UnknownInstanceType(KeyError):
    """Raised by :func:`get` for a name that is not in the catalog."""

    def __init__(self, name: str, suggestions: list[str], note: str | None = None):
        self.name = name
        self.suggestions = list(suggestions)
        message = f"unknown instance type {name!r}"
        if note:
            message += f" ({note})"
        if self.suggestions:
            message += "; did you mean " + ", ".join(self.suggestions) + "?"
        super().__init__(message)

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class InstanceType:
    """One EC2 instance type with the ECS trunking figures applied."""

    name: str
    vcpus: int
    memory_mib: int
    max_enis: int
    network_cards: int
    ipv4_per_eni: int
    baseline_gbps: float | None
    peak_gbps: float | None
    hypervisor: str | None
    architectures: tuple[str, ...]
    bare_metal: bool
    burstable: bool
    trunk_tasks: int | None
    trunk_note: str | None
    #: GPUs the ECS agent registers (EC2's ``GpuInfo.Gpus[].Count``; 0: none)
    gpus: int = 0

    @property
    def family(self) -> str:
        """The part of the name before the dot, e.g. ``c5`` for ``c5.large``."""
        return self.name.split(".", 1)[0]

    @property
    def awsvpc_tasks_without_trunking(self) -> int:
        """awsvpc tasks that fit without trunking: the primary ENI takes one slot."""
        return self.max_enis - 1

    @property
    def trunk_eni_limit(self) -> int | None:
        """ENI capacity with trunking (tasks plus primary and trunk ENIs), or None."""
        return None if self.trunk_tasks is None else self.trunk_tasks + 2

    @property
    def trunking_capable(self) -> bool:
        return self.trunk_tasks is not None

    @property
    def bandwidth_bps(self) -> float | None:
        """Peak (else baseline) network bandwidth in bytes per second, or None."""
        gbps = self.peak_gbps if self.peak_gbps is not None else self.baseline_gbps
        return None if gbps is None else gbps * 1e9 / 8

    @property
    def cpu_architecture(self) -> str:
        """``"x86_64"`` or ``"arm64"``, from the first listed architecture."""
        first = self.architectures[0] if self.architectures else "x86_64"
        return "arm64" if first.startswith("arm64") else "x86_64"


def _read_data(filename: str) -> tuple[list[str], list[dict[str, str]]]:
    """Return the ``#`` comment lines (without ``#``) and the rows of a data CSV."""
    text = resources.files(__name__).joinpath("data").joinpath(filename).read_text(encoding="utf-8")
    comments: list[str] = []
    body: list[str] = []
    for line in text.splitlines():
        if line.startswith("#"):
            comments.append(line[1:].strip())
        elif line.strip():
            body.append(line)
    return comments, list(csv.DictReader(io.StringIO("\n".join(body))))


def _source_of(comments: list[str]) -> str:
    for comment in comments:
        if comment.lower().startswith("source:"):
            return comment.split(":", 1)[1].strip()
    return " ".join(comments)


def _opt_float(text: str) -> float | None:
    return float(text) if text.strip() else None


def _bool(text: str) -> bool:
    return text.strip().lower() == "true"


@functools.cache
def _trunking() -> tuple[str, dict[str, tuple[int, int]]]:
    comments, rows = _read_data(_TRUNKING_FILE)
    table = {
        row["instance_type"].strip(): (
            int(row["tasks_without_trunking"]),
            int(row["tasks_with_trunking"]),
        )
        for row in rows
    }
    return _source_of(comments), table


def _unsupported_reason(name: str) -> str | None:
    if name in UNSUPPORTED_TYPES:
        return f"the trunking page lists {name} as unsupported"
    family = name.split(".", 1)[0]
    if family in UNSUPPORTED_FAMILIES:
        return f"the trunking page lists the {family} family as unsupported"
    return None


def trunk_decision(name: str, max_enis: int, row: tuple[int, int] | None):
    """Apply the documented decisions to one table row: (trunk_tasks, trunk_note).

    The same decisions apply to a row of a user's trunking table (``cluster.
    trunking_table``): a trunked figure below the untrunked one, or above
    :data:`TRUNK_TASK_CAP`, is read as the built-in table's are.

    >>> trunk_decision("m7i.large", 3, (2, 12))
    (12, None)
    """
    if row is None:
        return None, None
    without, with_trunking = row
    notes: list[str] = []
    unsupported = _unsupported_reason(name)
    tasks: int | None = with_trunking
    if with_trunking < 0:
        tasks = None
        notes.append(
            f"table prints {with_trunking} tasks with trunking, a documentation typo; "
            "treated as not trunking-capable"
        )
    elif with_trunking < without:
        tasks = None
        reason = f"{unsupported}, and " if unsupported else ""
        notes.append(
            f"{reason}the table's trunked figure ({with_trunking}) is below the untrunked "
            f"one ({without}); treated as not trunking-capable"
        )
    elif with_trunking > TRUNK_TASK_CAP:
        tasks = TRUNK_TASK_CAP
        notes.append(f"table prints {with_trunking}; clamped to {TRUNK_TASK_CAP}")
    if unsupported and tasks is not None:
        notes.append(f"{unsupported}, but the table lists it; the table is the allow-list")
    if without != max_enis - 1:
        notes.append(
            f"table prints {without} tasks without trunking, EC2 data gives {max_enis} ENIs "
            f"({max_enis - 1} tasks); the EC2 figure is used"
        )
    return tasks, ("; ".join(notes) or None)


@functools.cache
def _catalog() -> tuple[str, dict[str, InstanceType]]:
    comments, rows = _read_data(_CATALOG_FILE)
    _, table = _trunking()
    types: dict[str, InstanceType] = {}
    for row in rows:
        name = row["instance_type"].strip()
        max_enis = int(row["max_enis"])
        tasks, note = trunk_decision(name, max_enis, table.get(name))
        arch = tuple(a for a in row["architectures"].split(";") if a)
        types[name] = InstanceType(
            name=name,
            vcpus=int(row["vcpus"]),
            memory_mib=int(row["memory_mib"]),
            max_enis=max_enis,
            network_cards=int(row["network_cards"]),
            ipv4_per_eni=int(row["ipv4_per_eni"]),
            baseline_gbps=_opt_float(row["baseline_gbps"]),
            peak_gbps=_opt_float(row["peak_gbps"]),
            hypervisor=row["hypervisor"].strip() or None,
            architectures=arch,
            bare_metal=_bool(row["bare_metal"]),
            burstable=_bool(row["burstable"]),
            trunk_tasks=tasks,
            trunk_note=note,
            gpus=int(row.get("gpus") or 0),
        )
    return _source_of(comments), dict(sorted(types.items()))


def get(name: str) -> InstanceType:
    """Return the instance type ``name`` (case-insensitive).

    Raises :class:`UnknownInstanceType` (a ``KeyError``) with close names suggested.
    """
    key = name.strip().lower()
    types = _catalog()[1]
    try:
        return types[key]
    except KeyError:
        pass
    note = None
    if key in _trunking()[1]:
        note = "listed in the ECS trunking table but absent from the EC2 data"
    suggestions = difflib.get_close_matches(key, list(types), n=3, cutoff=0.6)
    raise UnknownInstanceType(name, suggestions, note) from None


def all_types() -> list[InstanceType]:
    """Every instance type in the catalog, sorted by name."""
    return list(_catalog()[1].values())


def match(pattern: str) -> list[InstanceType]:
    """Instance types matching ``pattern``, sorted by name.

    ``pattern`` is an ``fnmatch`` glob, case-insensitive (``"c5.*"``, ``"*.metal"``).
    A pattern without glob characters names a family when it has no dot (``"c5"`` is
    ``c5.*``, not ``c5a.*``) and a single type otherwise (``"c5.large"``).
    """
    key = pattern.strip().lower()
    types = _catalog()[1]
    if not any(ch in key for ch in "*?["):
        if "." in key:
            return [types[key]] if key in types else []
        key += ".*"
    return [t for name, t in types.items() if fnmatch.fnmatchcase(name, key)]


#: The columns of a trunking table, the shipped one's and a user's.
TRUNKING_COLUMNS = ("instance_type", "tasks_without_trunking", "tasks_with_trunking")
#: Most rows of a user's trunking table (ECS's table has about 430) and the largest figure
#: (the scenario's ``trunk_tasks`` allows up to 1000 too).
MAX_TRUNKING_ROWS = 10_000
MAX_TRUNKING_TASKS = 1000


def read_trunking_rows(text: str) -> list[tuple[str, int, int, int]]:
    """The rows of a trunking table in the shipped file's layout (``#`` comment lines,
    then a header naming :data:`TRUNKING_COLUMNS`): ``(type, without, with, line)``.

    Raises ``ValueError("<line>: <problem>")`` for a row that cannot be read.

    >>> read_trunking_rows("# mine\\ninstance_type,tasks_without_trunking,"
    ...                    "tasks_with_trunking\\nm7i.large,2,12\\n")
    [('m7i.large', 2, 12, 3)]
    """
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1)
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise ValueError(f"1: empty; expected a header {','.join(TRUNKING_COLUMNS)} and rows")
    header_at, header = lines[0]
    names = [c.strip() for c in next(csv.reader([header]))]
    missing = [c for c in TRUNKING_COLUMNS if c not in names]
    if missing:
        raise ValueError(f"{header_at}: the header lacks {', '.join(missing)}; expected "
                         f"{','.join(TRUNKING_COLUMNS)} (the columns of ECS's table)")
    if len(lines) - 1 > MAX_TRUNKING_ROWS:
        raise ValueError(f"{lines[MAX_TRUNKING_ROWS + 1][0]}: more than {MAX_TRUNKING_ROWS:,} "
                         "rows")
    rows: list[tuple[str, int, int, int]] = []
    seen: dict[str, int] = {}
    for n, line in lines[1:]:
        cells = dict(zip(names, (c.strip() for c in next(csv.reader([line]))), strict=False))
        rows.append(_trunking_row(cells, n, seen))
    return rows


def _trunking_row(cells: dict[str, str], n: int, seen: dict[str, int]
                  ) -> tuple[str, int, int, int]:
    """One row of a user's trunking table, checked; ``seen``: type -> line so far."""
    name = (cells.get("instance_type") or "").lower()
    if not name:
        raise ValueError(f"{n}: instance_type is empty")
    if name in seen:
        raise ValueError(f"{n}: {name} is also on line {seen[name]}; give each type once")
    seen[name] = n
    figures = []
    for column in TRUNKING_COLUMNS[1:]:
        text = cells.get(column) or ""
        if not (text.isascii() and text.isdigit()) or int(text) > MAX_TRUNKING_TASKS:
            raise ValueError(f"{n}: {column} of {name}: expected a whole number of tasks "
                             f"from 0 to {MAX_TRUNKING_TASKS}, got {text!r}")
        figures.append(int(text))
    return name, figures[0], figures[1], n


def trunking_table() -> dict[str, tuple[int, int]]:
    """The ECS trunking table as printed: ``name -> (without, with)`` trunking."""
    return dict(_trunking()[1])


def __getattr__(name: str) -> str:
    if name == "CATALOG_SOURCE":
        return _catalog()[0]
    if name == "TRUNKING_SOURCE":
        return _trunking()[0]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
