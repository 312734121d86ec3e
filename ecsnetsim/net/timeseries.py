"""A data plane's measured window cut into time windows: per flow, and per busiest
queueing resource, what happened in each window.

Flows: packets sent, delivered, dropped and unreachable in the window, the mean and p99
one-way latency of the packets delivered in it, and the packets in flight at its end.
Resources (an instance's vCPU pool and its card's links, a device's server of its own):
packets served and dropped, the mean queueing wait, the mean number waiting or in service
(Little's law over the window: the waits and busy time of the packets that entered service
in it, divided by its length) and the busy fraction.

The windows are cut by an event at each boundary on the engine's packet loop, after every
packet event due before it, so that a boundary sees the counters as they are at that
instant in both engine builds. Memory is bounded: each flow has one open
:class:`~ecsnetsim.net.engine.LatencyHistogram` (its latencies reach it when the flow
flushes them, so no packet is stored), closed windows keep a few numbers, a resource
keeps numbers only for the windows in which it served or dropped, and a run keeps at most
:data:`MAX_WINDOWS` windows (a longer run gets wider ones).
"""

from __future__ import annotations

from collections.abc import Iterable

from .engine import Engine, FlowStats, LatencyHistogram, Server

#: Most windows a run keeps; a run longer than this many windows gets wider windows.
MAX_WINDOWS = 1000
#: Resources given a row per window: the busiest by utilization over the run.
BUSIEST = 5


def window_length(window: float, measured: float) -> float:
    """The window a run uses: the asked one, widened so that the measured time holds at
    most :data:`MAX_WINDOWS` of them.

    >>> window_length(0.1, 10.0), window_length(0.1, 3600.0)
    (0.1, 3.6)
    """
    return max(window, measured / MAX_WINDOWS)


class TimeSeries:
    """Per-window figures of ``flows`` and of the engine's queueing resources between
    ``start`` (the end of the warm-up) and ``end``, in windows of ``window`` seconds
    (see :func:`window_length`)."""

    def __init__(self, engine: Engine, flows: list[FlowStats], start: float, end: float,
                 window: float) -> None:
        self.engine = engine
        self.flows = flows
        self.start = start
        self.end = end
        self.window = window_length(window, max(0.0, end - start))
        self._flow_rows: list[list] = []  # per window: per flow a tuple
        self._flow_last = [(0, 0, 0, 0) for _ in flows]
        self._pool_rows: dict[str, list[tuple]] = {}  # pool -> (k, served, drops, wait, busy)
        self._pool_servers: dict[str, int] = {}
        self._pool_last: dict[str, tuple] = {}
        self._closed = 0
        for f in flows:
            f.window_hist = LatencyHistogram()
        if self.start + self.window < end:
            engine.loop.schedule(self.start + self.window, self._boundary)

    # ---- cutting windows ---------------------------------------------------------------
    def _boundary(self, _p, now: float) -> None:
        self._close()
        nxt = self.start + (self._closed + 1) * self.window
        if nxt < self.end:
            self.engine.loop.schedule(nxt, self._boundary)

    def finish(self) -> None:
        """Close the last window (at the end of the run; called once)."""
        if self.end > self.start and self._closed * self.window < self.end - self.start:
            self._close()
        for f in self.flows:
            f.window_hist = None

    def _close(self) -> None:
        k = self._closed
        row = []
        for i, f in enumerate(self.flows):
            f._flush()
            hist, f.window_hist = f.window_hist, LatencyHistogram()
            now = (f.sent, f.delivered, f.dropped, f.unreachable)
            before = self._flow_last[i]
            self._flow_last[i] = now
            p99 = hist.percentile(99) if hist.count else None
            row.append((*(a - b for a, b in zip(now, before, strict=True)),
                        hist.mean if hist.count else None, p99,
                        now[0] - now[1] - now[2] - now[3]))
        self._flow_rows.append(row)
        for name, servers, now in self._pools():
            before = self._pool_last.get(name, (0, 0, 0.0, 0.0))
            if now[0] != before[0] or now[1] != before[1]:
                self._pool_rows.setdefault(name, []).append(
                    (k, *(a - b for a, b in zip(now, before, strict=True))))
                self._pool_servers[name] = servers
            self._pool_last[name] = now
        self._closed = k + 1

    def _pools(self) -> Iterable[tuple[str, int, tuple]]:
        """``(name, servers, (served, drops, wait, busy))`` of every resource so far,
        counters since the start: a CPU pool's wait is its devices' wait before their CPU
        stage, a link's the wait before the link stage; drops count at a device's first
        stage."""
        pools: dict[int, Server] = {}
        for d in self.engine.devices:
            for pool in (d.cpu, d.link):
                if pool is not None:
                    pools.setdefault(id(pool), pool)
        for pool in pools.values():
            served = drops = 0
            wait = busy = 0.0
            for d in pool.devices:
                if d.cpu is pool:
                    served += d.packets
                    drops += d.drops
                    wait += d.wait - d.link_wait
                    busy += d.cpu_busy
                if d.link is pool:
                    if d.cpu is not pool:
                        served += d.packets
                    if d.cpu is None:
                        drops += d.drops
                    wait += d.link_wait
                    busy += d.link_busy
            yield pool.name, pool.servers, (served, drops, wait, busy)

    # ---- rows ----------------------------------------------------------------------------
    def _span(self, k: int) -> tuple[float, float]:
        t = self.start + k * self.window
        return t, min(self.window, self.end - t)

    def rows(self) -> list[dict]:
        """Every flow's rows, then the busiest resources' rows, each in time order (JSON
        dicts of :class:`~ecsnetsim.rows.TimeseriesRow`)."""
        out = []
        for i, f in enumerate(self.flows):
            for k, row in enumerate(self._flow_rows):
                sent, delivered, dropped, unreachable, mean, p99, in_flight = row[i]
                t, w = self._span(k)
                out.append(_row("flow", f.name, t, w, sent=sent, delivered=delivered,
                                dropped=dropped, unreachable=unreachable,
                                latency_mean_us=None if mean is None else mean * 1e6,
                                latency_p99_us=None if p99 is None else p99 * 1e6,
                                queue_len=float(in_flight)))
        for name in self._busiest():
            by_k = {r[0]: r[1:] for r in self._pool_rows[name]}
            servers = self._pool_servers[name]
            for k in range(len(self._flow_rows)):
                served, drops, wait, busy = by_k.get(k, (0, 0, 0.0, 0.0))
                t, w = self._span(k)
                out.append(_row("device", name, t, w, delivered=served, dropped=drops,
                                latency_mean_us=wait / served * 1e6 if served else None,
                                queue_len=(wait + busy) / w if w > 0 else 0.0,
                                utilization=busy / (w * servers) if w > 0 else 0.0))
        return out

    def _busiest(self) -> list[str]:
        """The :data:`BUSIEST` resources with the highest busy fraction over the run."""
        def load(name: str) -> float:
            return sum(r[4] for r in self._pool_rows[name]) / self._pool_servers[name]
        ranked = sorted(self._pool_rows, key=lambda n: (-load(n), n))
        return [n for n in ranked if load(n) > 0][:BUSIEST]


def _row(kind: str, name: str, t: float, window: float, *, sent=None, delivered=0,
         dropped=0, unreachable=None, latency_mean_us=None, latency_p99_us=None,
         queue_len=0.0, utilization=None) -> dict:
    def r(x):
        return None if x is None else round(x, 6)
    return {"kind": kind, "name": name, "t_start_s": round(t, 6), "window_s": round(window, 6),
            "sent": sent, "delivered": delivered, "dropped": dropped,
            "unreachable": unreachable, "latency_mean_us": r(latency_mean_us),
            "latency_p99_us": r(latency_p99_us), "queue_len": r(queue_len),
            "utilization": r(utilization)}
