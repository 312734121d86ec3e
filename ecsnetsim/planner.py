"""Capacity planner: the fewest instances of a group with which every service runs.

``plan(path, group=...)`` answers "how many instances do I need?" per instance type by
simulating the scenario with the group's ``count`` overridden, the same way ``--set``
does, and bisecting over the count: placement only gains options as instances are added
(CPU, memory, host ports and ENIs are all per instance), so "every service reaches its
desired count" is monotone in the count and a bisection needs about log2(max) runs
instead of max. The bracket is checked on its ends (the answer holds, one fewer fails,
one more holds too); where it does not hold, for example because an SLO on latency is
not monotone in how tasks spread, the planner falls back to a linear scan from zero and
says so.

Only one variant is planned: a scenario with ``compare`` or ``sweep`` is refused, since
each of its variants would need its own answer (pick one with ``--set``).

Before the first simulation the search's worst case is estimated (:func:`estimate`), so
that ``plan`` can refuse a search that would take hours, as ``run`` refuses such a run.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputError

#: Largest count tried unless told otherwise.
DEFAULT_MAX = 200
#: An SLO as written on the command line: ``ingress:p99<200us``.
_SLO_RE = re.compile(r"^\s*([^:\s][^:]*?)\s*:\s*p99\s*<\s*(\S.*?)\s*$")


@dataclass(frozen=True)
class Slo:
    """A flow's p99 latency must stay below ``limit_us`` (the mean p99 over replications,
    when the scenario runs several: one replication's p99 is a noisy sample)."""

    flow: str
    limit_us: float
    text: str


@dataclass
class Probe:
    """One simulation at one count: whether it satisfies the plan, and why not."""

    count: int
    ok: bool
    reason: str | None  # the binding failure when not ok
    running: int
    desired: int
    usage: dict[str, int]
    p99_us: dict[str, float | None]


def parse_slo(text: str) -> Slo:
    """Read ``FLOW:p99<VALUE`` (VALUE a duration such as ``200us`` or ``1.5ms``): the only
    form, so that a typo is an error rather than an SLO silently never checked."""
    from .units import parse_duration

    m = _SLO_RE.match(text or "")
    if not m:
        raise InputError(f"--slo {text!r}: expected FLOW:p99<VALUE, e.g. ingress:p99<200us")
    try:
        seconds = parse_duration(m.group(2))
    except ValueError as exc:
        raise InputError(f"--slo {text!r}: {exc}") from None
    if seconds <= 0:
        raise InputError(f"--slo {text!r}: the limit must be above zero")
    return Slo(flow=m.group(1), limit_us=seconds * 1e6, text=text.strip())


def _group_index(scenario, group: str) -> int:
    """The index of ``group`` in ``cluster.instance_groups``: overrides address groups by
    position, users by name."""
    names = [g.name for g in scenario.cluster.instance_groups]
    if group not in names:
        known = ", ".join(names) or "none"
        raise InputError(f"--group {group!r}: no such instance group (the scenario has: "
                         f"{known})")
    return names.index(group)


def _check_types(types: Iterable[str]) -> list[str]:
    """Each type as the catalog spells it; an unknown one is an input error before any
    simulation runs (the catalog suggests close names)."""
    from . import catalog

    out = []
    for name in types:
        try:
            out.append(catalog.get(name).name)
        except KeyError as exc:
            msg = exc.args[0] if exc.args else f"unknown instance type {name!r}"
            raise InputError(f"--types: {msg}") from None
    if not out:
        raise InputError("--types: expected at least one instance type")
    return out


def _check_single_variant(scenario) -> None:
    """The planner sizes one configuration; a comparison or sweep has one answer per
    variant, so it is refused rather than silently planning its first variant."""
    if scenario.compare or scenario.sweep:
        which = " and ".join(k for k in ("compare", "sweep") if getattr(scenario, k))
        raise InputError(f"the scenario has {which}; plan sizes one variant. Plan each "
                         f"variant on its own: --set '{which.split()[0]}={{}}' and the "
                         "variant's fields with --set")


def _binding(services: list[dict]) -> str | None:
    """The failure that kept most tasks of the short services from running: what blocks
    the next instance fewer."""
    reasons: Counter[str] = Counter()
    for s in services:
        if s["running"] < s["desired"]:
            reasons.update(s.get("failures") or {"UNPLACED": s["desired"] - s["running"]})
    if not reasons:
        return None
    return min(reasons, key=lambda r: (-reasons[r], r))


def _usage(instances: list[dict], group: str) -> dict[str, int]:
    """ENIs, branch ENIs, IPs and host ports in use on the group's instances: what the
    answer leaves of each per-instance resource."""
    mine = [i for i in instances if i.get("group") == group]
    return {
        "enis": sum(i["eni"]["used"] for i in mine),
        "branches": sum(i["branch_eni"]["used"] for i in mine),
        "ips": sum(i["ips_used"] for i in mine),
        "ports": sum(len(i["ports"]["static"]) + i["ports"]["dynamic_used"] for i in mine),
    }


def _judge(variant: dict, group: str, count: int, slos: list[Slo]) -> Probe:
    """Whether one simulated variant satisfies the plan: every service at its desired
    count, then every SLO (an SLO is only judged once placement holds: with tasks missing
    the latency is of another system)."""
    placement = variant["placement"]
    services = placement["services"]
    running = sum(s["running"] for s in services)
    desired = sum(s["desired"] for s in services)
    flows = {f["name"]: f for f in variant.get("flows", [])}
    p99 = {s.flow: (flows[s.flow].get("latency_us") or {}).get("p99") for s in slos}
    reason = _binding(services)
    if reason is None:
        for s in slos:
            value = p99[s.flow]
            if value is None or value >= s.limit_us:
                reason = f"SLO:{s.flow}"
                break
    return Probe(count=count, ok=reason is None, reason=reason, running=running,
                 desired=desired, usage=_usage(placement["instances"], group), p99_us=p99)


class _Prober:
    """Runs (and remembers) the simulation of one instance type at each count, so that
    the bisection, the end checks and a fallback scan never simulate a count twice."""

    def __init__(self, path, overrides: list[str], index: int, group: str, itype: str,
                 slos: list[Slo], log: Callable[[str], None], executor=None) -> None:
        self.path, self.overrides, self.index = path, overrides, index
        self.group, self.itype, self.slos, self.log = group, itype, slos, log
        self.executor = executor
        self.seen: dict[int, Probe] = {}

    def __call__(self, count: int) -> Probe:
        if count not in self.seen:
            from .scenario import load_scenario
            from .simulate import simulate

            g = f"cluster.instance_groups[{self.index}]"
            sc = load_scenario(self.path, overrides=[*self.overrides, f"{g}.type={self.itype}",
                                                     f"{g}.count={count}"])
            res = simulate(sc, workers=1, progress=False, executor=self.executor)
            probe = _judge(res.variants[0], self.group, count, self.slos)
            self.log(f"{self.itype} x{count}: {'ok' if probe.ok else probe.reason} "
                     f"({probe.running}/{probe.desired} running)")
            self.seen[count] = probe
        return self.seen[count]


def _first_holding(probe: _Prober, max_count: int) -> tuple[int, int] | None:
    """A bracket ``(fails, holds)`` found by doubling from 1: more instances can also be
    worse (they take subnet IPs the tasks need), so ``max_count`` alone proves nothing."""
    lo, n = 0, 1
    while n < max_count:
        if probe(n).ok:
            return lo, n
        lo, n = n, n * 2
    return (lo, max_count) if probe(max_count).ok else None


def _bisect(probe: _Prober, max_count: int) -> tuple[int | None, str | None]:
    """The fewest count that holds, by bisection, and a note when the count turned out
    not to be monotone (then by a linear scan). ``None`` when no count up to
    ``max_count`` tried holds."""
    if probe(0).ok:
        return 0, None
    bracket = _first_holding(probe, max_count)
    if bracket is None:
        return None, None
    lo, hi = bracket  # invariant: lo fails, hi holds
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if probe(mid).ok:
            hi = mid
        else:
            lo = mid
    if hi + 1 <= max_count and not probe(hi + 1).ok:
        note = (f"not monotone in count (holds at {hi}, fails at {hi + 1}): "
                "answered by a linear scan")
        for n in range(1, max_count + 1):
            if probe(n).ok:
                return n, note
    return hi, None


def plan_type(path, overrides: list[str], index: int, group: str, itype: str,
              max_count: int, slos: list[Slo], log: Callable[[str], None],
              executor=None) -> dict:
    """One row of the plan: the fewest count of ``itype``, the binding failure one count
    below (or at ``max_count`` when none suffices) and the usage at the answer."""
    probe = _Prober(path, overrides, index, group, itype, slos, log, executor)
    count, note = _bisect(probe, max_count)
    at = probe(count if count is not None else max_count)
    if count is not None and note is None and not probe(max_count).ok:
        note = (f"{max_count} instances do not hold: more instances can exhaust what they "
                f"share ({probe(max_count).reason})")
    below = probe(count - 1) if count else None
    binding = at.reason if count is None else (below.reason if below else None)
    row: dict[str, Any] = {"type": itype, "count": count, "binding": binding,
                           "running": at.running, "desired": at.desired, **at.usage,
                           "simulations": len(probe.seen)}
    if slos:
        row["p99_us"] = at.p99_us
    if count is None:
        row["note"] = f"not reached with {max_count} instances"
    elif note:
        row["note"] = note
    return row


def search_counts(max_count: int) -> list[int]:
    """The counts one type's search simulates at most (the linear-scan fallback aside):
    the doubling from one up to ``max_count``, then the bisection of the last bracket
    climbing all the way to ``max_count``, which is what a search whose only holding
    count is ``max_count`` does; an answer found lower visits smaller counts."""
    seen: set[int] = set()

    def worst(n: int):
        seen.add(n)
        return Probe(count=n, ok=n >= max_count, reason=None, running=0, desired=0,
                     usage={}, p99_us={})

    count, _ = _bisect(worst, max_count)
    seen.update({max_count, count - 1})  # plan_type also looks one below the answer
    return sorted(n for n in seen if n >= 0)


def estimate(path: str | Path, index: int, types: list[str], max_count: int,
             overrides: list[str]):
    """What the whole plan costs at worst: every type searched over
    :func:`search_counts`, each simulation the scenario with the group's count set (and
    its replications); see :func:`ecsnetsim.cost.in_sequence` for how they add up."""
    from . import cost
    from .scenario import load_scenario

    g = f"cluster.instance_groups[{index}]"
    per_type = [cost.estimate(load_scenario(path, overrides=[*overrides, f"{g}.count={n}"]))
                for n in search_counts(max_count)]  # the type changes none of the figures
    return cost.in_sequence(per_type, times=len(types))


def plan(path: str | Path, group: str, types: Iterable[str] | None = None,
         max_count: int = DEFAULT_MAX, slos: Iterable[str | Slo] = (),
         overrides: Iterable[str] = (), log: Callable[[str], None] | None = None,
         check: Callable[[Any], None] | None = None, executor: Any = None) -> dict:
    """Plan ``group`` of the scenario at ``path`` for each type in ``types`` (default the
    group's own type): ``{group, max, slos, rows: [{type, count, binding, running,
    desired, enis, branches, ips, ports, ...}]}``. Every input is checked before the
    first simulation, so that a typo fails in a second, not after a long search.

    ``check``, when given, is called with the search's worst-case cost
    (:func:`estimate`) before the first simulation and may refuse it by raising.
    ``executor`` (a name or address as :func:`ecsnetsim.simulate` takes, or an executor
    already entered) runs each simulation's replications; a Dask cluster is started or
    connected to once for the whole plan. The default runs every simulation in this
    process."""
    from . import executors
    from .scenario import load_scenario

    overrides = list(overrides)
    if not 1 <= max_count <= 10000:
        raise InputError(f"--max {max_count}: expected 1 to 10000 (the most a group holds)")
    scenario = load_scenario(path, overrides=overrides)
    _check_single_variant(scenario)
    index = _group_index(scenario, group)
    slo_list = [s if isinstance(s, Slo) else parse_slo(s) for s in slos]
    flows = {t.name for t in scenario.traffic}
    for s in slo_list:
        if s.flow not in flows:
            raise InputError(f"--slo {s.text!r}: no flow {s.flow!r} in the scenario's "
                             f"traffic (it has: {', '.join(sorted(flows)) or 'none'})")
    names = _check_types(types or [scenario.cluster.instance_groups[index].type])
    for t in names:  # a type the scenario cannot use (another OS, ...) fails here, once
        g = f"cluster.instance_groups[{index}]"
        load_scenario(path, overrides=[*overrides, f"{g}.type={t}", f"{g}.count={max_count}"])
    ex = executors.resolve(executor)
    if check is not None:
        check(estimate(path, index, names, max_count, overrides))
    if ex is executor:  # the caller's, already started: the caller shuts it down
        opened = contextlib.nullcontext(ex)
    else:  # started once for every simulation of the plan; locally, in this process
        opened = ex = executors.LocalExecutor(workers=1) if ex.name == "local" else ex
    with opened:
        rows = [plan_type(path, overrides, index, group, t, max_count, slo_list,
                          log or _quiet, ex) for t in names]
    return {"scenario": scenario.name, "group": group, "max": max_count,
            "slos": [s.text for s in slo_list], "rows": rows}


def _quiet(_line: str) -> None:
    """No progress output."""


def table(result: dict) -> str:
    """The plan as a text table: one line per type, the SLO's p99 when one is given."""
    slos = result.get("slos") or []
    head = (f"{'type':<14}{'count':>6}  {'binding':<16}{'running':>9}{'ENIs':>6}"
            f"{'branches':>9}{'IPs':>6}{'ports':>6}")
    if slos:
        head += "".join(f"  {'p99 ' + s.split(':')[0] + ' us':>14}" for s in slos)
    lines = [head, "-" * len(head)]
    for r in result["rows"]:
        count = "-" if r["count"] is None else str(r["count"])
        line = (f"{r['type']:<14}{count:>6}  {r['binding'] or '-':<16}"
                f"{str(r['running']) + '/' + str(r['desired']):>9}{r['enis']:>6}"
                f"{r['branches']:>9}{r['ips']:>6}{r['ports']:>6}")
        for v in (r.get("p99_us") or {}).values():
            line += f"  {'-' if v is None else f'{v:.1f}':>14}"
        lines.append(line)
    notes = [f"{r['type']}: {r['note']}" for r in result["rows"] if r.get("note")]
    lines.append("")
    lines.append(f"group {result['group']}; binding = what blocks the next instance fewer; "
                 "usage at the answer")
    lines += notes
    return "\n".join(lines)


def write(result: dict, outdir: str | Path) -> Path:
    """Write ``plan.json`` into ``outdir`` atomically (staged beside it, then renamed),
    so that a reader never finds half a plan."""
    from .results import _write_staged

    def fill(tmp: Path) -> tuple[list[str], list[str]]:
        (tmp / "plan.json").write_text(json.dumps(result, indent=2) + "\n")
        return ["plan.json"], []

    return _write_staged(outdir, fill)[0]

