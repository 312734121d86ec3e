"""Services, their task definitions and load balancers, from a :class:`~.stack.Stack`.

A task definition is written into the service as the scenario's own fields, through the
same translation ``task_definition:`` files go through
(:func:`ecsnetsim.scenario.taskdef.task_definition_fields`), so that an imported task
definition is read exactly as one given by path. Several target groups become the
service's ``load_balancers``; the CODE_DEPLOY controller its ``deployment_controller``
(CodeDeploy's own settings are not in an ECS stack: their defaults are said). A capacity
provider strategy (the service's, or the cluster's default) is the service's
``capacity_provider_strategy``, its providers the cluster's ``capacity_providers``; the
EXTERNAL launch type stays EXTERNAL. GPUs (the containers'
``resourceRequirements`` of type GPU) are the service's ``gpu``.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import InputError
from .build import FLOW_RATE, Builder, _short
from .stack import Item, StackError, as_bool, as_int

#: Capacity providers that are Fargate rather than an Auto Scaling group.
FARGATE_PROVIDERS = ("FARGATE", "FARGATE_SPOT")


def add_services(b: Builder) -> None:
    """Every service of the stack, in the source's order, into ``b.services``."""
    clusters = b.stack.all("cluster")
    if len(clusters) > 1:
        b.stack.note(f"{len(clusters)} ECS clusters in the source; a scenario has one: "
                     "every service and instance is modelled in one cluster")
    for item in b.stack.all("service"):
        entry = _service(b, item)
        if entry is not None:
            b.services.append(entry)


def _task_definition(b: Builder, svc: Item, path: tuple) -> dict:
    """The scenario fields of the service's task definition (empty, said so, when the
    source does not have it)."""
    from ..scenario.taskdef import task_definition_fields  # noqa: PLC0415

    td = b.stack.find("task_definition", svc.get("task_definition"))
    if td is None:
        b.say(path, f"task definition {_short(svc.get('task_definition'))} is not in the "
                    "source: one container with no ports, 256 CPU units and 512 MiB assumed")
        if svc.get("subnets"):  # ECS takes an awsvpc configuration for awsvpc tasks only
            b.say(path, "network mode awsvpc, as its awsvpc network configuration says")
            return {"containers": [{"name": "app"}], "network_mode": "awsvpc"}
        return {"containers": [{"name": "app"}]}
    b.say(path, f"task definition from {td.origin}")
    for note in td.notes:
        b.say(path, note)
    doc = td.get("td")
    doc = doc if isinstance(doc, dict) else {}
    data = json.dumps(doc, default=str).encode()
    try:
        # (keys the ECS API does not define are said, not refused: Terraform's provider,
        # for one, drops them from container_definitions before ECS sees them)
        fields, warnings = task_definition_fields(data, td.origin.file, unknown_keys="warn")
    except InputError as exc:  # name the resource, not a JSON file
        where = f"{exc.path}: " if exc.path else ""
        raise StackError(f"{td.origin}: {where}{exc.message}", file=td.origin.file) from None
    for warning in warnings:
        b.say(path, warning.split(": ", 1)[-1])
    _gpus(b, fields, path)
    return fields


def _gpus(b: Builder, fields: dict, path: tuple) -> None:
    """Say where a service's ``gpu`` comes from (the task definition's containers)."""
    if fields.get("gpu"):
        b.say(path, f"{fields['gpu']} GPU(s) per task, the sum of its containers' "
                    "resourceRequirements of type GPU: placed only on instances with that "
                    "many GPUs free (RESOURCE:GPU)")


def _service(b: Builder, svc: Item) -> dict | None:
    """One service: its task definition's fields, then the service's own settings on
    top (as ECS combines them), each with the comment its origin needs."""
    path = ("services", len(b.services))
    b.origin(path, svc)
    cluster = b.stack.find("cluster", svc.get("cluster"))
    if cluster is not None:
        b.say(path, f"in cluster {cluster.origin}")
    out: dict[str, Any] = {"name": b.names.give("service", svc.key, svc.name, ecs=True)}
    fields = _task_definition(b, svc, path)
    daemon = str(svc.get("scheduling", "")).upper() == "DAEMON"
    if daemon:
        out["scheduling"] = "daemon"
    else:
        desired = as_int(svc.get("desired"))
        if desired is None:
            desired = 1
            b.say(path, "no desired count: 1 assumed (CloudFormation's and ECS's default)")
        out["desired_count"] = max(0, desired)
    launch = _launch_type(b, svc, fields, path, out)
    fields.pop("launch_type", None)
    compat = fields.get("requires_compatibilities")
    if isinstance(compat, list) and launch not in compat:
        fields["requires_compatibilities"] = [launch]
        b.say(path, f"requiresCompatibilities {compat} written as [{launch}], the launch type "
                    "modelled")
    if launch != "EC2" and "capacity_provider_strategy" not in out:
        out["launch_type"] = launch
    for key in ("network_mode", "runtime_platform", "requires_compatibilities", "cpu",
                "memory", "gpu"):
        if key in fields:
            out[key] = fields[key]
    mode = fields.get("network_mode") or ("awsvpc" if launch == "FARGATE" else None)
    _network(b, svc, out, mode, launch, path)
    _placement(b, svc, out, fields, launch, path)
    _deployment(b, svc, out, path)
    _balancer(b, svc, out, fields, mode or "bridge", path)
    out["containers"] = fields.get("containers", [])
    return out


def _launch_type(b: Builder, svc: Item, fields: dict, path: tuple, out: dict) -> str:
    """EC2, FARGATE or EXTERNAL: the service's launch type, or its capacity provider
    strategy's (or the cluster's default strategy's), written as the service's strategy."""
    launch = str(svc.get("launch_type") or "").upper()
    strategy = svc.dicts("strategy") or ([] if launch else _default_strategy(b, path))
    if not launch and strategy:
        launch = _from_strategy(b, strategy, path, out)
    elif not launch:
        launch = str(fields.get("launch_type") or "EC2")
        if launch == "FARGATE":
            b.say(path, "no launch type given: FARGATE, the only one its task definition's "
                        "requiresCompatibilities allows")
    if launch == "EXTERNAL":
        _external_instances(b, path)
    if launch not in ("EC2", "FARGATE", "EXTERNAL"):
        raise StackError(f"{svc.origin}: launch type {_short(launch)}; expected EC2, FARGATE "
                         "or EXTERNAL", file=svc.origin.file)
    return launch


def _external_instances(b: Builder, path: tuple) -> None:
    """EXTERNAL tasks run on external instances (ECS Anywhere), which a stack does not
    describe (they register themselves): a placeholder group stands for them."""
    if any(g.get("external") for g in b.instance_groups):
        return
    gpath = ("cluster", "instance_groups", len(b.instance_groups))
    b.say(gpath, "placeholder: the external instances (ECS Anywhere) the EXTERNAL "
                 "service runs on register themselves and are not in the source; 2 servers "
                 "the size of an m5.xlarge assumed")
    b.instance_groups.append({"name": b.names.give("group", "?external", "external"),
                              "type": "m5.xlarge", "count": 2, "external": True})
    b.say(path, "launch type EXTERNAL (ECS Anywhere): on the external instances of "
                "cluster.instance_groups (a placeholder)")


def _default_strategy(b: Builder, path: tuple) -> list:
    for kind in ("cluster_cps", "cluster"):
        for item in b.stack.all(kind):
            if item.dicts("default_strategy"):
                b.say(path, f"no launch type: the cluster's default capacity provider "
                            f"strategy, from {item.origin}")
                return item.dicts("default_strategy")
    return []


def _from_strategy(b: Builder, strategy: list, path: tuple, out: dict) -> str:
    """The strategy as the service's ``capacity_provider_strategy`` (its launch type:
    FARGATE for Fargate providers, else EC2); when a provider or its Auto Scaling group
    is not in the source, the launch type of the provider that takes most tasks instead,
    said so."""
    fargate = {str(s.get("provider")) in FARGATE_PROVIDERS for s in strategy}
    names = [b.provider_name(s.get("provider")) for s in strategy] if len(fargate) == 1 \
        else []
    if names and all(names):
        out["capacity_provider_strategy"] = [
            {"capacity_provider": name, "base": as_int(s.get("base")) or 0,
             "weight": as_int(s.get("weight")) or 0} for name, s in zip(names, strategy,
                                                                           strict=True)]
        return "FARGATE" if all(n in FARGATE_PROVIDERS for n in names) else "EC2"

    def weight(s: dict) -> tuple:
        return (as_int(s.get("base")) or 0, as_int(s.get("weight")) or 0)

    chosen = max(strategy, key=weight)
    name = str(chosen.get("provider"))
    launch = "FARGATE" if name in FARGATE_PROVIDERS else "EC2"
    if not names:
        why = ("mixes Auto Scaling group and Fargate providers, which ECS refuses (\"A "
               "capacity provider strategy cannot contain a mix of capacity providers using "
               "Auto Scaling groups and Fargate providers\")")
    else:
        missing = [_short(s.get("provider")) for s, n in zip(strategy, names, strict=True)
                   if n is None]
        why = f"names {', '.join(missing)}, not in the source (or its Auto Scaling group)"
    b.say(path, f"capacity provider strategy [{_strategy_text(b, strategy)}] {why}: it is "
                f"not written; every task runs as {launch} on {_provider_name(b, name)}")
    return launch


def _strategy_text(b: Builder, strategy: list) -> str:
    return ", ".join(f"{_provider_name(b, s.get('provider'))} base "
                     f"{as_int(s.get('base')) or 0} weight {as_int(s.get('weight')) or 0}"
                     for s in strategy)


def _provider_name(b: Builder, ref: Any) -> str:
    item = b.stack.find("capacity_provider", ref)
    return item.name if item is not None else _short(ref)


def _network(b: Builder, svc: Item, out: dict, mode: str | None, launch: str,
             path: tuple) -> None:
    """awsvpc's subnets, security groups and public IP; said and left out otherwise."""
    subnets, groups = svc.list("subnets"), svc.list("security_groups")
    if mode != "awsvpc":
        if subnets or groups:
            b.say(path, "a network configuration is given but the task is not awsvpc: left out")
        return
    names = [b.subnet_name(r, f"of {svc.origin}") for r in subnets]
    if names:
        out["subnets"] = [n for n in names if n][:16]
    chosen = b.group_names(groups, path, "the service")
    if chosen:
        out["security_groups"] = chosen[:5]
    public = as_bool(svc.get("public_ip"))
    if public and launch == "FARGATE":
        out["assign_public_ip"] = True
    elif public:
        b.say(path, "assignPublicIp is for Fargate only: left out")


def _placement(b: Builder, svc: Item, out: dict, fields: dict, launch: str,
               path: tuple) -> None:
    strategies = []
    for s in svc.dicts("placement_strategy"):
        kind = str(s.get("type", "")).lower()
        entry = {"type": kind}
        field = s.get("field")
        if kind == "binpack" and field:
            entry["field"] = str(field).lower()
        elif kind == "spread" and field:
            entry["field"] = "instanceId" if str(field).lower() == "instanceid" else str(field)
        strategies.append(entry)
    constraints = [{k: v for k, v in (("type", c.get("type")), ("expression",
                                                               c.get("expression"))) if v}
                   for c in svc.dicts("placement_constraints")]
    constraints += fields.get("placement_constraints", [])
    if launch == "FARGATE":
        if strategies or constraints:
            b.say(path, "placement strategies and constraints do not apply on Fargate: left out")
        return
    if strategies:
        out["placement_strategy"] = strategies[:5]
    if constraints:
        out["placement_constraints"] = constraints[:10]


def _deployment(b: Builder, svc: Item, out: dict, path: tuple) -> None:
    dep: dict[str, Any] = {}
    for key, lo, hi in (("min_healthy", 0, 100), ("max_percent", 100, 200)):
        value = as_int(svc.get(key))
        if value is None:
            continue
        if not lo <= value <= hi:
            b.say(path, f"{key.replace('_', ' ')} {value}% is outside what the scenario "
                        f"takes ({lo}-{hi}): {min(max(value, lo), hi)}% modelled")
        name = "minimum_healthy_percent" if key == "min_healthy" else "maximum_percent"
        dep[name] = min(max(value, lo), hi)
    breaker = svc.get("circuit_breaker")
    if isinstance(breaker, dict) and breaker:
        dep["circuit_breaker"] = {"enable": bool(as_bool(breaker.get("enable"))),
                                  "rollback": bool(as_bool(breaker.get("rollback")))}
    if dep:
        out["deployment"] = dep
    controller = str(svc.get("controller") or "ECS").upper()
    if controller == "CODE_DEPLOY":  # kept if a load balancer is modelled (_balancer)
        out["deployment_controller"] = "CODE_DEPLOY"
        b.comments.end((*path, "deployment_controller"), "blue/green")
        b.say(path, "deployment controller CODE_DEPLOY (blue/green): its traffic shift, test "
                    "listener and termination wait are the CodeDeploy deployment group's, "
                    "not read from the source: all at once, no test listener and no wait "
                    "assumed (set blue_green)")
    elif controller == "EXTERNAL":
        b.say(path, "deployment controller EXTERNAL is not modelled: a deployment is a "
                    "rolling update within the percentages above")
    if svc.get("registries"):
        b.say(path, "service registries (Cloud Map) are not imported: the namespace is not "
                    "in the source")


def _balancer(b: Builder, svc: Item, out: dict, fields: dict, mode: str, path: tuple) -> None:
    """The service's target groups: one as ``load_balancer`` (a load balancer of the
    scenario), several as ``load_balancers`` (each a container and port on its balancer,
    as ECS's loadBalancers[]); the first one's health check and deregistration delay; a
    flow through each (assumed). A CODE_DEPLOY service without a balancer modelled rolls."""
    groups = []
    for mapping in svc.dicts("load_balancers"):
        tg = b.stack.find("target_group", mapping.get("target_group"))
        if tg is None:
            b.say(path, f"target group {_short(mapping.get('target_group'))} (or a Classic "
                        "Load Balancer) is not in the source: not modelled")
            continue
        name = _load_balancer(b, tg, mode, path)
        if name is not None:
            groups.append((tg, name, mapping))
    if not groups:
        if out.pop("deployment_controller", None):
            b.say(path, "CODE_DEPLOY shifts a load balancer's traffic and none is modelled: "
                        "a deployment is a rolling update within the percentages above")
        return
    if len(groups) > 1 and out.get("deployment_controller") == "CODE_DEPLOY":
        b.say(path, f"{len(groups)} target groups with CODE_DEPLOY, which ECS refuses "
                    "(several target groups need the ECS deployment controller): only the "
                    f"first is modelled; left out: "
                    f"{', '.join(str(tg.origin) for tg, _n, _m in groups[1:])}")
        groups = groups[:1]
    if len(groups) == 1:
        out["load_balancer"] = groups[0][1]
        b.comments.end((*path, "load_balancer"), f"target group {groups[0][0].origin}")
    else:
        out["load_balancers"] = [_target_group(b, tg, name, m, fields, (*path, "load_balancers",
                                                                        i))
                                 for i, (tg, name, m) in enumerate(groups)]
    tg = groups[0][0]
    check = _health_check(b, svc, tg)
    if check:
        out["health_check"] = check
    delay = as_int(tg.get("dereg"))
    if delay is not None:
        out["deregistration_delay"] = f"{delay}s"
    for _tg, name, mapping in groups:
        _flow(b, out, fields, mapping, name)


def _target_group(b: Builder, tg: Item, lb: str, mapping: dict, fields: dict,
                  path: tuple) -> dict:
    """One entry of ``load_balancers``: the balancer standing for ``tg``, the container and
    port ECS registers (the first mapped port when the source has none)."""
    b.origin(path, tg)
    entry: dict[str, Any] = {"load_balancer": lb}
    if mapping.get("container"):
        entry["container"] = str(mapping["container"])
    ports = [pm.get("container_port") for c in fields.get("containers", [])
             if c.get("name") == entry.get("container", c.get("name"))
             for pm in c.get("port_mappings", []) if pm.get("container_port")]
    port = as_int(mapping.get("port"))
    if port is None and ports:
        port = ports[0]
        b.say(path, f"no container port in the source: {port}, the first mapped, assumed")
    entry["container_port"] = port if port is not None else 80
    return entry


def _health_check(b: Builder, svc: Item, tg: Item) -> dict:
    check: dict[str, Any] = {}
    grace = as_int(svc.get("grace"))
    if grace is not None:
        check["grace_period"] = f"{grace}s"
    for key, name, lo, hi in (("interval", "interval", 5, 300),
                              ("healthy", "healthy_threshold", 2, 10),
                              ("unhealthy", "unhealthy_threshold", 2, 10)):
        value = as_int(tg.get(key))
        if value is not None and lo <= value <= hi:
            check[name] = f"{value}s" if key == "interval" else value
    return check


def _listener_of(b: Builder, tg: Item) -> tuple[Item | None, Item | None]:
    """The listener that forwards to ``tg``, and the listener rule it does it by (None
    for its default action)."""
    for listener in b.stack.all("listener"):
        if any(b.stack.find("target_group", r) is tg for r in listener.list("target_groups")):
            return listener, None
    for rule in b.stack.all("listener_rule"):
        if any(b.stack.find("target_group", r) is tg for r in rule.list("target_groups")):
            listener = b.stack.find("listener", rule.get("listener"))
            if listener is not None:
                return listener, rule
    return None, None


def _load_balancer(b: Builder, tg: Item, mode: str, path: tuple) -> str | None:
    """The name of the scenario load balancer that stands for ``tg`` behind its load
    balancer's listener (created on first use), or None (said why)."""
    from .. import modes  # noqa: PLC0415

    known = b.names.get("lb", tg.key)
    if known:
        return known
    listener, rule = _listener_of(b, tg)
    if rule is not None:
        b.say(path, f"reached by {rule.origin}: its conditions are not modelled (every "
                    "request of the flow below goes to this target group)")
    lb = b.stack.find("load_balancer", listener.get("load_balancer")) if listener else None
    if lb is None:
        lb = next((x for x in (b.stack.find("load_balancer", r)
                               for r in tg.list("load_balancers")) if x), None)
    if lb is None:
        b.say(path, f"no listener or load balancer forwards to {tg.origin}: no load balancer "
                    "modelled")
        return None
    kind = {"application": "alb", "network": "nlb"}.get(str(lb.get("type", "application")))
    target = str(tg.get("target_type") or "instance").lower()
    if not isinstance(mode, str) or mode not in modes.MODES:
        return None  # not a network mode: the scenario's validation says so
    expected = modes.get(mode).target_type
    if kind is None or target not in ("instance", "ip"):
        b.say(path, f"{lb.origin} of type {lb.get('type')} with {target} targets is not "
                    "modelled (ALB and NLB with instance or ip targets are)")
        return None
    if target != expected:
        b.say(path, f"{tg.origin} has target type {target}, which ECS refuses for {mode} "
                    f"(expected {expected}): no load balancer modelled")
        return None
    return _add_balancer(b, lb, tg, listener, kind, target)


def _add_balancer(b: Builder, lb: Item, tg: Item, listener: Item | None, kind: str,
                  target: str) -> str:
    used = any(key[0] == "lb-of" and key[1] == lb.key for key in b.names.by_key)
    name = b.names.give("lb", tg.key, f"{lb.name}-{tg.name}" if used else lb.name)
    b.names.by_key[("lb-of", lb.key)] = name
    path = ("load_balancers", len(b.load_balancers))
    b.origin(path, lb)
    b.say(path, f"its target group: {tg.origin}")
    entry: dict[str, Any] = {"name": name, "type": kind}
    port = as_int(listener.get("port")) if listener is not None else None
    if listener is not None:
        b.say(path, f"listener: {listener.origin}")
    if port is None or not 1 <= port <= 65535:
        port = 443 if str(tg.get("protocol", "")).upper() == "HTTPS" else 80
        b.say(path, f"listener port not in the source: {port} assumed")
    entry["port"] = port
    subnets = [b.subnet_name(r, f"of {lb.origin}") for r in lb.list("subnets")]
    subnets = [s for s in subnets if s]
    scheme = str(lb.get("scheme") or "internet-facing")
    public = any(s["route"] == "igw" for s in b.subnets if s["name"] in subnets
                 and "route" in s)
    if scheme == "internet-facing" and not public:
        b.say(path, "internet-facing, but none of its subnets routes to an internet gateway "
                    "in the source: modelled as internal")
        scheme = "internal"
    entry.update({"scheme": scheme, "target_type": target})
    if subnets:
        entry["subnets"] = subnets
    groups = b.group_names(lb.get("security_groups"), path, "the load balancer")
    if groups:
        entry["security_groups"] = groups
    b.load_balancers.append(entry)
    return name


def _flow(b: Builder, svc: dict, fields: dict, mapping: dict, lb: str) -> None:
    """A flow from a client through the load balancer to the container port the target
    group serves: a stack has no traffic, so its rate is an assumption."""
    ports = [pm.get("container_port") for c in fields.get("containers", [])
             for pm in c.get("port_mappings", []) if pm.get("container_port")]
    port = as_int(mapping.get("port"))
    if port not in ports:
        port = ports[0] if ports else None
    if port is None:
        return
    path = ("traffic", len(b.traffic))
    name = b.names.give("flow", f"{svc['name']}/{lb}", f"{svc['name']}-in")  # one per group
    b.say(path, f"assumed: {FLOW_RATE} from a client through {lb} (a stack has no traffic; "
                "change the rate or remove the flow)")
    b.traffic.append({"name": name, "from": "client", "to": svc["name"], "port": port,
                      "via": lb, "rate": FLOW_RATE})
