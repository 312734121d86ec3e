"""The input rules of a scenario's ``traffic:`` flows, one small named rule each.

Each rule takes the scenario and one flow's index and yields ``(field path, message)``
problems; :data:`TRAFFIC_RULES` runs them in order for every flow, so a flow's problems
come in the order a reader meets its fields. A rule that needs what an earlier one
checks (a known ``via``, a known destination service) says so by asking
:func:`_via_known` / :func:`_target` and is silent otherwise: each problem is reported
once, by the rule it belongs to.
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import targetgroups
from ..errors import choices, show
from .schema import Scenario, Service

Problem = tuple[tuple, str]

#: Destinations of a flow that are not services.
OUTSIDE = ("internet", "imds")


def _loc(i: int) -> tuple:
    return ("traffic", i)


def _via_known(sc: Scenario, f) -> bool:
    return f.via in ("direct", "alb", "nlb") or sc.load_balancer(f.via) is not None


def _target(sc: Scenario, f) -> Service | None:
    """The service a flow goes to, when its path is known and it goes to one."""
    if not _via_known(sc, f) or f.to in OUTSIDE:
        return None
    return sc.service_named(f.to)


def position(sc: Scenario, svc: Service) -> int:
    """The index of ``svc`` in ``sc.services``, by identity: ``list.index`` compares
    models field by field, which made a thousand deploy events over thousands of services
    take seconds each."""
    return next(i for i, s in enumerate(sc.services) if s is svc)


def ports_text(ports: list[int]) -> str:
    return str(ports) if len(ports) <= 12 else f"{ports[0]}-{ports[-1]} ({len(ports)} ports)"


def _stops_after_it_starts(sc: Scenario, i: int) -> Iterator[Problem]:
    f = sc.traffic[i]
    if f.start is not None and f.stop is not None and f.stop <= f.start:
        yield _loc(i) + ("stop",), "stop must come after start"


def _starts_at_a_client_or_a_service(sc: Scenario, i: int) -> Iterator[Problem]:
    f = sc.traffic[i]
    services = [s.name for s in sc.services]
    if f.from_ != "client" and f.from_ not in services:
        yield _loc(i) + ("from",), (f"expected 'client' or a service name, one of "
                                    f"{choices(sorted(services))} (got {show(f.from_)})")


def _goes_a_known_way(sc: Scenario, i: int) -> Iterator[Problem]:
    f = sc.traffic[i]
    if not _via_known(sc, f):
        balancers = [lb.name for lb in sc.load_balancers]
        yield _loc(i) + ("via",), (f"expected direct, alb, nlb or a load balancer's name, one "
                                   f"of {choices(sorted(balancers))} (got {show(f.via)})")


def _leaves_the_vpc_from_tasks_directly(sc: Scenario, i: int) -> Iterator[Problem]:
    """A flow to the internet or IMDS starts at a service's tasks and goes direct."""
    f = sc.traffic[i]
    if f.to not in OUTSIDE or not _via_known(sc, f):
        return
    if f.from_ == "client":
        yield _loc(i) + ("from",), f"a flow to {f.to} starts at a service's tasks"
    if f.via != "direct":
        yield _loc(i) + ("via",), f"a flow to {f.to} goes direct"


def _reaches_a_known_service(sc: Scenario, i: int) -> Iterator[Problem]:
    f = sc.traffic[i]
    if f.to in OUTSIDE or not _via_known(sc, f) or sc.service_named(f.to) is not None:
        return
    names = sorted(s.name for s in sc.services) + [
        f"{s.name}.{s.service_discovery.namespace}" for s in sc.services if s.service_discovery]
    yield _loc(i) + ("to",), (f"no service named {show(f.to)}; expected one of "
                              f"{choices(names)}, internet or imds")


def _port_is_mapped(sc: Scenario, i: int) -> Iterator[Problem]:
    f = sc.traffic[i]
    target = _target(sc, f)
    if target is None or f.port is None:
        return
    ports = {pm.ports[0] + k for c in target.containers
             for pm in c.port_mappings for k in range(pm.ports[1])}
    if ports and f.port not in ports:
        yield _loc(i) + ("port",), (f"service {show(target.name)} maps no container port "
                                    f"{f.port}; expected one of {ports_text(sorted(ports))}")


def _balancer_registers_the_service(sc: Scenario, i: int) -> Iterator[Problem]:
    f = sc.traffic[i]
    target = _target(sc, f)
    if target is not None and sc.load_balancer(f.via) is not None \
            and f.via not in target.balancers:
        yield _loc(i) + ("via",), (f"service {show(target.name)} is not registered in load "
                                   f"balancer {show(f.via)}'s target group (set "
                                   f"services[{position(sc, target)}].load_balancer)")


def _path_needs_an_alb(sc: Scenario, i: int) -> Iterator[Problem]:
    """A request path selects a target group by an ALB listener rule."""
    f = sc.traffic[i]
    if f.path is None or not _registered(sc, f):
        return
    lb = sc.load_balancer(f.via)
    if f.via == "direct" or (lb or sc.balancer_for(f.via, "ip")).type != "alb":
        yield _loc(i) + ("path",), "a request path selects a target group by an ALB " \
                                   "listener rule: it needs via: an ALB"


def _listener_port_needs_a_balancer(sc: Scenario, i: int) -> Iterator[Problem]:
    f = sc.traffic[i]
    if f.listener_port is not None and _registered(sc, f) and sc.load_balancer(f.via) is None:
        yield _loc(i) + ("listener_port",), "a listener port needs via: a load balancer's name"


def _listener_port_is_the_balancers(sc: Scenario, i: int) -> Iterator[Problem]:
    """A service with one target group is behind the balancer's listener (``port``) and,
    for a CODE_DEPLOY service, its test listener: a flow's ``listener_port`` names one of
    them (a service with several target groups is :func:`_a_target_group_takes_the_flow`'s).
    """
    f = sc.traffic[i]
    target, lb = _target(sc, f), sc.load_balancer(f.via)
    if f.listener_port is None or target is None or lb is None or not _registered(sc, f) \
            or target.load_balancers is not None:
        return
    listeners = [lb.port]
    test = target.blue_green.test_listener_port if target.blue_green is not None else None
    if test is not None:
        listeners.append(test)
    if f.listener_port not in listeners:
        said = (f"its listener port {lb.port}" if test is None else
                f"its listener port {lb.port} or service {show(target.name)}'s test "
                f"listener port {test}")
        yield _loc(i) + ("listener_port",), (
            f"load balancer {show(f.via)} has no listener on port {f.listener_port} for "
            f"service {show(target.name)}; expected {said}")


def _a_target_group_takes_the_flow(sc: Scenario, i: int) -> Iterator[Problem]:
    """A service with several target groups must have one that the flow's listener, path
    and port select."""
    f = sc.traffic[i]
    target, lb = _target(sc, f), sc.load_balancer(f.via)
    if target is None or lb is None or not _registered(sc, f) or target.load_balancers is None:
        return
    groups = targetgroups.of_service(target, lambda n: getattr(sc.load_balancer(n), "port",
                                                               None))
    if targetgroups.for_flow(groups, f.via, f.port, f.path, f.listener_port) is None:
        there = [f"{g.name} (listener {g.listener_port}{', path ' + g.path if g.path else ''}"
                 f", container port {g.container_port})" for g in groups
                 if g.load_balancer == f.via]
        yield _loc(i) + ("via",), (f"no target group of service {show(target.name)} on load "
                                   f"balancer {show(f.via)} matches the flow's listener, path "
                                   f"and port; its groups there: {'; '.join(there)}")


def _registered(sc: Scenario, f) -> bool:
    """Whether the flow goes to a service through a way it may take (not an unregistered
    balancer, which :func:`_balancer_registers_the_service` reports)."""
    target = _target(sc, f)
    return target is not None and (sc.load_balancer(f.via) is None
                                   or f.via in target.balancers)


#: Every rule of a flow, in the order of the fields they read.
TRAFFIC_RULES = (_stops_after_it_starts, _starts_at_a_client_or_a_service, _goes_a_known_way,
                 _leaves_the_vpc_from_tasks_directly, _reaches_a_known_service,
                 _port_is_mapped, _balancer_registers_the_service, _path_needs_an_alb,
                 _listener_port_needs_a_balancer, _listener_port_is_the_balancers,
                 _a_target_group_takes_the_flow)


def check_traffic(sc: Scenario) -> Iterator[Problem]:
    """Every flow's problems, flow by flow, each rule of :data:`TRAFFIC_RULES` in turn."""
    for i in range(len(sc.traffic)):
        for rule in TRAFFIC_RULES:
            yield from rule(sc, i)
