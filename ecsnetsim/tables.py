"""The result tables, built once from a results document and printed by every reader.

The text summary (:func:`ecsnetsim.report.summary`) and ``report.html`` print the same
:class:`Table` objects, so they cannot disagree: a cell is computed here once, and a
renderer only chooses its typography (fixed-width text, or HTML with thousands
separators). The per-instance resource columns are not spelled out: they are the
resources placement reserves, as :data:`ecsnetsim.model.resources.RESOURCES` declares
them, each shown where a row has it; a new resource declared there appears in both.

Examples
--------
>>> doc = {"variants": [{"name": "base", "placement": {"services": [
...     {"name": "web", "network_mode": "awsvpc", "desired": 4, "running": 3, "pending": 1,
...      "failures": {"RESOURCE:ENI": 1}}]}}]}
>>> print(as_text(services(doc["variants"]), without=("variant", "steady at s")))
  service         mode     desired running pending  failures
  web             awsvpc         4       3       1  RESOURCE:ENI×1
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .labels import variant_label
from .model.resources import RESOURCES, Resource


@dataclass(frozen=True)
class Pair:
    """``used/limit`` of a resource, printed around its slash in text."""

    used: Any
    limit: Any

    def __str__(self) -> str:
        return f"{_plain(self.used)}/{_plain(self.limit)}"


@dataclass(frozen=True)
class Column:
    """A column: its header and how it reads in fixed-width text.

    ``width`` None means the text column is not padded (the last, free-text one);
    ``sep`` is printed before it."""

    header: str
    width: int | None = None
    left: bool = False
    sep: str = ""
    #: a shorter header for the fixed-width text
    short: str | None = None
    #: decimals of a number in the text (None: as it is)
    digits: int | None = None

    def text(self, value: Any) -> str:
        """The cell as the text summary prints it."""
        if isinstance(value, Pair) and self.width:
            right = (self.width - 1) // 2
            return (f"{_plain(value.used):>{self.width - 1 - right}}/"
                    f"{_plain(value.limit):<{right}}")
        shown = (f"{value:.{self.digits}f}" if self.digits is not None and value is not None
                 else _plain(value))
        if self.width is None:
            return self.sep + shown
        return self.sep + (f"{shown:<{self.width}}" if self.left else f"{shown:>{self.width}}")


@dataclass(frozen=True)
class Table:
    """A titled table: columns and rows of cells (numbers, text, :class:`Pair`, None)."""

    name: str
    title: str
    columns: tuple[Column, ...]
    rows: list[list[Any]] = field(default_factory=list)
    note: str = ""


def _plain(value: Any) -> str:
    """A cell in text: ``-`` for nothing, reasons as ``REASON×n``."""
    if value is None:
        return "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}×{v}" for k, v in value.items()) or "-"
    return str(value)


def as_text(table: Table, without: Iterable[str] = (), indent: str = "  ") -> str:
    """``table`` in fixed-width text, without the columns whose headers are ``without``
    (e.g. the variant, when the summary prints one variant at a time)."""
    keep = [i for i, c in enumerate(table.columns) if c.header not in set(without)]
    cols = [table.columns[i] for i in keep]
    lines = [indent + "".join(_header(c) for c in cols)]
    lines += [indent + "".join(c.text(row[i]) for c, i in zip(cols, keep, strict=True))
              for row in table.rows]
    return "\n".join(line.rstrip() for line in lines)


def _header(c: Column) -> str:
    h = c.short or c.header
    if c.width is None:
        return c.sep + h
    return c.sep + (f"{h:<{c.width}}" if c.left else f"{h:>{c.width}}")


# -- services ------------------------------------------------------------------------


@dataclass(frozen=True)
class Reasons:
    """Why tasks of a service are not running: the reasons of its unplaced tasks, the
    tasks that were placed and then failed to start, and those that started and were
    stopped (failed health checks); and, during a deployment, how many of those running
    are of the new and of the old revision."""

    service: dict

    def __str__(self) -> str:
        s = self.service
        text = _plain(s["failures"])
        if s.get("launch_failures"):
            text += f"; failed to start {_plain(s['launch_failures'])}"
        if s.get("stopped"):
            text += f"; stopped {_plain(s['stopped'])}"
        old = s.get("running_old") or 0
        if old:  # the running column counts both revisions: say which
            text += f"; running: {s['running'] - old} new + {old} old revision"
        return text


VARIANT = Column("variant", 18, left=True)


def services(variants: Sequence[dict]) -> Table:
    """Per variant and service: mode, desired, running, pending, why the others are not
    running, and when the service was first steady."""
    rows = [[variant_label(v["name"]), s["name"], s.get("network_mode"), s.get("desired"),
             s.get("running"), s.get("pending"), Reasons(s), s.get("steady_at")]
            for v in variants for s in v["placement"]["services"]]
    return Table("services", "Services", (
        VARIANT, Column("service", 16, left=True), Column("mode", 8, left=True),
        Column("desired", 8), Column("running", 8), Column("pending", 8),
        Column("failures", sep="  "), Column("steady at s", 12)), rows)


# -- instances -----------------------------------------------------------------------


def reserved(rows: Iterable[dict]) -> list[Resource]:
    """The resources placement reserves on an instance (declared with a ``RESOURCE:``
    failure) that some of ``rows`` has, network resources first as the summary has
    always shown them."""
    rows = list(rows)
    shown = [r for r in RESOURCES if r.scope == "instance" and r.failure.startswith("RESOURCE:")
             and any(r.from_row(row) is not None for row in rows)]
    return sorted(shown, key=lambda r: r.failure != "RESOURCE:ENI")


#: Headers and text widths of the reserved resources (others: their unit, width 10).
_RESOURCE_COLUMNS = {"eni": ("ENIs", 10), "branch_eni": ("branches", 10),
                     "cpu": ("CPU", 12), "memory": ("MiB", 14), "gpu": ("GPUs", 8)}


def _resource_column(r: Resource) -> Column:
    header, width = _RESOURCE_COLUMNS.get(r.name, (r.unit, 10))
    return Column(header, width)


def _total(r: Resource, rows: list[dict]) -> Pair:
    found = [u for u in (r.from_row(row) for row in rows) if u is not None]
    return Pair(sum(u.used for u in found), sum(u.limit for u in found))


def instance_types(variants: Sequence[dict]) -> Table:
    """Per variant and instance type: instances, tasks, the reserved resources in use of
    their limits, IPs and ports, summed over the type's instances."""
    instances = [i for v in variants for i in v["placement"]["instances"]]
    resources = reserved(instances)
    network = [r for r in resources if r.failure == "RESOURCE:ENI"]
    compute = [r for r in resources if r.failure != "RESOURCE:ENI"]
    rows = []
    for v in variants:
        by_type: dict[str, list[dict]] = defaultdict(list)
        for inst in v["placement"]["instances"]:
            by_type[inst["type"]].append(inst)
        for itype, insts in by_type.items():
            rows.append([variant_label(v["name"]), itype, len(insts),
                         sum(i["tasks"] for i in insts),
                         *(_total(r, insts) for r in network),
                         sum(i["ips_used"] for i in insts),
                         sum(len(i["ports"]["static"]) for i in insts),
                         sum(i["ports"]["dynamic_used"] for i in insts),
                         *(_total(r, insts) for r in compute)])
    return Table("instance-types", "Instances by type", (
        VARIANT, Column("instance type", 16, left=True), Column("n", 3), Column("tasks", 7),
        *map(_resource_column, network), Column("IPs", 6), Column("static ports", 13),
        Column("dyn", 5), *map(_resource_column, compute)), rows,
        "Summed over each type's instances: in use / limit.")


def _usage(r: Resource, row: dict) -> Pair | None:
    u = r.from_row(row)
    return None if u is None else Pair(u.used, u.limit)


def instances(variants: Sequence[dict]) -> Table:
    """Per variant and instance: type, AZ, tasks, the reserved resources, IPs, ports."""
    all_rows = [i for v in variants for i in v["placement"]["instances"]]
    resources = reserved(all_rows)
    network = [r for r in resources if r.failure == "RESOURCE:ENI"]
    compute = [r for r in resources if r.failure != "RESOURCE:ENI"]
    rows = [[variant_label(v["name"]), i["id"], i.get("type"), i.get("az"), i.get("tasks"),
             *(_usage(r, i) for r in network), i.get("ips_used"),
             " ".join((i.get("ports") or {}).get("static") or []) or None,
             (i.get("ports") or {}).get("dynamic_used"), *(_usage(r, i) for r in compute)]
            for v in variants for i in v["placement"]["instances"]]
    return Table("instances", "Instances", (
        VARIANT, Column("instance", 20, left=True), Column("type", 16, left=True),
        Column("AZ", 12, left=True), Column("tasks", 7), *map(_resource_column, network),
        Column("IPs", 6), Column("static ports", 13, left=True), Column("dynamic ports", 14),
        *map(_resource_column, compute)), rows)


# -- flows ---------------------------------------------------------------------------


def flows(variants: Sequence[dict]) -> Table:
    """Per variant and flow: packets sent and what became of them, hops, latency, and
    why the flow is blocked when it is."""
    rows = []
    for v in variants:
        for f in v["flows"]:
            lat, blocked = f.get("latency_us") or {}, f.get("blocked") or {}
            rows.append([variant_label(v["name"]), f["name"], f.get("from"), f.get("to"),
                         f.get("via"), f.get("sent"), f.get("delivered"), f.get("dropped"),
                         f.get("unreachable"), f.get("in_flight"),
                         (f.get("hops") or {}).get("mean"), lat.get("mean"), lat.get("p50"),
                         lat.get("p99"), blocked.get("reason")])
    return Table("flows", "Flows", (
        VARIANT, Column("flow", 16, left=True), Column("from", 16, left=True),
        Column("to", 16, left=True), Column("via", 12, left=True), Column("sent", 9),
        Column("delivered", 9, short="deliv"), Column("dropped", 7, short="drop"),
        Column("unreachable", 8, short="unreach"), Column("in flight", 9, short="inflight"),
        Column("hops", 6, digits=1), Column("mean µs", 10, short="mean us", digits=1),
        Column("p50 µs", 10, short="p50 us", digits=1),
        Column("p99 µs", 10, short="p99 us", digits=1), Column("blocked", sep="  ")), rows,
        "sent = delivered + dropped + unreachable + in flight.")


# -- the report's other tables -----------------------------------------------------------


def _table(name: str, title: str, headers: Sequence[str], rows: list[list[Any]],
           note: str = "") -> Table:
    """A table that only report.html prints (its columns need no text layout)."""
    return Table(name, title, tuple(Column(h, 12, left=not i) for i, h in enumerate(headers)),
                 rows, note)


def unplaced(variants: Sequence[dict]) -> Table:
    """Tasks not placed at the end of the run, by variant, service and reason, with the
    instance that came closest and why it did not take one."""
    rows = []
    for v in variants:
        groups: dict[tuple, int] = {}
        example: dict = {}
        for u in v["placement"].get("unplaced") or []:
            key = (u.get("service"), u.get("reason"))
            groups[key] = groups.get(key, 0) + 1
            why = u.get("why_not") or {}
            example.setdefault(key, (u.get("closest"), next(iter(why.values()), None),
                                     len(why)))
        for (svc, reason), n in groups.items():
            closest, why, count = example[(svc, reason)]
            rows.append([variant_label(v["name"]), svc, reason, n, closest, count, why])
    return _table("unplaced", "Unplaced tasks", [
        "variant", "service", "reason", "tasks", "closest instance", "instances with a reason",
        "why not (closest)"], rows, "Tasks not placed at the end of the run, by service and "
                                    "reason.")


def subnets(variants: Sequence[dict]) -> Table:
    rows = [[variant_label(v["name"]), sn["name"], sn.get("cidr"), sn.get("az"),
             sn.get("usable"), sn.get("ips_used"), sn.get("ips_free")]
            for v in variants for sn in v["placement"].get("subnets") or []]
    return _table("subnets", "Subnets", ["variant", "subnet", "CIDR", "AZ", "usable",
                                         "IPs used", "IPs free"], rows)


#: Devices the report shows per variant, the busiest first.
TOP_DEVICES = 8


def devices(variants: Sequence[dict]) -> Table:
    rows = [[variant_label(v["name"]), d["id"], d["kind"], d["packets"], 100 * d["utilization"],
             d.get("mean_wait_us"), d["drops"]]
            for v in variants
            for d in sorted(v["devices"], key=lambda d: (-d["utilization"], d["id"]))[
                :TOP_DEVICES]]
    return _table("devices", f"Busiest devices (top {TOP_DEVICES} per variant)", [
        "variant", "device", "kind", "packets", "busy %", "mean wait µs", "drops"], rows)


def deployments(variants: Sequence[dict]) -> Table:
    rows = [[variant_label(v["name"]), f"{d['service']}:{d['revision']}", d["status"],
             d["started_at"], d.get("finished_at"), d["waves"], d.get("min_healthy_observed"),
             d["zero_healthy_seconds"], d.get("failures") or None]
            for v in variants for d in v.get("deployments") or []]
    return _table("deployments", "Deployments", [
        "variant", "deployment", "status", "started s", "finished s", "waves", "min healthy",
        "zero healthy s", "failures"], rows)


def limits_hit(variants: Sequence[dict]) -> Table:
    """Connections or packets refused, by the names Linux and AWS give them."""
    from . import limits  # noqa: PLC0415 (it reads the declared resources too)

    rows = [[variant_label(v["name"]), *row] for v in variants for row in limits.limit_rows(v)]
    return _table("limits", "Connection limits hit", [
        "variant", "where", "limit", "count", "detail"], rows,
        "Connections or packets refused, named as Linux and AWS name them.")


#: The columns the summary leaves to report.html and the CSV files.
TEXT_OMITS = {"services": ("variant", "steady at s"), "instance-types": ("variant",),
              "flows": ("variant", "from", "to", "via", "p50 µs", "blocked")}


def summary_text(table: Table) -> str:
    """``table`` as the text summary prints it (one variant's rows)."""
    return as_text(table, without=TEXT_OMITS.get(table.name, ("variant",)))


#: A table builder: the variants of a results document -> a table.
Builder = Callable[[Sequence[dict]], Table]

#: The report's tables, in the order it prints them.
REPORT_TABLES: tuple[Builder, ...] = (services, instance_types, instances, unplaced, subnets,
                                      flows, devices, deployments)
