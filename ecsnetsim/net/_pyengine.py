"""The packet engine's hot path in pure Python: the event loop, the packet, and the
per-packet parts of routes, server pools, devices, flows, sources and the engine.

:mod:`ecsnetsim.net.engine` builds its public classes on these cores when the compiled
twin of this module (``_cengine``, the same algorithm in Cython, with the same class and
method names) is not built, or when ``ECSNETSIM_PURE_PYTHON=1``. The two must give the
same results to the last bit: every floating-point operation and every event number is
taken here in the same order as there (``tests/test_packet_engine.py`` runs a scenario
both ways, and its exact and statistical oracles against both cores).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from heapq import heappop, heappush, heapreplace
from itertools import chain, count
from typing import Any

import numpy as np

CORE_VERSION = 3
"""The cores' interface version: the compiled twin must carry the same (a build older
than its source runs the pure-Python core instead, with a warning)."""

_NORMAL = 1  # simpy.events.NORMAL: the priority of ordinary (timeout-like) events


class _Rebound(Exception):
    """Ends a packet batch early: user code run inside it scheduled a simpy event."""


class PacketLoop:
    """The packet events of one :class:`~ecsnetsim.net.engine.Environment`, on a heap of
    their own.

    Entries are ``(time, eid, handler, packet)``; the loop pops them in order and calls
    ``handler(packet, time)``. The environment creates its loop and hands it its simpy
    event queue; the loop numbers every event of both kinds (:meth:`next_eid`), and the
    environment's ``step`` and ``peek`` are the loop's.

    A step compares the first packet event with the first simpy event by ``(time,
    priority, eid)``: while packet events come first they run in one batch with no simpy
    call; then the environment's own step runs the control-plane event. User code that
    runs inside a batch (a :class:`~ecsnetsim.net.traffic.Source`'s ``pick_route``) may
    schedule simpy events; the source then calls :meth:`rebound`, which ends the batch so
    the order is recomputed.
    """

    __slots__ = ("env", "heap", "eid", "head", "next_eid", "_queue", "_simpy_step")

    def __init__(self, env: Any, queue: list) -> None:
        self.env = env
        self.heap: list[tuple] = []
        """Pending packet events, a heap of ``(time, eid, handler, packet)``."""
        self.eid = count()
        self.next_eid: Callable[[], int] = self.eid.__next__
        """The next event number, for a simpy event or a packet event."""
        self.head: Any = None
        """The first simpy event when the current batch started (None: none)."""
        self._queue = queue
        self._simpy_step = env.step_event

    @classmethod
    def of(cls, env: Any) -> PacketLoop:
        """The environment's loop."""
        return env.packet_loop

    def peek(self) -> float:
        """Time of the next event of either queue (``inf`` if there is none)."""
        q, heap = self._queue, self.heap
        t = q[0][0] if q else math.inf
        return min(t, heap[0][0]) if heap else t

    def step(self) -> None:
        """Run the packet events due before the next simpy event, or else that event."""
        heap = self.heap
        if heap:
            q = self._queue
            if q:
                head = q[0]
                t, eid = head[0], head[2]
                if head[1] != _NORMAL:  # URGENT: before packet events of the same time
                    eid = -1
            else:
                head, t, eid = None, math.inf, 0
            first = heap[0]
            if first[0] < t or (first[0] == t and first[1] < eid):
                self.head = head
                self._batch(t, eid)
                return
        self._simpy_step()

    def _batch(self, t_bound: float, eid_bound: int) -> None:
        """The hot loop: handle packet events while they sort before ``(t_bound,
        eid_bound)``, the first simpy event (one float comparison per event)."""
        heap = self.heap
        now = self.env._now
        try:
            while heap:
                t, eid, fn, p = heappop(heap)
                if t >= t_bound and (t > t_bound or eid > eid_bound):
                    heappush(heap, (t, eid, fn, p))
                    break
                now = t
                fn(p, t)
        except _Rebound:
            pass
        self.env._now = now

    def rebound(self) -> None:
        """End the running batch if the first simpy event is no longer ``head``."""
        q = self._queue
        head = q[0] if q else None
        if head is not self.head:
            self.head = head  # one stop per change
            heappush(self.heap, (self.env._now, -1, _stop_batch, None))

    def schedule(self, t: float, fn: Callable[[Any, float], None], p: Any = None) -> None:
        """Schedule ``fn(p, t)`` at time ``t`` (``t`` >= now), after every event scheduled
        before it at the same time."""
        heappush(self.heap, (t, next(self.eid), fn, p))

    def packets(self) -> Iterable[Packet]:
        """The packets in flight: every pending packet event's packet (one each)."""
        return (e[3] for e in self.heap if isinstance(e[3], Packet))


def _stop_batch(_p: Any, _now: float) -> None:
    raise _Rebound


class Draws:
    """Random values served one at a time from blocks: ``fill(block)`` returns the next
    ``block`` values (a float64 array), called again when they are used up.

    A device's ``jitter`` (the random excess over its latency) and a random service time
    both read from one. The compiled twin copies each block into a C array and serves it
    by index; both serve the same floats in the same order, so both engines stay
    identical to the last bit.
    """

    __slots__ = ("fill", "block", "served", "_next")

    def __init__(self, fill: Callable[[int], Any], block: int = 4096) -> None:
        if int(block) != block or block < 1:
            raise ValueError("block must be an integer >= 1")
        self.fill = fill
        self.block = int(block)
        self.served = 0
        """Values served so far (counts only; the values are not kept)."""
        self._next = chain.from_iterable(self._blocks()).__next__

    def _blocks(self) -> Iterator[list[float]]:
        while True:
            a = np.asarray(self.fill(self.block), dtype=np.float64)
            if a.shape != (self.block,):
                raise ValueError(f"fill({self.block}) returned {a.shape[0] if a.ndim else 0} "
                                 "values")
            self.served += self.block
            yield a.tolist()

    def __call__(self) -> float:
        """The next value."""
        return self._next()


class ServerCore:
    """The free times of a pool's servers (a heap: the earliest first)."""

    __slots__ = ("servers", "_heap")

    def _reset_free(self) -> None:
        """Every server free since ever (called when an engine first uses the pool)."""
        self._heap = [-math.inf] * self.servers


class RouteCore:
    """What a packet reads of its route (see :class:`ecsnetsim.net.engine.Route`): its
    flow, its handlers (``_path``, the devices' entries then the flow's), the first of
    them, and the engine it is bound to."""

    __slots__ = ("stats", "_path", "_first", "_engine")


class Packet:
    """One packet in flight.

    ``path`` holds the entry handlers of the route's devices followed by the sink's,
    ``hop`` is the index of the device the packet is at (so, on delivery, the number of
    devices it crossed), ``sent`` the send time and ``measured`` whether statistics count it.
    """

    __slots__ = ("path", "route", "hop", "size", "sent", "measured")

    def __init__(self, route: Any, size: float, sent: float, measured: bool) -> None:
        self.route = route
        self.path = route._path
        self.hop = 0
        self.size = size
        self.sent = sent
        self.measured = measured

    def __repr__(self) -> str:
        return f"<Packet hop={self.hop} size={self.size} sent={self.sent}>"


class AllowanceCore:
    """An instance's ENA allowances, each a token bucket written as a theoretical arrival
    time (GCRA): ``*_tat`` is when the bucket would be full again, a packet conforms when
    ``max(tat, now) + cost / rate - now <= limit`` (``limit``: the bucket's depth in
    seconds of its rate) and then moves ``tat`` there. The PPS bucket counts the packets
    of both directions (cost 1), the bandwidth buckets the bytes of one direction each."""

    __slots__ = ("pps_rate", "pps_limit", "pps_tat", "in_rate", "in_limit", "in_tat",
                 "out_rate", "out_limit", "out_tat", "pps_allowance_exceeded",
                 "bw_in_allowance_exceeded", "bw_out_allowance_exceeded", "by_flow")

    def _admit(self, p: Packet, now: float, outbound: bool) -> bool:
        """Whether ``p`` conforms to the PPS allowance and to its direction's bandwidth
        allowance (both then take it); else count the first it exceeds and refuse it."""
        t = self.pps_tat
        if t < now:
            t = now
        t += 1.0 / self.pps_rate
        if t - now > self.pps_limit:
            if p.measured:
                self.pps_allowance_exceeded += 1
                self._count(p, 0)
            return False
        if outbound:
            b = self.out_tat
            if b < now:
                b = now
            b += p.size / self.out_rate
            if b - now > self.out_limit:
                if p.measured:
                    self.bw_out_allowance_exceeded += 1
                    self._count(p, 2)
                return False
            self.out_tat = b
        else:
            b = self.in_tat
            if b < now:
                b = now
            b += p.size / self.in_rate
            if b - now > self.in_limit:
                if p.measured:
                    self.bw_in_allowance_exceeded += 1
                    self._count(p, 1)
                return False
            self.in_tat = b
        self.pps_tat = t
        return True

    def _count(self, p: Packet, which: int) -> None:
        """One more refused packet of ``p``'s flow (0 PPS, 1 inbound, 2 outbound)."""
        stats = p.route.stats
        found = self.by_flow.get(stats)
        if found is None:
            found = self.by_flow[stats] = [0, 0, 0]
        found[which] += 1


class DeviceCore:
    """A device's per-packet state and its stages (handlers)."""

    __slots__ = (
        "service", "latency", "bandwidth", "buffer", "cpu", "link", "service_sampler", "jitter",
        "packets", "drops", "cpu_busy", "link_busy", "wait", "link_wait", "jitter_busy",
        "allowance", "outbound",
        "_q", "_eid", "_entry", "_inner", "_cpu_heap", "_link_heap", "_occ", "_n",
    )

    def _bind(self, loop: PacketLoop) -> None:
        """Take the loop and the pools, and choose the entry handler (at first use): a
        device under an instance's ENA allowances checks them first (:meth:`_policed`)."""
        self._q = loop.heap
        self._eid = loop.eid
        self._occ: list[float] = []
        self._n = 0
        self._cpu_heap = self.cpu._heap if self.cpu is not None else None
        self._link_heap = self.link._heap if self.link is not None else None
        if self.cpu is not None:
            self._entry = self._cpu if self.link is None else self._cpu_then_link
        elif self.link is not None:
            self._entry = self._link_only
        else:
            self._entry = self._delay
        if self.allowance is not None:
            self._inner = self._entry
            self._entry = self._policed

    def _policed(self, p: Packet, now: float) -> None:
        """Entry of a device under ENA allowances: a packet beyond them is dropped here
        (counted by the allowance and as the device's drop), never queued."""
        if self.allowance._admit(p, now, self.outbound):
            self._inner(p, now)
        else:
            self._drop(p)

    # ------------------------------------------------------------------ hot path
    # Each handler runs when the packet reaches a stage, at time ``now``: it reserves the
    # stage, updates the counters of a measured packet and schedules the packet's next
    # event (the next device's entry handler, with the latency folded into its time).
    #
    # Finite buffer: ``_n`` counts the packets accepted and not yet settled as gone, and
    # ``_occ`` is a heap of the times at which they leave the device (pushed at their last
    # stage, when that time is known; a packet between its two stages is counted in ``_n``
    # with no entry yet). An arrival first settles the departures due by now, which keeps
    # ``_occ`` as small as the device's queue. (Settling only when the buffer looks full
    # lets ``_occ`` grow to the buffer's size, and its pops then cost more than they save;
    # the settling is written out in each handler because a call per hop costs more still.)

    def _drop(self, p: Packet) -> None:
        if p.measured:
            self.drops += 1
            p.route.stats.dropped += 1

    def _cpu(self, p: Packet, now: float) -> None:
        """CPU stage of a one-stage device; the packet then goes to the next device."""
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
        t = done + self.latency
        jitter = self.jitter
        if jitter is not None:
            x = jitter()
            t += x
            if p.measured:
                self.jitter_busy += x
        heappush(self._q, (t, next(self._eid), p.path[h], p))
        if buf is not None:
            heappush(self._occ, done)

    def _cpu_then_link(self, p: Packet, now: float) -> None:
        """CPU stage of a two-stage device; the packet then reaches the link at ``done``."""
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
        heappush(self._q, (done, next(self._eid), self._link, p))

    def _link(self, p: Packet, now: float) -> None:
        """Link stage after the CPU stage; the packet then goes to the next device."""
        heap = self._link_heap
        s = p.size / self.bandwidth
        free = heap[0]
        start = free if free > now else now
        done = start + s
        heapreplace(heap, done)
        if p.measured:
            self.link_busy += s
            self.wait += start - now
            self.link_wait += start - now
        h = p.hop + 1
        p.hop = h
        t = done + self.latency
        jitter = self.jitter
        if jitter is not None:
            x = jitter()
            t += x
            if p.measured:
                self.jitter_busy += x
        heappush(self._q, (t, next(self._eid), p.path[h], p))
        if self.buffer is not None:
            heappush(self._occ, done)

    def _link_only(self, p: Packet, now: float) -> None:
        """Link stage of a device without a CPU stage."""
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
            self.link_wait += start - now
        h = p.hop + 1
        p.hop = h
        t = done + self.latency
        jitter = self.jitter
        if jitter is not None:
            x = jitter()
            t += x
            if p.measured:
                self.jitter_busy += x
        heappush(self._q, (t, next(self._eid), p.path[h], p))
        if buf is not None:
            heappush(self._occ, done)

    def _delay(self, p: Packet, now: float) -> None:
        """A device without stages: a pure delay of ``latency`` (it never holds a packet)."""
        if p.measured:
            self.packets += 1
        h = p.hop + 1
        p.hop = h
        t = now + self.latency
        jitter = self.jitter
        if jitter is not None:
            x = jitter()
            t += x
            if p.measured:
                self.jitter_busy += x
        heappush(self._q, (t, next(self._eid), p.path[h], p))


class FlowCore:
    """A flow's counters and its delivery handler (the sink of every route)."""

    __slots__ = (
        "sent", "delivered", "dropped", "unreachable", "delivered_bytes", "hops_sum",
        "hops_min", "hops_max", "send_times", "delivery_times", "_lat", "_flush_at", "_entry",
    )

    def _bind_sink(self, record: bool) -> None:
        """Choose the delivery handler."""
        self._entry = self._deliver_recorded if record else self._deliver

    def _deliver(self, p: Packet, now: float) -> None:
        if p.measured:
            lat = self._lat
            lat.append(now - p.sent)
            if len(lat) >= self._flush_at:
                self._flush()
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

    def _deliver_recorded(self, p: Packet, now: float) -> None:
        if p.measured:
            self.send_times.append(p.sent)
            self.delivery_times.append(now)
            self._deliver(p, now)


class EngineCore:
    """Packet injection: the per-packet part of the engine."""

    def send(self, route: Any, size: float = 1500) -> None:
        """Inject one packet of ``size`` bytes at the route's first device at ``env.now``."""
        now = self.env._now
        self._send(route, size, now, now)

    def _send(self, route: Any, size: float, t: float, now: Any) -> None:
        if route._engine is not self:
            route._attach(self)
        measured = t >= self.warmup
        if measured:
            route.stats.sent += 1
        route._first(Packet(route, size, t, measured), t if now is None else now)

    def unreachable(self, flow_stats: Any) -> None:
        """Count one packet that could not be routed (it is never simulated)."""
        self._unreachable(flow_stats, self.env._now)

    def _unreachable(self, flow_stats: Any, now: float) -> None:
        if now >= self.warmup:
            flow_stats.sent += 1
            flow_stats.unreachable += 1


# ----------------------------------------------------------------------- sources

_UNREACHABLE = object()  # a route table's entry for a (sender, target) with no route


class TargetSet:
    """A service's healthy targets as its packets see them: re-read from the service
    (``service.targets``) only when its task tally's ``version`` has moved, which is when
    a task of the service started, stopped or changed health."""

    __slots__ = ("service", "tally", "version", "tasks")

    def __init__(self, service: Any) -> None:
        self.service = service
        self.tally = service.tally
        self.version = -1
        self.tasks: list = []

    def refresh(self) -> int:
        """Re-read the targets if they may have changed; the version they are of."""
        return self._refresh(None, 0.0)

    def _refresh(self, env: Any, now: float) -> int:
        """As :meth:`refresh`; ``env``'s clock is set to ``now`` before Python runs."""
        v = self.tally.version
        if v != self.version:
            if env is not None:
                env._now = now
            tasks = self.service.targets
            self.tasks = tasks if type(tasks) is list else list(tasks)
            self.version = v
        return v


class Choice:
    """The route of a flow's next packet: its sender among ``senders``' targets (None:
    the client) and its target among ``targets``' (None: outside the cluster), chosen as
    the data plane does (the sender at random, then the target in turn when
    ``round_robin``, else at random; ``uniform`` serves the draws), then looked up in a
    table per (sender, target), which ``resolve(sender, target) -> Route | None`` fills
    and which is emptied whenever either service's targets change."""

    __slots__ = ("senders", "targets", "round_robin", "uniform", "resolve", "turn",
                 "_table", "_stamp")

    def __init__(self, senders: TargetSet | None, targets: TargetSet | None,
                 round_robin: bool, uniform: Draws, resolve: Callable) -> None:
        self.senders = senders
        self.targets = targets
        self.round_robin = bool(round_robin)
        self.uniform = uniform
        self.resolve = resolve
        self.turn = 0
        self._table: list = []
        self._stamp = (-1, -1)

    def route(self) -> Any:
        """The next packet's route, or None (no sender, no target or no route)."""
        return self._route_at(None, 0.0)

    def _route_at(self, env: Any, now: float) -> Any:
        """The route; ``env``'s clock is set to ``now`` before any Python code runs (a
        service's targets re-read, a route compiled)."""
        i = j = 0
        sv = tv = 0
        senders, targets = self.senders, self.targets
        if senders is not None:
            sv = senders._refresh(env, now)
            n = len(senders.tasks)
            if not n:
                return None
            i = int(self.uniform() * n)
        width = 1
        if targets is not None:
            tv = targets._refresh(env, now)
            width = len(targets.tasks)
            if not width:
                return None
            if self.round_robin:
                j = self.turn % width
                self.turn += 1
            else:
                j = int(self.uniform() * width)
        if (sv, tv) != self._stamp:
            self._stamp = (sv, tv)
            self._table = [None] * (width * (1 if senders is None else len(senders.tasks)))
        k = i * width + j
        r = self._table[k]
        if r is None:
            if env is not None:
                env._now = now
            r = self.resolve(None if senders is None else senders.tasks[i],
                             None if targets is None else targets.tasks[j])
            self._table[k] = _UNREACHABLE if r is None else r
        return None if r is _UNREACHABLE else r


class SourceCore:
    """The per-packet part of a :class:`~ecsnetsim.net.traffic.Source`: one event per
    packet on the loop, which picks the route (``pick``: a :class:`Choice`, or any
    ``pick() -> Route | None``), sends the packet, and schedules the next one (a Poisson
    gap from ``gap``, or the next multiple of ``1/rate`` after ``start`` when ``gap`` is
    None). The clock is set to the packet's time before any Python code runs (``pick``,
    a service's targets re-read, a route compiled)."""

    __slots__ = ("env", "engine", "loop", "stats", "size", "pick", "gap", "start", "rate",
                 "stop", "max_packets", "emitted", "i", "_choice", "_poisson")

    def __init__(self, env: Any, engine: Any, stats: Any, size: Any, pick: Any,
                 gap: Callable[[], float] | None, start: float, rate: float, stop: float,
                 max_packets: float, i: int) -> None:
        self.env = env
        self.engine = engine
        self.loop = engine.loop
        self.stats = stats
        self.size = size
        self.pick = pick
        self._choice = pick if type(pick) is Choice else None
        self.gap = gap
        self._poisson = gap is not None
        self.start = start
        self.rate = rate
        self.stop = stop
        self.max_packets = max_packets
        self.emitted = 0
        self.i = i

    def begin(self, first: float) -> None:
        """Schedule the first packet at ``first`` (none if past ``stop`` or no packets)."""
        if first < self.stop and self.max_packets > 0:
            self.loop.schedule(first, self.fire)

    def _emit(self, t: float) -> None:
        self.emitted += 1
        if self._choice is not None:
            route = self._choice._route_at(self.env, t)
        else:
            self.env._now = t  # what the pick sees
            route = self.pick()
        self.loop.rebound()
        if route is None:
            self.engine._unreachable(self.stats, t)
        else:
            self.engine._send(route, self.size, t, None)

    def fire(self, _p: None, now: float) -> None:
        self._emit(now)
        if self.emitted < self.max_packets:
            if self._poisson:
                t = now + self.gap()
            else:
                self.i += 1
                t = self.start + self.i / self.rate
            if t < self.stop:
                self.loop.schedule(t, self.fire)
