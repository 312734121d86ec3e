"""The packet engine: the data plane's hot path on a shared simpy clock.

A packet follows a compiled :class:`Route`, a tuple of :class:`Device` objects that ends in
a :class:`FlowStats` sink. Every device is a FIFO server with up to two stages:

* a **CPU stage** (``service`` seconds per packet) on a :class:`Server` pool: the device's
  own single server, or a pool shared with other devices (a host's vCPUs);
* a **link stage** (``size / bandwidth`` seconds) on a link: the device's own, or one
  shared with other devices (all ENIs of an instance share its network card);

followed by a fixed ``latency`` (pure delay, no queue). A device with neither stage is a
pure delay; it is still a hop and still counts packets. A finite ``buffer`` bounds the
packets waiting or in service at a device; a packet that arrives when it is full is
dropped and counted.

FIFO departures are computed directly, never with request/release round trips or a
process per packet: at the arrival event the CPU stage starts at ``max(arrival, earliest
free server of the pool)``; the link stage is reserved by an event at the moment the packet
reaches it, so a link shared by several devices serves packets in the order they reach it.
The latency is folded into the time of the next event. A one-stage device costs one simpy
event per hop, a two-stage device two.

The packet itself is the simpy event: it carries ``callbacks`` and a class-level
``_ok = True``, which is all :meth:`simpy.Environment.step` reads, and it is pushed on the
environment's queue with simpy's own event counter, so it interleaves with the control
plane's processes exactly like a :class:`simpy.Timeout`.

Statistics count only packets sent at or after the engine's ``warmup``; earlier packets
still load the devices.

Examples
--------
>>> import simpy
>>> env = simpy.Environment()
>>> engine = Engine(env)
>>> host_cpu = Server("i-1/cpu", servers=2)
>>> stack = Device("i-1/stack", kind="host_stack", service=2.5e-6, latency=1.5e-6, cpu=host_cpu)
>>> eni = Device("i-1/eni", kind="eni", latency=5e-6, bandwidth=1.25e9)
>>> flow = FlowStats("client->web")
>>> route = Route((stack, eni), flow)
>>> engine.send(route, size=1250)
>>> env.run()
>>> flow.delivered, flow.hops_max, round(flow.latencies[0] * 1e6, 6)
(1, 2, 10.0)
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Iterable, Sequence
from heapq import heappop, heappush, heapreplace
from typing import Any

import numpy as np

__all__ = ["Device", "Engine", "FlowStats", "Packet", "Route", "Server", "sampler"]

_NORMAL = 1  # simpy.events.NORMAL: the priority of ordinary (timeout-like) events


class Server:
    """A FIFO pool of ``servers`` identical servers shared by devices.

    Used for a host's vCPU pool (``servers`` = vCPUs) and for an instance's network-card
    link (``servers=1``, ``bandwidth`` in bytes/s, the default for every device on it).
    A packet takes the earliest free server at the moment it reaches the pool; ties in
    time go to the packet whose event was scheduled first.

    Parameters
    ----------
    name : str
        Identifier used in reports.
    servers : int
        Number of identical servers (>= 1).
    bandwidth : float, optional
        Bytes per second of a link; devices on this link without a bandwidth of their own
        use it.
    """

    __slots__ = ("name", "servers", "bandwidth", "devices", "_heap", "_engine")

    def __init__(self, name: str, servers: int = 1, bandwidth: float | None = None) -> None:
        if int(servers) != servers or servers < 1:
            raise ValueError(f"server pool {name!r}: servers must be an integer >= 1")
        if bandwidth is not None and not bandwidth > 0:
            raise ValueError(f"server pool {name!r}: bandwidth must be > 0 bytes/s")
        self.name = name
        self.servers = int(servers)
        self.bandwidth = None if bandwidth is None else float(bandwidth)
        self.devices: list[Device] = []
        """Devices that use this pool (as CPU or as link)."""
        self._engine: Engine | None = None
        self._heap = [-math.inf] * self.servers
        """Free times of the servers (a heap: the earliest first)."""

    def __repr__(self) -> str:
        return f"Server({self.name!r}, servers={self.servers})"

    @property
    def busy(self) -> float:
        """Busy seconds of counted packets, summed over the devices using this pool."""
        total = 0.0
        for d in self.devices:
            if d.cpu is self:
                total += d.cpu_busy
            if d.link is self:
                total += d.link_busy
        return total

    def utilization(self, window_seconds: float) -> float:
        """Busy time / (window x servers) over a measurement window."""
        if window_seconds <= 0:
            return 0.0
        return self.busy / (window_seconds * self.servers)

    def _attach(self, engine: Engine) -> None:
        if self._engine is engine:
            return
        if self._engine is not None:
            raise ValueError(f"server pool {self.name!r} is already used by another engine")
        self._engine = engine
        self._heap = [-math.inf] * self.servers


class Packet:
    """One packet in flight; it is also the simpy event that moves it along its route.

    ``path`` holds the callback lists of the route's devices followed by the sink's,
    ``hop`` is the index of the device the packet is at (so, on delivery, the number of
    devices it crossed), ``sent`` the send time and ``measured`` whether statistics count it.
    """

    __slots__ = ("callbacks", "path", "route", "hop", "size", "sent", "measured")
    _ok = True  # read by simpy.Environment.step: the event succeeded
    _value = None

    def __init__(self, route: Route, size: float, sent: float, measured: bool) -> None:
        self.route = route
        self.path = route._path
        self.hop = 0
        self.size = size
        self.sent = sent
        self.measured = measured

    def __repr__(self) -> str:
        return f"<Packet hop={self.hop} size={self.size} sent={self.sent}>"


class Device:
    """A hop: a FIFO device with an optional CPU stage, link stage, latency and buffer.

    Parameters
    ----------
    name : str
        Identifier used in reports (``devices.csv``'s ``id``).
    kind : str, optional
        Device kind (``veth``, ``docker0``, ``eni``, ...); defaults to ``name``.
    host : str, optional
        The instance the device belongs to, if any.
    service : float
        CPU seconds per packet. The CPU stage exists when ``service > 0`` or a
        ``service_sampler`` is set.
    latency : float
        Fixed delay in seconds after the device's stages, with no queue.
    bandwidth : float, optional
        Bytes per second; the link stage takes ``size / bandwidth``. Defaults to the
        ``link``'s bandwidth when a shared link is given.
    buffer : int, optional
        Packets the device holds (waiting or in service at its stages); an arrival that
        finds it full is dropped. ``None`` is unbounded.
    cpu : Server, optional
        Shared CPU pool (a host's vCPUs). Without it, a device with a CPU stage gets a
        single server of its own; a device without a CPU stage ignores it.
    link : Server, optional
        Shared link (an instance's network card). Without it, a device with a bandwidth
        gets a link of its own.
    service_sampler : callable, optional
        ``service_sampler() -> seconds``, called once per packet for a random service
        time (for example :func:`sampler` over a numpy Generator). Only devices that set
        it pay for the call.

    Notes
    -----
    Per-device statistics (counted packets only): ``packets`` accepted, ``drops``,
    ``cpu_busy`` and ``link_busy`` seconds, ``wait`` (seconds queued before its stages
    started). ``service``, ``latency``, ``bandwidth`` and ``service_sampler`` are read on
    every packet and may be changed during a run; which stages a device has (CPU, link)
    is fixed at construction.
    """

    __slots__ = (
        "name", "kind", "host", "service", "latency", "bandwidth", "buffer", "cpu", "link",
        "service_sampler", "packets", "drops", "cpu_busy", "link_busy", "wait",
        "_engine", "_env", "_q", "_eid", "_cbs", "_link_cbs", "_cpu_heap", "_link_heap",
        "_occ", "_n",
    )

    def __init__(
        self,
        name: str,
        *,
        kind: str | None = None,
        host: str | None = None,
        service: float = 0.0,
        latency: float = 0.0,
        bandwidth: float | None = None,
        buffer: int | None = None,
        cpu: Server | None = None,
        link: Server | None = None,
        service_sampler: Callable[[], float] | None = None,
    ) -> None:
        if not service >= 0:
            raise ValueError(f"device {name!r}: service must be >= 0 seconds")
        if not latency >= 0:
            raise ValueError(f"device {name!r}: latency must be >= 0 seconds")
        if buffer is not None and (int(buffer) != buffer or buffer < 1):
            raise ValueError(f"device {name!r}: buffer must be an integer >= 1 or None")
        if bandwidth is None and link is not None:
            bandwidth = link.bandwidth
            if bandwidth is None:
                raise ValueError(
                    f"device {name!r}: link {link.name!r} has no bandwidth and none is given")
        if bandwidth is not None and not bandwidth > 0:
            raise ValueError(f"device {name!r}: bandwidth must be > 0 bytes/s")
        self.name = name
        self.kind = kind if kind is not None else name
        self.host = host
        self.service = float(service)
        self.latency = float(latency)
        self.bandwidth = None if bandwidth is None else float(bandwidth)
        self.buffer = None if buffer is None else int(buffer)
        self.service_sampler = service_sampler
        has_cpu = self.service > 0 or service_sampler is not None
        if has_cpu and cpu is None:
            cpu = Server(f"{name}/cpu", 1)
        if self.bandwidth is not None and link is None:
            link = Server(f"{name}/link", 1, self.bandwidth)
        self.cpu = cpu if has_cpu else None
        self.link = link if self.bandwidth is not None else None
        for pool in {id(p): p for p in (self.cpu, self.link) if p is not None}.values():
            pool.devices.append(self)
        self._engine: Engine | None = None
        self._cbs: list[Callable[[Any], Any]] = []
        self._link_cbs: list[Callable[[Any], Any]] = []
        self.reset_stats()

    def __repr__(self) -> str:
        return f"Device({self.name!r}, kind={self.kind!r})"

    def reset_stats(self) -> None:
        """Zero the counters (the queue state is kept)."""
        self.packets = 0
        self.drops = 0
        self.cpu_busy = 0.0
        self.link_busy = 0.0
        self.wait = 0.0

    @property
    def busy(self) -> float:
        """Busy seconds (service + serialization) of counted packets."""
        return self.cpu_busy + self.link_busy

    @property
    def mean_wait(self) -> float:
        """Mean queueing delay (seconds) of counted packets before their stages started."""
        return self.wait / self.packets if self.packets else 0.0

    def utilization(self, window_seconds: float) -> float:
        """Busy time of counted packets / (window x servers), for the device's busier stage.

        For a device on a shared pool this is the device's share of the pool; the pool's
        own figure is :meth:`Server.utilization`.
        """
        if window_seconds <= 0:
            return 0.0
        u = 0.0
        if self.cpu is not None:
            u = self.cpu_busy / (window_seconds * self.cpu.servers)
        if self.link is not None:
            u = max(u, self.link_busy / (window_seconds * self.link.servers))
        return u

    def summary(self, window_seconds: float) -> dict[str, Any]:
        """One row of the device table: id, kind, host, packets, utilization, wait, drops."""
        return {
            "id": self.name,
            "kind": self.kind,
            "host": self.host,
            "packets": self.packets,
            "utilization": self.utilization(window_seconds),
            "mean_wait_us": self.mean_wait * 1e6,
            "drops": self.drops,
        }

    # ------------------------------------------------------------------ binding
    def _attach(self, engine: Engine) -> None:
        if self._engine is engine:
            return
        if self._engine is not None:
            raise ValueError(f"device {self.name!r} is already used by another engine")
        for pool in (self.cpu, self.link):
            if pool is not None:
                pool._attach(engine)
        env = engine.env
        self._engine = engine
        self._env = env
        self._q = env._queue
        self._eid = env._eid
        self._occ: list[float] = []
        self._n = 0
        self._cpu_heap = self.cpu._heap if self.cpu is not None else None
        self._link_heap = self.link._heap if self.link is not None else None
        if self.cpu is not None:
            stage = self._cpu if self.link is None else self._cpu_then_link
        elif self.link is not None:
            stage = self._link_only
        else:
            stage = self._delay
        self._cbs[:] = [stage]
        self._link_cbs[:] = [self._link]
        engine.devices.append(self)

    # ------------------------------------------------------------------ hot path
    # Each handler is a simpy callback run when the packet reaches a stage: it reserves
    # the stage, updates the counters of a measured packet and schedules the packet's next
    # event (the next device's arrival, with the latency folded into its time).
    #
    # Finite buffer: ``_n`` counts the packets accepted and not yet settled as gone, and
    # ``_occ`` is a heap of the times at which they leave the device (pushed at their last
    # stage, when that time is known; a packet between its two stages is counted in ``_n``
    # with no entry yet). An arrival first settles the departures due by now.

    def _drop(self, p: Packet) -> None:
        if p.measured:
            self.drops += 1
            p.route.stats.dropped += 1

    def _cpu(self, p: Packet) -> None:
        """CPU stage of a one-stage device; the packet then goes to the next device."""
        now = self._env._now
        buf = self.buffer
        if buf is not None:
            occ = self._occ
            n = self._n
            while occ and occ[0] <= now:
                heappop(occ)
                n -= 1
            if n >= buf:
                self._n = n
                self._drop(p)
                return
            self._n = n + 1
        heap = self._cpu_heap
        sampler = self.service_sampler
        s = self.service if sampler is None else sampler()
        free = heap[0]
        start = free if free > now else now
        done = start + s
        heapreplace(heap, done)
        if p.measured:
            self.packets += 1
            self.cpu_busy += s
            self.wait += start - now
        h = p.hop + 1
        p.hop = h
        p.callbacks = p.path[h]
        heappush(self._q, (done + self.latency, _NORMAL, next(self._eid), p))
        if buf is not None:
            heappush(self._occ, done)

    def _cpu_then_link(self, p: Packet) -> None:
        """CPU stage of a two-stage device; the packet then reaches the link at ``done``."""
        now = self._env._now
        buf = self.buffer
        if buf is not None:
            occ = self._occ
            n = self._n
            while occ and occ[0] <= now:
                heappop(occ)
                n -= 1
            if n >= buf:
                self._n = n
                self._drop(p)
                return
            self._n = n + 1
        heap = self._cpu_heap
        sampler = self.service_sampler
        s = self.service if sampler is None else sampler()
        free = heap[0]
        start = free if free > now else now
        done = start + s
        heapreplace(heap, done)
        if p.measured:
            self.packets += 1
            self.cpu_busy += s
            self.wait += start - now
        p.callbacks = self._link_cbs
        heappush(self._q, (done, _NORMAL, next(self._eid), p))

    def _link(self, p: Packet) -> None:
        """Link stage after the CPU stage; the packet then goes to the next device."""
        now = self._env._now
        heap = self._link_heap
        s = p.size / self.bandwidth
        free = heap[0]
        start = free if free > now else now
        done = start + s
        heapreplace(heap, done)
        if p.measured:
            self.link_busy += s
            self.wait += start - now
        h = p.hop + 1
        p.hop = h
        p.callbacks = p.path[h]
        heappush(self._q, (done + self.latency, _NORMAL, next(self._eid), p))
        if self.buffer is not None:
            heappush(self._occ, done)

    def _link_only(self, p: Packet) -> None:
        """Link stage of a device without a CPU stage."""
        now = self._env._now
        buf = self.buffer
        if buf is not None:
            occ = self._occ
            n = self._n
            while occ and occ[0] <= now:
                heappop(occ)
                n -= 1
            if n >= buf:
                self._n = n
                self._drop(p)
                return
            self._n = n + 1
        heap = self._link_heap
        s = p.size / self.bandwidth
        free = heap[0]
        start = free if free > now else now
        done = start + s
        heapreplace(heap, done)
        if p.measured:
            self.packets += 1
            self.link_busy += s
            self.wait += start - now
        h = p.hop + 1
        p.hop = h
        p.callbacks = p.path[h]
        heappush(self._q, (done + self.latency, _NORMAL, next(self._eid), p))
        if buf is not None:
            heappush(self._occ, done)

    def _delay(self, p: Packet) -> None:
        """A device without stages: a pure delay of ``latency`` (it never holds a packet)."""
        if p.measured:
            self.packets += 1
        h = p.hop + 1
        p.hop = h
        p.callbacks = p.path[h]
        heappush(self._q, (self._env._now + self.latency, _NORMAL, next(self._eid), p))


class FlowStats:
    """Per-flow counters and one-way latencies: the sink at the end of every route.

    ``sent = delivered + dropped + unreachable + in_flight`` holds at any time. Only packets
    sent at or after the engine's warmup are counted.

    Parameters
    ----------
    name : str
        Flow name used in reports.
    record : bool
        Also keep each delivered packet's send and delivery times (``send_times``,
        ``delivery_times``, in delivery order), for traces and exact checks.
    """

    __slots__ = (
        "name", "record", "sent", "delivered", "dropped", "unreachable", "delivered_bytes",
        "hops_sum", "hops_min", "hops_max", "latencies", "send_times", "delivery_times",
        "_cbs", "_engine", "_env",
    )

    def __init__(self, name: str = "flow", *, record: bool = False) -> None:
        self.name = name
        self.record = record
        self._engine: Engine | None = None
        self._cbs: list[Callable[[Any], Any]] = []
        self.reset()

    def __repr__(self) -> str:
        return (f"FlowStats({self.name!r}, sent={self.sent}, delivered={self.delivered}, "
                f"dropped={self.dropped}, unreachable={self.unreachable})")

    def reset(self) -> None:
        """Zero every counter and forget the recorded latencies."""
        self.sent = 0
        self.delivered = 0
        self.dropped = 0
        self.unreachable = 0
        self.delivered_bytes = 0
        self.hops_sum = 0
        self.hops_min = 0
        self.hops_max = 0
        self.latencies = array("d")
        """One-way latencies (seconds) of delivered packets, in delivery order."""
        self.send_times = array("d")
        self.delivery_times = array("d")

    @property
    def in_flight(self) -> int:
        """Counted packets sent and not yet delivered, dropped or found unreachable."""
        return self.sent - self.delivered - self.dropped - self.unreachable

    @property
    def hops_mean(self) -> float:
        return self.hops_sum / self.delivered if self.delivered else math.nan

    def _attach(self, engine: Engine) -> None:
        if self._engine is engine:
            return
        if self._engine is not None:
            raise ValueError(f"flow {self.name!r} is already used by another engine")
        self._engine = engine
        self._env = engine.env
        self._cbs[:] = [self._deliver_recorded if self.record else self._deliver]
        engine.flows.append(self)

    def _deliver(self, p: Packet) -> None:
        if p.measured:
            lat = self._env._now - p.sent
            self.latencies.append(lat)
            h = p.hop
            if self.delivered:
                if h < self.hops_min:
                    self.hops_min = h
                elif h > self.hops_max:
                    self.hops_max = h
            else:
                self.hops_min = self.hops_max = h
            self.delivered += 1
            self.hops_sum += h
            self.delivered_bytes += p.size

    def _deliver_recorded(self, p: Packet) -> None:
        if p.measured:
            self.send_times.append(p.sent)
            self.delivery_times.append(self._env._now)
            self._deliver(p)

    def latency_summary_us(self) -> dict[str, float | None]:
        """Mean, p50, p90, p99 and max one-way latency in microseconds (None if empty)."""
        if not self.latencies:
            return {"mean": None, "p50": None, "p90": None, "p99": None, "max": None}
        a = np.frombuffer(self.latencies, dtype=np.float64) * 1e6
        p50, p90, p99 = np.percentile(a, [50, 90, 99])
        return {"mean": float(a.mean()), "p50": float(p50), "p90": float(p90),
                "p99": float(p99), "max": float(a.max())}

    def summary(self, window_seconds: float) -> dict[str, Any]:
        """Counters, hop counts, latency percentiles (us) and throughput over a window."""
        d = self.delivered
        return {
            "name": self.name,
            "sent": self.sent,
            "delivered": d,
            "dropped": self.dropped,
            "unreachable": self.unreachable,
            "in_flight": self.in_flight,
            "hops": {"mean": self.hops_sum / d if d else None,
                     "min": self.hops_min if d else None,
                     "max": self.hops_max if d else None},
            "latency_us": self.latency_summary_us(),
            "throughput_pps": d / window_seconds if window_seconds > 0 else 0.0,
        }


class Route:
    """A compiled path: the devices a packet crosses, in order, and the flow it counts on.

    Parameters
    ----------
    devices : sequence of Device
        The hops, first to last. A device may appear on many routes (and many flows).
    stats : FlowStats
        Where delivered, dropped and in-flight packets are counted.
    """

    __slots__ = ("devices", "stats", "_path", "_first", "_engine")

    def __init__(self, devices: Iterable[Device], stats: FlowStats) -> None:
        self.devices: tuple[Device, ...] = tuple(devices)
        self.stats = stats
        self._engine: Engine | None = None
        self._path = tuple(d._cbs for d in self.devices) + (stats._cbs,)

    def __len__(self) -> int:
        return len(self.devices)

    def __repr__(self) -> str:
        return f"Route({[d.name for d in self.devices]!r}, {self.stats.name!r})"

    @property
    def kinds(self) -> list[str]:
        """Device kinds in order (the ``path`` column of a flow)."""
        return [d.kind for d in self.devices]

    def _attach(self, engine: Engine) -> None:
        if self._engine is not None and self._engine is not engine:
            raise ValueError("route is already used by another engine")
        for d in self.devices:
            d._attach(engine)
        self.stats._attach(engine)
        self._first = self._path[0][0]
        self._engine = engine


class Engine:
    """Moves packets over routes on a simpy environment shared with the control plane.

    Parameters
    ----------
    env : simpy.Environment
        The simulation clock.
    warmup : float
        Statistics (flow and device) count only packets sent at or after this time.
    """

    def __init__(self, env: Any, warmup: float = 0.0) -> None:
        if not warmup >= 0:
            raise ValueError("warmup must be >= 0 seconds")
        if not (hasattr(env, "_queue") and hasattr(env, "_eid") and hasattr(env, "_now")):
            raise TypeError("env must be a simpy 4 Environment")
        self.env = env
        self.warmup = float(warmup)
        self.devices: list[Device] = []
        """Devices in the order the engine first used them."""
        self.flows: list[FlowStats] = []
        """Flows in the order the engine first used them."""

    def attach(self, item: Route | FlowStats) -> None:
        """Bind a route (its devices and sink) or a flow to this engine.

        :meth:`send` binds a route on first use; attaching a flow up front lists it in
        :attr:`flows` even if none of its packets is ever routed.
        """
        if isinstance(item, FlowStats):
            item._attach(self)
        elif item._engine is not self:
            item._attach(self)

    def send(self, route: Route, size: float = 1500) -> None:
        """Inject one packet of ``size`` bytes at the route's first device at ``env.now``."""
        if route._engine is not self:
            route._attach(self)
        now = self.env._now
        measured = now >= self.warmup
        if measured:
            route.stats.sent += 1
        route._first(Packet(route, size, now, measured))

    def unreachable(self, flow_stats: FlowStats) -> None:
        """Count one packet that could not be routed (it is never simulated)."""
        if self.env._now >= self.warmup:
            flow_stats.sent += 1
            flow_stats.unreachable += 1

    def window(self, end: float | None = None) -> float:
        """Length of the measurement window ``[warmup, end]`` (``end`` defaults to now)."""
        end = self.env.now if end is None else end
        return max(0.0, end - self.warmup)

    def device_table(self, end: float | None = None) -> list[dict[str, Any]]:
        """One summary row per device used so far."""
        w = self.window(end)
        return [d.summary(w) for d in self.devices]

    def flow_table(self, end: float | None = None) -> list[dict[str, Any]]:
        """One summary row per flow used so far."""
        w = self.window(end)
        return [f.summary(w) for f in self.flows]


def sampler(draw: Callable[[int], Sequence[float] | np.ndarray],
            block: int = 4096) -> Callable[[], float]:
    """A zero-argument callable returning one value per call from vectorised draws.

    ``draw(n)`` must return ``n`` values (a numpy array or a sequence); they are drawn
    ``block`` at a time and served in order, so the stream is the same as drawing them one
    by one from the same generator call sequence.

    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> s = sampler(lambda n: rng.exponential(2e-6, n))
    >>> s() > 0
    True
    """
    from itertools import chain

    def blocks():
        while True:
            yield np.asarray(draw(block), dtype=np.float64).tolist()

    return chain.from_iterable(blocks()).__next__
