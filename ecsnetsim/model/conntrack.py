"""Connection state an instance holds: netfilter conntrack tables, the ephemeral ports of
its host namespace, the ENA allowance counters of its ENIs; and a NAT gateway's ports.

Plain data with its invariants and no clock: the data plane opens and closes connections
(:mod:`ecsnetsim.net.connections`), the control plane asks whether a host port is held
(a dynamic host port that an outbound connection holds cannot be bound), and the rows of
the results read the counters. Everything here is per connection, never per packet.

Sources
-------
* **nf_conntrack_max**: one count per network namespace against one limit
  (``nf_conntrack_max`` "limits how many conntrack objects are allowed to exist in each
  namespace", Linux commit d532bcd0b269, 5.15, "netfilter: conntrack: sanitize table size
  default settings"). Its default, ``nf_conntrack_init_start()`` in
  ``net/netfilter/nf_conntrack_core.c`` since that commit, on a 64-bit kernel:
  buckets = RAM / 16384 / 8 (``sizeof(struct hlist_head)``), raised to 262144 above 4 GiB
  of RAM and to 65536 above 1 GiB, at least 1024; ``nf_conntrack_max`` = buckets (factor
  1). The kernel's documentation (``Documentation/networking/nf_conntrack-sysctl.rst``)
  says RAM / 16384 within 1024..262144 buckets; the code is what runs, and is used here.
  RAM is the instance's MemTotal (what the agent registers before its reservation).
  Assumption: an Amazon Linux 2023 kernel (6.1) or Amazon Linux 2 with kernel 5.15+.
* **Ephemeral ports**: ``net.ipv4.ip_local_port_range`` (32768-60999 by default; kernel
  ``Documentation/networking/ip-sysctl.rst``), per network namespace (a task's namespace
  starts with the default). A connection takes a port that no connection of its namespace
  uses to the same destination, found by scanning on from a random offset
  (``__inet_hash_connect``, RFC 6056 algorithm 3), and holds it for its lifetime; to one
  destination a namespace has at most the range's size open (then EADDRNOTAVAIL).
* **NAT gateway**: "A NAT gateway can support up to 55,000 simultaneous connections to
  each unique destination"; beyond that, ``ErrorPortAllocation`` (Amazon VPC User Guide,
  NAT gateways, "Troubleshoot NAT gateways" and CloudWatch metric ``ErrorPortAllocation``).
* **ENA allowances** (Amazon EC2 User Guide, "Monitor network performance for ENA
  settings on your EC2 instance"): ``conntrack_allowance_exceeded`` (tracked connections
  per instance, limit not published), ``linklocal_allowance_exceeded`` (1024 packets/s
  per ENI to link-local services: IMDS, the Amazon DNS server, the Time Sync Service).
"""

from __future__ import annotations

import math
from collections.abc import Callable

#: Most simultaneous connections a NAT gateway keeps to one destination (IP, port,
#: protocol): Amazon VPC User Guide, NAT gateway basics.
NAT_GATEWAY_PORTS_PER_DESTINATION = 55_000

#: Packets per second each ENI may send to link-local services (IMDS, DNS, NTP).
LINKLOCAL_PPS = 1024.0
#: The link-local token bucket's depth in seconds of its rate. AWS publishes no burst
#: size: an assumption (0.1 s: 102.4 packets), so that a steady 1024 packets/s passes and
#: a burst above it is dropped within a tenth of a second.
LINKLOCAL_BURST_S = 0.1

#: Tracked connections an instance's ENIs keep (AWS's conntrack allowance). AWS does not
#: publish it; its example ``ethtool -S`` outputs show 136,812 and 450,878 available, and
#: the calibration reference takes 200,000 per instance (low confidence, an assumption).
TRACKED_CONNECTIONS = 200_000

#: Linux's default ephemeral range (``ip_local_port_range``, 32768 60999).
LINUX_EPHEMERAL_RANGE = (32768, 60999)

GIB = 1024 ** 3


def kernel_conntrack_max(memtotal_bytes: int) -> int:
    """``nf_conntrack_max`` that a 64-bit Linux >= 5.15 computes for ``memtotal_bytes`` of
    RAM (``nf_conntrack_init_start``; factor 1, see the module's sources).

    >>> kernel_conntrack_max(8 * 1024**3 - 200 * 1024**2), kernel_conntrack_max(2 * 1024**3)
    (262144, 65536)
    >>> kernel_conntrack_max(512 * 1024**2)
    4096
    """
    buckets = memtotal_bytes // 16384 // 8
    if memtotal_bytes > 4 * GIB:
        buckets = 262144
    elif memtotal_bytes > GIB:
        buckets = 65536
    return max(1024, buckets)


class Counted:
    """A count with a limit and a peak that refuses beyond the limit and counts refusals:
    a NAT gateway's ports to one destination, an instance's tracked connections, a
    namespace's conntrack table (:class:`Table`)."""

    __slots__ = ("limit", "count", "peak", "refused")

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.count = 0
        self.peak = 0
        self.refused = 0

    def open(self, counted: bool) -> bool:
        """One more, or False (a refusal, counted when ``counted``) at the limit."""
        if self.count >= self.limit:
            if counted:
                self.refused += 1
            return False
        self.count += 1
        if self.count > self.peak:
            self.peak = self.count
        return True

    def close(self) -> None:
        self.count -= 1


class Table(Counted):
    """One namespace's conntrack table: entries now, the most at once, the new
    connections refused because it was full ("nf_conntrack: table full, dropping
    packet"): ``max`` is its limit and ``dropped`` its refusals, as the kernel names them.

    >>> t = Table("i-1 host", 2)
    >>> t.open(True), t.open(True), t.open(True), t.count, t.peak, t.dropped
    (True, True, False, 2, 2, 1)
    """

    __slots__ = ("name",)

    def __init__(self, name: str, limit: int) -> None:
        super().__init__(limit)
        self.name = name

    @property
    def max(self) -> float:
        return self.limit

    @property
    def dropped(self) -> int:
        return self.refused


class TokenBucket:
    """A rate allowance: ``rate`` per second with a depth of ``burst`` tokens; a packet
    that finds no token is dropped (not queued).

    >>> b = TokenBucket(10.0, 2.0)
    >>> [b.take(0.0) for _ in range(3)], b.take(0.1)
    ([True, True, False], True)
    """

    __slots__ = ("rate", "burst", "tokens", "at")

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = max(1.0, burst)
        self.tokens = self.burst
        self.at = 0.0

    def take(self, now: float) -> bool:
        tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if tokens >= 1.0:
            self.tokens = tokens - 1.0
            return True
        self.tokens = tokens
        return False


class PortPool:
    """The ephemeral ports held in one network namespace.

    A connection needs a port that no other connection of the namespace uses to the same
    destination (the 4-tuple must be unique; ``__inet_hash_connect`` lets connections to
    different destinations share a port): it scans on from a random offset (``uniform()``
    in [0, 1)) for one, and holds it until it closes. ``None`` when every port of the
    range is in use to that destination (EADDRNOTAVAIL). A port held to any destination
    cannot be bound by a listener (:meth:`holds`).

    >>> pool = PortPool((100, 102))
    >>> [pool.take(lambda: 0.0, "a") for _ in range(4)], pool.peak, pool.exhausted
    ([100, 101, 102, None], 3, 1)
    >>> pool.take(lambda: 0.0, "b"), len(pool.held)  # another destination shares port 100
    (100, 3)
    """

    __slots__ = ("range", "held", "since", "by_destination", "peak", "exhausted")

    def __init__(self, port_range: tuple[int, int]) -> None:
        self.range = port_range
        self.held: dict[int, int] = {}  # port -> connections holding it
        self.since: dict[int, float] = {}  # port -> when it was last taken while free
        self.by_destination: dict[object, set[int]] = {}
        self.peak = 0
        self.exhausted = 0

    def take(self, uniform: Callable[[], float], destination: object = None,
             now: float = 0.0) -> int | None:
        lo, hi = self.range
        span = hi - lo + 1
        used = self.by_destination.get(destination)
        if used is None:
            used = self.by_destination[destination] = set()
        if len(used) >= span:
            self.exhausted += 1
            return None
        start = int(uniform() * span)
        for i in range(span):
            port = lo + (start + i) % span
            if port not in used:
                used.add(port)
                held = self.held
                n = held.get(port, 0)
                held[port] = n + 1
                if not n:
                    self.since[port] = now
                if len(held) > self.peak:
                    self.peak = len(held)
                return port
        raise AssertionError("unreachable: a free port was counted")

    def release(self, port: int, destination: object = None) -> None:
        used = self.by_destination[destination]
        used.discard(port)
        if not used:
            del self.by_destination[destination]
        n = self.held[port] - 1
        if n:
            self.held[port] = n
        else:
            del self.held[port]
            del self.since[port]

    def holds(self, port: int) -> bool:
        return port in self.held

    def held_since(self, port: int) -> float | None:
        """When ``port`` was taken by the connections that hold it now, or None."""
        return self.since.get(port)


class InstanceConnections:
    """What one EC2 instance holds for connections: its host namespace's conntrack table,
    each awsvpc task's own, the host namespace's ephemeral ports, the instance's tracked
    connections (AWS's allowance) and its ENA counters."""

    __slots__ = ("instance_id", "conntrack_max", "host", "tasks", "ports", "task_ports",
                 "tracked", "linklocal", "ena")

    def __init__(self, instance_id: str, conntrack_max: int,
                 ephemeral_range: tuple[int, int], tracked_limit: float) -> None:
        self.instance_id = instance_id
        self.conntrack_max = conntrack_max
        self.host = Table(f"{instance_id} host namespace", conntrack_max)
        self.tasks: dict[str, Table] = {}
        self.ports = PortPool(ephemeral_range)
        #: each task namespace's own ephemeral ports (bridge and awsvpc senders)
        self.task_ports: dict[str, PortPool] = {}
        self.tracked = Counted(tracked_limit)
        self.linklocal: dict[str, TokenBucket] = {}  # ENI -> bucket
        #: ENA counters (``ethtool -S`` names) -> packets counted
        self.ena: dict[str, int] = {}

    def task_table(self, task_id: str) -> Table:
        """An awsvpc task's own namespace table (same ``nf_conntrack_max``)."""
        table = self.tasks.get(task_id)
        if table is None:
            table = self.tasks[task_id] = Table(f"task {task_id}", self.conntrack_max)
        return table

    def task_pool(self, task_id: str) -> PortPool:
        """A task namespace's ephemeral ports: a new namespace starts with the kernel's
        default ``ip_local_port_range``, whatever the host's is set to."""
        pool = self.task_ports.get(task_id)
        if pool is None:
            pool = self.task_ports[task_id] = PortPool(LINUX_EPHEMERAL_RANGE)
        return pool

    def exhausted(self) -> int:
        """Connections refused with no ephemeral port left, in any of its namespaces."""
        return self.ports.exhausted + sum(p.exhausted for p in self.task_ports.values())

    def tables(self) -> list[Table]:
        return [self.host, *self.tasks.values()]

    def count(self, counter: str) -> None:
        self.ena[counter] = self.ena.get(counter, 0) + 1

    def linklocal_bucket(self, eni: str) -> TokenBucket:
        bucket = self.linklocal.get(eni)
        if bucket is None:
            bucket = self.linklocal[eni] = TokenBucket(LINKLOCAL_PPS,
                                                       LINKLOCAL_PPS * LINKLOCAL_BURST_S)
        return bucket


#: Key of the connection state in an instance's ``mode_state`` (per-instance state that
#: is not a mode's own; see :func:`state_of`).
STATE_KEY = "connections"


def state_of(inst, make: Callable[[], InstanceConnections] | None = None
             ) -> InstanceConnections | None:
    """The connection state of ``inst``, made by ``make`` the first time (None when it has
    none and no ``make`` is given)."""
    states = inst.mode_state
    found = states.get(STATE_KEY)
    if found is None and make is not None:
        found = states[STATE_KEY] = make()
    return found


def held_host_port(inst, port: int) -> float | None:
    """When an outbound connection of ``inst``'s host namespace took ``port``, if one holds
    it now; else None."""
    state = state_of(inst)
    return None if state is None else state.ports.held_since(port)


def little(rate: float, lifetime: float) -> float:
    """Connections open at once on average (Little's law: L = lambda W).

    >>> little(2000.0, 30.0)
    60000.0
    """
    return rate * lifetime if math.isfinite(lifetime) else math.inf
