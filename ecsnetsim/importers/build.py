"""Turn a :class:`~.stack.Stack` into a scenario (a dict) and the comments that go with it.

Every line of the scenario that came from a resource has that resource named in a
comment above it (``# AWS::EC2::Subnet PrivateA (network.yaml)``); every assumption the
importer made (a placeholder for a value it could not resolve, a feature the scenario
format cannot express, a default it filled in) is said beside the item it concerns, and
the resources it left out are listed in the header with the reason. Which source the
stack came from does not matter here: the three importers share these rules.
"""

from __future__ import annotations

import ipaddress
import re
from collections import defaultdict
from typing import Any

from .stack import Item, Stack, as_int, as_list, resolved
from .writer import Comments

#: Instance type written when a group's type is unknown or not in the catalog.
PLACEHOLDER_TYPE = "m5.large"
#: The imported scenario's run: short, since a stack says nothing about time.
DURATION = "30s"
#: Rate of the flow assumed through each load balancer (a stack has no traffic).
FLOW_RATE = "100/s"
#: Where placeholder subnets take their CIDRs: the shared address space (RFC 6598), which
#: a VPC rarely uses, in /20 blocks (4,091 usable addresses each).
PLACEHOLDER_POOL = ipaddress.IPv4Network("100.64.0.0/10")
_NAME_BAD = re.compile(r"[^A-Za-z0-9._-]+")
_ECS_BAD = re.compile(r"[^A-Za-z0-9_-]+")


class Names:
    """Scenario names per kind of thing, unique, as the format allows them."""

    def __init__(self) -> None:
        self.used: dict[str, set[str]] = defaultdict(set)
        self.by_key: dict[tuple[str, str], str] = {}

    def get(self, kind: str, key: str) -> str | None:
        return self.by_key.get((kind, key))

    def give(self, kind: str, key: str, wanted: str, ecs: bool = False) -> str:
        """The name of ``key`` among ``kind``: ``wanted`` with characters the format does
        not allow replaced by '-' (ECS's rule for services: letters, digits, '_', '-'),
        and a number added when it is taken."""
        if (kind, key) in self.by_key:
            return self.by_key[(kind, key)]
        base = (_ECS_BAD if ecs else _NAME_BAD).sub("-", str(wanted)).strip("-._")[:240]
        base = base or kind
        name, n = base, 2
        while name in self.used[kind]:
            name, n = f"{base}-{n}", n + 1
        self.used[kind].add(name)
        self.by_key[(kind, key)] = name
        return name


class Builder:
    """The scenario under construction, its comments, and the names given so far."""

    def __init__(self, stack: Stack, name: str, region: str) -> None:
        self.stack = stack
        self.name = name
        self.region = region
        self.comments = Comments()
        self.names = Names()
        self.subnets: list[dict] = []
        self.nat_gateways: list[dict] = []
        self.groups: list[dict] | None = None
        self.instance_groups: list[dict] = []
        #: the cluster's capacity providers that a service's strategy names, and the
        #: instance groups made of each Auto Scaling group (by its key)
        self.capacity_providers: list[dict] = []
        self.asg_groups: dict[str, list[str]] = {}
        self.services: list[dict] = []
        self.load_balancers: list[dict] = []
        self.traffic: list[dict] = []
        self.trunking: bool | None = None
        self._pool = PLACEHOLDER_POOL.subnets(new_prefix=20)

    # -- comments -------------------------------------------------------------------
    def origin(self, path: tuple, item: Item) -> None:
        """Name ``item``'s resource above ``path``, with its notes."""
        self.comments.add(path, f"from {item.origin}")
        for note in item.notes:
            self.comments.add(path, note)

    def say(self, path: tuple, text: str) -> None:
        self.comments.add(path, text)

    # -- subnets ---------------------------------------------------------------------
    def subnet_name(self, ref: Any, why: str, az: str | None = None) -> str | None:
        """The scenario name of the subnet ``ref`` names; a placeholder subnet (said so)
        when the source does not describe it."""
        item = self.stack.find("subnet", ref)
        if item is not None:
            return self.names.get("subnet", item.key)
        if ref is None:
            return None
        key = f"?{ref}"
        known = self.names.get("subnet", key)
        if known:
            return known
        name = self.names.give("subnet", key, _short(ref) if resolved(ref) else "unknown-subnet")
        cidr = self._free_cidr()
        az = az or f"{self.region}{'abc'[len(self.subnets) % 3]}"
        self.subnets.append({"name": name, "cidr": cidr, "az": az})
        path = ("vpc", "subnets", len(self.subnets) - 1)
        self.say(path, f"placeholder: subnet {_short(ref)} ({why}) is not described in the "
                       f"source; its CIDR {cidr} and AZ {az} are assumed")
        return name

    def _free_cidr(self) -> str:
        taken = [ipaddress.IPv4Network(s["cidr"]) for s in self.subnets]
        for net in self._pool:
            if not any(net.overlaps(t) for t in taken):
                return str(net)
        raise AssertionError("placeholder CIDRs exhausted")  # pragma: no cover

    def add_subnets(self) -> None:
        tables = self._route_tables()
        for item in self.stack.all("subnet"):
            name = self.names.give("subnet", item.key, item.name)
            entry: dict[str, Any] = {"name": name}
            path = ("vpc", "subnets", len(self.subnets))
            self.origin(path, item)
            entry["cidr"] = self._cidr(item, path)
            az = item.get("az")
            if isinstance(az, str) and re.fullmatch(r"[a-z][a-z0-9-]{0,63}", az):
                entry["az"] = az
            else:
                entry["az"] = f"{self.region}a"
                self.say(path, f"AZ {_short(az)} unknown: {entry['az']} assumed")
            entry["route"] = self._route(item, tables.get(item.key), path)
            vpc = self.stack.find("vpc", item.get("vpc"))
            if vpc is not None:
                self.say(path, f"in {vpc.origin}")
            self.subnets.append(entry)

    def _cidr(self, item: Item, path: tuple) -> str:
        cidr = item.get("cidr")
        try:
            net = ipaddress.IPv4Network(str(cidr), strict=True)
        except ValueError:
            net = None
        taken = [ipaddress.IPv4Network(s["cidr"]) for s in self.subnets]
        clash = net is not None and any(net.overlaps(t) for t in taken)
        if net is not None and 16 <= net.prefixlen <= 28 and not clash:
            return str(net)
        placeholder = self._free_cidr()
        why = ("overlaps a subnet above (another VPC?)" if clash else
               "not an IPv4 CIDR between /16 and /28" if net is not None or resolved(cidr)
               else "not resolved offline")
        self.say(path, f"CIDR {_short(cidr)} {why}: placeholder {placeholder}")
        return placeholder

    def _route_tables(self) -> dict[str, Item]:
        """Each subnet's route table: its association, else the VPC's main table."""
        out: dict[str, Item] = {}
        for assoc in self.stack.all("rt_assoc"):
            subnet = self.stack.find("subnet", assoc.get("subnet"))
            table = self.stack.find("route_table", assoc.get("table"))
            if subnet is not None and table is not None:
                out[subnet.key] = table
                if assoc.origin != table.origin:
                    subnet.notes.append(f"associated by {assoc.origin}")
        main = next((t for t in self.stack.all("route_table") if t.get("main")), None)
        if main is not None:
            for subnet in self.stack.all("subnet"):
                out.setdefault(subnet.key, main)
        return out

    def _route(self, subnet: Item, table: Item | None, path: tuple) -> str:
        """``igw``, ``nat:<gateway>`` or ``local``: where the subnet's default route goes."""
        if table is None:
            self.say(path, "no route table associated with it in the source: the VPC's main "
                           "route table with only its local route is assumed (route: local)")
            return "local"
        routes = [r for r in self.stack.all("route")
                  if self.stack.find("route_table", r.get("table")) is table]
        default = next((r for r in routes if r.get("dest") == "0.0.0.0/0"), None)
        if default is None:
            return "local"
        kind = default.get("target_kind")
        via = f"route table {table.origin}" + (
            f", route {default.origin}" if default.origin != table.origin else "")
        if kind == "igw":
            igw = self.stack.find("igw", default.get("target"))
            gateway = f" ({igw.origin})" if igw is not None else ""
            self.say(path, f"0.0.0.0/0 to an internet gateway{gateway}: {via}")
            return "igw"
        if kind == "nat":
            nat = self.stack.find("nat", default.get("target"))
            if nat is not None:
                self.say(path, f"0.0.0.0/0 to a NAT gateway: {via}")
                return f"nat:{self.names.give('nat', nat.key, nat.name)}"
        self.say(path, f"default route of {default.origin} goes to "
                       f"{_short(default.get('target'))}, which is not modelled: route local")
        return "local"

    def add_nat_gateways(self) -> None:
        for item in self.stack.all("nat"):
            path = ("vpc", "nat_gateways", len(self.nat_gateways))
            subnet = self.subnet_name(item.get("subnet"), f"of {item.origin}")
            if subnet is None:
                self.stack.ignore(item.origin, "its subnet is not known")
                continue
            self.origin(path, item)
            self.nat_gateways.append({"name": self.names.give("nat", item.key, item.name),
                                      "subnet": subnet})

    # -- security groups -------------------------------------------------------------
    def group_names(self, refs: Any, path: tuple, what: str) -> list[str]:
        """Scenario names of the security groups ``refs`` names (those the source
        describes; the others are said and left out)."""
        if self.groups is None:
            return []
        out = []
        for ref in as_list(refs):
            item = self.stack.find("sg", ref)
            if item is None:
                self.say(path, f"security group {_short(ref)} of {what} is not described in "
                               "the source: left out")
                continue
            name = self.names.get("sg", item.key)
            if name not in out:
                out.append(name)
        return out

    def add_security_groups(self) -> None:
        items = self.stack.all("sg")
        if not items:
            self.stack.note("no security groups in the source: security groups are not "
                            "modelled (vpc.security_groups left out; every packet passes)")
            return
        self.groups = []
        for item in items:
            self.names.give("sg", item.key, item.name)
        extra: dict[str, list[tuple[str, dict, Item]]] = defaultdict(list)
        for rule in self.stack.all("sg_rule"):
            group = self.stack.find("sg", rule.get("group"))
            if group is None:
                self.stack.ignore(rule.origin, f"its security group {_short(rule.get('group'))}"
                                               " is not described in the source")
                continue
            extra[group.key].append((rule.get("direction"), rule.get("rule"), rule))
        for item in items:
            self._group(item, extra.get(item.key, []))

    def _group(self, item: Item, extra: list) -> None:
        path = ("vpc", "security_groups", len(self.groups))
        self.origin(path, item)
        entry: dict[str, Any] = {"name": self.names.get("sg", item.key), "ingress": []}
        egress_given = item.fields.get("egress") is not None
        egress: list[dict] = []
        pairs = [("ingress", r, None) for r in item.dicts("ingress")]
        pairs += [("egress", r, None) for r in item.dicts("egress")]
        pairs += [(d, r, src) for d, r, src in extra]
        for direction, rule, src in pairs:
            egress_given = egress_given or (src is not None and direction == "egress")
            out = self._rule(rule, direction, path, src)
            if out is None:
                continue
            rules = entry["ingress"] if direction == "ingress" else egress
            if src is not None:
                self.comments.end((*path, direction, len(rules)), f"from {src.origin}")
            rules.append(out)
        open_egress = any(r.get("to") in ("0.0.0.0/0", "any") and r["port"] == "all"
                          for r in egress)
        if egress_given and not open_egress:
            entry["egress"] = egress
        self.groups.append(entry)

    def _rule(self, rule: dict, direction: str, path: tuple, src: Item | None) -> dict | None:
        """One rule in the scenario's terms, or None (said why) for what it cannot hold:
        ICMP, IPv6, prefix lists, unknown peers."""
        proto = str(rule.get("protocol", "tcp")).lower()
        proto = {"-1": "all", "6": "tcp", "17": "udp"}.get(proto, proto)
        lo, hi = as_int(rule.get("from_port")), as_int(rule.get("to_port"))
        ports = "" if lo in (None, -1) else f" {lo}" if hi in (None, lo) else f" {lo}-{hi}"
        what = f"{direction} {proto}{ports}" + (f" ({src.origin})" if src is not None else "")
        if proto not in ("tcp", "udp", "all"):
            self.say(path, f"{what}: protocol {proto} not modelled (TCP and UDP only): left out")
            return None
        peer = self._peer(rule)
        if peer is None:
            self.say(path, f"{what}: peer {_short(rule.get('peer') or rule.get('other'))} not "
                           "modelled (IPv6, prefix lists and unknown groups are not): left out")
            return None
        if proto == "all" or lo in (None, -1) or (lo == 0 and hi in (0, 65535, None)):
            port: Any = "all"
        else:
            port = lo if hi in (None, lo) else f"{lo}-{hi}"
        out = {"port": port}
        if proto != "tcp":
            out["protocol"] = proto
        out["from" if direction == "ingress" else "to"] = peer
        return out

    def _unknown_group(self) -> str:
        """A group standing for security groups the source does not name: every port
        open from anywhere, so that it decides nothing."""
        name = self.names.get("sg", "?unknown")
        if name is None:
            name = self.names.give("sg", "?unknown", "unknown-instance-groups")
            self.say(("vpc", "security_groups", len(self.groups)),
                     "placeholder: stands for security groups the source does not list; "
                     "open to all inbound traffic")
            self.groups.append({"name": name, "ingress": [{"port": "all", "protocol": "all",
                                                           "from": "any"}]})
        return name

    def _peer(self, rule: dict) -> str | None:
        peer = rule.get("peer")
        if peer is not None:
            item = self.stack.find("sg", peer)
            return f"sg:{self.names.get('sg', item.key)}" if item is not None else None
        cidr = rule.get("cidr")
        try:
            return str(ipaddress.IPv4Network(str(cidr), strict=False)) if cidr else None
        except ValueError:
            return None

    # -- instances -------------------------------------------------------------------
    def add_instance_groups(self) -> None:
        scaling = self._managed_scaling()
        for asg in self.stack.all("asg"):
            self._asg(asg, scaling.get(asg.key))
        for item in self.stack.all("instances"):
            self._registered(item)

    def _managed_scaling(self) -> dict[str, Item]:
        """Auto Scaling groups whose capacity provider scales them (by ASG key)."""
        out = {}
        for cp in self.stack.all("capacity_provider"):
            asg = self.stack.find("asg", cp.get("asg"))
            if asg is not None and cp.get("managed_scaling"):
                out[asg.key] = cp
        return out

    # -- capacity providers ------------------------------------------------------------
    def provider_name(self, ref: Any) -> str | None:
        """The scenario name of the capacity provider ``ref`` (FARGATE, FARGATE_SPOT, or an
        Auto Scaling group provider of the stack), added to ``capacity_providers``; None
        when the stack does not hold it or its Auto Scaling group."""
        if str(ref) in ("FARGATE", "FARGATE_SPOT"):
            if not any(cp["name"] == ref for cp in self.capacity_providers):
                self.capacity_providers.append({"name": str(ref)})
            return str(ref)
        item = self.stack.find("capacity_provider", ref)
        asg = self.stack.find("asg", item.get("asg")) if item is not None else None
        groups = self.asg_groups.get(asg.key) if asg is not None else None
        if not groups:
            return None
        known = self.names.get("cp", item.key)
        if known is not None:
            return known
        wanted = item.name if not item.name.startswith(("aws", "ecs", "fargate")) else \
            f"cp-{item.name}"
        name = self.names.give("cp", item.key, wanted)
        path = ("cluster", "capacity_providers", len(self.capacity_providers))
        self.origin(path, item)
        entry: dict[str, Any] = {"name": name,
                                 "instance_group": groups[0] if len(groups) == 1 else groups}
        if item.get("managed_scaling"):
            scaling = {"target_capacity": as_int(item.get("target_capacity")) or 100}
            for key in ("minimum_scaling_step_size", "maximum_scaling_step_size"):
                if as_int(item.get(key)) is not None:
                    scaling[key] = as_int(item.get(key))
            entry["managed_scaling"] = scaling
        else:
            self.say(path, "managed scaling off: its Auto Scaling group keeps its size")
        self.capacity_providers.append(entry)
        return name

    def _asg(self, asg: Item, provider: Item | None) -> None:
        """One instance group per subnet of the Auto Scaling group, its desired capacity
        shared among them as the group balances its AZs."""
        template = self.stack.find("launch_template", asg.get("launch_template"))
        lt = template.fields if template else {}
        itype = self._instance_type(asg, lt)
        count = as_int(asg.get("desired"))
        if count is None:
            count = as_int(asg.get("min")) or 0
            asg.notes.append(f"no desired capacity: MinSize {count} instances assumed")
        refs = asg.list("subnets") or [None]
        shares = _shares(count, len(refs))
        top = as_int(asg.get("max"))
        maxes = _shares(max(top or count, count), len(refs))
        common = self._group_fields(asg, lt, template)
        for i, ref in enumerate(refs):
            path = ("cluster", "instance_groups", len(self.instance_groups))
            self.origin(path, asg)
            if template is not None:
                self.say(path, f"type and network settings from {template.origin}")
            name = asg.name if len(refs) == 1 else f"{asg.name}-{i + 1}"
            entry: dict[str, Any] = {"name": self.names.give("group", f"{asg.key}#{i}", name),
                                     "type": itype, "count": shares[i]}
            subnet = self.subnet_name(ref, f"of {asg.origin}") if ref is not None else None
            if subnet is not None:
                entry["subnet"] = subnet
            if len(refs) > 1:
                self.say(path, f"{count} instances over {len(refs)} subnets, balanced as the "
                               f"Auto Scaling group balances its AZs: {shares[i]} here")
            entry.update(common)
            if provider is not None:
                entry["scaling"] = {"max": maxes[i]}
                self.say(path, f"managed scaling by {provider.origin} (up to MaxSize "
                               f"{top}), toward its target capacity "
                               f"{provider.get('target_capacity') or 100}% for the services "
                               "whose capacity provider strategy names it")
            self.asg_groups.setdefault(asg.key, []).append(entry["name"])
            self.instance_groups.append(entry)

    def _instance_type(self, asg: Item, lt: dict) -> str:
        from .. import catalog  # noqa: PLC0415

        types = asg.list("instance_types") or [lt.get("instance_type")]
        if len(types) > 1:
            asg.notes.append(f"mixed instances policy: the first type, {types[0]}, is "
                             f"modelled (also allowed: {', '.join(map(str, types[1:]))})")
        itype = types[0]
        try:
            catalog.get(str(itype))
            return str(itype)
        except (catalog.UnknownInstanceType, ValueError):
            asg.notes.append(f"instance type {_short(itype)} unknown or not in the catalog: "
                             f"placeholder {PLACEHOLDER_TYPE}")
            return PLACEHOLDER_TYPE

    def _group_fields(self, asg: Item, lt: dict, template: Item | None) -> dict:
        out: dict[str, Any] = {}
        image = str(lt.get("image") or "")
        if "windows" in image.lower():
            out["os"] = "windows"
            asg.notes.append(f"Windows, from the image {_short(image)}")
        path = ("cluster", "instance_groups", len(self.instance_groups))
        groups = self.group_names(lt.get("security_groups"), path, "the launch template")
        if groups:
            out["security_groups"] = groups
        public = lt.get("public_ip")
        if public is None:
            subnets = [self.stack.find("subnet", r) for r in asg.list("subnets")]
            public = any(s is not None and s.get("public") for s in subnets) or None
        if public:
            out["public_ip"] = True
        metadata = {}
        if lt.get("http_tokens") in ("optional", "required"):
            metadata["http_tokens"] = lt["http_tokens"]
        hop = as_int(lt.get("hop_limit"))
        if hop is not None and 1 <= hop <= 64:
            metadata["hop_limit"] = hop
        if metadata:
            out["metadata"] = metadata
        return out

    def _registered(self, item: Item) -> None:
        """Container instances registered in the cluster (AWS CLI), grouped by type,
        subnet and OS."""
        path = ("cluster", "instance_groups", len(self.instance_groups))
        self.origin(path, item)
        entry: dict[str, Any] = {"name": self.names.give("group", item.key, item.name),
                                 "type": self._instance_type(item, item.fields),
                                 "count": item.get("count", 1)}
        subnet = item.get("subnet")
        if subnet is not None:
            entry["subnet"] = self.subnet_name(subnet, "of the container instances",
                                               item.get("az"))
        if item.get("os") == "windows":
            entry["os"] = "windows"
        if self.groups is not None:
            entry["security_groups"] = [self._unknown_group()]
            self.say(path, "the instances' security groups are not in describe-container-"
                           "instances: a placeholder group open to all inbound traffic")
        trunked = item.get("trunked")
        if trunked is not None:
            self.trunking = bool(self.trunking) or trunked
            entry["awsvpc_trunking"] = trunked
        self.instance_groups.append(entry)


def _shares(total: int, parts: int) -> list[int]:
    """``total`` over ``parts`` as evenly as can be, the first ones taking the rest."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def _short(value: Any) -> str:
    """A value as a comment shows it: one line, at most 80 characters."""
    text = " ".join(str(value).split())
    return text if len(text) <= 80 else text[:77] + "..."
