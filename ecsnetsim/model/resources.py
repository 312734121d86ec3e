"""Per-instance resources, declared once: what each is, its unit and limit, who consumes
it, how its use is read from an instance and from a results row, and the name of the
failure when it binds.

Rows, the summary, the report and the figures iterate over :data:`RESOURCES` instead of
spelling each resource as a column of their own; a new per-instance resource is one
declaration here plus the code that consumes it. (The existing consumers of CPU, memory,
ENIs and branch ENIs still read their own fields; they are declared here so that the table
is complete.)

Examples
--------
>>> [r.name for r in RESOURCES]  # doctest: +NORMALIZE_WHITESPACE
['cpu', 'memory', 'gpu', 'eni', 'branch_eni', 'conntrack', 'tracked_connections',
 'ephemeral_ports', 'linklocal_pps', 'pps', 'bandwidth_in', 'bandwidth_out']
>>> by_name("conntrack").failure
'nf_conntrack: table full, dropping packet'
>>> u = by_name("conntrack").from_row({"conntrack": {"peak": 10, "max": 10, "dropped": 3}})
>>> u.used, u.limit, u.exceeded
(10, 10, 3)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import conntrack as ct


@dataclass(frozen=True)
class Usage:
    """A resource on one instance: in use (or at its peak), its limit, and how many times
    something was refused because it was exhausted (None: the resource has no counter)."""

    used: float | None
    limit: float | None
    exceeded: int | None = None

    @property
    def bound(self) -> bool:
        """Whether the limit bound: something refused, or use at the limit."""
        if self.exceeded:
            return True
        return self.limit is not None and self.used is not None and self.used >= self.limit > 0


@dataclass(frozen=True)
class Resource:
    """One per-instance resource.

    Parameters
    ----------
    name : str
        Its name in results (``instances[].<row_key>``) and in the summary.
    unit : str
        What it counts.
    scope : str
        ``instance``, ``namespace`` (one per network namespace) or ``eni`` (one per ENI).
    consumers : str
        Who takes it.
    failure : str
        The name of the failure when it binds, as AWS, ECS, Docker or Linux name it.
    source : str
        Where its limit comes from.
    read : callable
        ``read(instance) -> Usage | None`` from a model instance (None: not in use there).
    from_row : callable
        ``from_row(instance_row) -> Usage | None`` from a results instance row.
    """

    name: str
    unit: str
    scope: str
    consumers: str
    failure: str
    source: str
    read: Callable[[Any], Usage | None]
    from_row: Callable[[dict], Usage | None]


def _used_limit(key: str) -> Callable[[dict], Usage | None]:
    def read(row: dict) -> Usage | None:
        found = row.get(key)
        return None if found is None else Usage(found["used"], found["limit"])
    return read


def _gpu_read(inst) -> Usage | None:
    """GPUs in use of the instance's GPUs; None on an instance without GPUs."""
    if not inst.gpu_limit and not inst.gpu_used:
        return None
    return Usage(inst.gpu_used, inst.gpu_limit)


def _conntrack_read(inst) -> Usage | None:
    state = ct.state_of(inst)
    if state is None:
        return None
    tables = state.tables()
    return Usage(max(t.peak for t in tables), state.conntrack_max,
                 sum(t.dropped for t in tables))


def _conntrack_row(row: dict) -> Usage | None:
    found = row.get("conntrack")
    return None if found is None else Usage(found["peak"], found["max"], found["dropped"])


def _ena_row(counter: str, limit: float | None,
             allowance: str | None = None) -> Callable[[dict], Usage | None]:
    """Read ``counter`` of a row's ``ena`` block, against ``limit``, or else the row's
    ``ena_allowances.<allowance>`` (written once the PPS, a bandwidth or the
    tracked-connections counter counted; absent from results written before)."""
    def read(row: dict) -> Usage | None:
        found = row.get("ena")
        if found is None:
            return None
        given = limit
        if given is None and allowance is not None:
            given = (row.get("ena_allowances") or {}).get(allowance)
        return Usage(None, given, found.get(counter, 0))
    return read


def _tracked_read(inst) -> Usage | None:
    state = ct.state_of(inst)
    if state is None:
        return None
    return Usage(state.tracked.peak, state.tracked.limit,
                 state.ena.get("conntrack_allowance_exceeded", 0))


def _ports_read(inst) -> Usage | None:
    state = ct.state_of(inst)
    if state is None:
        return None
    lo, hi = state.ports.range
    return Usage(state.ports.peak, hi - lo + 1, state.exhausted())


def _ports_row(row: dict) -> Usage | None:
    found = row.get("ephemeral_ports")
    return None if found is None else Usage(found["peak"], found["size"], found["exhausted"])


def _linklocal_read(inst) -> Usage | None:
    state = ct.state_of(inst)
    if state is None:
        return None
    return Usage(None, ct.LINKLOCAL_PPS, state.ena.get("linklocal_allowance_exceeded", 0))


#: Key of an EC2 instance's ENA allowances (an :class:`ecsnetsim.net.engine.Allowance`)
#: in its ``mode_state``, set by the data plane that wires the instance.
ALLOWANCE_KEY = "ena_allowances"


def _allowance_read(counter: str, rate: str) -> Callable[[Any], Usage | None]:
    def read(inst) -> Usage | None:
        found = inst.mode_state.get(ALLOWANCE_KEY)
        if found is None:
            return None
        return Usage(None, getattr(found, rate), found.counters()[counter])
    return read


RESOURCES: tuple[Resource, ...] = (
    Resource(
        "cpu", "CPU units (1024 per vCPU)", "instance", "tasks' cpu reservations",
        "RESOURCE:CPU", "the agent registers vCPUs x 1024",
        lambda i: Usage(i.cpu_used, i.cpu_limit), _used_limit("cpu")),
    Resource(
        "memory", "MiB", "instance", "tasks' memory reservations", "RESOURCE:MEMORY",
        "the agent registers MemTotal less ECS_RESERVED_MEMORY",
        lambda i: Usage(i.memory_used, i.memory_limit), _used_limit("memory")),
    Resource(
        "gpu", "GPUs", "instance", "tasks' resourceRequirements of type GPU (whole GPUs)",
        "RESOURCE:GPU", "the EC2 type's GPUs (DescribeInstanceTypes GpuInfo), each "
        "registered by the agent of the ECS GPU-optimized AMI",
        _gpu_read, _used_limit("gpu")),
    Resource(
        "eni", "ENIs", "instance", "the primary ENI, the trunk ENI, awsvpc task ENIs",
        "RESOURCE:ENI", "the EC2 type's maximum network interfaces",
        lambda i: Usage(i.eni_used, i.eni_limit), _used_limit("eni")),
    Resource(
        "branch_eni", "branch ENIs", "instance", "awsvpc tasks on a trunked instance",
        "RESOURCE:ENI", "ECS's trunking table per type",
        lambda i: Usage(i.branch_used, i.branch_limit), _used_limit("branch_eni")),
    Resource(
        "conntrack", "entries", "namespace",
        "connections through bridge NAT, docker-proxy (two) or the host's iptables, and "
        "an awsvpc task's own namespace",
        "nf_conntrack: table full, dropping packet",
        "nf_conntrack_max: the kernel's default for the memory (nf_conntrack_init_start, "
        "Linux >= 5.15) unless the group sets conntrack_max",
        _conntrack_read, _conntrack_row),
    Resource(
        "tracked_connections", "connections", "instance",
        "connections through any ENI of the instance (security groups track them)",
        "conntrack_allowance_exceeded",
        "not published by AWS; the group's conntrack_allowance, else 200,000 assumed "
        "(ecsnetsim.model.conntrack)",
        _tracked_read, _ena_row("conntrack_allowance_exceeded", None, "tracked_connections")),
    Resource(
        "ephemeral_ports", "ports", "namespace",
        "outbound connections: the host namespace's (host-mode tasks, docker-proxy's "
        "connection to the container; a dynamic host port they hold cannot be bound) and "
        "each task namespace's own, unique per destination",
        "EADDRNOTAVAIL",
        "the group's ephemeral_port_range (net.ipv4.ip_local_port_range)",
        _ports_read, _ports_row),
    Resource(
        "linklocal_pps", "packets/s", "eni",
        "packets to IMDS, the Amazon DNS server and the Time Sync Service",
        "linklocal_allowance_exceeded",
        "Amazon EC2 User Guide: 1024 packets/s per ENI; burst an assumption",
        _linklocal_read, _ena_row("linklocal_allowance_exceeded", ct.LINKLOCAL_PPS)),
    Resource(
        "pps", "packets/s", "instance",
        "every packet into or out of any ENI of the instance",
        "pps_allowance_exceeded",
        "not published by AWS; the group's ena_allowances.pps, else 100,000 per Gbps of the "
        "type's peak bandwidth assumed (ecsnetsim.net.ena)",
        _allowance_read("pps_allowance_exceeded", "pps_rate"),
        _ena_row("pps_allowance_exceeded", None, "pps")),
    Resource(
        "bandwidth_in", "bytes/s", "instance", "packets into any ENI of the instance",
        "bw_in_allowance_exceeded",
        "Amazon EC2 User Guide: the type's baseline bandwidth per direction, with network "
        "I/O credits for 300 s at its peak (assumed); the group's ena_allowances",
        _allowance_read("bw_in_allowance_exceeded", "in_rate"),
        _ena_row("bw_in_allowance_exceeded", None, "bandwidth_in")),
    Resource(
        "bandwidth_out", "bytes/s", "instance", "packets out of any ENI of the instance",
        "bw_out_allowance_exceeded",
        "Amazon EC2 User Guide: the type's baseline bandwidth per direction, with network "
        "I/O credits for 300 s at its peak (assumed); the group's ena_allowances",
        _allowance_read("bw_out_allowance_exceeded", "out_rate"),
        _ena_row("bw_out_allowance_exceeded", None, "bandwidth_out")),
)

#: The ENA counters a run with connection-level or link-local flows reports, as
#: ``ethtool -S`` names them (the PPS and bandwidth counters appear when they counted).
ENA_COUNTERS = ("conntrack_allowance_exceeded", "linklocal_allowance_exceeded")


def by_name(name: str) -> Resource:
    """The declaration named ``name``."""
    for r in RESOURCES:
        if r.name == name:
            return r
    raise KeyError(name)


def limits_hit(instance_rows: list[dict]) -> list[tuple[str, Resource, Usage]]:
    """``(instance id, resource, usage)`` for every declared connection resource that
    refused something on an instance of a results block, in instance then declaration
    order: what the summary and the report name.

    >>> rows = [{"id": "i-1", "conntrack": {"peak": 5, "max": 5, "dropped": 2}}]
    >>> [(i, r.failure, u.exceeded) for i, r, u in limits_hit(rows)]
    [('i-1', 'nf_conntrack: table full, dropping packet', 2)]
    """
    out = []
    for row in instance_rows:
        for r in RESOURCES:
            usage = r.from_row(row)
            if usage is not None and usage.exceeded:
                out.append((row["id"], r, usage))
    return out
