"""Terraform AWS provider resource types, each into the neutral items of :mod:`.stack`.

Attribute names are the provider's (``aws_subnet.cidr_block``, ``aws_ecs_service.
network_configuration[0].subnets``, ...). Each reference goes through
``reader.ref``/``reader.refs``: the value when the source knows it (a state), otherwise
what the plan's configuration says it refers to.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .stack import Origin, StackError, as_list


def _d(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _first(value: Any) -> dict:
    """A nested block (Terraform writes each as a list of one object)."""
    items = as_list(value)
    return _d(items[0]) if items else {}


def container_definitions(text: Any, origin: Origin) -> list:
    """``container_definitions``: a JSON string in Terraform (a list once decoded)."""
    if isinstance(text, list):
        return text
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except json.JSONDecodeError as exc:
        raise StackError(f"{origin}: container_definitions is not valid JSON ({exc.msg}); "
                         "expected a JSON list of container definitions",
                         file=origin.file) from None
    if not isinstance(value, list):
        raise StackError(f"{origin}: container_definitions: expected a JSON list of "
                         "container definitions", file=origin.file)
    return value

Handler = Callable[[Any, dict, dict, Origin], None]


def _name(res: dict) -> str:
    """``aws_subnet.private[0]`` -> ``private-0``; module path left out."""
    name = str(res.get("name", res["address"]))
    index = res.get("index")
    return name if index is None else f"{name}-{index}"


def _ids(v: dict) -> tuple:
    return (v.get("id"), v.get("arn"), v.get("name"))


def _vpc(r, res: dict, v: dict, o: Origin) -> None:
    r.stack.add("vpc", o.name, _name(res), o, aliases=_ids(v), cidr=v.get("cidr_block"))


def _subnet(r, res: dict, v: dict, o: Origin) -> None:
    tags = _d(v.get("tags"))
    r.stack.add("subnet", o.name, tags.get("Name") or _name(res), o,
                aliases=(*_ids(v), tags.get("Name")), cidr=v.get("cidr_block"),
                az=v.get("availability_zone"), public=v.get("map_public_ip_on_launch"),
                vpc=r.ref(res, v.get("vpc_id"), ["vpc_id"]))


def _igw(r, res: dict, v: dict, o: Origin) -> None:
    r.stack.add("igw", o.name, _name(res), o, aliases=_ids(v))


def _nat(r, res: dict, v: dict, o: Origin) -> None:
    r.stack.add("nat", o.name, _name(res), o, aliases=_ids(v),
                subnet=r.ref(res, v.get("subnet_id"), ["subnet_id"]))


def _target(r, res: dict, v: dict, path: list) -> tuple[str, Any]:
    nat = r.ref(res, v.get("nat_gateway_id"), [*path, "nat_gateway_id"])
    if nat:
        return "nat", nat
    gw = r.ref(res, v.get("gateway_id"), [*path, "gateway_id"])
    if gw:
        igw = str(gw).startswith("igw-") or r.stack.find("igw", gw) is not None or \
            "aws_internet_gateway." in str(gw)
        return ("igw" if igw else "other"), gw
    return "other", v.get("transit_gateway_id") or v.get("vpc_peering_connection_id")


def _route_table(r, res: dict, v: dict, o: Origin) -> None:
    r.stack.add("route_table", o.name, _name(res), o, aliases=_ids(v))
    for i, route in enumerate(as_list(v.get("route"))):
        kind, target = _target(r, res, _d(route), ["route", i])
        r.stack.add("route", f"{o.name}#{i}", _name(res), o, table=o.name,
                    dest=_d(route).get("cidr_block"), target_kind=kind, target=target)


def _route(r, res: dict, v: dict, o: Origin) -> None:
    kind, target = _target(r, res, v, [])
    r.stack.add("route", o.name, _name(res), o,
                table=r.ref(res, v.get("route_table_id"), ["route_table_id"]),
                dest=v.get("destination_cidr_block"), target_kind=kind, target=target)


def _assoc(r, res: dict, v: dict, o: Origin) -> None:
    r.stack.add("rt_assoc", o.name, _name(res), o,
                subnet=r.ref(res, v.get("subnet_id"), ["subnet_id"]),
                table=r.ref(res, v.get("route_table_id"), ["route_table_id"]))


def _rules(r, res: dict, blocks: Any, direction: str, path: list, own: str) -> list[dict]:
    """Inline ``ingress``/``egress`` blocks: one rule per peer (CIDR or group)."""
    out = []
    for i, b in enumerate(as_list(blocks)):
        b = _d(b)
        base = {"protocol": b.get("protocol", "tcp"), "from_port": b.get("from_port"),
                "to_port": b.get("to_port")}
        for cidr in as_list(b.get("cidr_blocks")):
            out.append({**base, "cidr": cidr})
        for group in r.refs(res, b.get("security_groups"), [*path, i, "security_groups"]):
            out.append({**base, "peer": group})
        if b.get("self"):
            out.append({**base, "peer": own})
        for other in as_list(b.get("ipv6_cidr_blocks")) + as_list(b.get("prefix_list_ids")):
            out.append({**base, "other": other})
    return out


def _security_group(r, res: dict, v: dict, o: Origin) -> None:
    """The provider removes the allow-all egress rule AWS gives a new group (AWS provider,
    aws_security_group): a group whose egress is neither given nor known has none."""
    egress = v.get("egress")
    item = r.stack.add("sg", o.name, v.get("name") or _name(res), o, aliases=_ids(v),
                       ingress=_rules(r, res, v.get("ingress"), "ingress", ["ingress"],
                                      o.name),
                       egress=_rules(r, res, egress, "egress", ["egress"], o.name))
    if not egress:
        item.notes.append("no egress rule: Terraform removes the allow-all rule AWS gives a "
                          "new group, so nothing leaves unless a rule allows it")


def _sg_rule(r, res: dict, v: dict, o: Origin) -> None:
    group = r.ref(res, v.get("security_group_id"), ["security_group_id"])
    base = {"protocol": v.get("protocol", "tcp"), "from_port": v.get("from_port"),
            "to_port": v.get("to_port")}
    peers = [{"cidr": c} for c in as_list(v.get("cidr_blocks"))]
    source = r.ref(res, v.get("source_security_group_id"), ["source_security_group_id"])
    if source:
        peers.append({"peer": source})
    if v.get("self"):
        peers.append({"peer": group})
    peers += [{"other": x} for x in as_list(v.get("ipv6_cidr_blocks"))]
    for i, peer in enumerate(peers):
        r.stack.add("sg_rule", f"{o.name}#{i}", _name(res), o, group=group,
                    direction=str(v.get("type", "ingress")), rule={**base, **peer})


def _vpc_sg_rule(direction: str):
    def add(r, res: dict, v: dict, o: Origin) -> None:
        rule = {"protocol": v.get("ip_protocol", "tcp"), "from_port": v.get("from_port"),
                "to_port": v.get("to_port"), "cidr": v.get("cidr_ipv4"),
                "peer": r.ref(res, v.get("referenced_security_group_id"),
                              ["referenced_security_group_id"]),
                "other": v.get("cidr_ipv6") or v.get("prefix_list_id")}
        r.stack.add("sg_rule", o.name, _name(res), o, direction=direction, rule=rule,
                    group=r.ref(res, v.get("security_group_id"), ["security_group_id"]))
    return add


def _launch_template(r, res: dict, v: dict, o: Origin) -> None:
    nic = _first(v.get("network_interfaces"))
    meta = _first(v.get("metadata_options"))
    groups = r.refs(res, v.get("vpc_security_group_ids"), ["vpc_security_group_ids"]) or \
        r.refs(res, nic.get("security_groups"), ["network_interfaces", 0, "security_groups"])
    r.stack.add("launch_template", o.name, _name(res), o, aliases=_ids(v),
                instance_type=v.get("instance_type"), image=v.get("image_id"),
                security_groups=groups, public_ip=nic.get("associate_public_ip_address"),
                http_tokens=meta.get("http_tokens"),
                hop_limit=meta.get("http_put_response_hop_limit"))


def _launch_configuration(r, res: dict, v: dict, o: Origin) -> None:
    meta = _first(v.get("metadata_options"))
    r.stack.add("launch_template", o.name, _name(res), o, aliases=_ids(v),
                instance_type=v.get("instance_type"), image=v.get("image_id"),
                security_groups=r.refs(res, v.get("security_groups"), ["security_groups"]),
                public_ip=v.get("associate_public_ip_address"),
                http_tokens=meta.get("http_tokens"),
                hop_limit=meta.get("http_put_response_hop_limit"))


def _asg(r, res: dict, v: dict, o: Origin) -> None:
    lt = _first(v.get("launch_template"))
    mixed = _first(_first(v.get("mixed_instances_policy")).get("launch_template"))
    spec = _first(mixed.get("launch_template_specification"))
    template = lt.get("id") or lt.get("name") or spec.get("launch_template_id") or \
        spec.get("launch_template_name") or v.get("launch_configuration")
    if not template:
        path = ["launch_template", 0, "id"] if v.get("launch_template") else \
            ["mixed_instances_policy", 0, "launch_template", 0,
             "launch_template_specification", 0, "launch_template_id"]
        template = r.ref(res, None, path) or r.ref(res, None, ["launch_configuration"])
    types = [_d(x).get("instance_type") for x in as_list(mixed.get("override"))
             if _d(x).get("instance_type")]
    r.stack.add("asg", o.name, v.get("name") or _name(res), o, aliases=_ids(v),
                desired=v.get("desired_capacity"), min=v.get("min_size"),
                max=v.get("max_size"), launch_template=template, instance_types=types,
                subnets=r.refs(res, v.get("vpc_zone_identifier"), ["vpc_zone_identifier"]))


def _strategy(value: Any) -> list[dict]:
    return [{"provider": _d(x).get("capacity_provider"), "base": _d(x).get("base"),
             "weight": _d(x).get("weight")} for x in as_list(value)]


def _cluster(r, res: dict, v: dict, o: Origin) -> None:
    r.stack.add("cluster", o.name, v.get("name") or _name(res), o, aliases=_ids(v),
                default_strategy=_strategy(v.get("default_capacity_provider_strategy")))


def _capacity_provider(r, res: dict, v: dict, o: Origin) -> None:
    asg = _first(v.get("auto_scaling_group_provider"))
    scaling = _first(asg.get("managed_scaling"))
    r.stack.add("capacity_provider", o.name, v.get("name") or _name(res), o, aliases=_ids(v),
                asg=r.ref(res, asg.get("auto_scaling_group_arn"),
                          ["auto_scaling_group_provider", 0, "auto_scaling_group_arn"]),
                managed_scaling=str(scaling.get("status", "")).upper() == "ENABLED",
                target_capacity=scaling.get("target_capacity"),
                minimum_scaling_step_size=scaling.get("minimum_scaling_step_size"),
                maximum_scaling_step_size=scaling.get("maximum_scaling_step_size"))


def _cluster_cps(r, res: dict, v: dict, o: Origin) -> None:
    r.stack.add("cluster_cps", o.name, _name(res), o, cluster=v.get("cluster_name"),
                providers=as_list(v.get("capacity_providers")),
                default_strategy=_strategy(v.get("default_capacity_provider_strategy")))


def _task_definition(r, res: dict, v: dict, o: Origin) -> None:
    td: dict[str, Any] = {"family": v.get("family") or _name(res),
                          "containerDefinitions": container_definitions(
                              v.get("container_definitions") or "[]", o)}
    for tf, cli in (("network_mode", "networkMode"), ("cpu", "cpu"), ("memory", "memory"),
                    ("requires_compatibilities", "requiresCompatibilities")):
        if v.get(tf) not in (None, ""):
            td[cli] = v[tf]
    platform = _first(v.get("runtime_platform"))
    if platform:
        td["runtimePlatform"] = {k: val for k, val in (
            ("operatingSystemFamily", platform.get("operating_system_family")),
            ("cpuArchitecture", platform.get("cpu_architecture"))) if val}
    constraints = [{"type": _d(c).get("type"), "expression": _d(c).get("expression")}
                   for c in as_list(v.get("placement_constraints"))]
    if constraints:
        td["placementConstraints"] = constraints
    revision = f"{v.get('family')}:{v.get('revision')}" if v.get("revision") else None
    r.stack.add("task_definition", o.name, _name(res), o,
                aliases=(v.get("arn"), v.get("arn_without_revision"), revision,
                         v.get("family")), td=td)


def _service(r, res: dict, v: dict, o: Origin) -> None:
    net = _first(v.get("network_configuration"))
    breaker = _first(v.get("deployment_circuit_breaker"))
    lbs = []
    for i, lb in enumerate(as_list(v.get("load_balancer"))):
        lb = _d(lb)
        tg = r.ref(res, lb.get("target_group_arn"), ["load_balancer", i, "target_group_arn"])
        lbs.append({"target_group": tg or lb.get("elb_name"),
                    "container": lb.get("container_name"), "port": lb.get("container_port")})
    r.stack.add(
        "service", o.name, v.get("name") or _name(res), o,
        cluster=r.ref(res, v.get("cluster"), ["cluster"]),
        task_definition=r.ref(res, v.get("task_definition"), ["task_definition"]),
        desired=v.get("desired_count"), launch_type=v.get("launch_type"),
        strategy=_strategy(v.get("capacity_provider_strategy")),
        subnets=r.refs(res, net.get("subnets"), ["network_configuration", 0, "subnets"]),
        security_groups=r.refs(res, net.get("security_groups"),
                               ["network_configuration", 0, "security_groups"]),
        public_ip=net.get("assign_public_ip"),
        placement_strategy=[{"type": _d(x).get("type"), "field": _d(x).get("field")}
                            for x in as_list(v.get("ordered_placement_strategy"))],
        placement_constraints=[{"type": _d(x).get("type"), "expression":
                                _d(x).get("expression")}
                               for x in as_list(v.get("placement_constraints"))],
        min_healthy=v.get("deployment_minimum_healthy_percent"),
        max_percent=v.get("deployment_maximum_percent"),
        circuit_breaker=breaker or None,
        controller=_first(v.get("deployment_controller")).get("type"),
        grace=v.get("health_check_grace_period_seconds"),
        scheduling=v.get("scheduling_strategy"),
        registries=len(as_list(v.get("service_registries"))), load_balancers=lbs)


def _load_balancer(r, res: dict, v: dict, o: Origin) -> None:
    subnets = r.refs(res, v.get("subnets"), ["subnets"]) or [
        _d(m).get("subnet_id") for m in as_list(v.get("subnet_mapping"))]
    internal = v.get("internal")
    r.stack.add("load_balancer", o.name, v.get("name") or _name(res), o, aliases=_ids(v),
                type=v.get("load_balancer_type") or "application",
                scheme="internal" if internal else "internet-facing", subnets=subnets,
                security_groups=r.refs(res, v.get("security_groups"), ["security_groups"]))


def _target_group(r, res: dict, v: dict, o: Origin) -> None:
    check = _first(v.get("health_check"))
    r.stack.add("target_group", o.name, v.get("name") or _name(res), o, aliases=_ids(v),
                port=v.get("port"), protocol=v.get("protocol"),
                target_type=v.get("target_type"), interval=check.get("interval"),
                healthy=check.get("healthy_threshold"),
                unhealthy=check.get("unhealthy_threshold"),
                dereg=v.get("deregistration_delay"))


def _forwards(r, res: dict, actions: Any, key: str) -> list:
    out = []
    for i, a in enumerate(as_list(actions)):
        a = _d(a)
        tg = r.ref(res, a.get("target_group_arn"), [key, i, "target_group_arn"])
        if tg:
            out.append(tg)
        for j, x in enumerate(as_list(_first(a.get("forward")).get("target_group"))):
            arn = r.ref(res, _d(x).get("arn"), [key, i, "forward", 0, "target_group", j, "arn"])
            if arn:
                out.append(arn)
    return out


def _listener(r, res: dict, v: dict, o: Origin) -> None:
    r.stack.add("listener", o.name, _name(res), o, aliases=_ids(v),
                load_balancer=r.ref(res, v.get("load_balancer_arn"), ["load_balancer_arn"]),
                port=v.get("port"), protocol=v.get("protocol"),
                target_groups=_forwards(r, res, v.get("default_action"), "default_action"))


def _listener_rule(r, res: dict, v: dict, o: Origin) -> None:
    r.stack.add("listener_rule", o.name, _name(res), o,
                listener=r.ref(res, v.get("listener_arn"), ["listener_arn"]),
                target_groups=_forwards(r, res, v.get("action"), "action"))


HANDLERS: dict[str, Handler] = {
    "aws_vpc": _vpc, "aws_subnet": _subnet, "aws_internet_gateway": _igw,
    "aws_nat_gateway": _nat, "aws_route_table": _route_table, "aws_route": _route,
    "aws_route_table_association": _assoc, "aws_security_group": _security_group,
    "aws_security_group_rule": _sg_rule,
    "aws_vpc_security_group_ingress_rule": _vpc_sg_rule("ingress"),
    "aws_vpc_security_group_egress_rule": _vpc_sg_rule("egress"),
    "aws_launch_template": _launch_template,
    "aws_launch_configuration": _launch_configuration,
    "aws_autoscaling_group": _asg, "aws_ecs_cluster": _cluster,
    "aws_ecs_capacity_provider": _capacity_provider,
    "aws_ecs_cluster_capacity_providers": _cluster_cps,
    "aws_ecs_task_definition": _task_definition, "aws_ecs_service": _service,
    "aws_lb": _load_balancer, "aws_alb": _load_balancer,
    "aws_lb_target_group": _target_group, "aws_alb_target_group": _target_group,
    "aws_lb_listener": _listener, "aws_alb_listener": _listener,
    "aws_lb_listener_rule": _listener_rule, "aws_alb_listener_rule": _listener_rule,
}

WHY_NOT = {
    "aws_eip": "an Elastic IP changes no placement or path in the model",
    "aws_iam_role": "IAM is not part of the network model",
    "aws_iam_role_policy_attachment": "IAM is not part of the network model",
    "aws_iam_instance_profile": "IAM is not part of the network model",
    "aws_cloudwatch_log_group": "logging is not part of the network model",
}
