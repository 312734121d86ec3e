"""A service's target groups, which one a flow reaches, and how a shifted listener splits
its traffic between two task sets.

A service registers its tasks in one target group (``load_balancer: NAME``: the first
container port it maps, behind the balancer's listener) or in several
(``load_balancers: [...]``, ECS's ``loadBalancers[]``: each a container and port on a
balancer's listener, optionally behind a path rule). A flow through a balancer reaches
the group its listener and path select (ALB listener rules: path patterns with ``*`` and
``?``, case-sensitive; the listener's default action otherwise), and its packets arrive at
that group's container port.

During a CODE_DEPLOY (blue/green) deployment the production listener forwards to two
target groups with weights (the original and the replacement task set); CodeDeploy moves
the weights. :func:`weighted_targets` lays both sets out in one list in which each task
appears in proportion to its share, so that the data plane's choice among a service's
targets (round robin behind an ALB, uniform otherwise) splits traffic as the weights do.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

#: Longest weighted target list; beyond it each task's share is rounded (largest
#: remainder) to this many places. Exact for two equal sets of up to 100 tasks at any
#: whole percentage.
MAX_WEIGHTED = 20000


@dataclass(frozen=True)
class TargetGroup:
    """A resolved target group of a service."""

    name: str
    load_balancer: str
    container: str | None
    container_port: int
    protocol: str
    listener_port: int | None  # None: the balancer's own port
    path: str | None


def of_service(spec, balancer_port=None) -> list[TargetGroup]:
    """The service's target groups in the order written (``balancer_port(name)``: a named
    balancer's listener port, for the groups that name none)."""
    maps = [(c.name, pm) for c in spec.containers for pm in c.port_mappings]
    if spec.load_balancers is None:
        if spec.load_balancer is None:
            return []
        port, proto, container = (maps[0][1].ports[0], maps[0][1].protocol, maps[0][0]) \
            if maps else (80, "tcp", None)
        return [TargetGroup(f"{spec.name}-{port}", spec.load_balancer, container, port, proto,
                            balancer_port(spec.load_balancer) if balancer_port else None,
                            None)]
    out = []
    for tg in spec.load_balancers:
        mapping = next(((c, pm) for c, pm in maps
                        if (tg.container is None or c == tg.container)
                        and pm.ports[0] <= tg.container_port < pm.ports[0] + pm.ports[1]),
                       None)
        proto = mapping[1].protocol if mapping else "tcp"
        listener = tg.listener_port
        if listener is None and balancer_port is not None:
            listener = balancer_port(tg.load_balancer)
        out.append(TargetGroup(tg.target_group or f"{spec.name}-{tg.container_port}",
                               tg.load_balancer, mapping[0] if mapping else tg.container,
                               tg.container_port, proto, listener, tg.path))
    return out


@lru_cache(maxsize=256)
def _pattern(pattern: str) -> re.Pattern:
    return re.compile("".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch)
                              for ch in pattern), re.DOTALL)


def path_matches(pattern: str, path: str) -> bool:
    """Whether an ALB path-pattern condition matches ``path`` (case-sensitive; ``*``: any
    characters, ``?``: one).

    >>> path_matches("/api/*", "/api/v1/users"), path_matches("/api/*", "/API/v1")
    (True, False)
    >>> path_matches("/img/??.png", "/img/ab.png")
    True
    """
    return _pattern(pattern).fullmatch(path) is not None


def for_flow(groups: list[TargetGroup], via: str, port: int | None, path: str | None,
             listener_port: int | None) -> TargetGroup | None:
    """The group a flow through balancer ``via`` reaches: among the groups on that
    balancer (and on ``listener_port``, when given; and mapping container ``port``, when
    given), the first whose path rule matches the flow's path, else the first without a
    path rule (the listener's default action). None: the flow reaches none of them."""
    on = [g for g in groups if g.load_balancer == via
          and (listener_port is None or g.listener_port in (None, listener_port))
          and (port is None or g.container_port == port)]
    if path is not None:
        hit = next((g for g in on if g.path is not None and path_matches(g.path, path)), None)
        if hit is not None:
            return hit
    return next((g for g in on if g.path is None), None)


def weighted_targets(blue: list, green: list, green_percent: int) -> list:
    """Both task sets in one list, each task as often as its share of ``green_percent``
    (to the green set) and ``100 - green_percent`` (to the blue) asks, interleaved so that
    taking the list in turn spreads each set's share evenly.

    A set with no task gets no traffic (the other takes it all); weights 0 and 100 keep a
    single set.

    >>> weighted_targets(["b1", "b2"], ["g1", "g2"], 25)
    ['b1', 'b2', 'b1', 'b2', 'g1', 'g2', 'b1', 'b2']
    """
    if not green or green_percent <= 0:
        return list(blue) if blue else list(green)
    if not blue or green_percent >= 100:
        return list(green)
    # per task: blue (100 - p) / nb, green p / ng -> integer weights (100 - p) * ng, p * nb
    wb, wg = (100 - green_percent) * len(green), green_percent * len(blue)
    g = math.gcd(wb, wg)
    wb, wg = wb // g, wg // g
    total = wb * len(blue) + wg * len(green)
    if total > MAX_WEIGHTED:  # too long a list: round the shares to MAX_WEIGHTED places
        scale = MAX_WEIGHTED / total
        wb, wg = max(1, round(wb * scale)), max(1, round(wg * scale))
    slots = [((k + 0.5) / w, i, task) for i, (task, w) in enumerate(
        [(t, wb) for t in blue] + [(t, wg) for t in green]) for k in range(w)]
    slots.sort(key=lambda s: (s[0], s[1]))
    return [task for _pos, _i, task in slots]


def shift_steps(kind: str, percent: int | None, interval: float | None) -> list[tuple[float,
                                                                                    int]]:
    """CodeDeploy's traffic shift as ``(seconds after the shift began, percent to the
    replacement set)``: all at once; canary (``percent``, the rest after ``interval``);
    linear (``percent`` more every ``interval`` until all of it).

    >>> shift_steps("canary", 10, 300.0)
    [(0.0, 10), (300.0, 100)]
    >>> shift_steps("linear", 30, 60.0)
    [(0.0, 30), (60.0, 60), (120.0, 90), (180.0, 100)]
    """
    if kind == "all_at_once":
        return [(0.0, 100)]
    if kind == "canary":
        return [(0.0, percent), (interval, 100)]
    steps = math.ceil(100 / percent)
    return [(k * interval, min(100, (k + 1) * percent)) for k in range(steps)]
