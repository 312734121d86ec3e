"""An instance's own outbound connections: the ones no task opens, made from its host
namespace by the ECS agent (the ECS, ACS and TCS endpoints), Docker (image pulls, the
awslogs driver) and the SSM and CloudWatch agents.

An instance group's ``own_connections: {rate, hold, destinations}`` opens, on each of its
EC2 Linux instances, connections at ``rate`` (Poisson arrivals), each to one of
``destinations`` endpoints chosen at random, held ``hold`` seconds. Each takes what such a
connection holds on the instance: an **ephemeral port** of the host namespace (unique per
destination; a dynamic host port it holds cannot be bound, so a bridge task's start may
fail with "port is already allocated") and a **conntrack entry** of the host namespace
(the agent's iptables rules load conntrack there). It sends no packets: what it costs the
data plane is left out; what it holds is what collides. A connection refused (no port
left, ``EADDRNOTAVAIL``; the table full) holds nothing and is counted on the instance
(``instances[].ephemeral_ports.exhausted``, ``instances[].conntrack.dropped``).

Examples
--------
>>> from ecsnetsim.model import conntrack as ct
>>> state = ct.InstanceConnections("i-1", 100, (40000, 40009), 1000)
>>> draws = iter([0.0, 0.5] * 10)
>>> opened = [open_one(state, lambda: next(draws), 1, 0.0, True) for _ in range(3)]
>>> [len(p) for p in opened], state.ports.peak, state.host.peak
([2, 2, 2], 3, 3)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..model import conntrack as ct
from .connections import _block_exponential, _block_uniform

#: The destination key of an own connection's source port (apart from any flow's).
OWN = "own"


def open_one(state: ct.InstanceConnections, uniform: Callable[[], float],
             destinations: int, now: float, counted: bool) -> tuple | None:
    """Open one own connection on ``state``: ``(port, destination)`` it holds, or None
    when it was refused (nothing held)."""
    dest = (OWN, int(uniform() * destinations))
    port = state.ports.take(uniform, dest, now)
    if port is None:
        return None
    if not state.host.open(counted):
        state.ports.release(port, dest)
        return None
    return port, dest


def close_one(state: ct.InstanceConnections, held: tuple) -> None:
    """Give back what an own connection held."""
    port, dest = held
    state.ports.release(port, dest)
    state.host.close()


class OwnConnections:
    """One instance's own connections over ``[start, stop)``, run as events of the packet
    loop (see the module)."""

    def __init__(self, loop, state: ct.InstanceConnections, spec, rng: np.random.Generator,
                 start: float, stop: float, warmup: float) -> None:
        self.state = state
        self.destinations = spec.destinations
        self.hold = spec.hold
        self.stop = stop
        self.warmup = warmup
        self._schedule = loop.schedule
        draws = rng.spawn(2)
        self._uniform = _block_uniform(draws[0])
        self._gaps = _block_exponential(draws[1], 1.0 / spec.rate)
        first = start + self._gaps()
        if first < stop:
            self._schedule(first, self._arrive)

    def _arrive(self, _p, now: float) -> None:
        held = open_one(self.state, self._uniform, self.destinations, now, now >= self.warmup)
        if held is not None:
            self._schedule(now + self.hold, self._close, held)
        t = now + self._gaps()
        if t < self.stop:
            self._schedule(t, self._arrive)

    def _close(self, held: tuple, _now: float) -> None:
        close_one(self.state, held)
