"""Typed result rows: one frozen dataclass per kind of row a run reports.

Every output of a run is derived from these rows, so that the same quantity cannot be
spelled twice: ``results.json`` is :meth:`Row.to_json` of a :class:`VariantResult` per
variant; the CSV columns are the fields of :class:`PlacementRow`, :class:`FlowTableRow`,
:class:`DeviceRow`, :class:`TimelinePoint` and :class:`FlowLogRecord` (see
:func:`columns`); and :mod:`ecsnetsim.resultcheck` derives the result schema from the
fields' names and types (:func:`schema_fields`).

Rows are built once per variant, at the end of the run, never per packet. They are
read-only mappings keyed by their ``results.json`` names (``row["from"]``,
``row.get("blocked")``), so that code written against the dicts of ``results.json``
reads a row unchanged; ``to_json()`` gives the dict itself (same keys in the same order).

Each field's comment names its unit. Field metadata (see :func:`entry`) carries what
the dataclass cannot say: the JSON key where it is not the field name (``from``), a key
left out of ``results.json`` when its value is None, and a key a results file written by
an earlier version may lack (optional in the schema).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, Protocol, get_type_hints

#: The layout of a results document (its ``schema_version``); readers refuse another.
SCHEMA_VERSION = 1


class HasDocument(Protocol):
    """What carries a results document (:class:`ecsnetsim.results.Results`): readers of
    results (the summary, the figures) take this, so that they need not import the class
    that writes them."""

    @property
    def document(self) -> dict: ...


def entry(*, key: str | None = None, omit_none: bool = False, optional: bool = False,
          default: Any = dataclasses.MISSING) -> Any:
    """A field with its ``results.json`` facts.

    Parameters
    ----------
    key : str, optional
        Its key in ``results.json`` and the CSV header, where the field name cannot be it
        (``from`` is a Python keyword).
    omit_none : bool
        Leave the key out of ``results.json`` when the value is None (a key that exists
        only in some runs, such as ``flow_logs``).
    optional : bool
        A results file may lack it (written by an earlier version, or only some runs
        have it): the schema accepts its absence.
    default
        The field's default value.
    """
    return dataclasses.field(default=default, metadata={
        "key": key, "omit_none": omit_none, "optional": optional or omit_none})


class Row(Mapping):
    """Base of every row: a read-only mapping over the row's ``results.json`` keys."""

    __slots__ = ()
    #: (JSON key, attribute name, left out when None), in field order; set by :func:`row`.
    _keys: ClassVar[tuple[tuple[str, str, bool], ...]] = ()
    _attr: ClassVar[dict[str, str]] = {}

    def __getitem__(self, key: str) -> Any:
        attr = self._attr.get(key)
        if attr is None:
            raise KeyError(key)
        value = getattr(self, attr)
        if value is None and self._omits(key):
            raise KeyError(key)
        return value

    @classmethod
    def _omits(cls, key: str) -> bool:
        return any(k == key and omit for k, _, omit in cls._keys)

    def __iter__(self) -> Iterator[str]:
        return (k for k, a, omit in self._keys if not (omit and getattr(self, a) is None))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def to_json(self) -> dict[str, Any]:
        """The row as ``results.json`` holds it: plain dicts and lists, keys in field
        order, nested rows converted too."""
        out = {}
        for key, attr, omit in self._keys:
            value = getattr(self, attr)
            if value is None and omit:
                continue
            out[key] = _plain(value)
        return out


def _plain(value: Any) -> Any:
    if isinstance(value, Row):
        return value.to_json()
    if isinstance(value, list) and value and isinstance(value[0], Row):
        return [v.to_json() for v in value]
    return value


def row(cls: type) -> type:
    """Make ``cls`` a frozen, slotted dataclass row and record its JSON keys."""
    cls = dataclasses.dataclass(frozen=True, slots=True, eq=False)(cls)
    cls._keys = tuple((f.metadata.get("key") or f.name, f.name,
                       bool(f.metadata.get("omit_none"))) for f in dataclasses.fields(cls))
    cls._attr = {k: a for k, a, _ in cls._keys}
    return cls


def columns(cls: type) -> list[str]:
    """The keys of a row type in order: its ``results.json`` keys and CSV header."""
    return [k for k, _, _ in cls._keys]


def schema_fields(cls: type) -> list[tuple[str, Any, bool, bool]]:
    """(key, type, optional, omitted when None) per field of a row type, in order; the
    type is resolved (``int | None``, ``list[FlowRow]``), for deriving the schema."""
    hints = get_type_hints(cls)
    return [(f.metadata.get("key") or f.name, hints[f.name],
             bool(f.metadata.get("optional")), bool(f.metadata.get("omit_none")))
            for f in dataclasses.fields(cls)]


# ---- placement -----------------------------------------------------------------------
@row
class UsedLimit(Row):
    """How much of a per-instance resource is taken, and how much there is."""

    #: taken, in the unit of the resource (ENIs, branch ENIs, CPU units, MiB)
    used: float
    #: the instance's limit, same unit
    limit: float


@row
class Ports(Row):
    """The host ports an instance has given out."""

    #: static host ports taken, as ``"port/proto"`` strings
    static: list[str]
    #: ports of the dynamic range in use (count)
    dynamic_used: int


@row
class ServiceRow(Row):
    """A service at the end of the run."""

    #: the service's name in the scenario
    name: str
    #: awsvpc, bridge, host, none or default
    network_mode: str
    #: EC2, FARGATE or EXTERNAL
    launch_type: str = entry(optional=True)
    #: REPLICA or DAEMON
    scheduling: str = entry(optional=True)
    #: tasks wanted (count)
    desired: int = entry()
    #: tasks RUNNING, old and new revision, draining ones excluded (count)
    running: int = entry()
    #: of ``running``: tasks of an older revision, still running during a deployment (count)
    running_old: int = entry(optional=True)
    #: tasks of the current revision still wanted (count)
    pending: int = entry()
    #: tasks that no instance could take (count)
    unplaced: int = entry(optional=True)
    #: why no target ever turned healthy, or None
    health_check_blocked: str | None = entry(optional=True)
    #: placement failure reason -> unplaced tasks giving it (count)
    failures: dict[str, int] = entry()
    #: launch failure reason -> placed tasks that failed to start with it (count)
    launch_failures: dict[str, int] = entry(optional=True)
    #: stop reason -> tasks that started and were then stopped by ECS (ELB:UNHEALTHY: failed
    #: the load balancer's health checks) (count)
    stopped: dict[str, int] = entry(optional=True)
    #: when the service reached a steady state (s of simulated time), or None
    steady_at: float | None = entry(optional=True)
    #: when its last task still running turned RUNNING (s), or None
    last_running_at: float | None = entry(optional=True)
    #: capacity provider -> its tasks running at the end, draining ones excluded (count;
    #: only for a service with a capacity provider strategy)
    capacity_providers: dict[str, int] | None = entry(omit_none=True, default=None)


@row
class InstanceRow(Row):
    """A container instance at the end of the run."""

    #: EC2 instance id (i-...)
    id: str
    #: the capacity group (autoscaling group) it belongs to
    group: str = entry(optional=True)
    #: EC2 instance type, e.g. c5.large
    type: str = entry()
    #: availability zone
    az: str = entry(optional=True)
    #: the subnet of its primary ENI
    subnet: str = entry()
    #: ACTIVE, DRAINING, ...
    status: str = entry(optional=True)
    #: linux or windows
    os: str = entry(optional=True)
    #: whether ENI trunking is on
    trunked: bool = entry(optional=True)
    #: why it does not trunk (or what its branch limit rests on), or None
    trunk_reason: str | None = entry(optional=True)
    #: tasks running on it (count)
    tasks: int = entry()
    #: network mode -> tasks running (count)
    tasks_by_mode: dict[str, int] = entry(optional=True)
    #: network mode -> most tasks of that mode the instance can hold (count)
    task_limits: dict[str, int] = entry(optional=True)
    #: ENIs attached (primary and task ENIs) of the type's limit (ENIs)
    eni: UsedLimit = entry()
    #: branch ENIs of the trunk (ENIs)
    branch_eni: UsedLimit = entry()
    #: subnet IPs it holds: primary, trunk and task IPs (count)
    ips_used: int = entry()
    #: host ports given out (see :class:`Ports`)
    ports: Ports = entry()
    #: CPU reserved by tasks of the registered CPU (CPU units, 1024 per vCPU)
    cpu: UsedLimit = entry()
    #: memory reserved by tasks of the registered memory (MiB)
    memory: UsedLimit = entry()
    #: GPUs reserved by tasks of the type's GPUs (GPUs; only where the instance has GPUs
    #: or a task asked for some)
    gpu: UsedLimit | None = entry(omit_none=True, default=None)
    #: its conntrack tables (connection-level flows only; see :class:`ConntrackRow`)
    conntrack: ConntrackRow | None = entry(omit_none=True, default=None)
    #: its host namespace's ephemeral ports (connection-level flows only)
    ephemeral_ports: EphemeralPortsRow | None = entry(omit_none=True, default=None)
    #: ENA counter (``ethtool -S`` name) -> packets or connections it counted (count;
    #: connection-level or link-local flows only)
    ena: dict[str, int] | None = entry(omit_none=True, default=None)
    #: the allowances its ENA counters count against (only once the PPS, a bandwidth or
    #: the tracked-connections counter counted; see :class:`EnaAllowancesRow`)
    ena_allowances: EnaAllowancesRow | None = entry(omit_none=True, default=None)


@row
class EnaAllowancesRow(Row):
    """An instance's ENA allowances, what ``pps_allowance_exceeded``,
    ``bw_in_allowance_exceeded``, ``bw_out_allowance_exceeded`` and
    ``conntrack_allowance_exceeded`` count against: its type's defaults or its group's
    ``ena_allowances`` and ``conntrack_allowance`` (a key is left out where the run did not
    model that allowance on the instance)."""

    #: packets in and out together (packets/s)
    pps: float | None = entry(omit_none=True)
    #: inbound bandwidth, the refill of its credits (bytes/s)
    bandwidth_in: float | None = entry(omit_none=True)
    #: outbound bandwidth, the refill of its credits (bytes/s)
    bandwidth_out: float | None = entry(omit_none=True)
    #: connections the instance's ENIs track at once (connections)
    tracked_connections: int | None = entry(omit_none=True)


@row
class ConntrackRow(Row):
    """An instance's netfilter conntrack tables (its host namespace and its awsvpc tasks'
    namespaces, each against ``nf_conntrack_max``), from the warm-up on."""

    #: most entries in one of its tables at once (entries)
    peak: int
    #: nf_conntrack_max (entries per namespace)
    max: int = entry()
    #: new connections refused: "nf_conntrack: table full, dropping packet" (count)
    dropped: int = entry()


@row
class EphemeralPortsRow(Row):
    """The ephemeral ports of an instance's host namespace that outbound connections held
    (peak, of the range's size), and the connections refused for want of one."""

    #: most held at once (ports)
    peak: int
    #: ports in ip_local_port_range (ports)
    size: int = entry()
    #: connections refused for want of a source port, in any namespace of the
    #: instance: EADDRNOTAVAIL (count)
    exhausted: int = entry()


@row
class ConnectionsRow(Row):
    """A connection-level flow's connections (opened, completed and failed from the
    warm-up on; the peak over the run)."""

    #: connections that took their state (count)
    opened: int
    #: connections closed within the run (count)
    completed: int = entry()
    #: refusal name -> connections refused (count)
    failed: dict[str, int] = entry()
    #: most connections of the flow open at once (count)
    peak_open: int = entry()


@row
class NatGatewayRow(Row):
    """A NAT gateway's SNAT ports (connection-level flows only)."""

    #: the gateway's name in the scenario
    name: str
    #: most simultaneous connections to one destination (count; 55,000 at most)
    peak_connections_per_destination: int = entry()
    #: connections refused: CloudWatch ErrorPortAllocation (count)
    error_port_allocation: int = entry()


@row
class SubnetRow(Row):
    """A subnet's addresses at the end of the run."""

    #: the subnet's name in the scenario
    name: str
    #: e.g. 10.0.1.0/24
    cidr: str
    #: availability zone
    az: str = entry(optional=True)
    #: addresses AWS lets instances and tasks use: the block less 5 (count)
    usable: int = entry(optional=True)
    #: addresses held by instances and tasks (count)
    ips_used: int = entry()
    #: addresses still free (count)
    ips_free: int = entry()


@row
class UnplacedRow(Row):
    """A task that no instance took, and why."""

    #: task id
    task: str
    #: the service the task belongs to
    service: str
    #: the reason ECS gives (RESOURCE:ENI, ...), or None
    reason: str | None
    #: the instance that came closest, or None
    closest: str | None = entry(optional=True)
    #: instance id -> why it did not take the task
    why_not: dict[str, str] = entry(optional=True)


@row
class EventRow(Row):
    """A service event in ECS's wording, or an instance event."""

    #: when (s of simulated time, 6 decimals)
    t: float
    #: the service it concerns ("" for an instance event of no service), or None
    service: str | None
    #: ECS's wording
    message: str
    #: instance events only: drain, terminate, launch, register, launch-failed
    kind: str | None = entry(omit_none=True, default=None)
    #: instance events only: how many instances it concerns (count)
    instances: int | None = entry(omit_none=True, default=None)


@row
class DiscoveryRecord(Row):
    """What Cloud Map answers for a service at the end of the run."""

    #: service.namespace
    name: str
    #: A or SRV
    type: str
    #: an IP per A record, ``ip:port`` per SRV record, sorted
    records: list[str]


@row
class FargateRow(Row):
    """Fargate tasks, which run off the cluster, each with its own ENI."""

    #: tasks (count)
    tasks: int
    #: task ENIs (count)
    enis: int
    #: subnet IPs they hold (count)
    ips_used: int
    #: availability zone -> tasks (count)
    by_az: dict[str, int]
    #: subnet -> tasks (count)
    by_subnet: dict[str, int]
    #: CPU of their task sizes (CPU units)
    cpu: float
    #: memory of their task sizes (MiB)
    memory: float


@row
class PlacementBlock(Row):
    """Where every task went, and what the cluster said on the way."""

    #: one per service, in the scenario's order
    services: list[ServiceRow]
    #: every instance launched, in launch order
    instances: list[InstanceRow]
    #: every subnet of the VPC
    subnets: list[SubnetRow] = entry(optional=True)
    #: every task no instance took
    unplaced: list[UnplacedRow] = entry(optional=True)
    #: service and instance events, in time order
    events: list[EventRow] = entry(optional=True)
    #: Cloud Map records, when a service registers in one
    service_discovery: list[DiscoveryRecord] | None = entry(omit_none=True, default=None)
    #: Fargate tasks, when a service runs on Fargate
    fargate: FargateRow | None = entry(omit_none=True, default=None)


# ---- data plane ----------------------------------------------------------------------
@row
class Hops(Row):
    """Devices a delivered packet crossed (count; None when none was delivered)."""

    #: mean over delivered packets (devices)
    mean: float | None
    #: fewest (devices, a whole number)
    min: float | None
    #: most (devices, a whole number)
    max: float | None


@row
class LatencyHist(Row):
    """Counts of one-way latencies in log-spaced bins (20 a decade, from fixed edges between
    1 us and 10 s; empty bins at either end left out)."""

    #: bin edges (us), one more than the counts; bin i is [edges_us[i], edges_us[i+1])
    edges_us: list[float]
    #: delivered packets per bin (count)
    counts: list[int]


@row
class Latency(Row):
    """One-way latency of delivered packets (us; None when none was delivered)."""

    #: exact mean (us)
    mean: float | None
    #: median, within the histogram's 0.025 % (us)
    p50: float | None
    #: 90th percentile (us)
    p90: float | None
    #: 99th percentile (us)
    p99: float | None
    #: exact maximum (us)
    max: float | None
    #: exact minimum (us)
    min: float | None = entry(optional=True, default=None)
    #: 99.9th percentile (us)
    p999: float | None = entry(optional=True, default=None)
    #: the distribution, log-binned (None when none was delivered)
    hist: LatencyHist | None = entry(optional=True, default=None)


@row
class Blocked(Row):
    """Where and why a flow's packets could not reach their destination."""

    #: the device or hop that stopped them, or None (the task has no interface at all)
    at: str | None
    #: why, in AWS's terms
    reason: str


@row
class FlowRow(Row):
    """A flow's packets over the measured window."""

    #: the flow's name in the scenario
    name: str
    #: source: a service, ``client`` or ``internet``
    from_: str = entry(key="from")
    #: destination: a service, ``internet`` or ``imds``
    to: str = entry()
    #: direct, alb, nlb, service-connect, ...
    via: str = entry()
    #: packets sent (count)
    sent: int = entry()
    #: packets delivered (count)
    delivered: int = entry()
    #: packets dropped by a full queue (count)
    dropped: int = entry()
    #: packets with no route or no healthy target (count)
    unreachable: int = entry()
    #: packets still on their way when the run ended (count)
    in_flight: int = entry(optional=True)
    #: devices crossed per delivered packet (count)
    hops: Hops = entry()
    #: one-way latency of delivered packets (us)
    latency_us: Latency = entry()
    #: delivered packets per second of the window (packets/s)
    throughput_pps: float = entry()
    #: the device kinds of the typical route, first to last
    path: list[str] = entry()
    #: device kind -> mean time a packet spends in it (us)
    breakdown_us: dict[str, float] = entry(optional=True)
    #: where and why packets could not get there, or None
    blocked: Blocked | None = entry(optional=True, default=None)
    #: packets dropped by a named limit rather than a full queue, by its name (count;
    #: connection-level and link-local flows only; part of ``dropped``)
    drops: dict[str, int] | None = entry(omit_none=True, default=None)
    #: a connection-level flow's connections, or None for a packet flow
    connections: ConnectionsRow | None = entry(omit_none=True, default=None)


@row
class DeviceRow(Row):
    """A device (or a shared vCPU or card pool) that carried packets."""

    #: device id (e.g. i-.../eth0, eni-...)
    id: str
    #: veth, bridge, eni, cpu, ...
    kind: str
    #: the instance it is on, or None
    host: str | None
    #: packets served (count)
    packets: int
    #: busy fraction of the window (0..1, per server for a pool)
    utilization: float
    #: mean queueing wait per packet (us)
    mean_wait_us: float | None
    #: packets dropped by a full queue (count)
    drops: int


@row
class FlowLogRecord(Row):
    """A VPC flow-log record (the 14 fields of version 2), aggregated over the run."""

    #: the flow log format's version (2)
    version: int
    #: the AWS account owning the ENI (AWS's example account: one owns the scenario)
    account_id: str
    #: the ENI that logged it
    interface_id: str
    #: source IPv4 address as that ENI sees it
    srcaddr: str
    #: destination IPv4 address
    dstaddr: str
    #: source port (a port number)
    srcport: int
    #: destination port (a port number; the host port for bridge and default)
    dstport: int
    #: IANA protocol number (6 tcp, 17 udp)
    protocol: int
    #: packets (count)
    packets: int
    #: bytes (packets times the flow's packet size; 60 per health check's SYN)
    bytes: int
    #: first second of its packets (s of simulated time, whole seconds)
    start: int
    #: last second of its packets (s of simulated time, whole seconds)
    end: int
    #: ACCEPT or REJECT
    action: str
    #: OK: the record's data was logged
    log_status: str


# ---- deployments and timeline --------------------------------------------------------
@row
class TrafficShiftPoint(Row):
    """A step of a blue/green deployment's traffic shift."""

    #: s of simulated time (6 decimals)
    t: float
    #: share of production traffic sent to the replacement task set from then (percent)
    percent: int


@row
class DeploymentRow(Row):
    """One rollout of a service to a revision."""

    #: the service rolled out
    service: str
    #: task definition revision
    revision: int
    #: s of simulated time
    started_at: float
    #: s, or None while it had not finished
    finished_at: float | None
    #: IN_PROGRESS, COMPLETED, STALLED, FAILED or ROLLED_BACK
    status: str
    #: times new tasks were started after old ones stopped (count)
    waves: int
    #: fewest healthy tasks seen during it (count), or None
    min_healthy_observed: int | None
    #: time with no healthy task (s)
    zero_healthy_seconds: float
    #: reason -> tasks or placement passes that failed with it (count)
    failures: dict[str, int]
    #: CODE_DEPLOY only (absent for a rolling update): the deployment controller
    controller: str | None = entry(omit_none=True, default=None)
    #: CODE_DEPLOY only: each step of the traffic shift, when it was applied
    traffic_shift: list[TrafficShiftPoint] | None = entry(omit_none=True, default=None)
    #: CODE_DEPLOY only: s when the original task set was deleted (its tasks drained and
    #: stopped), or None
    original_terminated_at: float | None = entry(omit_none=True, default=None)


@row
class TimelinePoint(Row):
    """A service's task counts from ``t`` until its next point (counts of tasks)."""

    #: s of simulated time (6 decimals)
    t: float
    #: the service counted
    service: str
    #: RUNNING tasks of an older revision
    running_old: int
    #: RUNNING tasks of the current revision
    running_new: int
    #: tasks of the current revision still wanted
    pending: int
    #: tasks healthy behind the load balancer (or RUNNING without one)
    healthy: int
    #: tasks draining
    draining: int


@row
class TimeseriesRow(Row):
    """A flow's (``kind: flow``) or a queueing resource's (``kind: device``: an instance's
    vCPU pool or card link, a device's own server) figures in one time window."""

    #: flow or device
    kind: str
    #: the flow's name, or the resource's id
    name: str
    #: s of simulated time the window starts at (6 decimals)
    t_start_s: float
    #: the window's length (s; the last one may be shorter)
    window_s: float
    #: packets sent in the window (count; None for a resource)
    sent: int | None
    #: packets delivered in the window; a resource: packets served (count)
    delivered: int
    #: packets dropped by a full queue in the window (count)
    dropped: int
    #: packets with no route or healthy target, sent in the window (count; None for a
    #: resource)
    unreachable: int | None
    #: mean one-way latency of the packets delivered in the window; a resource: mean
    #: queueing wait (us; None without packets)
    latency_mean_us: float | None
    #: 99th percentile of those latencies (us; None without packets or for a resource)
    latency_p99_us: float | None
    #: a flow: packets in flight at the window's end; a resource: mean packets waiting or
    #: in service over the window, by Little's law (count)
    queue_len: float
    #: a resource's busy fraction of the window, per server (0..1; None for a flow)
    utilization: float | None


# ---- a variant -----------------------------------------------------------------------
@row
class SweepPoint(Row):
    """The sweep field's value as written and as the model read it."""

    #: the swept field, e.g. traffic[0].rate
    path: str
    #: as written in the scenario (e.g. "20000/s")
    value: Any
    #: as the model read it, in the model's unit (a number for plots), or None
    number: float | None


@row
class VariantResult(Row):
    """One variant's block of ``results.json``."""

    #: the variant's name (its group and sweep point)
    name: str
    #: the compare group (network mode, ...) it belongs to
    group: str = entry(optional=True)
    #: the sweep point, or None without a sweep
    sweep: SweepPoint | None = entry(optional=True)
    #: field path -> value this variant sets
    overrides: dict[str, Any] = entry(optional=True)
    #: when traffic started: every service steady, or the horizon (s)
    steady_at: float | None = entry(optional=True)
    #: whether every service became steady
    steady: bool = entry(optional=True)
    #: when the run ended (s)
    end: float = entry(optional=True)
    #: where every task went
    placement: PlacementBlock = entry()
    #: one per flow of the scenario, in its order
    flows: list[FlowRow] = entry()
    #: devices that carried or dropped packets, then the shared pools
    devices: list[DeviceRow] = entry()
    #: VPC flow-log records, with ``flow_logs: true`` only
    flow_logs: list[FlowLogRecord] | None = entry(omit_none=True)
    #: every service's deployments, in service order
    deployments: list[DeploymentRow] = entry(optional=True)
    #: each service's counts whenever they changed, in time order
    timeline: list[TimelinePoint] = entry(optional=True)
    #: each flow's and the busiest resources' figures per time window, in time order
    timeseries: list[TimeseriesRow] = entry(optional=True, default=())
    #: each NAT gateway's SNAT ports, with connection-level flows only
    nat_gateways: list[NatGatewayRow] | None = entry(omit_none=True, default=None)


@row
class OverheadUs(Row):
    """A flow's latency in a variant minus the baseline's (us)."""

    #: mean latency minus the baseline's (us)
    mean: float
    #: median minus the baseline's (us)
    p50: float
    #: 99th percentile minus the baseline's (us)
    p99: float


@row
class ComparisonRow(Row):
    """A flow in a variant against the baseline variant at the same sweep point."""

    #: the flow's name
    name: str
    #: the variant compared
    variant: str
    #: the baseline variant at the same sweep point
    baseline_variant: str = entry(optional=True)
    #: mean hops minus the baseline's (count), or None
    extra_hops: float | None = entry()
    #: latency minus the baseline's (us), or None
    latency_overhead_us: OverheadUs | None = entry()
    #: mean latency over the baseline's (ratio), or None
    latency_ratio: float | None = entry()
    #: device kind -> time minus the baseline's, nonzero only (us)
    overhead_by_kind_us: dict[str, float] | None = entry(omit_none=True, default=None)
    #: why there is no comparison
    note: str | None = entry(omit_none=True, default=None)


# ---- CSV tables ----------------------------------------------------------------------
@row
class PlacementRow(Row):
    """A row of placement.csv: an instance of a variant, nested fields flattened."""

    #: the variant's name
    variant: str
    #: instance id
    instance: str
    #: capacity group
    group: str
    #: EC2 instance type
    type: str
    #: availability zone
    az: str
    #: subnet of its primary ENI
    subnet: str
    #: whether ENI trunking is on
    trunked: bool
    #: tasks running (count)
    tasks: int
    #: ENIs attached (count)
    eni_used: int
    #: ENIs the type allows (count)
    eni_limit: int
    #: branch ENIs attached (count)
    branch_used: int
    #: branch ENIs the trunk allows (count)
    branch_limit: int
    #: subnet IPs held (count)
    ips_used: int
    #: static host ports, space-separated ``port/proto``
    static_ports: str
    #: dynamic-range ports in use (count)
    dynamic_ports_used: int
    #: CPU reserved by tasks (CPU units)
    cpu_used: float
    #: CPU registered (CPU units)
    cpu_limit: float
    #: memory reserved by tasks (MiB)
    memory_used: float
    #: memory registered (MiB)
    memory_limit: float

    @classmethod
    def of(cls, variant: str, inst: Mapping) -> PlacementRow:
        """The row of an instance (an :class:`InstanceRow` or its JSON dict)."""
        return cls(variant, inst["id"], inst["group"], inst["type"], inst["az"],
                   inst["subnet"], inst["trunked"], inst["tasks"], inst["eni"]["used"],
                   inst["eni"]["limit"], inst["branch_eni"]["used"],
                   inst["branch_eni"]["limit"], inst["ips_used"],
                   " ".join(inst["ports"]["static"]), inst["ports"]["dynamic_used"],
                   inst["cpu"]["used"], inst["cpu"]["limit"], inst["memory"]["used"],
                   inst["memory"]["limit"])


@row
class FlowTableRow(Row):
    """A row of flows.csv: a flow of a variant, nested fields flattened."""

    #: the variant's name
    variant: str
    #: the flow's name
    name: str
    #: source
    from_: str = entry(key="from")
    #: destination
    to: str = entry()
    #: direct, alb, nlb, ...
    via: str = entry()
    #: packets sent (count): sent = delivered + dropped + unreachable + in_flight
    sent: int = entry()
    #: packets delivered (count)
    delivered: int = entry()
    #: packets dropped (count)
    dropped: int = entry()
    #: packets with no way there (count)
    unreachable: int = entry()
    #: packets on their way at the end (count)
    in_flight: int = entry()
    #: mean devices crossed (count)
    hops_mean: float | None = entry()
    #: fewest devices crossed (count)
    hops_min: float | None = entry()
    #: most devices crossed (count)
    hops_max: float | None = entry()
    #: least one-way latency (us)
    latency_us_min: float | None = entry()
    #: mean one-way latency (us)
    latency_us_mean: float | None = entry()
    #: median (us)
    latency_us_p50: float | None = entry()
    #: 90th percentile (us)
    latency_us_p90: float | None = entry()
    #: 99th percentile (us)
    latency_us_p99: float | None = entry()
    #: 99.9th percentile (us)
    latency_us_p999: float | None = entry()
    #: maximum (us)
    latency_us_max: float | None = entry()
    #: delivered packets per second (packets/s)
    throughput_pps: float = entry()
    #: device kinds joined by " > "
    path: str = entry()
    #: where packets stopped, or None
    blocked_at: str | None = entry()
    #: why, or None
    blocked_reason: str | None = entry()

    @classmethod
    def of(cls, variant: str, f: Mapping) -> FlowTableRow:
        """The row of a flow (a :class:`FlowRow` or its JSON dict)."""
        hops, lat = f["hops"], f["latency_us"]
        blocked = f.get("blocked") or {}
        return cls(variant, f["name"], f["from"], f["to"], f["via"], f["sent"],
                   f["delivered"], f["dropped"], f["unreachable"], f["in_flight"],
                   hops["mean"], hops["min"], hops["max"], lat.get("min"), lat["mean"],
                   lat["p50"], lat["p90"], lat["p99"], lat.get("p999"), lat["max"],
                   f["throughput_pps"],
                   " > ".join(f["path"]), blocked.get("at"), blocked.get("reason"))


#: The first column of every CSV table: the variant a row belongs to.
VARIANT_COLUMN = "variant"


def table_columns(cls: type) -> list[str]:
    """The CSV header of a table of ``cls`` rows: ``variant`` first, then its keys."""
    keys = columns(cls)
    return keys if keys[0] == VARIANT_COLUMN else [VARIANT_COLUMN, *keys]
