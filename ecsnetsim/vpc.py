"""The VPC's rules of reachability: security groups, route tables, load balancers, IMDS.

Both planes ask these questions: the data plane for every route it compiles, the
control plane for load-balancer health checks. Each answer is ``None`` (the packet
passes) or an :class:`~ecsnetsim.modes.Unreachable` naming the device where AWS drops
it and why, in AWS's terms. What differs per network mode (whose ENI, address and
groups a task's packets carry) comes from the task's mode (:meth:`NetworkMode.endpoint`).

* **Security groups** are stateful and deny by default: a packet enters an ENI when one
  of the ENI's groups has an ingress rule for its protocol and port from its source (a
  group the source's ENI is in, a CIDR holding its address, or any), and leaves when one
  of the source ENI's groups allows it out (no egress rules given: all out). An ENI with
  no group named is in the VPC's ``default`` group, which admits only its own members.
  Without a ``security_groups`` section nothing is checked.
* **Routes**: a subnet routes ``local`` only, to an internet gateway (``igw``: a public
  subnet; the sender needs a public IP) or to a NAT gateway, which must sit in a public
  subnet.
* **Load balancers**: an ALB always terminates the connection (targets see the
  balancer); an NLB preserves the client's address by default for instance targets and
  not for ip targets (Elastic Load Balancing guide, "Client IP preservation"); with
  preservation and instance targets, a target cannot reach itself through the NLB (the
  connection times out: "loopback" in the NLB troubleshooting guide).
* **IMDS**: with ``http_tokens: required`` the session token's response carries a TTL
  of ``hop_limit``; every device that routes between namespaces on the way back
  (:data:`ROUTING_KINDS`) takes one, so a container behind such a device needs a hop
  limit above their number (EC2 user guide, "Configure the instance metadata options").
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from . import modes, targetgroups
from .endpoint import Endpoint
from .modes import Unreachable

#: Device kinds that route between network namespaces (and so decrement the TTL).
ROUTING_KINDS = frozenset({"host_forward", "winnat"})

#: The VPC's default security group: members admit each other, nothing else.
DEFAULT_GROUP = "default"


@dataclass
class Rule:
    ports: tuple[int, int]
    protocol: str
    peer: str  # sg:NAME | CIDR | any

    def matches(self, port: int, protocol: str, peer: Endpoint) -> bool:
        if self.protocol != "all" and self.protocol != protocol:
            return False
        if not self.ports[0] <= port <= self.ports[1]:
            return False
        if self.peer == "any":
            return True
        if self.peer.startswith("sg:"):
            return self.peer[3:] in peer.groups
        return ipaddress.IPv4Address(peer.ip) in ipaddress.IPv4Network(self.peer, strict=False)


@dataclass
class Group:
    name: str
    ingress: list[Rule] = field(default_factory=list)
    egress: list[Rule] | None = None  # None: all out


class SecurityGroups:
    """The VPC's security groups, or none modelled (every packet passes)."""

    def __init__(self, groups) -> None:
        self.enabled = groups is not None
        self.groups: dict[str, Group] = {DEFAULT_GROUP: Group(
            DEFAULT_GROUP, [Rule((0, 65535), "all", f"sg:{DEFAULT_GROUP}")])}
        for g in groups or []:
            self.groups[g.name] = Group(
                g.name, [Rule(r.ports, r.protocol, r.from_ or "any") for r in g.ingress],
                None if g.egress is None else [Rule(r.ports, r.protocol, r.to or "any")
                                               for r in g.egress])

    @staticmethod
    def members(groups) -> tuple[str, ...]:
        """The groups an ENI is in: those named, else the VPC's default group."""
        return tuple(groups) if groups else (DEFAULT_GROUP,)

    def admits(self, dst: Endpoint, port: int, protocol: str, src: Endpoint,
               at: str) -> Unreachable | None:
        """Ingress at ``dst``'s ENI (node ``at``) for a packet from ``src``."""
        if not self.enabled:
            return None
        names = self.members(dst.groups)
        if any(r.matches(port, protocol, src) for n in names for r in self.groups[n].ingress):
            return None
        who = ", ".join([src.ip, *(f"sg:{g}" for g in src.groups)])
        return Unreachable(at, f"security group {', '.join(names)} of {dst.what} has no "
                               f"inbound rule for {protocol}/{port} from {src.what} ({who})")

    def lets_out(self, src: Endpoint, port: int, protocol: str, dst: Endpoint,
                 at: str) -> Unreachable | None:
        """Egress at ``src``'s ENI (node ``at``) toward ``dst``."""
        if not self.enabled:
            return None
        names = self.members(src.groups)
        rules = [self.groups[n].egress for n in names]
        if any(r is None for r in rules) or any(
                rule.matches(port, protocol, dst) for rs in rules for rule in rs):
            return None
        return Unreachable(at, f"security group {', '.join(names)} of {src.what} has no "
                               f"outbound rule for {protocol}/{port} to {dst.what} ({dst.ip})")


def route_to_internet(subnets: dict, nat_gateways: dict, src: Endpoint
                      ) -> list[tuple[str, str]] | Unreachable:
    """The gateways a packet from ``src`` to the internet crosses, as ``(kind, name)``, or
    where it stops: its subnet's route table, or a NAT gateway without a way out."""
    subnet = subnets[src.subnet]
    table = f"vpc/route-table:{subnet.name}"
    if subnet.route == "local":
        return Unreachable(table, f"subnet {subnet.name}'s route table has no route to an "
                                  "internet gateway or a NAT gateway")
    if subnet.route == "igw":
        if not src.public_ip:
            why = src.no_public_ip or f"{src.what} has no public IP"
            return Unreachable(table, f"subnet {subnet.name} routes to an internet gateway, "
                                      f"but {why}; a private subnet with a NAT gateway is "
                                      "the way out")
        return [("igw", "igw")]
    gw = nat_gateways[subnet.route.removeprefix("nat:")]
    if subnets[gw.subnet].route != "igw":
        return Unreachable(f"nat/{gw.name}", f"NAT gateway {gw.name} is in subnet {gw.subnet}, "
                                             "whose route table has no route to an internet "
                                             "gateway")
    return [("nat_gateway", gw.name), ("igw", "igw")]


@dataclass(frozen=True)
class Balancer:
    """A load balancer as packets and health checks meet it."""

    name: str
    kind: str  # alb | nlb (its device kind)
    target_type: str
    preserve_client_ip: bool
    endpoint: Endpoint
    port: int | None = None  # the listener port (None: the target's port, for alb/nlb)


def address_near_end(cidr: str, back: int) -> str:
    """An address ``back`` below the subnet's broadcast address: for endpoints that are not
    ENIs of the cluster (the client, load balancer nodes), away from the IPAM's low end."""
    net = ipaddress.IPv4Network(cidr)
    return str(net.broadcast_address - 1 - back)


def balancer(scenario, via: str, target_type: str) -> Balancer:
    """A named load balancer, or ``alb``/``nlb`` with AWS's defaults for ``target_type``."""
    lb = scenario.balancer_for(via, target_type)
    names = [b.name for b in scenario.load_balancers]
    index = names.index(lb.name) + 1 if lb.name in names else 1
    subnet = next((s for s in scenario.vpc.subnets if lb.subnets and s.name == lb.subnets[0]),
                  scenario.vpc.subnets[0])
    ep = Endpoint(eni=f"eni-lb-{lb.name}", ip=address_near_end(subnet.cidr, index),
                  groups=tuple(lb.security_groups), subnet=subnet.name,
                  what=f"load balancer {lb.name}")
    named = scenario.load_balancer(via) is not None
    return Balancer(lb.name, lb.type, lb.target_type, preserves_client_ip(lb), ep,
                    lb.port if named else None)


def health_check(scenario, groups: SecurityGroups, service, task) -> Unreachable | None:
    """Whether the load balancer's health checks reach ``task`` (a target of ``service``):
    they come from the balancer's own addresses and groups to the port the target
    registered (the host port for instance targets), through the target's groups."""
    if not groups.enabled:
        return None
    if service.load_balancers is not None:  # each target group checks its own port
        return next((why for why in (_group_check(scenario, groups, tg, task, service)
                                     for tg in targetgroups.of_service(service)) if why), None)
    via = service.load_balancer or next(
        (f.via for f in scenario.traffic if f.via != "direct"
         and getattr(scenario.service_named(f.to), "name", None) == service.name), None)
    # by name: a deployment's revision is a new Service object for the same service
    maps = [pm for c in service.containers for pm in c.port_mappings]
    if via is None or not maps:
        return None
    mode = modes.get(task.mode)
    lb = balancer(scenario, via, mode.target_type)
    port, proto = maps[0].ports[0], maps[0].protocol
    dport = task.binding.host_ports.get((port, proto), port)
    target = mode.endpoint(task, service)
    return groups.admits(target, dport, proto, lb.endpoint, target.eni)


def _group_check(scenario, groups: SecurityGroups, tg, task, service) -> Unreachable | None:
    """Whether target group ``tg``'s health checks reach ``task`` at its container port
    (the host port it is bound to, for instance targets)."""
    mode = modes.get(task.mode)
    lb = balancer(scenario, tg.load_balancer, mode.target_type)
    dport = task.binding.host_ports.get((tg.container_port, tg.protocol), tg.container_port)
    return groups.admits(mode.endpoint(task, service), dport, tg.protocol, lb.endpoint,
                         mode.endpoint(task, service).eni)


def preserves_client_ip(lb) -> bool:
    """AWS's defaults: an ALB never; an NLB for instance targets, not for ip targets."""
    if lb.type == "alb":
        return False
    if lb.preserve_client_ip is not None:
        return lb.preserve_client_ip
    return lb.target_type == "instance"


def nlb_loopback(lb, src_instance, dst_instance, at: str) -> Unreachable | None:
    """An NLB with instance targets and client IP preservation cannot send a target's
    own connection back to it (the target answers itself, not the NLB; it times out).
    ``lb`` is the data plane's view of it (``kind``, ``target_type``,
    ``preserve_client_ip``)."""
    if lb.kind == "nlb" and lb.target_type == "instance" and lb.preserve_client_ip and \
            src_instance is not None and src_instance is dst_instance:
        return Unreachable(at, f"load balancer {lb.name}: an NLB with instance targets and "
                               "client IP preservation does not support loopback: a "
                               "connection from a target's own instance back to it through "
                               "the NLB times out (use ip targets or turn preservation off)")
    return None


def imds_response(walk_kinds: list[str], walk: list[str], metadata) -> Unreachable | None:
    """Whether the IMDSv2 token response gets back along ``walk`` (the request's devices,
    in order): each routing device on it takes one from the response's TTL."""
    if metadata.http_tokens != "required":
        return None  # IMDSv1 answers without a token: the hop limit does not apply
    routers = [n for n, k in zip(walk, walk_kinds, strict=True) if k in ROUTING_KINDS]
    if len(routers) < metadata.hop_limit:
        return None
    return Unreachable(routers[metadata.hop_limit - 1],
                       f"IMDSv2 token response dropped: the instance's hop limit is "
                       f"{metadata.hop_limit} and the response crosses {len(routers)} routed "
                       f"hop(s) back to the caller; raise the hop limit to "
                       f"{len(routers) + 1}")
