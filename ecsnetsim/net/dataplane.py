"""The data plane of one variant: topology from the placed tasks, traffic, measurements.

Built once the services are steady: every RUNNING task is wired into the topology by
its network mode, each flow gets a source whose packets go to the destination
service's RUNNING tasks (round robin behind an ALB, at random otherwise), and each
packet follows a route compiled from the graph. Hop counts, latencies, drops and
device loads are what the engine counted; nothing is looked up.
"""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np

from .. import modes
from ..control.instance import Task
from . import calibration
from .engine import Engine, FlowStats, Route
from .topology import Topology
from .traffic import Source


class _Client:
    """The sending side of a flow ``from: client``: an endpoint in the VPC."""

    mode = "client"
    instance = None

    def __init__(self, az: str) -> None:
        self.az = az


class DataPlane:
    def __init__(self, scenario, env, cluster, rng: np.random.Generator, start: float) -> None:
        self.scenario = scenario
        self.env = env
        self.start = start
        self.end = start + scenario.duration
        self.engine = Engine(env, warmup=start + scenario.warmup)
        self.topo = Topology(calibration.profile(scenario.calibration))
        self.flows: list[tuple] = []
        self._wired: set[str] = set()
        services = {svc.name: svc for svc in cluster.services}
        client_az = scenario.vpc.subnets[0].az
        streams = rng.bit_generator.seed_seq.spawn(max(1, len(scenario.traffic)))
        for flow, seq in zip(scenario.traffic, streams, strict=False):
            self._add_flow(flow, services, client_az, np.random.default_rng(seq))

    def _wire(self, task: Task) -> None:
        """Put a task (and its instance, the first time) into the topology."""
        if task.id in self._wired:
            return
        inst = task.instance
        if inst.id not in self._wired:
            self.topo.add_host(inst.id, inst.type.vcpus, inst.type.bandwidth_bps)
            self.topo.host_stack(inst.id)
            self._wired.add(inst.id)
        modes.get(task.mode).wire(self.topo, task)
        self._wired.add(task.id)

    # ---- routes ---------------------------------------------------------------------
    def _walk(self, src, dst: Task, via: str | None) -> list[str] | None:
        topo = self.topo
        self._wire(dst)
        if not isinstance(src, _Client):
            self._wire(src)
        dst_mode = modes.get(dst.mode)
        inbound = dst_mode.inbound(topo, dst)
        if inbound is None:
            return None
        same_host = None
        if isinstance(src, _Client):
            stack, _rx, tx = topo.client(src.az)
            outbound, src_az = [stack, tx], src.az
        else:
            if via is None and src.instance is dst.instance:
                local = dst_mode.local(topo, src, dst)
                if local is not None:
                    return local
                same_host = src.instance.id
            outbound, src_az = modes.get(src.mode).outbound(topo, src), src.instance.az
            if outbound is None:
                return None
        middle = topo.connect(outbound[-1], inbound[0], src_az, dst.instance.az, same_host, via)
        return outbound + middle + inbound

    def _add_flow(self, flow, services, client_az: str, rng: np.random.Generator) -> None:
        """A source whose packets go to the destination's healthy tasks at their send time:
        round robin behind an ALB, at random otherwise; none healthy: unreachable."""
        stats = FlowStats(flow.name, keep_latencies=False)  # memory flat in packets
        self.engine.attach(stats)
        via = None if flow.via == "direct" else flow.via
        client = _Client(client_az)
        dst_svc = services[flow.to]
        src_svc = None if flow.from_ == "client" else services[flow.from_]
        cache: dict[tuple[str, str], Route | None] = {}
        turn = itertools.count()
        draws = iter(())

        def uniform() -> float:
            nonlocal draws
            try:
                return next(draws)
            except StopIteration:
                draws = iter(rng.random(4096).tolist())
                return next(draws)

        def route(src, dst: Task) -> Route | None:
            key = ("client" if src is client else src.id, dst.id)
            if key not in cache:
                walk = self._walk(src, dst, via)
                cache[key] = None if walk is None else Route(self.topo.devices(walk), stats)
            return cache[key]

        def pick() -> Route | None:
            targets = dst_svc.targets
            if not targets:
                return None
            if src_svc is None:
                src = client
            else:
                senders = src_svc.targets
                if not senders:
                    return None
                src = senders[int(uniform() * len(senders))]
            if flow.via == "alb":
                dst = targets[next(turn) % len(targets)]
            else:
                dst = targets[int(uniform() * len(targets))]
            return route(src, dst)

        start = self.start if flow.start is None else max(flow.start, self.env.now)
        stop = self.end if flow.stop is None else min(flow.stop, self.end)
        if flow.rate > 0 and stop > start:
            Source(self.env, self.engine, rng, flow.rate, flow.arrival, flow.size, start, stop,
                   pick, stats=stats)
        typical = None
        if dst_svc.targets and (src_svc is None or src_svc.targets):
            typical = route(client if src_svc is None else src_svc.targets[0],
                            dst_svc.targets[0])
        self.flows.append((flow, stats, typical))

    # ---- results --------------------------------------------------------------------
    def _breakdown(self, route: Route | None) -> dict[str, float]:
        """Measured mean time per packet spent in each kind of device on a route (us)."""
        out: dict[str, float] = defaultdict(float)
        for d in route.devices if route else ():
            if d.packets:
                out[d.kind] += (d.latency + (d.busy + d.wait) / d.packets) * 1e6
        return {k: round(v, 6) for k, v in out.items()}

    def flow_results(self) -> list[dict]:
        window = self.engine.window(self.end)
        rows = []
        for flow, stats, typical in self.flows:
            s = stats.summary(window)
            rows.append({
                "name": flow.name, "from": flow.from_, "to": flow.to, "via": flow.via,
                "sent": s["sent"], "delivered": s["delivered"], "dropped": s["dropped"],
                "unreachable": s["unreachable"], "in_flight": s["in_flight"],
                "hops": _rounded(s["hops"]), "latency_us": _rounded(s["latency_us"]),
                "throughput_pps": round(s["throughput_pps"], 6),
                "path": typical.kinds if typical else [],
                "breakdown_us": self._breakdown(typical),
            })
        return rows

    def device_results(self) -> list[dict]:
        window = self.engine.window(self.end)
        rows = []
        for d in self.engine.devices:
            if d.packets or d.drops:
                r = d.summary(window)
                r["utilization"] = round(r["utilization"], 6)
                r["mean_wait_us"] = round(r["mean_wait_us"], 6)
                rows.append(r)
        # the shared resources behind them: an instance's vCPUs and its card, per direction
        for kind, host, pool in self.topo.pools():
            packets = sum(d.packets for d in pool.devices)
            if packets:
                rows.append({
                    "id": pool.name, "kind": kind, "host": host, "packets": packets,
                    "utilization": round(pool.utilization(window), 6),
                    "mean_wait_us": round(sum(d.wait for d in pool.devices) / packets * 1e6, 6),
                    "drops": sum(d.drops for d in pool.devices),
                })
        return rows


def _rounded(d: dict) -> dict:
    return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in d.items()}
