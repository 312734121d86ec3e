"""Routes of a flow through the topology, with the VPC's verdict on each.

A route is compiled once per (source, destination) pair and cached by the flow: the
devices a packet crosses (from the modes' walks and the VPC pieces between them), or
where and why AWS would drop it (:class:`~ecsnetsim.modes.Unreachable`: no route to
the internet, a security group without a matching rule, an NLB loopback, an IMDS
response that runs out of hops). Each outcome also names the flow-log records its
packets make: one per ENI they leave or enter, with the 5-tuple that ENI sees.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import modes, vpc
from ..endpoint import Endpoint
from ..model.instance import Task
from ..modes import Unreachable
from ..vpc import Balancer

#: Addresses of the things that are not ENIs of the cluster (documentation ranges).
INTERNET_IP = "198.51.100.10"
IMDS_IP = "169.254.169.254"

#: IANA protocol numbers, as flow logs write them.
PROTOCOLS = {"tcp": 6, "udp": 17}


@dataclass
class Outcome:
    """A compiled route: its walk, or why it is blocked; and its flow-log record keys."""

    walk: list[str] | None
    blocked: Unreachable | None = None
    log: list[tuple] = field(default_factory=list)
    route: object = None  # the engine's compiled Route, once the data plane made it


class Router:
    """Compiles the routes of one variant's flows."""

    def __init__(self, topo, scenario, services: dict, wire) -> None:
        self.topo = topo
        self.scenario = scenario
        self.services = services  # name -> ServiceState
        self.wire = wire
        self.groups = vpc.SecurityGroups(scenario.vpc.security_groups)
        self.subnets = {s.name: s for s in scenario.vpc.subnets}
        self.gateways = {g.name: g for g in scenario.vpc.nat_gateways}
        first = scenario.vpc.subnets[0]
        self.client = Endpoint(eni="eni-client", ip=vpc.address_near_end(first.cidr, 0),
                               subnet=first.name, what="the client")

    # ---- the ends -----------------------------------------------------------------------
    def endpoint(self, task: Task) -> Endpoint:
        return modes.get(task.mode).endpoint(task, self.services[task.service].spec)

    def balancer(self, via: str, dst_mode) -> Balancer:
        return vpc.balancer(self.scenario, via, dst_mode.target_type)

    # ---- to a task -------------------------------------------------------------------------
    def to_task(self, src, dst: Task, lb: Balancer | None, port: int, proto: str,
                sport: int, client_az: str) -> Outcome:
        """From the client (``src`` None) or a task to task ``dst``'s ``port``."""
        topo = self.topo
        self.wire(dst)
        dst_mode = modes.get(dst.mode)
        inbound = dst_mode.inbound(topo, dst)
        if isinstance(inbound, Unreachable):
            return Outcome(None, inbound)
        if src is None:
            stack, _rx, tx = topo.client(client_az)
            outbound, src_az, src_ep = [stack, tx], client_az, self.client
        else:
            self.wire(src)
            if lb is None and src.instance is dst.instance:
                local = dst_mode.local(topo, src, dst)
                if isinstance(local, Unreachable):
                    return Outcome(None, local)
                if local is not None:  # stays inside the host: no ENI, no security group
                    return Outcome(local)
            outbound = modes.get(src.mode).outbound(topo, src)
            if isinstance(outbound, Unreachable):
                return Outcome(None, outbound)
            src_az, src_ep = src.instance.az, self.endpoint(src)
        same_host = src.instance.id if src is not None and src.instance is dst.instance \
            and lb is None else None
        middle = topo.connect(outbound[-1], inbound[0], src_az, dst.instance.az, same_host,
                              lb.kind if lb else None, lb.name if lb else None)
        walk = outbound + middle + inbound
        dst_ep = self.endpoint(dst)
        dport = dst.binding.host_ports.get((port, proto), port)  # the port the ENI sees
        p = PROTOCOLS.get(proto, 6)
        if lb is None:
            return self._guarded(walk, src_ep, dst_ep, sport, dport, p, proto,
                                 outbound[-1], inbound[0])
        at_lb = middle[1]
        listener = lb.port or port
        out = self.groups.lets_out(src_ep, listener, proto, lb.endpoint, outbound[-1])
        log = [(src_ep.eni, src_ep.ip, lb.endpoint.ip, sport, listener, p,
                "REJECT" if out else "ACCEPT")]
        if out:
            return Outcome(None, out, log)
        if lb.endpoint.groups:  # an NLB without groups admits everything
            into = self.groups.admits(lb.endpoint, listener, proto, src_ep, at_lb)
            if into:
                return Outcome(None, into, log)
        loop = vpc.nlb_loopback(lb, src.instance if src is not None else None, dst.instance,
                                at_lb)
        if loop:
            return Outcome(None, loop, log)
        seen = src_ep if lb.preserve_client_ip else lb.endpoint
        into = self.groups.admits(dst_ep, dport, proto, seen, inbound[0])
        log.append((dst_ep.eni, seen.ip, dst_ep.ip, sport, dport, p,
                    "REJECT" if into else "ACCEPT"))
        return Outcome(None if into else walk, into, log)

    def _guarded(self, walk, src_ep: Endpoint, dst_ep: Endpoint, sport: int, dport: int,
                 p: int, proto: str, tx: str, rx: str) -> Outcome:
        """ENI to ENI: the source's egress rules, then the destination's ingress rules."""
        out = self.groups.lets_out(src_ep, dport, proto, dst_ep, tx)
        log = [(src_ep.eni, src_ep.ip, dst_ep.ip, sport, dport, p,
                "REJECT" if out else "ACCEPT")]
        if out:
            return Outcome(None, out, log)
        into = self.groups.admits(dst_ep, dport, proto, src_ep, rx)
        log.append((dst_ep.eni, src_ep.ip, dst_ep.ip, sport, dport, p,
                    "REJECT" if into else "ACCEPT"))
        return Outcome(None if into else walk, into, log)

    # ---- out of the VPC ---------------------------------------------------------------------
    def to_internet(self, src: Task, port: int, proto: str, sport: int) -> Outcome:
        """From a task out through its subnet's route: a NAT gateway, or an internet gateway
        with a public IP."""
        topo = self.topo
        self.wire(src)
        outbound = modes.get(src.mode).outbound(topo, src)
        if isinstance(outbound, Unreachable):
            return Outcome(None, outbound)
        src_ep = self.endpoint(src)
        internet = Endpoint(eni="-", ip=INTERNET_IP, what="the internet")
        p = PROTOCOLS.get(proto, 6)
        out = self.groups.lets_out(src_ep, port, proto, internet, outbound[-1])
        log = [(src_ep.eni, src_ep.ip, INTERNET_IP, sport, port, p,
                "REJECT" if out else "ACCEPT")]
        if out:
            return Outcome(None, out, log)
        hops = vpc.route_to_internet(self.subnets, self.gateways, src_ep)
        if isinstance(hops, Unreachable):
            return Outcome(None, hops, log)
        nodes = []
        for kind, name in hops:
            if kind == "nat_gateway":
                az = self.subnets[self.gateways[name].subnet].az
                nodes += [topo.fabric(src.instance.az, az), topo.device(f"nat/{name}", kind)]
            else:
                nodes.append(topo.device("vpc/igw", kind))
        nodes.append(topo.device("internet", "internet"))
        return Outcome(topo.chain(*outbound, *nodes), None, log)

    def to_imds(self, src: Task) -> Outcome:
        """From a task to the instance metadata service at 169.254.169.254, through the
        ENI its packets leave by; the IMDSv2 token response must get back within the
        instance's hop limit."""
        topo = self.topo
        self.wire(src)
        if src.instance.platform != "EC2":
            return Outcome(None, Unreachable(None, "Fargate tasks have no access to the "
                                                   "instance metadata service"))
        outbound = modes.get(src.mode).outbound(topo, src)
        if isinstance(outbound, Unreachable):
            return Outcome(None, outbound)
        ep = self.endpoint(src)
        imds = topo.device(f"{ep.eni}/imds", "imds", src.instance.id)
        walk = topo.chain(*outbound, imds)
        kinds = [topo.g.nodes[n]["kind"] for n in outbound]
        dropped = vpc.imds_response(kinds, outbound, src.instance.metadata)
        return Outcome(None if dropped else walk, dropped)
