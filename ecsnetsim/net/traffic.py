"""Traffic sources: open-loop packet generators that feed the packet engine.

A :class:`Source` sends packets of one flow at a given rate between ``start`` and
``stop``. For each packet it asks ``pick_route()`` for a compiled
:class:`~ecsnetsim.net.engine.Route`; ``None`` means the destination cannot be reached
(no RUNNING task, ``none`` network mode, ...), and the packet is counted as unreachable on
the flow's :class:`~ecsnetsim.net.engine.FlowStats` without being simulated.

Inter-arrival times come from a numpy Generator in vectorised blocks, so a source is fully
determined by its Generator's seed. The source is a chain of events on the engine's
packet loop (one per packet, no process; :class:`~ecsnetsim.net.engine.SourceCore`, in
the compiled loop when the engine is compiled); ``pick_route`` runs at the packet's send
time, after every control-plane event due before it, so it sees the cluster as it is
then. A :class:`~ecsnetsim.net.engine.Choice` as ``pick_route`` chooses the sender, the
target and the route inside the loop, with no Python call per packet.

Examples
--------
>>> import numpy as np
>>> from ecsnetsim.net.engine import Device, Engine, Environment, FlowStats, Route
>>> env = Environment()
>>> engine = Engine(env)
>>> flow = FlowStats("c->s")
>>> route = Route([Device("nic", service=1e-6)], flow)
>>> src = Source(env, engine, np.random.default_rng(7), rate_per_s=1000, arrival="constant",
...              size_bytes=100, start=0.0, stop=0.01, pick_route=lambda: route, stats=flow)
>>> env.run()
>>> flow.sent, flow.delivered
(10, 10)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .engine import Draws, Engine, FlowStats, Route, SourceCore

__all__ = ["ARRIVALS", "Source"]

ARRIVALS = ("poisson", "constant")


class Source:
    """Open-loop packet source of one flow.

    Parameters
    ----------
    env : simpy.Environment
        The simulation clock (the engine's).
    engine : Engine
        The packet engine that moves the packets.
    rng : numpy.random.Generator
        Random stream for the inter-arrival times (a private stream per source keeps
        runs reproducible whatever else draws numbers).
    rate_per_s : float
        Mean packets per second (> 0).
    arrival : {"poisson", "constant"}
        ``poisson``: exponential gaps, the first packet one gap after ``start``.
        ``constant``: packets exactly at ``start + i / rate_per_s``.
    size_bytes : int
        Size of every packet.
    start, stop : float
        Packets are sent at times in ``[start, stop)``; ``stop=None`` never stops.
    pick_route : callable or Choice
        ``pick_route() -> Route | None``, called once per packet at its send time; or a
        :class:`~ecsnetsim.net.engine.Choice`, which the loop asks without Python.
    max_packets : int, optional
        Stop after this many packets (routed or not).
    stats : FlowStats, optional
        The flow's statistics, which routes returned by ``pick_route`` should also count
        on; created (named ``name``) when omitted.
    name : str
        Flow name for a created ``stats``.
    block : int
        Inter-arrival times drawn per numpy call.
    """

    __slots__ = (
        "env", "engine", "rng", "rate_per_s", "arrival", "size_bytes", "start", "stop",
        "pick_route", "max_packets", "stats", "block", "_fire", "_gap", "_send", "_i",
        "_loop", "_schedule", "_core", "_emitted",
    )

    def __init__(
        self,
        env: Any,
        engine: Engine,
        rng: np.random.Generator,
        rate_per_s: float,
        arrival: str = "poisson",
        size_bytes: int = 1500,
        start: float = 0.0,
        stop: float | None = None,
        pick_route: Callable[[], Route | None] | None = None,
        max_packets: int | None = None,
        *,
        stats: FlowStats | None = None,
        name: str = "flow",
        block: int = 4096,
    ) -> None:
        if arrival not in ARRIVALS:
            raise ValueError(f"arrival must be one of {ARRIVALS}, not {arrival!r}")
        if not (rate_per_s > 0 and math.isfinite(rate_per_s)):
            raise ValueError("rate_per_s must be a finite number > 0")
        if not size_bytes > 0:
            raise ValueError("size_bytes must be > 0")
        if pick_route is None:
            raise ValueError("pick_route is required")
        if stop is not None and stop < start:
            raise ValueError("stop must not be before start")
        if max_packets is not None and max_packets < 0:
            raise ValueError("max_packets must be >= 0")
        if block < 1:
            raise ValueError("block must be >= 1")
        self.env = env
        self.engine = engine
        self.rng = rng
        self.rate_per_s = float(rate_per_s)
        self.arrival = arrival
        self.size_bytes = size_bytes
        self.start = float(start)
        self.stop = math.inf if stop is None else float(stop)
        self.pick_route = pick_route
        self.max_packets = math.inf if max_packets is None else max_packets
        self._emitted = 0
        self.stats = stats if stats is not None else FlowStats(name)
        engine.attach(self.stats)
        self.block = int(block)
        self._loop = engine.loop
        self._schedule = engine.loop.schedule
        self._i = 0
        self._send = engine.send
        self._core = None
        if arrival == "poisson":
            scale = 1.0 / self.rate_per_s
            self._gap = Draws(lambda n: rng.exponential(scale, n), self.block)
            first = max(self.start, env.now) + self._gap()
        else:
            self._gap = None
            # the first packet at or after both `start` and now
            self._i = max(0, math.ceil((env.now - self.start) * self.rate_per_s))
            first = self.start + self._i / self.rate_per_s
        if type(self)._emit is Source._emit:  # the loop's own source does it all
            self._core = SourceCore(env, engine, self.stats, size_bytes, pick_route,
                                    self._gap, self.start, self.rate_per_s, self.stop,
                                    self.max_packets, self._i)
            self._core.begin(first)
            return
        self._fire = self._fire_poisson if arrival == "poisson" else self._fire_constant
        if first < self.stop and self.max_packets > 0:
            self._schedule(first, self._fire)

    @property
    def emitted(self) -> int:
        """Packets sent (routed or not) so far."""
        return self._core.emitted if self._core is not None else self._emitted

    @emitted.setter
    def emitted(self, n: int) -> None:
        self._emitted = n

    # A subclass that sends its packets otherwise (it overrides ``_emit``) runs on these:
    # one event per packet on the engine's packet loop, as the loop's own source does.
    # The loop's time becomes the clock's before ``pick_route`` runs, and ``rebound`` ends
    # the loop's batch if ``pick_route`` scheduled a control-plane event, so that event
    # runs in its turn.

    def _emit(self) -> None:
        self.emitted += 1
        route = self.pick_route()
        self._loop.rebound()
        if route is None:
            self.engine.unreachable(self.stats)
        else:
            self._send(route, self.size_bytes)

    def _fire_poisson(self, _p: None, now: float) -> None:
        self.env._now = now
        self._emit()
        if self._emitted < self.max_packets:
            t = now + self._gap()
            if t < self.stop:
                self._schedule(t, self._fire)

    def _fire_constant(self, _p: None, now: float) -> None:
        self.env._now = now
        self._emit()
        if self._emitted < self.max_packets:
            self._i += 1
            t = self.start + self._i / self.rate_per_s
            if t < self.stop:
                self._schedule(t, self._fire)
