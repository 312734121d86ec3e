"""The packet engine: the data plane's hot path, on its own event loop beside simpy's.

A packet follows a compiled :class:`Route`, a tuple of :class:`Device` objects that ends in
a :class:`FlowStats` sink. Every device is a FIFO server with up to two stages:

* a **CPU stage** (``service`` seconds per packet) on a :class:`Server` pool: the device's
  own single server, or a pool shared with other devices (a host's vCPUs);
* a **link stage** (``size / bandwidth`` seconds) on a link: the device's own, or one
  shared with other devices (all ENIs of an instance share its network card);

followed by a ``latency`` (pure delay, no queue), plus a random ``jitter`` per packet when
the device has one (:class:`Draws`: values served from blocks of numpy draws; see
:mod:`ecsnetsim.calibration.jitter`). A device with neither stage is a pure delay; it is still a
hop and still counts packets. A finite ``buffer`` bounds the
packets waiting or in service at a device; a packet that arrives when it is full is
dropped and counted.

FIFO departures are computed directly, never with request/release round trips or a
process per packet: at the arrival event the CPU stage starts at ``max(arrival, earliest
free server of the pool)``; the link stage is reserved by an event at the moment the packet
reaches it, so a link shared by several devices serves packets in the order they reach it.
The latency is folded into the time of the next event. A one-stage device costs one event
per hop, a two-stage device two.

Two clocks, one order
---------------------
Packet events do not go through simpy: they live on a heap of their own
(:class:`PacketLoop`, one per environment) as ``(time, eid, handler, packet)`` entries,
and a tight loop pops them and calls the handler, with none of simpy's per-event work
(``step``, the callback list, the ``_ok`` check). The control plane (deployments, health
checks, scaling) stays on simpy, in an :class:`Environment`: a subclass of
``simpy.Environment`` that owns its event loop through simpy's public API (its own
``schedule``, ``step`` and ``peek``). The two queues interleave exactly as if they were
one: ``eid`` comes from the environment's event counter and a packet event has simpy's
``NORMAL`` priority, so ``(time, priority, eid)`` orders every event of both queues the
way one simpy queue would. A step runs, in one batch, every packet event that comes
before the next simpy event, then that simpy event. So ``env.run()`` drives both, and a
packet sent at time ``t`` sees the control plane's state at ``t``.

Sources run in the loop too (:class:`SourceCore`): a packet's send, the choice of its
sender and target among a service's healthy tasks (:class:`Choice`, the same draws in the
same order as the data plane's Python choice) and the lookup of its route in a table per
(sender, target), emptied when a service's targets change (:class:`TargetSet`), are part
of the compiled loop; Python runs only to compile a route the first time.

Compiled and pure Python
------------------------
The per-packet work (the loop, :class:`Packet`, and the stages of servers, devices, flows
and the engine) lives in a core module that the public classes here derive from: the
compiled ``_cengine`` (Cython; C structs on a C heap, C counters, stages called as C
methods) when the package was built with a C compiler, else the pure-Python
``_pyengine``. They run the same algorithm with the same floating-point operations in the
same order, so results are identical to the last bit; the compiled one is several times
faster. :data:`COMPILED` says which is in use; ``ECSNETSIM_PURE_PYTHON=1`` in the
environment at import forces pure Python. A route's ``_path`` may hold any callable
``handler(packet, now)``: the compiled loop calls the stages it knows directly and any
other callable as Python.

Statistics count only packets sent at or after the engine's ``warmup``; earlier packets
still load the devices. Latencies go into a :class:`LatencyHistogram` of fixed size, so a
run's memory does not grow with its packets; percentiles keep a relative error of at most
:data:`LatencyHistogram.REL_ERROR` (0.025 %).

Examples
--------
>>> env = Environment()
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
import os
import sys
import warnings
from array import array
from collections.abc import Callable, Iterable, Sequence
from heapq import heappop, heappush
from typing import Any

import numpy as np
import simpy
from simpy.core import EmptySchedule, StopSimulation
from simpy.events import NORMAL, URGENT

from . import _pyengine as _core

if os.environ.get("ECSNETSIM_PURE_PYTHON", "") in ("", "0"):
    try:
        from . import _cengine  # type: ignore[attr-defined]
    except ImportError:  # not built (no C compiler or no Cython at install time)
        pass
    else:
        if getattr(_cengine, "CORE_VERSION", None) == _core.CORE_VERSION:
            _core = _cengine  # noqa: F811
        else:  # built from an older _cengine.pyx than the one beside it
            warnings.warn("ecsnetsim: the compiled packet engine is older than its source: "
                          "running the pure-Python engine, several times slower (`pip "
                          "install -e .` builds it again)", RuntimeWarning, stacklevel=2)

COMPILED: bool = _core.__name__.endswith("_cengine")
"""Whether the packet engine's hot path is the compiled one (``_cengine``) or pure Python.

Both give the same results; ``ECSNETSIM_PURE_PYTHON=1`` in the environment at import
forces pure Python."""

PacketLoop = _core.PacketLoop
Packet = _core.Packet
Draws = _core.Draws
SourceCore = _core.SourceCore
Choice = _core.Choice
TargetSet = _core.TargetSet

__all__ = ["ALLOWANCE_COUNTERS", "COMPILED", "Allowance", "Choice", "Device", "Draws", "Engine",
           "Environment", "FlowStats", "LatencyHistogram", "Packet", "PacketLoop", "Route",
           "Server", "SourceCore", "TargetSet", "sampler"]


class Environment(simpy.Environment):
    """A simpy environment whose event loop also carries the packet engine's events.

    Processes, timeouts and every other simpy event work as in :class:`simpy.Environment`
    (they reach the loop through the public :meth:`schedule`); this subclass owns the
    loop, as :class:`simpy.rt.RealtimeEnvironment` does, by overriding :meth:`schedule`,
    :meth:`step` and :meth:`peek`. Simpy events wait on a heap of this class's own
    (``(time, priority, eid, event)``, simpy's order); packet events on the
    :attr:`packet_loop`'s, with ``eid`` from the same counter, so the two interleave as
    if they were one queue. ``step`` is the loop's: it runs, in one batch, every packet
    event that comes before the next simpy event, then that simpy event
    (:meth:`step_event`, simpy's own step written with the public event API).

    The clock is ``now`` (simpy's property over ``_now``; the loop and the sources move
    it as they run events). Nothing of simpy's private state is read or replaced.

    >>> env = Environment()
    >>> def tick(env):
    ...     yield env.timeout(2)
    >>> _ = env.process(tick(env))
    >>> env.run()
    >>> env.now
    2
    """

    def __init__(self, initial_time: float = 0) -> None:
        super().__init__(initial_time)
        self._events: list[tuple] = []
        self.packet_loop = PacketLoop(self, self._events)
        """The packet events' loop (:class:`PacketLoop`), shared by every engine here."""
        self._next_eid = self.packet_loop.next_eid

    def step(self) -> None:
        """Run the packet events due before the next simpy event, or else that event."""
        self.packet_loop.step()

    def peek(self) -> float:
        """Time of the next event of either kind (``inf`` if there is none)."""
        return self.packet_loop.peek()

    def schedule(self, event: simpy.Event, priority: int = NORMAL, delay: float = 0) -> None:
        """Schedule a simpy ``event`` with ``priority`` after ``delay`` (simpy's contract)."""
        heappush(self._events, (self._now + delay, priority, self._next_eid(), event))

    def clock_to(self, now: float) -> None:
        """Move the clock to ``now``, the time of the packet event being run: packet
        events run in batches without moving it one by one, and a callback that reads
        ``now`` (or starts simpy work) moves it first."""
        self._now = now

    def step_event(self) -> None:
        """Process the next simpy event (simpy's ``Environment.step``, through the public
        event API): raise :exc:`simpy.core.EmptySchedule` if there is none."""
        try:
            self._now, _, _, event = heappop(self._events)
        except IndexError:
            raise EmptySchedule from None
        callbacks, event.callbacks = event.callbacks, None
        try:
            for callback in callbacks:
                callback(event)
        except StopSimulation:
            # run(until=...) stopped: the other callbacks run when the simulation resumes
            event.callbacks = callbacks[callbacks.index(callback) + 1:]
            self.schedule(event, URGENT - 1)  # before anything else, as simpy does
            raise
        if not event.ok and not event.defused:
            value = event.value
            exc = type(value)(*value.args)
            exc.__cause__ = value
            raise exc



class Server(_core.ServerCore):
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

    __slots__ = ("name", "bandwidth", "devices", "_engine")

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
        self._reset_free()

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
        self._reset_free()




class Allowance(_core.AllowanceCore):
    """An instance's ENA allowances, as its card enforces them on every packet of every
    ENI: a packets-per-second allowance for both directions together and a bandwidth
    allowance per direction, each a token bucket (``rate`` per second, ``depth`` tokens).
    A packet that finds too few tokens in either is dropped, never queued, and counted
    under the ``ethtool -S`` name of the first it exceeds (``pps_allowance_exceeded``,
    ``bw_in_allowance_exceeded``, ``bw_out_allowance_exceeded``; packets sent from the
    warm-up on), per flow too (:meth:`drops_of`).

    Parameters
    ----------
    name : str
        Identifier used in reports (the instance).
    pps, pps_depth : float, optional
        Packets per second (in and out together) and the bucket's depth in packets;
        ``None``: no PPS allowance.
    bw_in, bw_in_depth, bw_out, bw_out_depth : float, optional
        Bytes per second and depth in bytes of the inbound and outbound allowances;
        ``None``: none.

    Examples
    --------
    >>> env = Environment()
    >>> engine = Engine(env)
    >>> card = Allowance("i-1", pps=1000.0, pps_depth=2.0)
    >>> eni = Device("i-1/eni:rx", kind="eni", latency=5e-6, allowance=card)
    >>> flow = FlowStats("in")
    >>> for _ in range(3):
    ...     engine.send(Route((eni,), flow), size=100)
    >>> env.run()
    >>> flow.delivered, flow.dropped, card.counters()["pps_allowance_exceeded"]
    (2, 1, 1)
    """

    __slots__ = ("name",)

    def __init__(self, name: str, pps: float | None = None, pps_depth: float = 1.0,
                 bw_in: float | None = None, bw_in_depth: float = 0.0,
                 bw_out: float | None = None, bw_out_depth: float = 0.0) -> None:
        self.name = name
        self.pps_rate, self.pps_limit = _bucket(name, "pps", pps, pps_depth, 1.0)
        self.in_rate, self.in_limit = _bucket(name, "bw_in", bw_in, bw_in_depth, 0.0)
        self.out_rate, self.out_limit = _bucket(name, "bw_out", bw_out, bw_out_depth, 0.0)
        self.pps_tat = self.in_tat = self.out_tat = -math.inf  # full buckets
        self.pps_allowance_exceeded = 0
        self.bw_in_allowance_exceeded = 0
        self.bw_out_allowance_exceeded = 0
        self.by_flow: dict[Any, list[int]] = {}

    def __repr__(self) -> str:
        return f"Allowance({self.name!r})"

    def counters(self) -> dict[str, int]:
        """The packets each allowance refused, by their ``ethtool -S`` names."""
        return dict(zip(ALLOWANCE_COUNTERS, (self.pps_allowance_exceeded,
                                             self.bw_in_allowance_exceeded,
                                             self.bw_out_allowance_exceeded), strict=True))

    def drops_of(self, stats: FlowStats) -> dict[str, int]:
        """The packets of the flow ``stats`` that each allowance refused (nonzero only)."""
        found = self.by_flow.get(stats) or [0, 0, 0]
        return {name: n for name, n in zip(ALLOWANCE_COUNTERS, found, strict=True) if n}


#: The ENA counters of :class:`Allowance`, as ``ethtool -S`` names them.
ALLOWANCE_COUNTERS = ("pps_allowance_exceeded", "bw_in_allowance_exceeded",
                      "bw_out_allowance_exceeded")


def _bucket(name: str, what: str, rate: float | None, depth: float,
            least: float) -> tuple[float, float]:
    """A bucket's ``(rate, limit)``: its depth in seconds of its rate (GCRA's
    tolerance); no allowance is an infinite rate, which never refuses."""
    if rate is None:
        return math.inf, math.inf
    if not rate > 0 or not math.isfinite(rate):
        raise ValueError(f"allowance {name!r}: {what} must be a finite rate > 0")
    if not depth >= least:
        raise ValueError(f"allowance {name!r}: {what} depth must be >= {least:g}")
    return float(rate), float(depth) / float(rate)


class Device(_core.DeviceCore):
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
        time (a :class:`Draws`, served in C by the compiled engine, or any callable such
        as :func:`sampler` over a numpy Generator). Only devices that set it pay for it.
    jitter : Draws or callable, optional
        ``jitter() -> seconds``, a random excess drawn per packet and added to
        ``latency`` (it holds no stage: queueing and utilization do not see it). ``None``
        is a constant delay, exactly as without it.
    allowance : Allowance, optional
        The ENA allowances of the instance whose card the device is on: every packet
        reaching the device first passes them, and one beyond them is dropped there
        (counted by the allowance and in ``drops``), never queued. ``None``: no check, and
        no cost.
    outbound : bool
        Which bandwidth allowance the device's packets take: outbound (True, an ENI's
        transmit side) or inbound.

    Notes
    -----
    Per-device statistics (counted packets only): ``packets`` accepted, ``drops``,
    ``cpu_busy`` and ``link_busy`` seconds, ``wait`` (seconds queued before its stages
    started; ``link_wait`` the part of it before the link stage), ``jitter_busy`` (seconds
    of jitter added to their latency; not busy time).
    ``service``, ``latency``, ``bandwidth``, ``service_sampler`` and ``jitter`` are read
    on every packet and may be changed during a run; which stages a device has (CPU,
    link) is fixed at construction.
    """

    __slots__ = ("name", "kind", "host", "_engine")

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
        jitter: Callable[[], float] | None = None,
        allowance: Allowance | None = None,
        outbound: bool = False,
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
        self.jitter = jitter
        self.allowance = allowance
        self.outbound = bool(outbound)
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
        self.link_wait = 0.0
        self.jitter_busy = 0.0

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
        self._engine = engine
        self._bind(engine.loop)
        engine.devices.append(self)


class LatencyHistogram:
    """Counts of non-negative values in log-linear buckets: fixed size, mergeable, with a
    stated relative error for every percentile.

    Each power of two ``[2**(e-1), 2**e)`` is cut into :attr:`SUB` equal buckets (a value's
    bucket is read exactly from its binary exponent and mantissa, ``numpy.frexp``); zeros
    have a bucket of their own. A bucket is at most ``1/SUB`` of its lower edge wide, so its
    midpoint is within ``REL_ERROR = 1/(2*SUB)`` (0.0244 %) of every value in it. Count,
    sum (so the mean), minimum and maximum are kept exactly.

    :meth:`percentile` interpolates between the two order statistics around the rank, as
    ``numpy.percentile`` (method ``linear``) does, with each order statistic replaced by its
    bucket's midpoint (the exact minimum and maximum at the ends), so for any ``q``::

        |percentile(q) - numpy.percentile(values, q)| <= REL_ERROR * numpy.percentile(values, q)

    At 40 us a p99 is thus exact to within 0.01 us. Memory is ``SUB`` counters per power of
    two between the smallest and the largest value (16 KiB each: about 160 KiB for values
    from 1 us to 1 ms), whatever the number of values. Two histograms of the same
    quantity merge by adding counts (:meth:`merge`).
    """

    SUB = 2048
    REL_ERROR = 1.0 / (2 * SUB)

    __slots__ = ("count", "zeros", "total", "min", "max", "_e0", "_counts")

    def __init__(self) -> None:
        self.count = 0
        self.zeros = 0
        self.total = 0.0
        """Exact-order sum of the values (float), for the mean."""
        self.min = math.inf
        self.max = -math.inf
        self._e0 = 0
        """Binary exponent of the first power of two held in ``_counts``."""
        self._counts = np.zeros(0, dtype=np.int64)

    def __repr__(self) -> str:
        return f"LatencyHistogram(count={self.count}, min={self.min}, max={self.max})"

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else math.nan

    def _cover(self, e_lo: int, e_hi: int) -> None:
        """Grow the counters to cover the powers of two ``e_lo..e_hi``."""
        sub = self.SUB
        n_exp = len(self._counts) // sub
        if n_exp == 0:
            self._e0, self._counts = e_lo, np.zeros((e_hi - e_lo + 1) * sub, dtype=np.int64)
            return
        lo, hi = min(e_lo, self._e0), max(e_hi, self._e0 + n_exp - 1)
        if lo == self._e0 and hi == self._e0 + n_exp - 1:
            return
        counts = np.zeros((hi - lo + 1) * sub, dtype=np.int64)
        start = (self._e0 - lo) * sub
        counts[start:start + len(self._counts)] = self._counts
        self._e0, self._counts = lo, counts

    def add(self, values: Any) -> None:
        """Count a batch of values (a numpy array, an ``array('d')`` or a sequence)."""
        a = np.array(values, dtype=np.float64)
        if a.size == 0:
            return
        lo, hi = float(a.min()), float(a.max())
        if not (lo >= 0 and math.isfinite(hi)):
            raise ValueError("histogram values must be finite and >= 0")
        self.count += a.size
        self.total += float(a.sum())
        self.min = min(self.min, lo)
        self.max = max(self.max, hi)
        pos = a[a > 0]
        self.zeros += a.size - pos.size
        if pos.size == 0:
            return
        mant, exp = np.frexp(pos)  # pos = mant * 2**exp, 0.5 <= mant < 1
        self._cover(int(exp.min()), int(exp.max()))
        sub = ((mant - 0.5) * (2 * self.SUB)).astype(np.int64)  # exact: a power-of-two scale
        idx = (exp.astype(np.int64) - self._e0) * self.SUB + sub
        self._counts += np.bincount(idx, minlength=len(self._counts))

    def merge(self, other: LatencyHistogram) -> None:
        """Add another histogram's values to this one."""
        if other.count == 0:
            return
        n_other = len(other._counts) // self.SUB
        if n_other:
            self._cover(other._e0, other._e0 + n_other - 1)
            start = (other._e0 - self._e0) * self.SUB
            self._counts[start:start + len(other._counts)] += other._counts
        self.count += other.count
        self.zeros += other.zeros
        self.total += other.total
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)

    def _value_at(self, rank: int, cum: np.ndarray) -> float:
        """The ``rank``-th smallest value (0-based), to within ``REL_ERROR``."""
        if rank <= 0:
            return self.min
        if rank >= self.count - 1:
            return self.max
        if rank < self.zeros:
            return 0.0
        b = int(np.searchsorted(cum, rank - self.zeros, side="right"))
        exp, s = self._e0 + b // self.SUB, b % self.SUB
        mid = math.ldexp(0.5 + (s + 0.5) / (2 * self.SUB), exp)
        return min(max(mid, self.min), self.max)

    def percentiles(self, qs: Iterable[float]) -> list[float]:
        """Percentiles ``qs`` (0-100) as ``numpy.percentile(values, qs)`` within ``REL_ERROR``."""
        if self.count == 0:
            return [math.nan for _ in qs]
        cum = np.cumsum(self._counts)
        out = []
        for q in qs:
            if not 0 <= q <= 100:
                raise ValueError("percentiles must be between 0 and 100")
            h = q / 100 * (self.count - 1)
            lo = math.floor(h)
            v = self._value_at(lo, cum)
            if h > lo:
                v += (h - lo) * (self._value_at(lo + 1, cum) - v)
            out.append(v)
        return out

    def percentile(self, q: float) -> float:
        return self.percentiles([q])[0]

    def log_bins(self) -> dict[str, list]:
        """The values (seconds) counted in the fixed log-spaced bins of :data:`LOG_EDGES_US`
        (microseconds; 20 bins a decade from 1 us to 10 s), leading and trailing empty bins
        trimmed: ``{"edges_us": [...], "counts": [...]}`` with one more edge than counts.

        Each fine bucket goes to the bin holding its midpoint, so a value within
        :data:`REL_ERROR` of an edge may land in the neighbouring bin; values below 1 us
        (zeros included) count in the first bin, values of 10 s or more in the last.

        >>> h = LatencyHistogram()
        >>> h.add([20e-6, 21e-6, 40e-6])
        >>> h.log_bins()["counts"]
        [2, 0, 0, 0, 0, 0, 1]
        """
        if self.count == 0:
            return {"edges_us": [], "counts": []}
        last = len(LOG_EDGES_US) - 2
        nz = np.nonzero(self._counts)[0]
        exps = self._e0 + nz // self.SUB
        mids = np.ldexp(0.5 + (nz % self.SUB + 0.5) / (2 * self.SUB), exps) * 1e6
        idx = np.clip(np.searchsorted(_EDGES, mids, side="right") - 1, 0, last)
        counts = np.bincount(idx, weights=self._counts[nz], minlength=last + 1)
        counts[0] += self.zeros
        used = np.nonzero(counts)[0]
        lo, hi = int(used[0]), int(used[-1])
        return {"edges_us": list(LOG_EDGES_US[lo:hi + 2]),
                "counts": [int(c) for c in counts[lo:hi + 1]]}


#: The edges (us) of the latency histograms in results: 20 a decade from 1 us to 10 s,
#: each rounded to 6 significant digits (the rounded value is the edge).
LOG_EDGES_US: tuple[float, ...] = tuple(float(f"{10 ** (i / 20):.6g}") for i in range(141))
_EDGES = np.array(LOG_EDGES_US)


class FlowStats(_core.FlowCore):
    """Per-flow counters and one-way latencies: the sink at the end of every route.

    ``sent = delivered + dropped + unreachable + in_flight`` at any time, with
    ``in_flight`` counted from the packets the engine holds (queued, in service or on a
    wire), not derived from the other counters: a packet lost or counted twice breaks it.
    Only packets sent at or after the engine's warmup are counted.

    Latency statistics come from a :class:`LatencyHistogram` (``histogram``): fixed
    memory, percentiles within 0.025 % of the exact ones, exact mean and maximum.

    Parameters
    ----------
    name : str
        Flow name used in reports.
    record : bool
        Also keep each delivered packet's send and delivery times (``send_times``,
        ``delivery_times``, in delivery order), for traces and exact checks.
    keep_latencies : bool
        Keep every delivered packet's latency in ``latencies`` (8 bytes a packet), for
        exact analysis (batch means, exact percentiles). ``False`` keeps memory flat
        in the number of packets: latencies then only feed the histogram, through a
        buffer of at most :attr:`FLUSH` values.
    """

    FLUSH = 1 << 16
    """Latencies buffered before they are counted into the histogram."""

    __slots__ = ("name", "record", "keep_latencies", "window_hist", "_counted", "_hist",
                 "_engine")

    def __init__(self, name: str = "flow", *, record: bool = False,
                 keep_latencies: bool = True) -> None:
        self.name = name
        self.record = record
        self.keep_latencies = keep_latencies
        self._engine: Engine | None = None
        self._flush_at = sys.maxsize if keep_latencies else self.FLUSH
        self.window_hist: LatencyHistogram | None = None
        """When set, latencies are also counted into it as they are flushed (a time
        series' open window: see :mod:`ecsnetsim.net.timeseries`)."""
        self.reset()

    def __repr__(self) -> str:
        return (f"FlowStats({self.name!r}, sent={self.sent}, delivered={self.delivered}, "
                f"dropped={self.dropped}, unreachable={self.unreachable})")

    def reset(self) -> None:
        """Zero every counter and forget the latencies."""
        self.sent = 0
        self.delivered = 0
        self.dropped = 0
        self.unreachable = 0
        self.delivered_bytes = 0
        self.hops_sum = 0
        self.hops_min = 0
        self.hops_max = 0
        self._lat = array("d")
        self._counted = 0  # values of _lat already in _hist
        self._hist = LatencyHistogram()
        self.send_times = array("d")
        self.delivery_times = array("d")

    @property
    def latencies(self) -> array:
        """One-way latencies (seconds) of delivered packets, in delivery order."""
        if not self.keep_latencies:
            raise AttributeError(f"flow {self.name!r} does not keep its latencies "
                                 "(keep_latencies=False): use histogram")
        return self._lat

    @property
    def histogram(self) -> LatencyHistogram:
        """The histogram of every delivered latency so far (seconds)."""
        self._flush()
        return self._hist

    def _flush(self) -> None:
        lat = self._lat
        if self._counted < len(lat):
            new = lat[self._counted:]
            self._hist.add(new)
            if self.window_hist is not None:
                self.window_hist.add(new)
            if self.keep_latencies:
                self._counted = len(lat)
            else:
                del lat[:]
                self._counted = 0

    @property
    def in_flight(self) -> int:
        """Counted packets the engine holds now: queued, in service or between devices."""
        if self._engine is None:
            return 0
        return sum(1 for p in self._engine.loop.packets() if p.measured and p.route.stats is self)

    @property
    def hops_mean(self) -> float:
        return self.hops_sum / self.delivered if self.delivered else math.nan

    def _attach(self, engine: Engine) -> None:
        if self._engine is engine:
            return
        if self._engine is not None:
            raise ValueError(f"flow {self.name!r} is already used by another engine")
        self._engine = engine
        self._bind_sink(self.record)
        engine.flows.append(self)

    def latency_summary_us(self) -> dict[str, Any]:
        """Min, mean, p50, p90, p99, p99.9 and max one-way latency in microseconds (None if
        empty), and ``hist``, the log-binned histogram (:meth:`LatencyHistogram.log_bins`).

        Min, mean and max are exact; the percentiles are within
        :data:`LatencyHistogram.REL_ERROR` (0.025 %) of the exact ones.
        """
        hist = self.histogram
        if hist.count == 0:
            return {"min": None, "mean": None, "p50": None, "p90": None, "p99": None,
                    "p999": None, "max": None, "hist": None}
        p50, p90, p99, p999 = hist.percentiles([50, 90, 99, 99.9])
        return {"min": hist.min * 1e6, "mean": hist.mean * 1e6, "p50": p50 * 1e6,
                "p90": p90 * 1e6, "p99": p99 * 1e6, "p999": p999 * 1e6,
                "max": hist.max * 1e6, "hist": hist.log_bins()}

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


class Route(_core.RouteCore):
    """A compiled path: the devices a packet crosses, in order, and the flow it counts on.

    Parameters
    ----------
    devices : sequence of Device
        The hops, first to last. A device may appear on many routes (and many flows).
    stats : FlowStats
        Where delivered, dropped and in-flight packets are counted.
    """

    __slots__ = ("devices",)

    def __init__(self, devices: Iterable[Device], stats: FlowStats) -> None:
        self.devices: tuple[Device, ...] = tuple(devices)
        self.stats = stats
        self._engine: Engine | None = None

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
        self._path = tuple(d._entry for d in self.devices) + (self.stats._entry,)
        self._first = self._path[0]
        self._engine = engine


class Engine(_core.EngineCore):
    """Moves packets over routes, on a packet loop interleaved with the simpy clock.

    Parameters
    ----------
    env : Environment
        The simulation clock. The engine's packet events run on the environment's
        :class:`PacketLoop`, driven by ``env.run()``.
    warmup : float
        Statistics (flow and device) count only packets sent at or after this time.
    """

    def __init__(self, env: Any, warmup: float = 0.0) -> None:
        if not warmup >= 0:
            raise ValueError("warmup must be >= 0 seconds")
        if not isinstance(env, Environment):
            raise TypeError("env must be an ecsnetsim.net.engine.Environment (a simpy "
                            f"Environment that carries the packet events), not {type(env)}")
        self.env = env
        self.loop = env.packet_loop
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

    # send(route, size=1500): inject one packet of ``size`` bytes at the route's first
    # device at ``env.now``; unreachable(flow_stats): count one packet that could not be
    # routed (it is never simulated). Both are per packet, so they live in the core.

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
