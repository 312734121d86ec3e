"""What AWS refuses about capacity providers, their strategies and ECS Anywhere.

Each check yields ``(field path, message)`` as :mod:`.checks` does, with AWS's words
where AWS has them. Sources:

* ECS API reference, CapacityProviderStrategyItem: base 0-100,000 and "Only one capacity
  provider in a capacity provider strategy can have a base defined"; weight 0-1,000, "at
  least one of the capacity providers must have a weight value greater than zero and any
  capacity providers with a weight of 0 can't be used to place tasks"; only providers
  associated with the cluster can be used; FARGATE and FARGATE_SPOT are the Fargate ones.
* ECS API reference, CreateService: "If a capacityProviderStrategy is specified, the
  launchType parameter must be omitted."
* ECS API reference, CreateCapacityProvider: a name can't start with ``aws``, ``ecs`` or
  ``fargate``.
* ECS Developer Guide, capacity providers for EC2 workloads: "a capacity provider strategy
  can only contain Auto Scaling group or Fargate capacity providers, but not both" (the
  API's InvalidParameterException: "A capacity provider strategy cannot contain a mix of
  capacity providers using Auto Scaling groups and Fargate providers"); Fargate capacity
  providers: FARGATE_SPOT runs Linux tasks only.
* ECS Developer Guide, External instances (Amazon ECS Anywhere), considerations: the
  features not supported on external instances include load balancers, service
  discovery, the awsvpc network mode and capacity providers; Linux tasks use bridge, host
  or none, Windows ones default.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..errors import choices, show
from .schema import FARGATE_PROVIDERS, Scenario, Service, strategy_launch_type

Problem = tuple[tuple, str]

#: Network modes of tasks on external instances, by OS (DG, task networking).
EXTERNAL_MODES = {"linux": ("bridge", "host", "none"), "windows": ("default",)}

_RESERVED_PREFIXES = ("aws", "ecs", "fargate")


def check_capacity(sc: Scenario) -> Iterator[Problem]:
    """Every problem of the cluster's providers, the strategies and EXTERNAL services."""
    yield from _providers(sc)
    default = sc.cluster.default_capacity_provider_strategy
    if default:
        yield from _strategy(sc, default, ("cluster", "default_capacity_provider_strategy"))
    for i, svc in enumerate(sc.services):
        loc = ("services", i)
        if svc.capacity_provider_strategy is not None:
            yield from _service_strategy(sc, svc, loc)
        if svc.launch_type == "EXTERNAL":
            yield from _external_service(sc, svc, loc)
    for i, ev in enumerate(sc.events):
        if ev.interrupt is not None:
            yield from _interrupt(sc, ev.interrupt, ("events", i, "interrupt"))


def _providers(sc: Scenario) -> Iterator[Problem]:
    """Names unique and allowed; an ASG provider scales one known group; managed
    scaling knows the group's maximum size."""
    groups = {g.name: g for g in sc.cluster.instance_groups}
    seen: dict[str, int] = {}
    for i, cp in enumerate(sc.cluster.capacity_providers):
        loc = ("cluster", "capacity_providers", i)
        if cp.name in seen:
            yield loc + ("name",), (f"two capacity providers are named {show(cp.name)}; a "
                                    "cluster associates each once")
        seen[cp.name] = i
        if cp.name in FARGATE_PROVIDERS:
            if cp.groups or cp.managed_scaling is not None:
                field = "instance_group" if cp.instance_group is not None else "managed_scaling"
                yield loc + (field,), (f"{cp.name} is a Fargate capacity provider: it has no "
                                       "Auto Scaling group and no managed scaling")
            continue
        if cp.name.startswith(_RESERVED_PREFIXES):
            yield loc + ("name",), (f"capacity provider name {show(cp.name)}: the name can't "
                                    "be prefixed with \"aws\", \"ecs\", or \"fargate\"")
        yield from _asg_provider(cp, loc, groups, sc)


def _asg_provider(cp, loc: tuple, groups: dict, sc: Scenario) -> Iterator[Problem]:
    if not cp.groups:
        yield loc, (f"capacity provider {show(cp.name)} needs instance_group: the Auto "
                    "Scaling group it scales (or name it FARGATE or FARGATE_SPOT)")
        return
    many = isinstance(cp.instance_group, list)
    for j, name in enumerate(cp.groups):
        gloc = loc + (("instance_group", j) if many else ("instance_group",))
        g = groups.get(name)
        if g is None:
            yield gloc, (f"no instance group named {show(name)}; expected one of "
                         f"{choices(sorted(groups))}")
            continue
        others = [o.name for o in sc.cluster.capacity_providers
                  if o is not cp and name in o.groups]
        if others and others[0] < cp.name:
            yield gloc, (f"instance group {show(g.name)} is already an Auto Scaling group of "
                         f"capacity provider {show(others[0])}; an Auto Scaling group "
                         "belongs to one provider")
        if g.external:
            yield gloc, (f"instance group {show(g.name)} is external (ECS Anywhere): capacity "
                         "providers aren't supported on external instances")
        ms = cp.managed_scaling
        if ms is not None and ms.status == "ENABLED" and g.scaling is None:
            yield loc + ("managed_scaling",), (
                f"managed scaling grows instance group {show(g.name)} up to its Auto Scaling "
                f"group's maximum size: set cluster.instance_groups[{_index(sc, g)}].scaling."
                "max (and launch_delay)")
    ms = cp.managed_scaling
    if ms is not None and ms.minimum_scaling_step_size > ms.maximum_scaling_step_size:
        yield loc + ("managed_scaling", "minimum_scaling_step_size"), (
            f"minimum_scaling_step_size {ms.minimum_scaling_step_size} is above "
            f"maximum_scaling_step_size {ms.maximum_scaling_step_size}")


def _index(sc: Scenario, group) -> int:
    return next(i for i, g in enumerate(sc.cluster.instance_groups) if g is group)


def _strategy(sc: Scenario, strategy, loc: tuple) -> Iterator[Problem]:
    """A strategy's own rules: associated providers, once each, one base, a weight."""
    associated = {cp.name for cp in sc.cluster.capacity_providers}
    seen: set[str] = set()
    for j, item in enumerate(strategy):
        if item.capacity_provider not in associated:
            yield loc + (j, "capacity_provider"), (
                f"capacity provider {show(item.capacity_provider)} is not associated with the "
                f"cluster (cluster.capacity_providers: {choices(sorted(associated))}): the "
                "specified capacity provider strategy cannot contain a capacity provider that "
                "is not associated with the cluster")
        if item.capacity_provider in seen:
            yield loc + (j, "capacity_provider"), (
                f"capacity provider {show(item.capacity_provider)} appears twice in the "
                "strategy")
        seen.add(item.capacity_provider)
    based = [j for j, item in enumerate(strategy) if item.base > 0]
    if len(based) > 1:
        yield loc + (based[1], "base"), ("only one capacity provider in a capacity provider "
                                         "strategy can have a base defined")
    if len(strategy) > 1 and not any(item.weight > 0 for item in strategy):
        yield loc, ("at least one of the capacity providers must have a weight value greater "
                    "than zero (with every weight 0, CreateService fails)")
    if strategy_launch_type(strategy) is None:
        yield loc, ("A capacity provider strategy cannot contain a mix of capacity "
                    "providers using Auto Scaling groups and Fargate providers. Specify one "
                    "or the other and try again.")


def _service_strategy(sc: Scenario, svc: Service, loc: tuple) -> Iterator[Problem]:
    strategy = svc.capacity_provider_strategy or []
    sloc = loc + ("capacity_provider_strategy",)
    if not strategy:
        yield sloc, "expected at least one capacity provider (or remove the strategy)"
        return
    yield from _strategy(sc, strategy, sloc)
    kind = strategy_launch_type(strategy)
    written = svc._written_launch_type
    if written is not None and kind is not None and written != kind:
        yield loc + ("launch_type",), (
            f"launch_type {written} with a strategy of {kind} capacity providers: if a "
            "capacityProviderStrategy is specified, the launchType parameter must be omitted")
    if svc.scheduling == "daemon":
        yield sloc, ("the DAEMON scheduling strategy does not support a capacity provider "
                     "strategy: a daemon runs on every instance that matches, whatever its "
                     "provider")
    os = svc.runtime_platform.os if svc.runtime_platform else "linux"
    spot = next((j for j, item in enumerate(strategy)
                 if item.capacity_provider == "FARGATE_SPOT"), None)
    if spot is not None and os != "linux":
        yield sloc + (spot, "capacity_provider"), "FARGATE_SPOT supports Linux tasks only"


def _external_service(sc: Scenario, svc: Service, loc: tuple) -> Iterator[Problem]:
    """EXTERNAL (ECS Anywhere): bridge, host or none (default on Windows); no load
    balancer, no service discovery; external instances to run on."""
    os = svc.runtime_platform.os if svc.runtime_platform else None
    allowed = EXTERNAL_MODES[os] if os else EXTERNAL_MODES["linux"] + EXTERNAL_MODES["windows"]
    if svc.network_mode == "awsvpc":
        yield loc + ("network_mode",), (
            "the awsvpc network mode isn't supported on external instances (ECS Anywhere, "
            "launch_type EXTERNAL); use bridge, host or none")
    elif svc.network_mode not in allowed:
        yield loc + ("network_mode",), (
            f"{svc.network_mode} on external instances: "
            f"{(os or 'linux').capitalize()} tasks of the EXTERNAL launch type use "
            f"{' or '.join(repr(m) for m in allowed)}")
    if svc.load_balancer is not None:
        yield loc + ("load_balancer",), (
            "load balancers aren't supported on external instances (ECS Anywhere, launch_type "
            "EXTERNAL): Elastic Load Balancing cannot register them")
    if svc.service_discovery is not None:
        yield loc + ("service_discovery",), ("service discovery isn't supported on external "
                                             "instances (ECS Anywhere)")
    for i, f in enumerate(sc.traffic):
        if sc.service_named(f.to) is svc and f.via != "direct":
            yield ("traffic", i, "via"), (
                f"service {show(svc.name)} runs on external instances (ECS Anywhere): load "
                "balancers aren't supported there")
        elif sc.service_named(f.to) is svc or f.from_ == svc.name:
            yield ("traffic", i), (
                f"service {show(svc.name)} runs on external instances (ECS Anywhere), outside "
                "the VPC: the simulator does not model their network, so a flow cannot "
                "reach or leave them")
    if not any(g.external for g in sc.cluster.instance_groups):
        yield loc + ("launch_type",), (
            "launch_type EXTERNAL runs tasks on external instances only; the cluster has "
            "none (set external: true on an instance group)")


def _interrupt(sc: Scenario, intr, loc: tuple) -> Iterator[Problem]:
    if intr.service is None:
        return
    svc = next((s for s in sc.services if s.name == intr.service), None)
    if svc is None:
        yield loc + ("service",), (f"no service named {show(intr.service)}; expected one of "
                                   f"{choices(sorted(s.name for s in sc.services))}")
    elif not any(i.capacity_provider == "FARGATE_SPOT"
                 for i in svc.capacity_provider_strategy or []):
        yield loc + ("service",), (f"service {show(svc.name)} runs no task on FARGATE_SPOT "
                                   "(its capacity_provider_strategy does not name it)")
