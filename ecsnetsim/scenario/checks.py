"""Checks across fields: references between sections and what AWS itself rejects.

Each check yields ``(field path, message)``; the loader reports the first with its
line. Messages for AWS-invalid combinations give AWS's reason.
"""

from __future__ import annotations

import ipaddress
import re
import weakref
from collections.abc import Iterator

from pydantic import ValidationError

from .. import catalog, modes
from ..errors import choices, show
from ..model import fargate, query
from .capacitychecks import check_capacity
from .messages import describe
from .schema import Scenario, Service
from .trafficrules import check_traffic
from .trafficrules import position as _position
from .yamlsrc import format_path

Problem = tuple[tuple, str]

#: CreateService serviceName and ContainerDefinition name: "Up to 255 letters (uppercase
#: and lowercase), numbers, underscores, and hyphens are allowed" (ECS API reference).
_AWS_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")


def _aws_name(name: str, loc: tuple, what: str) -> Iterator[Problem]:
    if not _AWS_NAME.fullmatch(name):
        bad = sorted({c for c in name if not re.fullmatch(r"[A-Za-z0-9_-]", c)})
        why = (f"{len(name)} characters" if len(name) > 255 else
               "it contains " + ", ".join(show(c) for c in bad[:5]))
        yield loc, (f"{what} name {show(name, 60)} is not one ECS accepts: up to 255 letters, "
                    f"numbers, underscores and hyphens ({why})")


def _unique(items, loc: tuple, what: str) -> Iterator[Problem]:
    seen: set[str] = set()
    for i, item in enumerate(items):
        if item.name in seen:
            yield loc + (i, "name"), f"two {what} are named {show(item.name)}; names must be unique"
        seen.add(item.name)


def _check_cluster(sc: Scenario) -> Iterator[Problem]:
    subnet_names = {s.name for s in sc.vpc.subnets}
    for i, g in enumerate(sc.cluster.instance_groups):
        loc = ("cluster", "instance_groups", i)
        try:
            catalog.get(g.type)
        except catalog.UnknownInstanceType as exc:
            yield loc + ("type",), str(exc)
        if g.subnet is not None and g.subnet not in subnet_names:
            yield loc + ("subnet",), (f"no subnet named {show(g.subnet)}; expected one of "
                                      f"{choices(sorted(subnet_names))}")
        if g.os == "windows" and g.trunk_tasks:
            yield loc + ("trunk_tasks",), (
                "ENI trunking is not supported on Windows container instances (Amazon ECS "
                "supports awsvpcTrunking on Linux only); remove trunk_tasks or use Linux "
                "instances")


def _check_task_definition(sc: Scenario, i: int) -> Iterator[Problem]:
    """What RegisterTaskDefinition and the launch type reject, with AWS's reasons."""
    svc = sc.services[i]
    loc = ("services", i)
    mode = modes.get(svc.network_mode)
    platform = svc.runtime_platform
    os = platform.os if platform else None
    # (RegisterTaskDefinition reads an empty requiresCompatibilities as EC2)
    compat = svc.requires_compatibilities
    if compat is not None and svc.launch_type not in (compat or ["EC2"]):
        yield loc + ("launch_type",), (f"Task definition does not support launch_type "
                                       f"{svc.launch_type} (requiresCompatibilities: "
                                       f"{', '.join(compat) or 'none, which means EC2'})")
    if svc.launch_type != "EXTERNAL" and not mode.allows(svc.launch_type, os):
        # (EXTERNAL: capacitychecks.py, with ECS Anywhere's own modes)
        allowed = [m.name for m in modes.MODES.values() if m.allows(svc.launch_type, os)]
        who = "Fargate" if svc.launch_type == "FARGATE" else "EC2"
        if os:
            who = f"{os.capitalize()} tasks on {who}"
        yield loc + ("network_mode",), (
            f"{who} only supports network mode {' or '.join(repr(a) for a in allowed)} "
            f"(got {show(mode.name)})")
    if svc.launch_type == "FARGATE":
        problem = fargate.size_problem(svc.cpu, svc.memory, os or "linux")
        if problem:
            yield loc + (problem[0],), problem[1]
        if svc.gpu:  # (ECS Developer Guide, task definition differences for Fargate)
            yield loc + ("gpu",), ("GPUs are not available on Fargate: a task with "
                                   "resourceRequirements of type GPU runs on EC2 instances "
                                   "with GPUs")
    elif svc.memory == 0:
        yield loc + ("memory",), (
            "a task must reserve memory: ECS requires a task-level memory or, in every "
            "container, memory or memoryReservation (\"At least one of 'memory' or "
            "'memoryReservation' must be specified\"); Docker reserves at least 6 MiB per "
            "container")
    yield from _unique(svc.containers, loc + ("containers",), "containers of a task")
    for c_i, c in enumerate(svc.containers):
        yield from _aws_name(c.name, loc + ("containers", c_i, "name"), "a container")
    held: dict[tuple[int, str], int] = {}
    for c_i, c in enumerate(svc.containers):
        cloc = loc + ("containers", c_i)
        for p_i, pm in enumerate(c.port_mappings):
            key = (pm.host_port or (pm.container_port if mode.host_port_equals_container_port
                                    else None), pm.protocol)
            if key[0] and key in held:
                yield cloc + ("port_mappings", p_i), (
                    f"host port {key[0]}/{key[1]} is mapped twice in one task (also by "
                    f"containers[{held[key]}]); a host port serves one container")
            elif key[0]:
                held[key] = c_i
        if c.links and not mode.links_allowed:
            yield cloc + ("links",), (f"links are not supported when networkMode is "
                                      f"'{mode.name}'; they are supported in "
                                      f"{' and '.join(modes.with_links())} mode only")
        for p_i, pm in enumerate(c.port_mappings):
            problem = mode.port_mapping_problem(pm)
            if problem:
                field, message = problem
                ploc = cloc + ("port_mappings", p_i)
                yield (ploc + (field,) if field else ploc), message


def _check_service(sc: Scenario, i: int, subnet_names: set[str]) -> Iterator[Problem]:
    svc = sc.services[i]
    loc = ("services", i)
    yield from _aws_name(svc.name, loc + ("name",), "a service")
    yield from _check_task_definition(sc, i)
    if svc.launch_type == "FARGATE":
        if svc.placement_strategy or svc.placement_constraints:
            yield loc + ("placement_strategy" if svc.placement_strategy else
                         "placement_constraints",), (
                "Fargate does not support task placement strategies or constraints")
        if svc.scheduling == "daemon":
            yield loc + ("scheduling",), "Fargate does not support the daemon scheduling "\
                                         "strategy"
    for s_i, name in enumerate(svc.subnets or []):
        if name not in subnet_names:
            yield loc + ("subnets", s_i), (f"no subnet named {show(name)}; expected one of "
                                           f"{choices(sorted(subnet_names))}")
    if svc.subnets is not None and len(svc.subnets) > 16:
        yield loc + ("subnets",), "awsVpcConfiguration allows at most 16 subnets"
    for s_i, st in enumerate(svc.placement_strategy or []):
        sloc = loc + ("placement_strategy", s_i)
        if st.type == "binpack" and st.field not in ("cpu", "memory"):
            yield sloc + ("field",), f"binpack needs field cpu or memory (got {show(st.field)})"
        if st.type == "spread" and not (
                st.field in ("instanceId", "host") or (st.field or "").startswith("attribute:")):
            yield sloc + ("field",), ("spread needs field instanceId, host or attribute:<name> "
                                      f"(got {show(st.field)})")
        if st.type == "random" and st.field is not None:
            yield sloc + ("field",), "random takes no field"
    for c_i, pc in enumerate(svc.placement_constraints):
        cloc = loc + ("placement_constraints", c_i)
        if pc.type == "distinctInstance" and pc.expression is not None:
            yield cloc + ("expression",), "distinctInstance takes no expression"
        if pc.type == "memberOf":
            if not pc.expression:
                yield cloc, "memberOf needs an expression in the cluster query language"
                continue
            try:
                query.parse(pc.expression)
            except query.QueryError as exc:
                yield cloc + ("expression",), f"invalid cluster query: {exc}"


def _check_target_groups(sc: Scenario, i: int) -> Iterator[Problem]:
    """A service's ``load_balancers`` entries: known balancers of the right target type,
    containers and ports the task maps, path rules on ALBs, distinct names."""
    svc = sc.services[i]
    mode = modes.get(svc.network_mode)
    containers = {c.name: c for c in svc.containers}
    seen: set[tuple[str, str]] = set()
    for j, tg in enumerate(svc.load_balancers or ()):
        loc = ("services", i, "load_balancers", j)
        lb = sc.load_balancer(tg.load_balancer)
        if lb is None:
            yield loc + ("load_balancer",), _unknown(
                "load balancer", tg.load_balancer, [b.name for b in sc.load_balancers])
            continue
        if lb.target_type != mode.target_type:
            yield loc + ("load_balancer",), (
                f"The provided target group {lb.name} has target type {lb.target_type}, which "
                f"is incompatible with the {mode.name} network mode specified in the task "
                f"definition (expected target type {mode.target_type})")
        if tg.container is not None and tg.container not in containers:
            yield loc + ("container",), _unknown("container", tg.container, containers)
            continue
        mapped = [c for c in svc.containers if tg.container in (None, c.name) and any(
            pm.ports[0] <= tg.container_port < pm.ports[0] + pm.ports[1]
            for pm in c.port_mappings)]
        if not mapped:  # ECS: InvalidParameterException
            name = tg.container or (svc.containers[0].name if svc.containers else "?")
            yield loc + ("container_port",), (f"The container {name} did not have a "
                                              f"container port {tg.container_port} defined.")
        if tg.path is not None and lb.type != "alb":
            yield loc + ("path",), "path rules are ALB listener rules; an NLB listener " \
                                   "forwards by port only"
        name = tg.target_group or f"{svc.name}-{tg.container_port}"
        if (tg.load_balancer, name) in seen:
            yield loc + ("target_group",), (f"target group {show(name)} is listed twice; "
                                            "name each group (target_group)")
        seen.add((tg.load_balancer, name))


def _check_vpc(sc: Scenario) -> Iterator[Problem]:
    """References between subnets, NAT gateways, security groups and load balancers, and
    what AWS refuses about them: each rule of :data:`VPC_RULES` in turn."""
    for rule in VPC_RULES:
        yield from rule(sc)


def _group_names(sc: Scenario) -> set[str]:
    """The security groups a rule may name: the scenario's and the VPC's default."""
    return {g.name for g in sc.vpc.security_groups or []} | {"default"}


def _names_are_unique(sc: Scenario) -> Iterator[Problem]:
    """NAT gateways, security groups and load balancers each need a name of their own."""
    yield from _unique(sc.vpc.nat_gateways, ("vpc", "nat_gateways"), "NAT gateways")
    yield from _unique(sc.vpc.security_groups or [], ("vpc", "security_groups"),
                       "security groups")
    yield from _unique(sc.load_balancers, ("load_balancers",), "load balancers")


def _subnets_fit_the_vpc(sc: Scenario) -> Iterator[Problem]:
    """Subnets do not overlap, reserve no more than their usable addresses, and route to a
    NAT gateway that exists."""
    gateways = {g.name for g in sc.vpc.nat_gateways}
    nets = [ipaddress.IPv4Network(sn.cidr) for sn in sc.vpc.subnets]
    for i, sn in enumerate(sc.vpc.subnets):
        other = next((j for j in range(i) if nets[j].overlaps(nets[i])), None)
        if other is not None:
            yield ("vpc", "subnets", i, "cidr"), (
                f"{sn.cidr} overlaps subnet {sc.vpc.subnets[other].name!r} "
                f"({sc.vpc.subnets[other].cidr}); the subnets of a VPC must not overlap")
        usable = nets[i].num_addresses - 5
        if sn.reserved_ips > usable:
            yield ("vpc", "subnets", i, "reserved_ips"), (
                f"{sn.cidr} has {usable} usable addresses (2^(32-prefix) - 5); "
                f"{sn.reserved_ips} cannot be taken")
        if sn.route.startswith("nat:") and sn.route[4:] not in gateways:
            yield ("vpc", "subnets", i, "route"), (f"no NAT gateway named {sn.route[4:]!r}; "
                                                   f"expected one of {choices(sorted(gateways))}")


def _nat_gateways_sit_in_subnets(sc: Scenario) -> Iterator[Problem]:
    subnets = {s.name for s in sc.vpc.subnets}
    for i, gw in enumerate(sc.vpc.nat_gateways):
        if gw.subnet not in subnets:
            yield ("vpc", "nat_gateways", i, "subnet"), (
                f"no subnet named {show(gw.subnet)}; expected one of {choices(sorted(subnets))}")


def _security_group_rules_are_valid(sc: Scenario) -> Iterator[Problem]:
    """Each ingress/egress rule: a port range within 0-65535 and a peer that is a known
    group, an IPv4 CIDR or any."""
    groups = _group_names(sc)
    for i, g in enumerate(sc.vpc.security_groups or []):
        for kind in ("ingress", "egress"):
            for r_i, rule in enumerate(getattr(g, kind) or []):
                yield from _rule_problems(("vpc", "security_groups", i, kind, r_i), rule,
                                          kind, groups)


def _rule_problems(rloc: tuple, rule, kind: str, groups: set[str]) -> Iterator[Problem]:
    peer = rule.from_ if kind == "ingress" else rule.to
    field = "from" if kind == "ingress" else "to"
    lo, hi = rule.ports
    if not 0 <= lo <= hi <= 65535:
        yield rloc + ("port",), "expected a port N, a range N-M with N <= M, or all"
    if peer is None:
        yield rloc, f"a rule needs {field}: sg:NAME, a CIDR or any"
    elif peer.startswith("sg:"):
        if peer[3:] not in groups:
            yield rloc + (field,), _unknown("security group", peer[3:], groups)
    elif peer != "any":
        try:
            ipaddress.IPv4Network(peer, strict=False)
        except ValueError:
            yield rloc + (field,), (f"expected sg:NAME, an IPv4 CIDR or any "
                                    f"(got {show(peer)})")


def _instance_groups_name_known_groups(sc: Scenario) -> Iterator[Problem]:
    groups = _group_names(sc)
    for i, g in enumerate(sc.cluster.instance_groups):
        for j, name in enumerate(g.security_groups):
            if name not in groups:
                yield ("cluster", "instance_groups", i, "security_groups", j), _unknown(
                    "security group", name, groups)


def _load_balancers_are_placeable(sc: Scenario) -> Iterator[Problem]:
    """A balancer's subnets and groups exist; an internet-facing one has a public subnet;
    client IP preservation is an NLB setting."""
    subnets = {s.name: s for s in sc.vpc.subnets}
    groups = _group_names(sc)
    for i, lb in enumerate(sc.load_balancers):
        for j, name in enumerate(lb.subnets):
            if name not in subnets:
                yield ("load_balancers", i, "subnets", j), _unknown("subnet", name, subnets)
        for j, name in enumerate(lb.security_groups):
            if name not in groups:
                yield ("load_balancers", i, "security_groups", j), _unknown(
                    "security group", name, groups)
        lb_subnets = [subnets[n] for n in lb.subnets if n in subnets] or sc.vpc.subnets[:1]
        if lb.scheme == "internet-facing" and not any(s.route == "igw" for s in lb_subnets):
            yield ("load_balancers", i, "scheme"), (
                "an internet-facing load balancer needs a subnet whose route table has a route "
                "to an internet gateway (a public subnet); its subnets "
                f"{[s.name for s in lb_subnets]} have none")
        if lb.type == "alb" and lb.preserve_client_ip is not None:
            yield ("load_balancers", i, "preserve_client_ip"), (
                "client IP preservation is a Network Load Balancer setting; an ALB passes the "
                "client's address in X-Forwarded-For")


#: The VPC's rules, in the order their problems are reported; each is tested alone.
VPC_RULES = (_names_are_unique, _subnets_fit_the_vpc, _nat_gateways_sit_in_subnets,
             _security_group_rules_are_valid, _instance_groups_name_known_groups,
             _load_balancers_are_placeable)


def _unknown(what: str, name: str, known) -> str:
    return f"no {what} named {show(name)}; expected one of {choices(sorted(known))}"


def _check_reachability_fields(sc: Scenario, i: int) -> Iterator[Problem]:
    """A service's security groups, load balancer, public IP and Cloud Map record."""
    svc = sc.services[i]
    loc = ("services", i)
    mode = modes.get(svc.network_mode)
    groups = {g.name for g in sc.vpc.security_groups or []} | {"default"}
    if svc.security_groups is not None and not mode.own_subnet_ip:
        yield loc + ("security_groups",), (
            f"security groups are part of the awsvpc network configuration; a task in "
            f"{mode.name} mode uses its instance's groups (set them on the instance group)")
    for j, name in enumerate(svc.security_groups or []):
        if name not in groups:
            yield loc + ("security_groups", j), _unknown("security group", name, groups)
    if svc.assign_public_ip and svc.launch_type != "FARGATE":
        yield loc + ("assign_public_ip",), (
            "assignPublicIp is supported on Fargate only; awsvpc tasks on EC2 never get a "
            "public IP")
    if svc.load_balancer is not None:
        lb = sc.load_balancer(svc.load_balancer)
        if lb is None:
            yield loc + ("load_balancer",), _unknown(
                "load balancer", svc.load_balancer, [b.name for b in sc.load_balancers])
        elif lb.target_type != mode.target_type:
            yield loc + ("load_balancer",), (
                f"The provided target group {lb.name} has target type {lb.target_type}, which "
                f"is incompatible with the {mode.name} network mode specified in the task "
                f"definition (expected target type {mode.target_type})")
    sd = svc.service_discovery
    if sd is not None and sd.record == "A" and not mode.a_records_allowed:
        yield loc + ("service_discovery", "record"), (
            f"A records are supported for the awsvpc network mode only; a task in "
            f"{mode.name} mode registers an SRV record (its instance's IP and host port)")


_ACTIONS = ("deploy", "scale", "drain", "terminate", "interrupt")


def _action(ev) -> str | None:
    """What an event does, when it says exactly one thing."""
    kinds = [k for k in _ACTIONS if getattr(ev, k)]
    return kinds[0] if len(kinds) == 1 else None


def _acts_on(sc: Scenario, ev) -> str | None:
    """The event's action, when it is one and names a service that exists (an unknown
    service is reported once, by :func:`_names_a_known_service`)."""
    kind = _action(ev)
    if kind in ("deploy", "scale") and _service(sc, getattr(ev, kind)) is None:
        return None
    return kind


def _service(sc: Scenario, name: str) -> Service | None:
    """The service named ``name`` (its own name: an event does not take Cloud Map's),
    from a table made once per scenario: the rules ask it for every event."""
    if _SERVICES[0]() is not sc:  # (a weak reference: the table never keeps a scenario)
        _SERVICES[:] = [weakref.ref(sc), {s.name: s for s in sc.services}]
    return _SERVICES[1].get(name)


#: The scenario whose services :func:`_service` last indexed (weakly), and the index.
_SERVICES: list = [lambda: None, {}]


def _does_one_thing(sc: Scenario, i: int) -> Iterator[Problem]:
    ev = sc.events[i]
    if _action(ev) is None:
        kinds = [k for k in _ACTIONS if getattr(ev, k)]
        yield ("events", i), (f"expected exactly one of {', '.join(_ACTIONS)} "
                              f"(got {', '.join(kinds) or 'none'})")


def _happens_in_the_run(sc: Scenario, i: int) -> Iterator[Problem]:
    ev = sc.events[i]
    if _action(ev) and ev.at > sc.duration > 0:  # duration 0: placement only
        yield ("events", i, "at"), _after_the_end(ev.at, sc.duration)


def _names_a_known_service(sc: Scenario, i: int) -> Iterator[Problem]:
    ev, kind = sc.events[i], _action(sc.events[i])
    if kind in ("deploy", "scale") and _acts_on(sc, ev) is None:
        services = sorted(s.name for s in sc.services)
        yield ("events", i, kind), (f"no service named {show(getattr(ev, kind))}; expected "
                                    f"one of {choices(services)}")


def _scale_has_a_desired_count(sc: Scenario, i: int) -> Iterator[Problem]:
    ev = sc.events[i]
    if _acts_on(sc, ev) == "scale" and ev.desired_count is None:
        yield ("events", i), "scale needs desired_count"


def _desired_count_goes_with_scale(sc: Scenario, i: int) -> Iterator[Problem]:
    ev = sc.events[i]
    if _acts_on(sc, ev) not in (None, "scale") and ev.desired_count is not None:
        yield ("events", i, "desired_count"), "desired_count goes with scale"


def _set_goes_with_deploy(sc: Scenario, i: int) -> Iterator[Problem]:
    ev = sc.events[i]
    if _acts_on(sc, ev) not in (None, "deploy") and ev.set:
        yield ("events", i, "set"), "set goes with deploy"


def _deployed_revision_is_valid(sc: Scenario, i: int) -> Iterator[Problem]:
    """The new revision passes the schema and the same AWS checks as a service written
    directly."""
    ev = sc.events[i]
    if _acts_on(sc, ev) != "deploy" or not ev.set:
        return
    loc = ("events", i)
    svc = _service(sc, ev.deploy)
    data = {**svc.model_dump(by_alias=True), **ev.set}
    try:
        changed = Service.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = tuple(err["loc"])
        yield loc + ("set",) + where[:1], f"{format_path(where)}: {describe(err, where, Service)}"
        return
    index = _position(sc, svc)
    revised = sc.model_copy(update={"services": [
        changed if s is svc else s for s in sc.services]})
    for where, message in [*_check_service(revised, index, {
            s.name for s in sc.vpc.subnets}), *_check_reachability_fields(revised, index)]:
        field = where[2] if len(where) > 2 else None
        yield loc + ("set",) + ((field,) if field in ev.set else ()), (
            f"{format_path(where[2:]) or 'the service'}: {message}")


def _drains_a_known_group(sc: Scenario, i: int) -> Iterator[Problem]:
    ev, kind = sc.events[i], _action(sc.events[i])
    if kind not in ("drain", "terminate"):
        return
    groups = sorted(g.name for g in sc.cluster.instance_groups)
    sel = getattr(ev, kind)
    if sel.group not in groups:
        yield ("events", i, kind, "group"), (f"no instance group named {show(sel.group)}; "
                                             f"expected one of {choices(groups)}")


#: Every rule of an event, in the order of the fields they read.
EVENT_RULES = (_does_one_thing, _happens_in_the_run, _names_a_known_service,
               _scale_has_a_desired_count, _desired_count_goes_with_scale,
               _set_goes_with_deploy, _deployed_revision_is_valid, _drains_a_known_group)


def _check_events(sc: Scenario) -> Iterator[Problem]:
    """Every event's problems, event by event, each rule of :data:`EVENT_RULES` in turn."""
    for i in range(len(sc.events)):
        for rule in EVENT_RULES:
            yield from rule(sc, i)


def _after_the_end(at: float, duration: float) -> str:
    """An event later than ``duration``: the run ends ``duration`` after the services are
    first steady, which may be any time after 0, so only an event at or before
    ``duration`` is sure to happen (a later one silently would not, in a run that
    settles early)."""
    return (f"{at:g}s is after duration ({duration:g}s): the run ends duration after the "
            f"services are first steady, which can come at once, and the event would then "
            f"never happen; expected at most {duration:g}s, or set duration to at least "
            f"{at:g}s")


def check_scenario(sc: Scenario) -> Iterator[Problem]:
    """Yield every cross-field problem of ``sc``, in file order."""
    yield from _unique(sc.vpc.subnets, ("vpc", "subnets"), "subnets")
    yield from _unique(sc.cluster.instance_groups, ("cluster", "instance_groups"),
                       "instance groups")
    yield from _unique(sc.services, ("services",), "services")
    if not sc.services and not sc.cluster.instance_groups:
        yield ("services",), ("a scenario needs at least one service, or at least one "
                              "instance group to see what it registers: there is nothing to "
                              "simulate")
    yield from _unique(sc.traffic, ("traffic",), "flows")
    if sc.warmup >= sc.duration and sc.duration > 0:
        yield ("warmup",), "warmup must be shorter than duration"
    yield from _check_cluster(sc)
    yield from _check_vpc(sc)
    subnet_names = {s.name for s in sc.vpc.subnets}
    for i in range(len(sc.services)):
        yield from _check_service(sc, i, subnet_names)
        yield from _check_reachability_fields(sc, i)
        yield from _check_target_groups(sc, i)
    yield from check_capacity(sc)
    yield from check_traffic(sc)
    yield from _check_events(sc)
    from .. import calibration  # noqa: PLC0415  (the profile reads its YAML and numpy)

    yield from calibration.check_overrides(sc.calibration)
