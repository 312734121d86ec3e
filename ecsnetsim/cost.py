"""What a run will cost, estimated from the scenario before any of it is simulated.

A scenario is a few lines, but ``rate: 1e9/s`` for ``duration: 100h`` is 3.6e14 packets,
and ``desired_count: 100000`` in a sweep of twenty points is two million tasks to place:
hours of work that would otherwise start silently. ``run`` compares the estimate with
:data:`BUDGET` and refuses above it, naming the flag (``--force``) that goes on anyway;
``plan`` does the same with the worst case of its search (:func:`in_sequence`).

The figures are upper bounds of what drives the run time: every packet is one event
per device it crosses, and every task one placement (an indexed choice of instance, see
:mod:`ecsnetsim.control.placeindex`) and one trip through the task lifecycle.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from .replications import MAX_REPLICATIONS
from .scenario import Scenario, variants_of

#: Most of each quantity a run does without ``--force``, summed over its variants.
#: Measured on one core (benchmarks/README.md): the whole simulator moves about 2 million
#: packet-hops a second with the compiled engine (about 0.5 million in pure Python), so
#: 5 million bridge packets take half a minute to a minute and a half; 100,000 tasks on
#: 10,000 instances are placed in 5-7 s (the control plane is the same in both builds).
#: A run within the budget takes a few minutes at most.
BUDGET = {"packets": 5_000_000, "tasks": 100_000, "instances": 10_000, "variants": 1_000}

#: The flag that runs a scenario above the budget.
FORCE_FLAG = "--force"


@dataclass(frozen=True)
class Estimate:
    """Packets sent, tasks and instances to place, and variants, over the whole run; and
    the load balancers' health checks over simulated time (computed in the model, not
    sent as packets: they cost little, but say how long the run's clock goes)."""

    packets: float
    tasks: int
    instances: int
    variants: int
    health_checks: float = 0.0
    replications: int = 1

    def over_budget(self) -> list[str]:
        """The quantities above :data:`BUDGET` (a packet count that is not finite is)."""
        over = []
        for key, limit in BUDGET.items():
            value = getattr(self, key)
            if not math.isfinite(value) or value > limit:
                over.append(key)
        return over

    def describe(self) -> str:
        """One line: ``3.6e+14 packets, 12 tasks, 2 instances, 1 variant(s)``, and the
        health checks and replications when there are any."""
        text = (f"{_count(self.packets)} packets, {_count(self.tasks)} tasks, "
                f"{_count(self.instances)} instances, {_count(self.variants)} variant(s)")
        if self.health_checks:
            text += f", {_count(self.health_checks)} health checks"
        if self.replications > 1:
            text += f" ({self.replications} replications of each variant at most)"
        return text


def _count(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    return f"{value:,.0f}" if value < 1e12 else f"{value:.2g}"


def _instances(sc: Scenario) -> int:
    """Instances a variant may have: each group's count, or its scaling maximum."""
    return sum(max(g.count, g.scaling.max if g.scaling else 0)
               for g in sc.cluster.instance_groups)


def _count_of(sc: Scenario, svc, instances: int) -> int:
    """A service's most tasks at once: its largest desired count (``scale`` events
    included), or one per instance for a daemon."""
    scaled = [e.desired_count for e in sc.events
              if e.scale == svc.name and e.desired_count is not None]
    return instances if svc.scheduling == "daemon" else max([svc.desired_count, *scaled])


def _tasks(sc: Scenario, instances: int) -> int:
    """Tasks a variant places: each service's most tasks at once, doubled for each
    deployment that replaces its tasks, and the restarts of tasks that its health checks
    may stop over the run (:func:`_restarts`)."""
    total = 0
    checked = _checked(sc)
    for svc in sc.services:
        count = _count_of(sc, svc, instances)
        deploys = sum(1 for e in sc.events if e.deploy == svc.name)
        total += count * (1 + deploys)
        if svc.name in checked:
            total += _restarts(sc, svc, count)
    return total


def _clock(sc: Scenario) -> float:
    """The longest a variant's clock runs: services settling up to the horizon after the
    last event, then ``duration``."""
    return max((e.at for e in sc.events), default=0.0) + sc.steady_horizon + sc.duration


def _checked(sc: Scenario) -> set[str]:
    """The services whose targets a load balancer checks: behind a balancer, or with
    health checks of their own (as the control plane decides it)."""
    behind = {getattr(sc.service_named(f.to), "name", None) for f in sc.traffic
              if f.via != "direct"}
    return {s.name for s in sc.services if s.balancers or s.name in behind
            or s.health_check}


def _restarts(sc: Scenario, svc, count: int) -> int:
    """Tasks of a checked service started again after failed health checks, at most: when
    a check can fail (the application starts slower than the checks allow, or security
    groups may drop them), each of ``count`` tasks is stopped after
    ``unhealthy_threshold`` checks (or the grace period) and started again, over the whole
    clock."""
    from .control.deployments import target_health  # noqa: PLC0415
    from .scenario.schema import HealthCheck  # noqa: PLC0415

    shortest = None  # the shortest stop-and-start cycle of any of its revisions
    for rev in _revisions(sc, svc):
        hc = rev.health_check or HealthCheck()
        _, stopped_after = target_health(hc, rev.startup_time)
        if stopped_after is not None or _checks_dropped(sc, rev):
            cycle = max(hc.unhealthy_threshold * hc.interval, hc.grace_period)
            shortest = cycle if shortest is None else min(shortest, cycle)
    if shortest is None:
        return 0  # every target turns healthy: no task is stopped by its checks
    return math.ceil(count * _clock(sc) / shortest)


def _checks_dropped(sc: Scenario, svc) -> bool:
    """Whether the security groups drop every health check of ``svc``'s targets: no
    ingress rule of the target's groups (awsvpc: the service's; other modes: the
    instances') covers the port it registers (bridge dynamic ports: any of the instances'
    dynamic range). A rule that covers it from a source that may not match is given the
    benefit of the doubt: the estimate counts only the certain case."""
    from . import modes, vpc  # noqa: PLC0415
    from .scenario.schema import LINUX_DYNAMIC_PORT_RANGE, WINDOWS_DYNAMIC_PORT_RANGE  # noqa: PLC0415

    maps = [pm for c in svc.containers for pm in c.port_mappings]
    if sc.vpc.security_groups is None or not maps:
        return False
    groups = vpc.SecurityGroups(sc.vpc.security_groups)
    mode = modes.get(svc.network_mode)
    if mode.own_subnet_ip:
        names = set(groups.members(svc.security_groups))
    else:
        names = {n for g in sc.cluster.instance_groups for n in groups.members(g.security_groups)}
    pm = maps[0]
    if mode.name in ("bridge", "default") and not pm.host_port:  # a dynamic host port
        ranges = [g.dynamic_host_port_range or g.agent.dynamic_port_range or
                  g.ephemeral_port_range or (WINDOWS_DYNAMIC_PORT_RANGE if g.os == "windows"
                                             else LINUX_DYNAMIC_PORT_RANGE)
                  for g in sc.cluster.instance_groups]
        spans = [tuple(int(x) for x in r.split("-")) for r in ranges] or [(1, 65535)]
    else:
        port = pm.host_port or pm.ports[0]
        spans = [(port, port)]
    return not any(r.ports[0] <= hi and lo <= r.ports[1] for n in names if n in groups.groups
                   for r in groups.groups[n].ingress for lo, hi in spans)


def _revisions(sc: Scenario, svc) -> list:
    """The service as written and as each of its ``deploy`` events makes it."""
    from .scenario.schema import Service  # noqa: PLC0415

    out = [svc]
    for e in sc.events:
        if e.deploy == svc.name and e.set:
            out.append(Service.model_validate({**svc.model_dump(by_alias=True), **e.set}))
    return out


def _health_checks(sc: Scenario, instances: int) -> float:
    """Health checks the balancers make over the clock: one per target per interval."""
    checked = _checked(sc)
    return sum(_count_of(sc, s, instances) * _clock(sc) /
               (s.health_check.interval if s.health_check else HEALTH_CHECK_INTERVAL)
               for s in sc.services if s.name in checked)


#: The target group's default HealthCheckIntervalSeconds (ELB: 30 s).
HEALTH_CHECK_INTERVAL = 30.0


def _packets(sc: Scenario) -> float:
    """Packets a variant sends: each flow's rate over the simulated duration."""
    return sum(flow.rate * sc.duration for flow in sc.traffic)


def estimate(scenario: Scenario, precision: float | None = None,
             replications: int | None = None) -> Estimate:
    """The cost of running every variant of a loaded scenario, ``replications`` times
    (default the scenario's); with ``precision``, as many as it may add (up to
    :data:`~ecsnetsim.replications.MAX_REPLICATIONS`): the worst case is what is priced."""
    packets, tasks, instances, checks = 0.0, 0, 0, 0.0
    specs = variants_of(scenario)
    for spec in specs:
        n = _instances(spec.scenario)
        instances += n
        tasks += _tasks(spec.scenario, n)
        packets += _packets(spec.scenario)
        checks += _health_checks(spec.scenario, n)
    runs = replications_of(scenario.replications if replications is None else replications,
                           precision)
    return Estimate(packets=packets * runs, tasks=tasks * runs, instances=instances * runs,
                    variants=len(specs) * runs, health_checks=checks * runs,
                    replications=runs)


def replications_of(replications: int, precision: float | None) -> int:
    """The most replications a run makes: ``replications``, or with ``precision`` as many
    as it may add."""
    if precision is None:
        return replications
    return max(replications, MAX_REPLICATIONS)


def in_sequence(estimates: Iterable[Estimate], times: int = 1) -> Estimate:
    """The cost of simulations run one after another, ``times`` over (the planner's: one
    search per instance type, each simulation waiting for the answer of the one before).

    Packets, tasks and variants add up: they are the time the whole takes. Instances do
    not: they bound what one simulation holds at once (its instances with their ENIs and
    ports), and the simulations of a search do not run side by side, so the estimate
    keeps the most any one of them has.
    """
    packets, tasks, instances, variants = 0.0, 0, 0, 0
    for est in estimates:
        packets += est.packets
        tasks += est.tasks
        instances = max(instances, est.instances)
        variants += est.variants
    return Estimate(packets=packets * times, tasks=tasks * times, instances=instances,
                    variants=variants * times)
