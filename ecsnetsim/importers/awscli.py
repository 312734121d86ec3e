"""Saved AWS CLI output (``aws ecs describe-services``, ``aws ec2 describe-subnets``, ...)
into a :class:`~.stack.Stack`.

Each file is recognised by its top-level key (``services``, ``taskDefinition``,
``containerInstances``, ``Subnets``, ``SecurityGroups``, ``LoadBalancers``,
``TargetGroups``; also ``Listeners``, ``RouteTables`` and ``NatGateways`` when given),
so any subset may be given in any order; what is missing becomes a placeholder with a
comment. Resources refer to each other by ID and ARN, as the CLI prints them.
Container instances are grouped by instance type, subnet, OS and trunk into instance
groups.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .sources import read_json
from .stack import Origin, Stack, StackError, as_list

#: The top-level key of each output read, and the command that prints it.
COMMANDS = {
    "services": "aws ecs describe-services",
    "taskDefinition": "aws ecs describe-task-definition",
    "containerInstances": "aws ecs describe-container-instances",
    "Subnets": "aws ec2 describe-subnets",
    "SecurityGroups": "aws ec2 describe-security-groups",
    "LoadBalancers": "aws elbv2 describe-load-balancers",
    "TargetGroups": "aws elbv2 describe-target-groups",
    "Listeners": "aws elbv2 describe-listeners",
    "RouteTables": "aws ec2 describe-route-tables",
    "NatGateways": "aws ec2 describe-nat-gateways",
}


def _d(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _tag(item: dict, key: str = "Name") -> str | None:
    return next((t.get("Value") for t in as_list(item.get("Tags"))
                 if _d(t).get("Key") == key), None)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _origin(command: str, name: Any, path: str) -> Origin:
    return Origin(command.split(" ", 1)[1], str(name), path)


def _services(s: Stack, items: list, path: str) -> None:
    for svc in items:
        svc = _d(svc)
        if s.name is None and isinstance(svc.get("clusterArn"), str):
            s.name = svc["clusterArn"].rsplit("/", 1)[-1]
        vpc = _d(_d(svc.get("networkConfiguration")).get("awsvpcConfiguration"))
        dep = _d(svc.get("deploymentConfiguration"))
        o = _origin(COMMANDS["services"], svc.get("serviceName"), path)
        s.add("service", svc.get("serviceArn") or o.name, svc.get("serviceName") or "service",
              o, cluster=svc.get("clusterArn"), task_definition=svc.get("taskDefinition"),
              desired=svc.get("desiredCount"), launch_type=svc.get("launchType"),
              strategy=[{"provider": _d(x).get("capacityProvider"), "base": _d(x).get("base"),
                         "weight": _d(x).get("weight")}
                        for x in as_list(svc.get("capacityProviderStrategy"))],
              subnets=as_list(vpc.get("subnets")),
              security_groups=as_list(vpc.get("securityGroups")),
              public_ip=vpc.get("assignPublicIp"),
              placement_strategy=as_list(svc.get("placementStrategy")),
              placement_constraints=as_list(svc.get("placementConstraints")),
              min_healthy=dep.get("minimumHealthyPercent"),
              max_percent=dep.get("maximumPercent"),
              circuit_breaker=dep.get("deploymentCircuitBreaker"),
              controller=_d(svc.get("deploymentController")).get("type"),
              grace=svc.get("healthCheckGracePeriodSeconds"),
              scheduling=svc.get("schedulingStrategy"),
              registries=len(as_list(svc.get("serviceRegistries"))),
              load_balancers=[{"target_group": _d(x).get("targetGroupArn")
                               or _d(x).get("loadBalancerName"),
                               "container": _d(x).get("containerName"),
                               "port": _d(x).get("containerPort")}
                              for x in as_list(svc.get("loadBalancers"))])


def _task_definition(s: Stack, td: Any, path: str) -> None:
    td = _d(td)
    rev = f"{td.get('family')}:{td.get('revision')}"
    o = _origin(COMMANDS["taskDefinition"], rev, path)
    s.add("task_definition", td.get("taskDefinitionArn") or rev, rev, o,
          aliases=(td.get("taskDefinitionArn"), rev, td.get("family")), td=td)


def _instances(s: Stack, items: list, path: str) -> None:
    """Container instances grouped by (type, subnet or AZ, OS, trunked)."""
    groups: dict[tuple, list[str]] = {}
    for ci in items:
        ci = _d(ci)
        attrs = {str(_d(a).get("name")): _text(_d(a).get("value"))
                 for a in as_list(ci.get("attributes"))}
        if str(ci.get("status", "ACTIVE")).upper() not in ("ACTIVE", "DRAINING"):
            continue
        key = (attrs.get("ecs.instance-type"), attrs.get("ecs.subnet-id"),
               attrs.get("ecs.availability-zone"), attrs.get("ecs.os-type") or "linux",
               "ecs.awsvpc-trunk-id" in attrs)
        groups.setdefault(key, []).append(str(ci.get("ec2InstanceId", "?")))
    for (itype, subnet, az, os, trunked), ids in groups.items():
        o = _origin(COMMANDS["containerInstances"], ", ".join(ids[:3]) +
                    (f" and {len(ids) - 3} more" if len(ids) > 3 else ""), path)
        ref = subnet or next((x.key for x in s.all("subnet") if x.get("az") == az), None)
        s.add("instances", f"{itype}/{subnet or az}/{os}/{trunked}", f"{itype}-{az}", o,
              instance_type=itype, count=len(ids), subnet=ref or f"subnet-in-{az}", az=az,
              os="windows" if str(os).lower() == "windows" else "linux", trunked=trunked)


def _subnets(s: Stack, items: list, path: str) -> None:
    for sn in items:
        sn = _d(sn)
        o = _origin(COMMANDS["Subnets"], sn.get("SubnetId"), path)
        s.add("subnet", sn.get("SubnetId") or o.name, _tag(sn) or sn.get("SubnetId"), o,
              aliases=(sn.get("SubnetArn"),), cidr=sn.get("CidrBlock"),
              az=sn.get("AvailabilityZone"), public=sn.get("MapPublicIpOnLaunch"),
              vpc=sn.get("VpcId"))


def _rules(perms: Any) -> list[dict]:
    out = []
    for p in as_list(perms):
        p = _d(p)
        base = {"protocol": p.get("IpProtocol", "tcp"), "from_port": p.get("FromPort"),
                "to_port": p.get("ToPort")}
        out += [{**base, "cidr": _d(r).get("CidrIp")} for r in as_list(p.get("IpRanges"))]
        out += [{**base, "peer": _d(r).get("GroupId")}
                for r in as_list(p.get("UserIdGroupPairs"))]
        out += [{**base, "other": _d(r).get("CidrIpv6")} for r in as_list(p.get("Ipv6Ranges"))]
        out += [{**base, "other": _d(r).get("PrefixListId")}
                for r in as_list(p.get("PrefixListIds"))]
    return out


def _security_groups(s: Stack, items: list, path: str) -> None:
    for g in items:
        g = _d(g)
        o = _origin(COMMANDS["SecurityGroups"], g.get("GroupId"), path)
        s.add("sg", g.get("GroupId") or o.name, g.get("GroupName") or g.get("GroupId"), o,
              ingress=_rules(g.get("IpPermissions")),
              egress=_rules(g.get("IpPermissionsEgress")) if "IpPermissionsEgress" in g
              else None)


def _load_balancers(s: Stack, items: list, path: str) -> None:
    for lb in items:
        lb = _d(lb)
        o = _origin(COMMANDS["LoadBalancers"], lb.get("LoadBalancerName"), path)
        s.add("load_balancer", lb.get("LoadBalancerArn") or o.name,
              lb.get("LoadBalancerName") or "lb", o, aliases=(lb.get("LoadBalancerName"),),
              type=lb.get("Type"), scheme=lb.get("Scheme"),
              subnets=[_d(z).get("SubnetId") for z in as_list(lb.get("AvailabilityZones"))],
              security_groups=as_list(lb.get("SecurityGroups")))


def _target_groups(s: Stack, items: list, path: str) -> None:
    for tg in items:
        tg = _d(tg)
        o = _origin(COMMANDS["TargetGroups"], tg.get("TargetGroupName"), path)
        s.add("target_group", tg.get("TargetGroupArn") or o.name,
              tg.get("TargetGroupName") or "tg", o, aliases=(tg.get("TargetGroupName"),),
              port=tg.get("Port"), protocol=tg.get("Protocol"),
              target_type=tg.get("TargetType"), interval=tg.get("HealthCheckIntervalSeconds"),
              healthy=tg.get("HealthyThresholdCount"),
              unhealthy=tg.get("UnhealthyThresholdCount"),
              load_balancers=as_list(tg.get("LoadBalancerArns")))
        s.note("deregistration delays are target group attributes, not in describe-target-"
               "groups: ELB's default, 300 s, is modelled")


def _listeners(s: Stack, items: list, path: str) -> None:
    for ln in items:
        ln = _d(ln)
        o = _origin(COMMANDS["Listeners"], ln.get("ListenerArn"), path)
        tgs = []
        for a in as_list(ln.get("DefaultActions")):
            a = _d(a)
            tgs += [a["TargetGroupArn"]] if a.get("TargetGroupArn") else []
            tgs += [_d(x).get("TargetGroupArn") for x in
                    as_list(_d(a.get("ForwardConfig")).get("TargetGroups"))]
        s.add("listener", ln.get("ListenerArn") or o.name, "listener", o,
              load_balancer=ln.get("LoadBalancerArn"), port=ln.get("Port"),
              protocol=ln.get("Protocol"), target_groups=tgs)


def _route_tables(s: Stack, items: list, path: str) -> None:
    for rt in items:
        rt = _d(rt)
        key = rt.get("RouteTableId") or "rtb"
        o = _origin(COMMANDS["RouteTables"], key, path)
        assocs = [_d(a) for a in as_list(rt.get("Associations"))]
        s.add("route_table", key, key, o, main=any(a.get("Main") for a in assocs))
        for a in assocs:
            if a.get("SubnetId"):
                s.add("rt_assoc", f"{key}/{a['SubnetId']}", key, o, subnet=a["SubnetId"],
                      table=key)
        for i, r in enumerate(as_list(rt.get("Routes"))):
            r = _d(r)
            gw = r.get("GatewayId")
            kind, target = ("nat", r.get("NatGatewayId")) if r.get("NatGatewayId") else (
                ("igw" if str(gw).startswith("igw-") else "other"), gw)
            s.add("route", f"{key}#{i}", key, o, table=key, dest=r.get("DestinationCidrBlock"),
                  target_kind=kind, target=target)


def _nat_gateways(s: Stack, items: list, path: str) -> None:
    for gw in items:
        gw = _d(gw)
        o = _origin(COMMANDS["NatGateways"], gw.get("NatGatewayId"), path)
        s.add("nat", gw.get("NatGatewayId") or o.name, _tag(gw) or gw.get("NatGatewayId"), o,
              subnet=gw.get("SubnetId"))


_READERS: dict[str, Callable[[Stack, Any, str], None]] = {
    "services": _services, "taskDefinition": _task_definition,
    "containerInstances": _instances, "Subnets": _subnets,
    "SecurityGroups": _security_groups, "LoadBalancers": _load_balancers,
    "TargetGroups": _target_groups, "Listeners": _listeners, "RouteTables": _route_tables,
    "NatGateways": _nat_gateways,
}
#: Read first, so that container instances can find their subnet by AZ.
_ORDER = ["Subnets", "RouteTables", "NatGateways", "SecurityGroups", "taskDefinition",
          "LoadBalancers", "TargetGroups", "Listeners", "containerInstances", "services"]


def read_aws_cli(sources: list[str]) -> Stack:
    stack = Stack("aws", list(sources))
    found: list[tuple[str, Any, str]] = []
    for path in sources:
        doc = read_json(path, "JSON saved from the AWS CLI (describe-*)")
        key = next((k for k in _READERS if isinstance(doc, dict) and k in doc), None)
        if key is None:
            keys = ", ".join(list(doc)[:8]) if isinstance(doc, dict) else type(doc).__name__
            raise StackError(f"not a describe-* output this importer reads (top-level keys: "
                             f"{keys}); expected one of: " + "; ".join(
                                 f"{c} ({k})" for k, c in COMMANDS.items()), file=path)
        value = doc[key]
        if key != "taskDefinition" and not isinstance(value, list):
            raise StackError(f"{key}: expected a list, as {COMMANDS[key]} prints it",
                             file=path)
        found.append((key, value, path))
    for key in _ORDER:
        for k, value, path in found:
            if k == key:
                _READERS[key](stack, value, path)
    if not any(k == "containerInstances" for k, _, _ in found):
        stack.note("no container instances given (aws ecs describe-container-instances): "
                   "the cluster has no EC2 instances")
    return stack
