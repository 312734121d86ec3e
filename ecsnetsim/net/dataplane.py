"""The data plane of one variant: topology from the placed tasks, traffic, measurements.

Built once the services are steady: every RUNNING task is wired into the topology by
its network mode, each flow gets a source whose packets go to the destination
service's RUNNING tasks (round robin behind an ALB, at random otherwise), and each
packet follows a route compiled from the graph. Hop counts, latencies, drops and
device loads are what the engine counted; nothing is looked up.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections import Counter, defaultdict

import numpy as np

from .. import calibration, modes, targetgroups
from ..model.instance import Task
from ..model.resources import ALLOWANCE_KEY, ENA_COUNTERS
from ..modes import Unreachable
from ..rows import (
    Blocked,
    ConnectionsRow,
    ConntrackRow,
    DeviceRow,
    EnaAllowancesRow,
    EphemeralPortsRow,
    FlowRow,
    Hops,
    Latency,
    LatencyHist,
    NatGatewayRow,
    TimeseriesRow,
)
from .connections import (
    DROPPED,
    LINKLOCAL_EXCEEDED,
    ConnectionSource,
    ConnectionState,
    LinkLocalPolice,
    PolicedSource,
)
from .ena import allowance_of
from .engine import Allowance, Choice, Draws, Engine, FlowStats, Route, TargetSet
from .flowlogs import FlowLog, ephemeral_port
from .owntraffic import OwnConnections
from .routing import Outcome, Router
from .timeseries import TimeSeries
from .topology import Topology
from .traffic import Source


class DataPlane:
    """``rng`` seeds the flows' sources and choices; ``jitter_seed`` the devices' random
    delays (a stream of its own, so that turning jitter on or off moves no other draw)."""

    def __init__(self, scenario, env, cluster, rng: np.random.Generator, start: float,
                 jitter_seed: np.random.SeedSequence | None = None) -> None:
        self.scenario = scenario
        self.env = env
        self.start = start
        self.end = start + scenario.duration
        self.engine = Engine(env, warmup=start + scenario.warmup)
        self.topo = Topology(calibration.profile(scenario.calibration), jitter_seed)
        self.flows: list[tuple] = []
        self._wired: set[str] = set()
        self.services = {svc.name: svc for svc in cluster.services}
        self.client_az = scenario.vpc.subnets[0].az
        self.router = Router(self.topo, scenario, self.services, self._wire)
        self.flow_log = FlowLog(rng.bit_generator.seed_seq, scenario, cluster.services,
                                env) if scenario.flow_logs else None
        #: connection state (conntrack, ports, NAT gateways, ENA allowances) when a flow
        #: opens connections or talks to a link-local service; else None (packets only)
        self.connections = ConnectionState(scenario) if any(
            f.connections is not None or f.to == "imds" for f in scenario.traffic) or any(
            getattr(g, "own_connections", None) for g in scenario.cluster.instance_groups
        ) else None
        self.instances = {inst.id: inst for inst in cluster.instances}
        self._groups = {g.name: g for g in scenario.cluster.instance_groups}
        self._sources: list[ConnectionSource | None] = []
        self._drops: list[Counter | None] = []  # per flow: named drops, or None
        streams = rng.bit_generator.seed_seq.spawn(max(1, len(scenario.traffic)))
        for i, (flow, seq) in enumerate(zip(scenario.traffic, streams, strict=False)):
            self._add_flow(i, flow, np.random.default_rng(seq))
        self._start_own(cluster, rng)
        ts = getattr(scenario, "timeseries", None)
        self.timeseries = TimeSeries(self.engine, [f[1] for f in self.flows],
                                     self.engine.warmup, self.end,
                                     ts.window if ts is not None else 0.1)

    def _wire(self, task: Task) -> None:
        """Put a task (and its instance, the first time) into the topology."""
        if task.id in self._wired:
            return
        inst = task.instance
        if inst.id not in self._wired:
            self.topo.add_host(inst.id, inst.type.vcpus, inst.type.bandwidth_bps,
                               self._allowance(inst))
            if inst.platform == "EC2":  # a Fargate micro-VM has no host namespace of ours
                self.topo.host_stack(inst.id)
            self._wired.add(inst.id)
        modes.get(task.mode).wire(self.topo, task)
        self._wired.add(task.id)

    def _allowance(self, inst) -> Allowance | None:
        """An EC2 instance's ENA allowances, from its type and its group's
        ``ena_allowances`` (a Fargate micro-VM's card is not ours to model)."""
        if inst.platform != "EC2":
            return None
        group = self._groups.get(inst.group)
        found = allowance_of(inst.id, inst.type, getattr(group, "ena_allowances", None))
        inst.mode_state[ALLOWANCE_KEY] = found  # what the resource table reads
        return found

    # ---- flows ----------------------------------------------------------------------
    def _add_flow(self, index: int, flow, rng: np.random.Generator) -> None:
        """A source whose packets go, at their send time, to the destination's healthy tasks
        (round robin behind an ALB, at random otherwise), to the internet or to IMDS; a
        packet with no healthy target, or on a route the VPC blocks, is unreachable."""
        stats = FlowStats(flow.name, keep_latencies=False)  # memory flat in packets
        self.engine.attach(stats)
        router = self.router
        outside = flow.to in ("internet", "imds")
        dst_svc = None if outside else self.services[self.scenario.service_named(flow.to).name]
        src_svc = None if flow.from_ == "client" else self.services[flow.from_]
        port, proto = self._port(flow, dst_svc)
        sport = self._source_port(index, src_svc)  # one ephemeral source port per flow
        lb = None
        dst_view = dst_svc  # whose ``targets`` the flow's packets reach
        if flow.via != "direct":
            lb = router.balancer(flow.via, modes.get(dst_svc.spec.network_mode))
            lb, port, proto, dst_view = self._listener(flow, dst_svc, lb, port, proto)
        cache: dict[tuple[str, str], Outcome] = {}
        blocked: list[Unreachable] = []  # the first reason packets of this flow met
        counts = self._log_counter(index, flow, lb)
        turn = itertools.count()
        round_robin = lb is not None and lb.kind == "alb"  # an ALB balances in turn
        draws = iter(())

        def uniform() -> float:
            nonlocal draws
            try:
                return next(draws)
            except StopIteration:
                draws = iter(rng.random(4096).tolist())
                return next(draws)

        def compile_route(src, dst) -> Outcome:
            if flow.to == "internet":
                return router.to_internet(src, port, proto, sport)
            if flow.to == "imds":
                return router.to_imds(src)
            return router.to_task(src, dst, lb, port, proto, sport, self.client_az)

        def compiled(src, dst) -> Outcome:
            key = (src.id if src else "client", dst.id if dst else flow.to)
            found = cache.get(key)
            if found is None:
                found = cache[key] = compile_route(src, dst)
                if found.blocked is not None and not blocked:
                    blocked.append(found.blocked)
                if found.walk:
                    found.route = Route(self.topo.devices(found.walk), stats)
            return found

        def log(found: Outcome) -> None:
            """Count a packet's flow-log records."""
            if counts is not None:
                for record in found.log:
                    counts[record] += 1

        def route(src, dst) -> Route | None:
            found = compiled(src, dst)
            log(found)
            return found.route

        def choose():
            """The (sender, target) of the next packet or connection, or None."""
            if src_svc is None:
                src = None
            else:
                senders = src_svc.targets
                if not senders:
                    return None
                src = senders[int(uniform() * len(senders))]
            if outside:
                return src, None
            targets = dst_view.targets
            if not targets:
                return None
            if round_robin:
                dst = targets[next(turn) % len(targets)]
            else:
                dst = targets[int(uniform() * len(targets))]
            return src, dst

        def choice() -> Choice:
            """``choose`` then ``route``, done by the packet loop: the same draws in the
            same order, a route table per (sender, target) that ``compiled`` fills."""
            return Choice(None if src_svc is None else TargetSet(src_svc),
                          None if outside else TargetSet(dst_view), round_robin,
                          Draws(rng.random, 4096), lambda s, d: compiled(s, d).route)

        # a flow whose packets are counted into flow logs keeps ``route`` (and ``log``)
        self._start(flow, stats, rng, choose, compiled, route, log,
                    choice if counts is None else None)
        # the path shown for the flow: the first source and the first target it reaches
        typical = None
        if src_svc is None or src_svc.targets:
            src = None if src_svc is None else src_svc.targets[0]
            dsts = [None] if outside else dst_view.targets
            typical = next((o.route for dst in dsts if (o := compiled(src, dst)).route), None)
        self.flows.append((flow, stats, typical, blocked, dst_svc))

    def _listener(self, flow, dst_svc, lb, port: int, proto: str):
        """``(balancer, port, protocol, targets' owner)`` of a flow through ``lb``: the
        target group its listener and path select (its container port; the balancer as
        that group's listener), and, on a CODE_DEPLOY service's test listener, the
        replacement task set. A flow to a service with one target group and no
        listener of its own keeps what it had."""
        spec = dst_svc.spec
        view = dst_svc
        if flow.listener_port is not None:
            lb = dataclasses.replace(lb, port=flow.listener_port)
            bg = spec.blue_green
            if bg is not None and bg.test_listener_port == flow.listener_port:
                return lb, port, proto, TestListener(dst_svc)
        if spec.load_balancers is not None:
            named = self.scenario.load_balancer(flow.via)
            tg = targetgroups.for_flow(
                targetgroups.of_service(spec, lambda n: self.scenario.load_balancer(n).port),
                flow.via if named is not None else "", flow.port, flow.path, flow.listener_port)
            if tg is not None:
                port, proto = tg.container_port, tg.protocol
                lb = dataclasses.replace(lb, port=tg.listener_port)
        return lb, port, proto, view

    def _start(self, flow, stats: FlowStats, rng: np.random.Generator, choose, compiled,
               route, log, choice=None) -> None:
        """Start a flow's source over its sending window: its connections, or its packets
        (dropped beyond the link-local allowance when they go to IMDS); each picks its
        (sender, target) with ``choose``, or, for plain packets, with ``choice()`` when
        given (the same choice inside the packet loop)."""
        start = self.start if flow.start is None else max(flow.start, self.env.now)
        stop = self.end if flow.stop is None else min(flow.stop, self.end)
        police = self._police() if flow.to == "imds" else None
        if flow.connections is not None:
            source = None if stop <= start else ConnectionSource(
                self.env, self.engine, self.connections, self.topo.g, self.instances, flow,
                stats, rng, start, stop, choose, compiled, log, police)
            self._sources.append(source)
            self._drops.append(None if source is None else source.drops)
            return
        drops: Counter | None = None if police is None else Counter()
        self._sources.append(None)
        self._drops.append(drops)
        if not (flow.rate > 0 and stop > start):
            return
        if police is None:
            def pick() -> Route | None:
                pair = choose()
                return None if pair is None else route(*pair)
            if choice is not None:
                pick = choice()
            Source(self.env, self.engine, rng, flow.rate, flow.arrival, flow.size, start, stop,
                   pick, stats=stats)
            return

        def policed():
            pair = choose()
            if pair is None:
                return None
            found = route(*pair)
            if found is not None and not police(pair[0], self.env.now):
                if self.env.now >= self.engine.warmup:
                    drops[LINKLOCAL_EXCEEDED] += 1
                return DROPPED
            return found
        PolicedSource(self.env, self.engine, rng, flow.rate, flow.arrival, flow.size, start,
                      stop, policed, stats=stats)

    def _start_own(self, cluster, rng: np.random.Generator) -> None:
        """The own connections of every EC2 Linux instance whose group asks for them
        (:mod:`ecsnetsim.net.owntraffic`), each on a random stream of its own (drawn after
        the flows', which they leave as they were)."""
        own = [(inst, g.own_connections) for inst in cluster.instances
               if (g := self._groups.get(inst.group)) is not None
               and getattr(g, "own_connections", None) is not None
               and inst.platform == "EC2" and inst.os != "windows"]
        if not own:
            return
        streams = rng.bit_generator.seed_seq.spawn(len(own))
        for (inst, spec), seq in zip(own, streams, strict=True):
            OwnConnections(self.engine.loop, self.connections.of(inst), spec,
                           np.random.default_rng(seq), self.start, self.end,
                           self.engine.warmup)

    def _police(self):
        """The link-local allowance of a packet's sending ENI (see connections)."""
        return LinkLocalPolice(self.connections, lambda t: self.router.endpoint(t).eni,
                               self.engine.warmup).allow

    def _source_port(self, index: int, src_svc) -> int:
        """Flow ``index``'s source port, from its sender's ephemeral range (only flow logs
        show it)."""
        if self.flow_log is None:
            return 50000 + index
        hosts = [] if src_svc is None else [t.instance for t in src_svc.targets]
        windows = any(getattr(h, "os", None) == "windows" for h in hosts)
        return self.flow_log.source_port(index, "windows" if windows else "linux")

    def _log_counter(self, index: int, flow, lb):
        """Flow-log counts of ``flow``: over its sending window, with the source port of
        a balancer that opens connections of its own (no client IP preservation)."""
        if self.flow_log is None:
            return None
        start = self.start if flow.start is None else max(flow.start, self.start)
        stop = self.end if flow.stop is None else min(flow.stop, self.end)
        own = {} if lb is None or lb.preserve_client_ip else {
            lb.endpoint.ip: ephemeral_port(self.flow_log.seed, "elb", index)}
        return self.flow_log.counter(flow, (start, stop), own)

    def _port(self, flow, dst_svc) -> tuple[int, str]:
        """The flow's destination port and protocol: its ``port`` (default the first one the
        service maps; 443 to the internet, 80 to IMDS) with the mapping's protocol."""
        if dst_svc is None:
            return flow.port or (443 if flow.to == "internet" else 80), "tcp"
        maps = [pm for c in dst_svc.spec.containers for pm in c.port_mappings]
        port = flow.port or (maps[0].ports[0] if maps else 80)
        proto = next((pm.protocol for pm in maps
                      if pm.ports[0] <= port < pm.ports[0] + pm.ports[1]), "tcp")
        return port, proto

    # ---- results --------------------------------------------------------------------
    def _breakdown(self, route: Route | None) -> dict[str, float]:
        """Measured mean time per packet spent in each kind of device on a route (us)."""
        out: dict[str, float] = defaultdict(float)
        for d in route.devices if route else ():
            if d.packets:
                out[d.kind] += (d.latency + (d.busy + d.wait + d.jitter_busy) / d.packets) * 1e6
        return {k: round(v, 6) for k, v in out.items()}

    def flow_results(self) -> list[FlowRow]:
        """Each flow's packets, hops and latency over the measured window."""
        window = self.engine.window(self.end)
        rows = []
        for (flow, stats, typical, blocked, dst_svc), source, drops in zip(
                self.flows, self._sources, self._drops, strict=True):
            drops = self._with_allowance_drops(stats, drops)
            s = stats.summary(window)
            if not blocked and s["unreachable"] and dst_svc is not None and \
                    dst_svc.health_check_blocked:  # no target ever turned healthy: why
                why = dst_svc.health_check_blocked
                blocked = [Unreachable(why.at, "no healthy target: health checks dropped: "
                                               + why.reason)]
            rows.append(FlowRow(
                name=flow.name, from_=flow.from_, to=flow.to, via=flow.via,
                sent=s["sent"], delivered=s["delivered"], dropped=s["dropped"],
                unreachable=s["unreachable"], in_flight=s["in_flight"],
                hops=Hops(**_rounded(s["hops"])), latency_us=_latency(s["latency_us"]),
                throughput_pps=round(s["throughput_pps"], 6),
                path=typical.kinds if typical else [],
                breakdown_us=self._breakdown(typical),
                blocked=Blocked(blocked[0].at, blocked[0].reason) if blocked else None,
                drops=None if drops is None else dict(sorted(drops.items())),
                connections=None if flow.connections is None else ConnectionsRow(
                    **(source.conns.row() if source is not None else
                       {"opened": 0, "completed": 0, "failed": {}, "peak_open": 0})),
            ))
        return rows

    def _with_allowance_drops(self, stats: FlowStats, drops: Counter | None) -> dict | None:
        """A flow's named drops with the packets the instances' ENA allowances refused
        (the same object when they refused none of them)."""
        extra: Counter = Counter()
        for inst_id in self.instances:
            allowance = self.topo.allowance(inst_id)
            if allowance is not None and allowance.by_flow:
                extra.update(allowance.drops_of(stats))
        if not extra:
            return drops
        return extra if drops is None else drops + extra

    def _ena_counters(self, inst) -> dict[str, int]:
        """The bandwidth and PPS counters ``inst``'s allowances counted (nonzero only: a
        run within them reports as before)."""
        allowance = self.topo.allowance(inst.id)
        if allowance is None:
            return {}
        return {k: n for k, n in allowance.counters().items() if n}

    def _ena_allowances(self, inst, counted: dict[str, int], state) -> dict:
        """``inst``'s allowances as a row field, once the PPS, bandwidth (``counted``) or
        tracked-connections counter (of its connection ``state``, if any) counted: the
        limits the summary names beside the counters (a run within them reports as
        before)."""
        tracked = None if state is None else state.tracked
        if not counted and not (tracked is not None and tracked.refused):
            return {}
        a = self.topo.allowance(inst.id)  # None: no packet of the run crossed its card
        return {"ena_allowances": EnaAllowancesRow(
            None if a is None else round(a.pps_rate, 6),
            None if a is None else round(a.in_rate, 6),
            None if a is None else round(a.out_rate, 6),
            None if tracked is None else int(tracked.limit))}

    def instance_connections(self, inst) -> dict:
        """The connection fields of ``inst``'s row (none for packet-only runs): its
        conntrack tables and host ephemeral ports (EC2 Linux), its ENA counters (the
        connection and link-local ones in runs with such flows, the bandwidth and PPS
        ones whenever they counted a packet) and, once one of them counted, its
        allowances."""
        allowances = self._ena_counters(inst)
        if self.connections is None or inst.platform != "EC2":
            return {"ena": dict(sorted(allowances.items())),
                    **self._ena_allowances(inst, allowances, None)} if allowances else {}
        state = self.connections.of(inst)
        tables = state.tables()
        lo, hi = state.ports.range
        counters = {name: state.ena.get(name, 0) for name in ENA_COUNTERS}
        out: dict = {"ena": dict(sorted({**counters, **allowances}.items()))}
        if inst.os != "windows":
            out["conntrack"] = ConntrackRow(max(t.peak for t in tables), state.conntrack_max,
                                            sum(t.dropped for t in tables))
            out["ephemeral_ports"] = EphemeralPortsRow(state.ports.peak, hi - lo + 1,
                                                       state.exhausted())
        return {**out, **self._ena_allowances(inst, allowances, state)}

    def nat_gateway_results(self) -> list[NatGatewayRow] | None:
        """Each NAT gateway's SNAT ports, when a flow opens connections."""
        if self.connections is None or not any(f.connections is not None
                                               for f in self.scenario.traffic):
            return None
        return [NatGatewayRow(g.name, g.peak, g.refused)
                for g in self.connections.gateways.values()]

    def timeseries_results(self) -> list[TimeseriesRow]:
        """Each flow's and the busiest resources' figures per window (closes the last)."""
        self.timeseries.finish()
        return [TimeseriesRow(**r) for r in self.timeseries.rows()]

    def device_results(self) -> list[DeviceRow]:
        """Each device that carried or dropped packets, then the shared pools behind them."""
        window = self.engine.window(self.end)
        rows = []
        for d in self.engine.devices:
            if d.packets or d.drops:
                r = d.summary(window)
                r["utilization"] = round(r["utilization"], 6)
                r["mean_wait_us"] = round(r["mean_wait_us"], 6)
                rows.append(DeviceRow(**r))
        # the shared resources behind them: an instance's vCPUs and its card, per direction
        for kind, host, pool in self.topo.pools():
            packets = sum(d.packets for d in pool.devices)
            if packets:
                rows.append(DeviceRow(
                    id=pool.name, kind=kind, host=host, packets=packets,
                    utilization=round(pool.utilization(window), 6),
                    mean_wait_us=round(sum(d.wait for d in pool.devices) / packets * 1e6, 6),
                    drops=sum(d.drops for d in pool.devices),
                ))
        return rows


class TestListener:
    """A CODE_DEPLOY service as its test listener sees it: the same task tally (its
    version says when to look again), the replacement task set as targets."""

    __slots__ = ("service", "tally")

    def __init__(self, service) -> None:
        self.service = service
        self.tally = service.tally

    @property
    def targets(self) -> list:
        return self.service.test_targets


def _latency(summary: dict) -> Latency:
    """The latency row of a flow's summary: figures rounded to 1e-6 us, the histogram's
    edges and counts as they are."""
    hist = summary["hist"]
    return Latency(**_rounded({k: v for k, v in summary.items() if k != "hist"}),
                   hist=LatencyHist(hist["edges_us"], hist["counts"]) if hist else None)


def _rounded(d: dict) -> dict:
    return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in d.items()}
