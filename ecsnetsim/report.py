"""The compact human summary that ``ecsnetsim run`` prints."""

from __future__ import annotations

from collections import Counter, defaultdict

from . import limits, tables
from .labels import variant_label
from .rows import HasDocument
from .scenario.expect import verdict


def _blue_green_line(d: dict) -> str:
    """A CODE_DEPLOY deployment's traffic shift and original set, in one line."""
    steps = ", ".join(f"{p['percent']}% at {p['t']:.0f}s" for p in d.get("traffic_shift", []))
    shift = f"traffic to the replacement set: {steps}" if steps else \
        "no traffic shifted (the replacement task set never was all healthy)"
    gone = d.get("original_terminated_at")
    return "blue/green: " + shift + (f"; original task set deleted at {gone:.0f}s"
                                     if gone is not None else "")


def _fmt_failures(failures: dict) -> str:
    return ", ".join(f"{k}×{v}" for k, v in failures.items()) or "-"


def answer(results: HasDocument) -> str:
    """One line computed from the results: per variant, tasks running of desired with
    what binds (the reasons of the tasks not running, and the most tasks an instance type
    took), each unfinished deployment's outcome, and per flow where its packets stop or
    how many hops and microseconds they take on average (the mean: a flow whose packets
    split between paths, same AZ and cross AZ say, has a median that jumps between the
    two, so medians of two variants may differ by the split alone).

    Kept to the point: what every variant has in common is said once, first ("2/2
    running in every variant"), and a sweep over numbers names its first and last points
    only (the figures and tables have the rest); a sweep over names (instance types)
    names every point."""
    variants = results.document["variants"]
    if len(variants) == 1:
        return ", ".join(text for _, text in _facts(variants[0]))
    plain = [v for v in variants if not v.get("sweep")]
    facts = {id(v): _facts(v) for v in plain}
    common = [f for f in facts[id(plain[0])] if all(f in facts[id(v)] for v in plain[1:])] \
        if len(plain) > 1 else []
    parts, seen, alike = [], set(), []
    for v in variants:
        group = v.get("group")
        if not v.get("sweep"):
            own = [text for f in facts[id(v)] if f not in common for text in [f[1]]]
            if own:
                parts.append(f"{variant_label(v['name'])}: " + ", ".join(own))
            else:
                alike.append(variant_label(v["name"]))
        elif group not in seen:
            seen.add(group)
            points = [p for p in variants if p.get("group") == group and p.get("sweep")]
            parts.append(_sweep_answer(group, points))
    if common:
        head = ", ".join(text for _, text in common) + " in every variant"
        parts.insert(0, head + (f" ({', '.join(alike)})" if alike else ""))
    elif alike:
        parts.insert(0, ", ".join(alike))
    return "; ".join(parts)


#: A sweep over numbers with more points than this names its first and last only.
SWEEP_POINTS_NAMED = 3


def _sweep_answer(group: str, points: list[dict]) -> str:
    # "at most N per type" repeats the running count when a point has one instance
    facts = [[f for f in _facts(p) if not (f[0] == "most" and
                                           len(p["placement"]["instances"]) == 1)]
             for p in points]
    common = [f for f in facts[0] if all(f in other for other in facts[1:])]

    def point(p: dict, fs: list) -> str:
        return " ".join([str(p["sweep"]["value"]),
                         *(text for f in fs if f not in common for text in [f[1]])])

    numeric = all(p["sweep"].get("number") is not None for p in points)
    if numeric and len(points) > SWEEP_POINTS_NAMED:
        per_point = (f"{point(points[0], facts[0])} … {point(points[-1], facts[-1])} "
                     f"({len(points)} points)")
    else:
        per_point = " | ".join(point(p, fs) for p, fs in zip(points, facts, strict=True))
    head = "".join(f"{text}, " for _, text in common)
    return (f"{variant_label(group)}: {head}by "
            f"{points[0]['sweep']['path'].rsplit('.', 1)[-1]}: {per_point}")


def _facts(v: dict) -> list[tuple[str, str]]:
    """What the answer says of a variant, as (kind, text) in order."""
    services = v["placement"]["services"]
    out = [("running", running_text(services)), *_why(v)]
    for d in v.get("deployments", []):
        if d["status"] != "COMPLETED":
            why = ", ".join(d["failures"])
            out.append(("deploy", f"deployment {d['service']}:{d['revision']} {d['status']}"
                        + (f" on {why}" if why else "")))
    kinds = device_kinds(v)
    for f in v["flows"]:
        if f.get("blocked"):
            at = f["blocked"]["at"]
            out.append(("flow", f"{f['name']} blocked"
                        + (f" at {blocked_at(at, kinds)}" if at else "")))
        elif f["delivered"]:
            out.append(("hops", f"{f['name']} {_short(f['hops']['mean'])} hops"))
            out.append(("latency", f"{_short(f['latency_us']['mean'])} us mean"))
            lost = f["dropped"] + f["unreachable"]
            if lost:
                out.append(("lost", f"{100 * lost / f['sent']:.0f}% lost"))
        elif f["sent"]:
            out.append(("flow", f"{f['name']} nothing delivered"))
    out += [("limit", text) for text in limits.facts(v)]
    return out


def running_text(services: list[dict]) -> str:
    """Tasks running of desired, never more running than desired: during a deployment the
    old revision's tasks still running are said apart ("3/3 running the new revision, +3
    old"), and tasks above a lowered desired count as "+N above desired".

    >>> running_text([{"desired": 3, "running": 6, "running_old": 3}])
    '3/3 running the new revision, +3 old'
    >>> running_text([{"desired": 4, "running": 2, "running_old": 0}])
    '2/4 running'
    """
    desired = sum(s["desired"] for s in services)
    running = sum(s["running"] for s in services)
    old = sum(s.get("running_old") or 0 for s in services)
    if running <= desired:
        return f"{running}/{desired} running" + (f" ({old} of an old revision)" if old else "")
    new = running - old
    if old and new <= desired:
        return f"{new}/{desired} running the new revision, +{old} old"
    return f"{desired}/{desired} running, +{running - desired} above desired"


#: Placement reasons that a per-instance resource gives: the instances of a type that
#: all hold the same number of tasks are full at that number.
_PER_INSTANCE = "RESOURCE:"


def _why(v: dict) -> list[tuple[str, str]]:
    """Why services run fewer tasks than desired, each reason said as what it is: a
    placement reason binds ("bound by RESOURCE:ENI"), a launch failure is a task placed
    that could not start ("failed to start: InsufficientFreeAddressesInSubnet"), a task
    stopped by ECS had started ("stopped: ELB:UNHEALTHY"). Only what binds is said: "at
    most N per type" when a per-instance resource binds and every instance of the type
    holds N tasks; the subnets with no address left when addresses bind."""
    bound: Counter = Counter()
    failed: Counter = Counter()
    stopped: Counter = Counter()
    for s in v["placement"]["services"]:
        if s["running"] >= s["desired"]:
            continue
        launch, stops = s.get("launch_failures") or {}, s.get("stopped") or {}
        for reason, n in (s["failures"] or {**launch, **stops}).items():
            (stopped if reason in stops else failed if reason in launch else bound)[reason] += n
    out = []
    if bound:
        out.append(("why", "bound by " + " and ".join(r for r, _ in bound.most_common(2))))
        if any(r.startswith(_PER_INSTANCE) for r in bound):
            out += _full_types(v["placement"]["instances"])
    if failed:
        out.append(("why", "failed to start: " + " and ".join(r for r, _ in
                                                              failed.most_common(2))))
        if "InsufficientFreeAddressesInSubnet" in failed:
            out += [("subnet", f"subnet {sn['name']} has no address free")
                    for sn in v["placement"]["subnets"] if sn["ips_free"] == 0]
    if stopped:
        out.append(("why", "stopped: " + " and ".join(r for r, _ in stopped.most_common(2))))
    return out


def _full_types(instances: list[dict]) -> list[tuple[str, str]]:
    """"at most N per TYPE" for the instance types whose instances all hold N tasks (a
    type whose instances hold different numbers has no such limit to state), and "none
    on TYPE" for those that hold none (a type without the GPUs a task needs, say).

    >>> _full_types([{"type": "g4dn.xlarge", "tasks": 1}, {"type": "c5.xlarge", "tasks": 0}])
    [('most', 'at most 1 per g4dn.xlarge, none on c5.xlarge')]
    """
    counts: dict[str, set] = defaultdict(set)
    for inst in instances:
        counts[inst["type"]].add(inst["tasks"])
    full = [(t, n.pop()) for t, n in counts.items() if len(n) == 1]
    held = [f"{n} per {t}" for t, n in full if n]
    empty = [t for t, n in full if not n]  # e.g. no GPUs there: "none on c5.xlarge"
    if not full:
        return []
    return [("most", ", ".join([*(["at most " + ", ".join(held)] if held else []),
                                *(["none on " + ", ".join(empty)] if empty else [])]))]


#: The kind of a device that ``blocked.at`` names but the devices table does not list (no
#: packet crossed it), by the id's prefix: the ENI that dropped health checks, a subnet's
#: route table, a NAT gateway. Other devices are named ``HOST/KIND`` by the topology.
_KIND_BY_PREFIX = (("eni-", "eni"), ("vpc/route-table:", "route_table"),
                   ("nat/", "nat_gateway"))


def device_kinds(v: dict) -> dict[str, str]:
    """Device id -> kind, from the variant's devices table."""
    return {d["id"]: d["kind"] for d in v.get("devices") or []}


def blocked_at(at: str, kinds: dict[str, str]) -> str:
    """Where a flow is blocked: the device id and its kind, ``"ID (KIND)"``.

    >>> blocked_at("eni-0f608f14cf0260d0a", {})
    'eni-0f608f14cf0260d0a (eni)'
    >>> blocked_at("lb/us-east-1a", {"lb/us-east-1a": "nlb"})
    'lb/us-east-1a (nlb)'
    >>> blocked_at("i-07b5/host-forward", {})
    'i-07b5/host-forward (host_forward)'
    """
    kind = kinds.get(at) or next((k for p, k in _KIND_BY_PREFIX if at.startswith(p)), None)
    if kind is None:  # a device named HOST/KIND, as the topology names them
        kind = at.rsplit("/", 1)[-1].split(":", 1)[0].replace("-", "_")
    return f"{at} ({kind})"


def _short(x: float) -> str:
    return f"{x:.0f}" if abs(x) >= 100 or x == int(x) else f"{x:.1f}"


def summary(results: HasDocument) -> str:
    doc = results.document
    out = [f"scenario {doc['scenario']['name']}  seed {doc['seed']}  "
           f"variants {len(doc['variants'])}",
           f"answer: {answer(results)}", *verdict(doc)]
    for v in doc["variants"]:
        out.append("")
        out.append(f"== variant {v['name']}  ({_start(v)}, ran to {v['end']:.1f}s)")
        out.append(tables.summary_text(tables.services([v])))
        out.append(tables.summary_text(tables.instance_types([v])))
        fg = v["placement"].get("fargate")
        if fg:
            azs = ", ".join(f"{az} {n}" for az, n in fg["by_az"].items()) or "-"
            out.append(f"  fargate: {fg['tasks']} tasks in micro-VMs off the cluster, "
                       f"{fg['enis']} task ENIs, {fg['ips_used']} subnet IPs; by AZ: {azs}")
        spread = " ".join(str(i["tasks"]) for i in v["placement"]["instances"])
        out.append(f"  tasks per instance: {spread or '-'}")
        trunking = Counter(i["trunk_reason"] for i in v["placement"]["instances"]
                           if i.get("trunk_reason") and "setting is off" not in i["trunk_reason"])
        for reason, n in trunking.items():
            out.append(f"  trunking ({n} instance{'s' if n > 1 else ''}): {reason}")
        for sd in v["placement"].get("service_discovery", []):
            shown = ", ".join(sd["records"][:4]) + (" ..." if len(sd["records"]) > 4 else "")
            out.append(f"  cloud map {sd['name']} {sd['type']}: {shown or '-'}")
        for sn in v["placement"]["subnets"]:
            out.append(f"  subnet {sn['name']} {sn['cidr']}: {sn['ips_used']} IPs used, "
                       f"{sn['ips_free']} free")
        flows = v["flows"]
        if flows:
            out.append(tables.summary_text(tables.flows([v])))
            for f in flows:
                ci = (f.get("ci95") or {})
                if ci.get("latency_mean_us"):
                    lo, hi = ci["latency_mean_us"]
                    p99 = ci.get("latency_p99_us") or [None, None]
                    out.append(f"  {f['name']}: {f['replications']} replications; 95% interval "
                               f"of the mean {lo:.2f}-{hi:.2f} us"
                               + (f", of p99 {p99[0]:.2f}-{p99[1]:.2f} us" if p99[0] is not None
                                  else ""))
            for f in flows:
                if f.get("blocked"):
                    at = f["blocked"]["at"]
                    at = f" at {blocked_at(at, device_kinds(v))}" if at else ""
                    out.append(f"  {f['name']} blocked{at}: {f['blocked']['reason']}")
        out += ["  " + line for line in limits.summary_lines(v)]
        for d in v.get("deployments", []):
            end = "-" if d["finished_at"] is None else f"{d['finished_at']:.0f}s"
            reasons = _fmt_failures(d["failures"])
            out.append(f"  deployment {d['service']}:{d['revision']} {d['status']}: started "
                       f"{d['started_at']:.0f}s, finished {end}, {d['waves']} wave(s), "
                       f"min healthy {d['min_healthy_observed']}, zero-healthy "
                       f"{d['zero_healthy_seconds']:.0f}s, failures {reasons}")
            if d.get("controller") == "CODE_DEPLOY":
                out.append("    " + _blue_green_line(d))
        last = [e for e in v["placement"]["events"] if "unable" in e["message"]]
        for e in last[-3:]:
            out.append(f"  event t={e['t']:.1f}s: {e['message']}")
    comp = doc.get("comparison") or {}
    if comp.get("flows"):
        out.append("")
        out.append(f"== comparison against {comp['baseline']}")
        for row in comp["flows"]:
            if row["extra_hops"] is None:
                out.append(f"  {row['name']:<16}{row['variant']:<18} {row['note']}")
                continue
            ov = row["latency_overhead_us"]
            diff = row.get("difference")
            paired = "" if not diff else (
                f"; paired 95% interval {diff['ci95'][0]:+.2f} to {diff['ci95'][1]:+.2f}us, "
                + ("significant" if diff["significant"] else "not significant"))
            out.append(f"  {row['name']:<16}{row['variant']:<18} extra hops "
                       f"{_signed(row['extra_hops'], 2)}  latency {_signed(ov['mean'], 1)}us "
                       f"mean, {_signed(ov['p99'], 1)}us p99, ×{row['latency_ratio']:.2f}"
                       f"{paired}")
    return "\n".join(line.rstrip() for line in out)


def _signed(x: float, digits: int) -> str:
    """``x`` with its sign, a difference that rounds to zero as ``+0.0`` (never ``-0.0``,
    which reads as a small gain that is only floating-point noise)."""
    text = f"{x:+.{digits}f}"
    return "+" + text[1:] if float(text) == 0 else text


def _start(v: dict) -> str:
    """When traffic started: once every service was steady, or at the horizon; and the
    services that never reached their desired count of healthy tasks."""
    short = [f"{s['name']} ({_fmt_failures(_reasons(s))})" for s in v["placement"]["services"]
             if s["steady_at"] is None and s["desired"]]
    if not v.get("steady", True):
        when = f"never settled: traffic from the horizon at {v['steady_at']:.1f}s"
    elif short:
        when = f"placement settled at {v['steady_at']:.1f}s"
    else:
        when = f"steady at {v['steady_at']:.1f}s"
    return when + (f"; below desired: {', '.join(short)}" if short else "")


def _reasons(s: dict) -> dict:
    """A service's reasons for tasks not running: its unplaced tasks', else its launch
    failures', else its stops'."""
    return s["failures"] or s.get("launch_failures") or s.get("stopped") or {}

