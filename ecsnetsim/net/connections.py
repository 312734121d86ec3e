"""Connection-level flows: connections that take state where Linux and AWS keep it.

A flow with ``connections: {rate, requests, hold}`` opens connections at ``rate`` (the
flow's ``arrival``: Poisson or constant). Each connection, when it opens, picks its
sender and target as a packet of the flow would, and takes, in the order its first packet
meets them on its route:

* a **source port** from its sender's namespace (the host's for a host-mode task, the
  task's own for bridge and awsvpc; unique per destination), and one more from the host
  namespace of an instance whose docker-proxy it crosses (the proxy connects to the
  container from there);
* a **conntrack entry** in each namespace that tracks it: the host namespace of every
  instance whose host stack, iptables NAT or forwarding it crosses (two where docker-proxy
  splices two connections), and an awsvpc task's own namespace (``nf_conntrack_max``
  per namespace; Windows hosts and Fargate micro-VMs track nothing of ours);
* a **tracked connection** of each instance whose ENI it crosses (AWS's conntrack
  allowance, shared by the instance's ENIs);
* an **SNAT port** at a NAT gateway, per destination (55,000 per destination).

The first one it cannot take refuses the connection: its first packet is dropped (counted
on the flow as ``dropped``), the refusal is counted under its name (``failed``) and on the
instance or gateway that refused it, and whatever it had taken is given back. An opened
connection sends ``requests`` packets ``interval`` apart, then holds everything for
``hold`` and gives it back. The work is per connection: each packet is one
:meth:`~ecsnetsim.net.engine.Engine.send`, as for a packet flow, and nothing is kept of a
closed connection.

Packets to link-local services (IMDS) pass each ENI's 1024 packets/s allowance, a token
bucket: a packet that finds no token is dropped and counted as
``linklocal_allowance_exceeded`` on its instance, never queued.

A connection through docker-proxy (a hairpin to a host port of the same instance) costs
the proxy an ``accept`` and a ``connect`` to the container: its first packet crosses the
proxy as a device of its own (``<proxy>/connect``, of kind ``docker_proxy``, on the
instance's vCPUs) that takes :data:`PROXY_CONNECT_CPU` more CPU and
:data:`PROXY_CONNECT_LATENCY` more delay than a packet of an open connection.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable

import numpy as np

from ..model import conntrack as ct
from .engine import Device, Route
from .traffic import Source

#: A packet the sender's ENI dropped before it left (an allowance exceeded).
DROPPED = object()

#: Device kinds of an instance's host namespace: a connection crossing one is tracked by
#: the host's conntrack (the agent's iptables rules load it there).
HOST_NAMESPACE_KINDS = frozenset({"host_stack", "iptables_nat", "host_forward",
                                  "docker_proxy"})
#: Device kinds of an instance's ENIs (where AWS tracks connections).
ENI_KINDS = frozenset({"eni", "trunk_eni", "vlan_branch"})

#: Names of the refusals, as Linux and AWS name them.
CONNTRACK_FULL = "nf_conntrack: table full, dropping packet"
PORTS_EXHAUSTED = "EADDRNOTAVAIL"
TRACKED_EXCEEDED = "conntrack_allowance_exceeded"
NAT_EXHAUSTED = "ErrorPortAllocation"
LINKLOCAL_EXCEEDED = "linklocal_allowance_exceeded"
UNREACHABLE = "unreachable"

#: Kinds of state a connection takes (the steps of :func:`steps_of`).
TABLE, TRACKED, PORT, NAT = range(4)

#: docker-proxy's work for a new connection (accept, then dial the container), beyond a
#: packet's: CPU seconds on the instance's vCPUs and seconds of delay. The calibration
#: reference's row #8b (per-connection setup: +50 [20-200] us of CPU, +100 [30-900] us of
#: latency; http_load nginx data, moby#47537; low confidence).
PROXY_CONNECT_CPU = 50e-6
PROXY_CONNECT_LATENCY = 100e-6


def _range(text: str | None, default: tuple[int, int]) -> tuple[int, int]:
    if not text:
        return default
    lo, hi = text.split("-")
    return int(lo), int(hi)


class NatGatewayPorts:
    """A NAT gateway's SNAT ports: one count per destination, 55,000 each."""

    __slots__ = ("name", "per_destination", "refused")

    def __init__(self, name: str) -> None:
        self.name = name
        self.per_destination: dict[object, ct.Counted] = {}
        self.refused = 0

    def open(self, dest: object, counted: bool) -> bool:
        slot = self.per_destination.get(dest)
        if slot is None:
            slot = self.per_destination[dest] = ct.Counted(ct.NAT_GATEWAY_PORTS_PER_DESTINATION)
        if slot.open(counted):
            return True
        if counted:
            self.refused += 1
        return False

    def close(self, dest: object) -> None:
        self.per_destination[dest].close()

    @property
    def peak(self) -> int:
        return max((s.peak for s in self.per_destination.values()), default=0)


class ConnectionState:
    """Every instance's and NAT gateway's connection state in one variant."""

    def __init__(self, scenario) -> None:
        self.groups = {g.name: g for g in scenario.cluster.instance_groups}
        self.gateways = {g.name: NatGatewayPorts(g.name) for g in scenario.vpc.nat_gateways}
        #: docker-proxy device -> the device a new connection's first packet crosses instead
        self.proxy_connect: dict[str, Device] = {}

    def connect_device(self, proxy: Device) -> Device:
        """The device a connection's first packet crosses instead of docker-proxy
        ``proxy``: the same proxy (its vCPUs, buffer and jitter), with the cost of
        accepting the connection and dialling the container added."""
        found = self.proxy_connect.get(proxy.name)
        if found is None:
            found = self.proxy_connect[proxy.name] = Device(
                f"{proxy.name}/connect", kind=proxy.kind, host=proxy.host,
                service=proxy.service + PROXY_CONNECT_CPU,
                latency=proxy.latency + PROXY_CONNECT_LATENCY, buffer=proxy.buffer,
                cpu=proxy.cpu, jitter=proxy.jitter)
        return found

    def of(self, inst) -> ct.InstanceConnections:
        """``inst``'s state, made from its group's settings the first time."""
        return ct.state_of(inst, lambda: self._new(inst))  # type: ignore[return-value]

    def _new(self, inst) -> ct.InstanceConnections:
        g = self.groups.get(inst.group)
        limit = g.conntrack_max if g is not None and g.conntrack_max else \
            ct.kernel_conntrack_max(memtotal_bytes(
                inst, g.agent.reserved_memory if g is not None else 0))
        default = (49152, 65535) if inst.os == "windows" else ct.LINUX_EPHEMERAL_RANGE
        tracked = g.conntrack_allowance if g is not None and g.conntrack_allowance else \
            ct.TRACKED_CONNECTIONS
        return ct.InstanceConnections(
            inst.id, limit, _range(g.ephemeral_port_range if g else None, default), tracked)


def memtotal_bytes(inst, reserved_mib: int) -> int:
    """The instance's MemTotal in bytes: the memory it registered plus
    ``ECS_RESERVED_MEMORY`` (the agent registers MemTotal less the reservation)."""
    return (inst.memory_limit + reserved_mib) * 1024 * 1024


# ---- what a route holds ------------------------------------------------------------------
# A step is (kind, object): PORT a PortPool, TABLE a Table, TRACKED the instance's
# InstanceConnections (its tracked count), NAT a NatGatewayPorts; in the order the
# connection's first packet meets them.

def steps_of(state: ConnectionState, walk: list[str], graph, instances: dict,
             src, dst) -> tuple[tuple, ...]:
    """The state a connection on ``walk`` takes, in order (see the module's list)."""
    steps: list[tuple] = []
    host_seen: set[str] = set()
    eni_seen: set[str] = set()
    awsvpc = {f"{t.id}/stack": t for t in (src, dst)
              if t is not None and t.mode == "awsvpc" and t.instance.platform == "EC2"}
    if src is not None and src.instance.platform == "EC2" and src.instance.os != "windows":
        s = state.of(src.instance)  # the sender's namespace: the host's, or its own
        steps.append((PORT, s.ports if src.mode == "host" else s.task_pool(src.id)))
    for node in walk:
        attrs = graph.nodes[node]
        kind, host = attrs["kind"], attrs["host"]
        inst = instances.get(host)
        if kind == "nat_gateway":
            steps.append((NAT, state.gateways[node.split("/", 1)[1]]))
            continue
        if node in awsvpc:
            steps.append((TABLE, state.of(inst).task_table(awsvpc[node].id)))
            continue
        if inst is None:
            continue
        if kind in ENI_KINDS and host not in eni_seen:
            eni_seen.add(host)
            s = state.of(inst)
            steps.append((TRACKED, s))
        elif kind in HOST_NAMESPACE_KINDS and inst.os != "windows":
            s = state.of(inst)
            if host not in host_seen:
                host_seen.add(host)
                steps.append((TABLE, s.host))
            if kind == "docker_proxy":  # the proxy's own connection to the container
                steps.append((PORT, s.ports))
                steps.append((TABLE, s.host))
    return tuple(steps)


class _Connection:
    """One open connection: what it took, to give back when it closes."""

    __slots__ = ("steps", "taken", "ports", "dest", "port_dest", "left", "found", "src")

    def __init__(self) -> None:
        self.steps: tuple = ()  # what its route takes (see steps_of)
        self.taken = 0  # how many of them it holds, in order
        self.ports: list[int] = []
        self.dest: object = None  # which of the flow's destination addresses
        self.port_dest: object = None  # the destination its source ports are unique to
        self.left = 0
        self.found = None  # the route's outcome (its engine route and flow-log records)
        self.src = None


class ConnectionStats:
    """A flow's connections: opened, closed, refused by name, most open at once."""

    __slots__ = ("opened", "completed", "failed", "open", "peak_open")

    def __init__(self) -> None:
        self.opened = 0
        self.completed = 0
        self.failed: Counter = Counter()
        self.open = 0
        self.peak_open = 0

    def row(self) -> dict:
        return {"opened": self.opened, "completed": self.completed,
                "failed": dict(sorted(self.failed.items())), "peak_open": self.peak_open}


class ConnectionSource:
    """Opens one flow's connections and sends their packets (see the module).

    ``choose()`` gives the (sender, target) of a new connection or None; ``outcome(src,
    dst)`` the compiled route's outcome (``.route``, ``.walk``); ``log(outcome)`` counts a
    packet's flow-log records; ``police(src, dst)`` says whether a packet may leave (the
    link-local allowance), or None when nothing polices it.
    """

    def __init__(self, env, engine, state: ConnectionState, graph, instances: dict,
                 flow, stats, rng: np.random.Generator, start: float, stop: float,
                 choose: Callable, outcome: Callable, log: Callable,
                 police: Callable | None = None) -> None:
        spec = flow.connections
        self.env, self.engine, self.state = env, engine, state
        self.graph, self.instances = graph, instances
        self.stats = stats
        self.conns = ConnectionStats()
        #: packets dropped by a named limit (not a full queue) -> count, from the warm-up on
        self.drops: Counter = Counter()
        self.size = flow.size
        self.requests = spec.requests
        self.interval = spec.interval
        self.hold = spec.hold
        self.destinations = spec.destinations
        #: the destination port a NAT gateway sees (the flow's; 443 to the internet)
        self.dport = flow.port or 443
        self.warmup = engine.warmup
        self.choose, self.outcome, self.log, self.police = choose, outcome, log, police
        self._steps: dict[int, tuple] = {}
        self._first_routes: dict[int, Route] = {}  # a route's outcome -> its first packet's
        self._loop = engine.loop
        self._schedule = engine.loop.schedule
        self.stop = stop
        draws = rng.spawn(2)
        self._uniform_block = _block_uniform(draws[0])
        self.rate = spec.rate
        self.constant = flow.arrival == "constant"
        if self.constant:
            self._i = max(0, math.ceil((env.now - start) * self.rate))
            self.start = start
            first = start + self._i / self.rate
        else:
            self._gaps = _block_exponential(draws[1], 1.0 / self.rate)
            first = max(start, env.now) + self._gaps()
        if first < stop:
            self._schedule(first, self._arrive)

    # ---- arrivals ---------------------------------------------------------------------
    def _arrive(self, _p, now: float) -> None:
        self.env.clock_to(now)
        self._open(now)
        if self.constant:
            self._i += 1
            t = self.start + self._i / self.rate
        else:
            t = now + self._gaps()
        if t < self.stop:
            self._schedule(t, self._arrive)

    def _open(self, now: float) -> None:
        counted = now >= self.warmup
        pair = self.choose()
        self._loop.rebound()
        found = None if pair is None else self.outcome(*pair)
        if found is None or found.route is None:
            if found is not None:
                self.log(found)
            self.engine.unreachable(self.stats)
            if counted:
                self.conns.failed[UNREACHABLE] += 1
            return
        conn = _Connection()
        conn.found = found
        conn.src = pair[0]
        steps = self._steps.get(id(found))
        if steps is None:
            steps = self._steps[id(found)] = steps_of(self.state, found.walk, self.graph,
                                                      self.instances, pair[0], pair[1])
        # the destination (address, port) a NAT gateway counts connections to
        conn.dest = (0 if self.destinations == 1 else
                     int(self._uniform_block() * self.destinations), self.dport)
        conn.port_dest = (conn.dest, None if pair[1] is None else pair[1].id)
        refused = self._take(conn, steps, counted)
        if refused is not None:
            self.log(found)  # its first packet left, and was dropped
            if counted:
                self.conns.failed[refused] += 1
                self.drops[refused] += 1
                self.stats.sent += 1
                self.stats.dropped += 1
            return
        if counted:
            self.conns.opened += 1
        c = self.conns
        c.open += 1
        if c.open > c.peak_open:
            c.peak_open = c.open
        conn.left = self.requests
        self._request(conn, now, self._first_route(found))

    def _take(self, conn: _Connection, steps: tuple, counted: bool) -> str | None:
        """Take every step's state in order; on the first refusal give back what was
        taken and return the refusal's name."""
        conn.steps = steps
        n = 0
        for kind, obj in steps:
            if kind == TABLE:
                if not obj.open(counted):
                    why = CONNTRACK_FULL
                    break
            elif kind == TRACKED:
                if not obj.tracked.open(counted):
                    if counted:
                        obj.count(TRACKED_EXCEEDED)
                    why = TRACKED_EXCEEDED
                    break
            elif kind == PORT:
                port = obj.take(self._uniform_block, conn.port_dest, self.env.now)
                if port is None:
                    why = PORTS_EXHAUSTED
                    break
                conn.ports.append(port)
            elif not obj.open(conn.dest, counted):  # NAT
                why = NAT_EXHAUSTED
                break
            n += 1
        else:
            conn.taken = n
            return None
        conn.taken = n
        self._give_back(conn)
        return why

    def _give_back(self, conn: _Connection) -> None:
        """Give back the state of the first ``conn.taken`` steps."""
        ports = conn.ports
        k = 0
        steps = conn.steps
        for i in range(conn.taken):
            kind, obj = steps[i]
            if kind == TABLE:
                obj.close()
            elif kind == TRACKED:
                obj.tracked.close()
            elif kind == PORT:
                obj.release(ports[k], conn.port_dest)
                k += 1
            else:
                obj.close(conn.dest)
        conn.taken = 0

    def _first_route(self, found) -> Route:
        """The route of a connection's first packet: ``found.route`` with each docker-proxy
        replaced by its connection setup (:meth:`ConnectionState.connect_device`)."""
        route = self._first_routes.get(id(found))
        if route is None:
            devices = found.route.devices
            first = tuple(self.state.connect_device(d) if d.kind == "docker_proxy" else d
                          for d in devices)
            route = found.route if first == devices else Route(first, found.route.stats)
            self._first_routes[id(found)] = route
        return route

    # ---- a connection's life ------------------------------------------------------------
    def _request(self, conn: _Connection, now: float, route: Route | None = None) -> None:
        self.env.clock_to(now)
        self._send(conn, now, conn.found.route if route is None else route)
        conn.left -= 1
        if conn.left > 0:
            self._schedule(now + self.interval, self._next, conn)
        else:
            self._schedule(now + self.hold, self._close, conn)

    def _next(self, conn: _Connection, now: float) -> None:
        self._request(conn, now)

    def _send(self, conn: _Connection, now: float, route: Route) -> None:
        police = self.police
        self.log(conn.found)
        if police is not None and not police(conn.src, now):
            if now >= self.warmup:
                self.drops[LINKLOCAL_EXCEEDED] += 1
                self.stats.sent += 1
                self.stats.dropped += 1
            return
        self.engine.send(route, self.size)

    def _close(self, conn: _Connection, now: float) -> None:
        self._give_back(conn)
        self.conns.open -= 1
        if now >= self.warmup:
            self.conns.completed += 1


def _block_uniform(rng: np.random.Generator, block: int = 4096) -> Callable[[], float]:
    """Uniform [0, 1) draws served one at a time from blocks of ``block``."""
    from .engine import sampler  # noqa: PLC0415

    return sampler(lambda n: rng.random(n), block)


def _block_exponential(rng: np.random.Generator, scale: float,
                       block: int = 4096) -> Callable[[], float]:
    from .engine import sampler  # noqa: PLC0415

    return sampler(lambda n: rng.exponential(scale, n), block)


class LinkLocalPolice:
    """Each ENI's link-local allowance (1024 packets/s to IMDS, DNS, NTP): ``allow(src,
    now)`` takes a token of the sender's ENI bucket, or counts
    ``linklocal_allowance_exceeded`` on its instance (from the warm-up on) and refuses."""

    def __init__(self, state: ConnectionState, eni_of: Callable, warmup: float) -> None:
        self.state = state
        self.eni_of = eni_of
        self.warmup = warmup
        self._buckets: dict[str, tuple] = {}

    def allow(self, src, now: float) -> bool:
        found = self._buckets.get(src.id)
        if found is None:
            s = self.state.of(src.instance)
            found = self._buckets[src.id] = (s.linklocal_bucket(self.eni_of(src)), s)
        bucket, s = found
        if bucket.take(now):
            return True
        if now >= self.warmup:
            s.count(LINKLOCAL_EXCEEDED)
        return False


class PolicedSource(Source):
    """A packet flow whose ``pick_route`` may answer :data:`DROPPED`: the packet counts as
    sent and dropped at its sender's ENI, and is not simulated."""

    __slots__ = ()

    def _emit(self) -> None:
        self.emitted += 1
        route = self.pick_route()
        self._loop.rebound()
        if route is None:
            self.engine.unreachable(self.stats)
        elif route is DROPPED:
            if self.env.now >= self.engine.warmup:
                self.stats.sent += 1
                self.stats.dropped += 1
        else:
            self._send(route, self.size_bytes)
