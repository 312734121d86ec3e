"""Checks across fields: references between sections and what AWS itself rejects.

Each check yields ``(field path, message)``; the loader reports the first with its
line. Messages for AWS-invalid combinations give AWS's reason.
"""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import ValidationError

from .. import catalog, modes
from ..control import fargate, query
from .schema import Scenario, Service
from .yamlsrc import format_path

Problem = tuple[tuple, str]


def _unique(items, loc: tuple, what: str) -> Iterator[Problem]:
    seen: set[str] = set()
    for i, item in enumerate(items):
        if item.name in seen:
            yield loc + (i, "name"), f"two {what} are named {item.name!r}; names must be unique"
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
            yield loc + ("subnet",), (f"no subnet named {g.subnet!r}; expected one of "
                                      f"{sorted(subnet_names)}")
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
    if svc.requires_compatibilities is not None and \
            svc.launch_type not in svc.requires_compatibilities:
        yield loc + ("launch_type",), (f"Task definition does not support launch_type "
                                       f"{svc.launch_type} (requiresCompatibilities: "
                                       f"{', '.join(svc.requires_compatibilities)})")
    if not mode.allows(svc.launch_type, os):
        allowed = [m.name for m in modes.MODES.values() if m.allows(svc.launch_type, os)]
        who = "Fargate" if svc.launch_type == "FARGATE" else "EC2"
        if os:
            who = f"{os.capitalize()} tasks on {who}"
        yield loc + ("network_mode",), (
            f"{who} only supports network mode {' or '.join(repr(a) for a in allowed)} "
            f"(got {mode.name!r})")
    if svc.launch_type == "FARGATE":
        problem = fargate.size_problem(svc.cpu, svc.memory, os or "linux")
        if problem:
            yield loc + (problem[0],), problem[1]
    for c_i, c in enumerate(svc.containers):
        cloc = loc + ("containers", c_i)
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
            yield loc + ("subnets", s_i), (f"no subnet named {name!r}; expected one of "
                                           f"{sorted(subnet_names)}")
    if svc.subnets is not None and len(svc.subnets) > 16:
        yield loc + ("subnets",), "awsVpcConfiguration allows at most 16 subnets"
    for s_i, st in enumerate(svc.placement_strategy or []):
        sloc = loc + ("placement_strategy", s_i)
        if st.type == "binpack" and st.field not in ("cpu", "memory"):
            yield sloc + ("field",), f"binpack needs field cpu or memory (got {st.field!r})"
        if st.type == "spread" and not (
                st.field in ("instanceId", "host") or (st.field or "").startswith("attribute:")):
            yield sloc + ("field",), ("spread needs field instanceId, host or attribute:<name> "
                                      f"(got {st.field!r})")
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


def _check_traffic(sc: Scenario) -> Iterator[Problem]:
    services = {s.name: s for s in sc.services}
    for i, f in enumerate(sc.traffic):
        loc = ("traffic", i)
        if f.to not in services:
            yield loc + ("to",), f"no service named {f.to!r}; expected one of {sorted(services)}"
            continue
        if f.from_ != "client" and f.from_ not in services:
            yield loc + ("from",), (f"expected 'client' or a service name, one of "
                                    f"{sorted(services)} (got {f.from_!r})")
        ports = {pm.ports[0] + k for c in services[f.to].containers
                 for pm in c.port_mappings for k in range(pm.ports[1])}
        if f.port is not None and ports and f.port not in ports:
            yield loc + ("port",), (f"service {f.to!r} maps no container port {f.port}; "
                                    f"expected one of {sorted(ports)}")
        if f.via != "direct" and f.from_ != "client":
            pass  # an internal load balancer between services is allowed
        if f.start is not None and f.stop is not None and f.stop <= f.start:
            yield loc + ("stop",), "stop must come after start"


def _check_events(sc: Scenario) -> Iterator[Problem]:
    services = {s.name: s for s in sc.services}
    groups = {g.name: g for g in sc.cluster.instance_groups}
    for i, ev in enumerate(sc.events):
        loc = ("events", i)
        kinds = [k for k in ("deploy", "scale", "drain", "terminate") if getattr(ev, k)]
        if len(kinds) != 1:
            yield loc, ("expected exactly one of deploy, scale, drain, terminate "
                        f"(got {', '.join(kinds) or 'none'})")
            continue
        kind = kinds[0]
        if kind in ("deploy", "scale"):
            name = getattr(ev, kind)
            if name not in services:
                yield loc + (kind,), (f"no service named {name!r}; expected one of "
                                      f"{sorted(services)}")
                continue
        if kind == "scale" and ev.desired_count is None:
            yield loc, "scale needs desired_count"
        if kind != "scale" and ev.desired_count is not None:
            yield loc + ("desired_count",), "desired_count goes with scale"
        if kind != "deploy" and ev.set:
            yield loc + ("set",), "set goes with deploy"
        if kind == "deploy" and ev.set:
            svc = services[ev.deploy]
            data = {**svc.model_dump(by_alias=True), **ev.set}
            try:
                Service.model_validate(data)
            except ValidationError as exc:
                err = exc.errors()[0]
                where = tuple(err["loc"])
                yield loc + ("set",) + where[:1], (
                    f"{format_path(where)}: {err['msg'].removeprefix('Value error, ')}")
        if kind in ("drain", "terminate"):
            sel = getattr(ev, kind)
            if sel.group not in groups:
                yield loc + (kind, "group"), (f"no instance group named {sel.group!r}; "
                                              f"expected one of {sorted(groups)}")


def check_scenario(sc: Scenario) -> Iterator[Problem]:
    """Yield every cross-field problem of ``sc``, in file order."""
    yield from _unique(sc.vpc.subnets, ("vpc", "subnets"), "subnets")
    yield from _unique(sc.cluster.instance_groups, ("cluster", "instance_groups"),
                       "instance groups")
    yield from _unique(sc.services, ("services",), "services")
    yield from _unique(sc.traffic, ("traffic",), "flows")
    if sc.warmup >= sc.duration and sc.duration > 0:
        yield ("warmup",), "warmup must be shorter than duration"
    yield from _check_cluster(sc)
    subnet_names = {s.name for s in sc.vpc.subnets}
    for i in range(len(sc.services)):
        yield from _check_service(sc, i, subnet_names)
    yield from _check_traffic(sc)
    yield from _check_events(sc)
    from ..net import calibration  # noqa: PLC0415  (data plane registers device kinds)

    yield from calibration.check_overrides(sc.calibration)
