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
        for inst in cluster.instances:
            self.topo.add_host(inst.id, inst.type.vcpus, inst.type.bandwidth_bps)
            if inst.status == "ACTIVE":
                self.topo.host_stack(inst.id)
        tasks = {svc.name: svc.running for svc in cluster.services}
        for svc_tasks in tasks.values():
            for task in svc_tasks:
                modes.get(task.mode).wire(self.topo, task)
        client_az = scenario.vpc.subnets[0].az
        streams = rng.bit_generator.seed_seq.spawn(max(1, len(scenario.traffic)))
        for flow, seq in zip(scenario.traffic, streams, strict=False):
            self._add_flow(flow, tasks, client_az, np.random.default_rng(seq))

    # ---- routes ---------------------------------------------------------------------
    def _walk(self, src, dst: Task, via: str | None) -> list[str] | None:
        topo = self.topo
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

    def _add_flow(self, flow, tasks, client_az: str, rng: np.random.Generator) -> None:
        stats = FlowStats(flow.name)
        self.engine.attach(stats)
        via = None if flow.via == "direct" else flow.via
        sources = [_Client(client_az)] if flow.from_ == "client" else tasks[flow.from_]
        targets = tasks[flow.to]
        cache: dict[tuple[int, int], Route | None] = {}

        def route(i: int, j: int) -> Route | None:
            key = (i, j)
            if key not in cache:
                walk = self._walk(sources[i], targets[j], via)
                cache[key] = None if walk is None else Route(self.topo.devices(walk), stats)
            return cache[key]

        if not sources or not targets:
            def pick():
                return None
        elif flow.via == "alb" and len(sources) == 1:
            order = itertools.cycle(range(len(targets)))

            def pick():
                return route(0, next(order))
        else:
            ns, nt = len(sources), len(targets)
            draws = iter(())

            def pick():
                nonlocal draws
                try:
                    i, j = next(draws)
                except StopIteration:
                    draws = iter(zip(rng.integers(ns, size=4096).tolist(),
                                     rng.integers(nt, size=4096).tolist(), strict=True))
                    i, j = next(draws)
                return route(i, j)

        start = self.start if flow.start is None else max(flow.start, self.env.now)
        stop = self.end if flow.stop is None else min(flow.stop, self.end)
        if flow.rate > 0 and stop > start:
            Source(self.env, self.engine, rng, flow.rate, flow.arrival, flow.size, start, stop,
                   pick, stats=stats)
        typical = route(0, 0) if sources and targets else None
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
        return rows


def _rounded(d: dict) -> dict:
    return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in d.items()}
