"""Regenerate the figure gallery: ``docs/img/*.png`` and ``docs/gallery.md``.

Runs the example scenarios (some with shorter durations), draws their figures with
:mod:`ecsnetsim.plots` and writes each PNG with one sentence, computed from the same
results, saying what it shows. Seeded, so a rerun gives the same images.

    python scripts/make_gallery.py
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import ecsnetsim
from ecsnetsim import plots
from ecsnetsim.plots.data import _short  # the variant names the figures show
from ecsnetsim.results import Results

ROOT = Path(__file__).resolve().parent.parent
IMG = ROOT / "docs" / "img"
#: Pictures in docs/img that other scripts make (scripts/report_screenshot.py).
KEPT = {"report-screenshot.png"}
PAGE = ROOT / "docs" / "gallery.md"


# ---- sentences from results ----------------------------------------------------------------

def _flow(v: dict) -> dict:
    return v["flows"][0]


def _us(x: float) -> str:
    return f"{x:,.0f} µs" if x >= 1000 else f"{x:.1f} µs"


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _rate(sc) -> str:
    return f"{sc.traffic[0].rate:,.0f} packets/s"


def hops_sentence(res: Results, sc) -> str:
    reach = [f"{v['name']} {len(_flow(v)['path'])}" for v in res.variants if _flow(v)["path"]]
    none = [v["name"] for v in res.variants if not _flow(v)["path"]]
    text = (f"Devices a client's packet crosses one way to the task, stacked by device kind: "
            f"{_join(reach)}")
    bridge = next((v for v in res.variants if v["group"] == "bridge"), None)
    if bridge:
        others = {k for v in res.variants if v is not bridge for k in _flow(v)["path"]}
        own = [k for k in dict.fromkeys(_flow(bridge)["path"]) if k not in others]
        text += f"; {_join(own)} are bridge's alone"
    if none:
        text += f"; {_join(none)} is unreachable"
    return text + "."


def latency_sentence(res: Results, sc) -> str:
    parts = [f"{v['name']} {_us(_flow(v)['latency_us']['p50'])} / "
             f"{_us(_flow(v)['latency_us']['p99'])}" for v in res.variants
             if _flow(v)["delivered"]]
    return (f"Each mode's one-way latency spread at {_rate(sc)} (box p25\u2013p75, whiskers "
            f"p1\u2013p99, p99.9 and max marked, the mean beside its value); p50 / p99: "
            f"{_join(parts)}.")


def cdf_sentence(res: Results, sc) -> str:
    lat = {v["name"]: _flow(v)["latency_us"] for v in res.variants if _flow(v)["delivered"]}
    widest = max(lat, key=lambda n: lat[n]["p99"] / lat[n]["p50"])
    w = lat[widest]
    return (f"The share of packets delivered within each latency, per mode, on a log axis: "
            f"{widest}'s tail is the longest, p99 {w['p99'] / w['p50']:.2f}\u00d7 its median "
            f"({_us(w['p50'])} \u2192 {_us(w['p99'])}).")


def over_time_sentence(res: Results, sc) -> str:
    data = plots.figdata.over_time(res)
    parts = []
    for vs in data.variants:
        marks = ", ".join(f"{what} at {t:,.0f} s" for t, what in vs.marks)
        lost = [(f.t[k], f.t[k] + f.w[k]) for f in vs.flows
                for k, u in enumerate(f.values["unreachable"]) if u]
        text = f"{vs.label}: {marks or 'no event'}"
        if lost:
            text += (f", packets cannot arrive from {min(a for a, _ in lost):,.0f} s to "
                     f"{max(b for _, b in lost):,.0f} s")
        parts.append(text)
    return (f"Each flow's packets per second and latency in windows of "
            f"{data.variants[0].window_s:g} s; {_join(parts)}.")


def overhead_sentence(res: Results, sc) -> str:
    comp = res.comparison
    rows = [r for r in comp["flows"] if r.get("overhead_by_kind_us")]
    nets = [f"{r['variant']} {r['latency_overhead_us']['mean']:+.1f} µs" for r in rows]
    worst = max(rows, key=lambda r: r["latency_overhead_us"]["mean"])
    by_kind = worst["overhead_by_kind_us"]
    # a kind that only replaces another (the task's stack for the host's) is no addition
    added = [f"{k} {us:+.1f}" for k, us in sorted(by_kind.items(), key=lambda kv: -kv[1])
             if us >= 0.05 and not any(abs(us + other) < 1e-9 for other in by_kind.values())]
    return (f"Latency each device kind adds or saves against {comp['baseline']}, the diamond "
            f"the net change: {_join(nets)}; {worst['variant']}'s comes from "
            f"{_join(added)} µs.")


def _sweep_ends(res: Results, group: str) -> tuple[dict, dict]:
    vs = sorted((v for v in res.variants if v["group"] == group),
                key=lambda v: v["sweep"]["number"])
    return vs[0], vs[-1]


def load_sentence(res: Results, sc) -> str:
    lo, hi = _sweep_ends(res, res.variants[0]["group"])
    parts = []
    for group in dict.fromkeys(v["group"] for v in res.variants):
        a, b = _sweep_ends(res, group)
        if _flow(a)["delivered"] and _flow(b)["delivered"]:
            text = (f"{group} p99 {_us(_flow(a)['latency_us']['p99'])} \u2192 "
                    f"{_us(_flow(b)['latency_us']['p99'])}")
            if _flow(b)["dropped"]:
                text += f" with {100 * _flow(b)['dropped'] / _flow(b)['sent']:.0f} % dropped"
            parts.append(text)
    return (f"Mean and p99 latency from {lo['sweep']['value']} to {hi['sweep']['value']}: "
            f"{_join(parts)}.")


def busiest_sentence(res: Results, sc) -> str:
    v = max(res.variants, key=lambda v: (sum(d["drops"] for d in v["devices"]),
                                         max((d["utilization"] for d in v["devices"]),
                                             default=0)))
    top = max(v["devices"], key=lambda d: d["utilization"])
    drops = sum(f["dropped"] for f in v["flows"])
    return (f"The busiest devices and shared resources (dotted) at the busiest point "
            f"({v['name']}): {top['kind']} leads at {100 * top['utilization']:.0f} % busy" +
            (f", and the flow lost {drops:,} packets." if drops else "."))


def _outcome(v: dict) -> str:
    parts = []
    services = v["placement"]["services"]
    for s in services:
        text = f"{s['running']} of {s['desired']} run"
        if len(services) > 1:
            text = f"{s['name']} {text}"
        if s["failures"]:
            text += " (" + ", ".join(f"{n} not running: {r}"
                                     for r, n in s["failures"].items()) + ")"
        surge = s["running"] + s["pending"] - s["desired"]
        if surge > 0 and any(d["service"] == s["name"] for d in v.get("deployments") or []):
            text += f", {surge} of them a deployment's surge above desired"
        failed = s.get("launch_failures") or {}
        if failed:
            text += (f"; {sum(failed.values())} placed during the run failed to start ("
                     + ", ".join(failed) + ")")
        parts.append(text)
    return "; ".join(parts)


def placement_sentence(res: Results, sc) -> str:
    return ("Running tasks and the rest by the reason ECS gives (not placed, or stopped when "
            "its ENI found no free IP), desired count marked: "
            + _join([f"{_short(v['name'])} {_outcome(v)}" for v in res.variants]) + ".")


def density_sentence(res: Results, sc) -> str:
    parts = []
    for v in res.variants:
        inst = v["placement"]["instances"][0]
        limit = inst["task_limits"]["awsvpc"]
        parts.append(f"{_short(v['name'])} at most {limit} per {inst['type']}")
    return ("awsvpc tasks on each instance against the limit its ENIs (or branch ENIs with "
            "trunking) allow, marked in black: " + _join(parts) + ".")


def sizes_sentence(res: Results, sc) -> str:
    parts = []
    for v in res.variants:
        for inst in v["placement"]["instances"]:
            if inst["trunked"]:
                parts.append(f"{inst['type']} {inst['tasks']} with trunking")
            else:
                parts.append(f"{inst['type']} {inst['tasks']} without")
    return ("awsvpc tasks per instance size, each against its ENI or branch-ENI limit: "
            + _join(parts) + ".")


def scaling_sentence(res: Results, sc) -> str:
    v = res.variants[0]
    svc = v["placement"]["services"][0]
    start = sum(g.count for g in sc.cluster.instance_groups)
    launched = len(v["placement"]["instances"]) - start
    return (f"Managed scaling launches {launched} instance(s) at once for the tasks that "
            f"cannot be placed; they register after the launch delay, and the last of "
            f"{svc['desired']} tasks is RUNNING at {svc['steady_at']:.0f} s.")


def subnet_sentence(res: Results, sc) -> str:
    v = res.variants[0]
    sn = v["placement"]["subnets"][0]
    free = sum(i["branch_eni"]["limit"] - i["branch_eni"]["used"]
               for i in v["placement"]["instances"])
    return (f"Tasks per instance with {free} branch ENIs still free, while subnet {sn['name']} "
            f"({sn['cidr']}) has {sn['ips_free']} of {sn['usable']} usable IPs left.")


def spread_sentence(res: Results, sc) -> str:
    parts = [f"{v['name']} " + "/".join(str(i["tasks"]) for i in v["placement"]["instances"])
             for v in res.variants]
    return "Tasks on each of the four instances: " + _join(parts) + "."


def timeline_sentence(res: Results, sc) -> str:
    parts = []
    for v in res.variants:
        for d in v["deployments"]:
            text = f"{v['name']} {d['status']}"
            if d["status"] in ("STALLED", "FAILED", "ROLLED_BACK") and d["failures"]:
                text += " on " + _join(list(d["failures"]))
            if d["status"] == "COMPLETED":
                text += f" in {d['waves']} wave{'' if d['waves'] == 1 else 's'}"
                if d["failures"]:
                    text += " despite " + _join([f"{n} × {r}" for r, n in d["failures"].items()])
            if d["zero_healthy_seconds"]:
                text += f" with {d['zero_healthy_seconds']:.0f} s of zero healthy tasks"
            parts.append(text)
    return ("Running (older and current revision), draining and pending tasks stacked, the "
            "healthy count dashed, through a rolling update (shaded): " + _join(parts) + ".")


def daemon_sentence(res: Results, sc) -> str:
    v = res.variants[0]
    (d,) = v["deployments"]
    n = v["placement"]["services"][0]["running"]
    return (f"Zoomed to the update at {d['started_at']:.0f} s, the whole "
            f"{v['end'] / 60:.0f}-minute run beside it: each of the {n} old exporters stops "
            f"before its replacement can take port 9100, leaving "
            f"{d['zero_healthy_seconds']:.0f} s with no healthy task (red); the deployment "
            f"is {d['status']} at {d['finished_at']:.0f} s.")


def fate_sentence(res: Results, sc) -> str:
    parts = []
    for v in res.variants:
        f = v["flows"][0]
        share = f["delivered"] / f["sent"] if f["sent"] else 0
        text = f"{_short(v['name'])} {share:.0%} arrive"
        if f.get("blocked"):
            text += f" (stopped at {(f['blocked']['at'] or '-').split('/')[-1]})"
        parts.append(text)
    return ("Share of the packets sent that arrive, are dropped or cannot arrive, with AWS's "
            "reason beside each bar: " + _join(parts) + ".")


# ---- the gallery ---------------------------------------------------------------------------

@dataclass
class Run:
    key: str
    scenario: str
    question: str
    figures: list[tuple[str, Callable[..., str]]]
    overrides: list[str] = field(default_factory=list)


RUNS = [
    Run("compare-modes", "compare-modes.yaml",
        "What does each network mode put in a packet's way?",
        [("hops_by_mode", hops_sentence), ("latency_by_mode", latency_sentence),
         ("latency_cdf", cdf_sentence), ("overhead_by_device", overhead_sentence)]),
    Run("compare-modes-load", "compare-modes.yaml",
        "The same comparison on a c5.large, swept over the offered load.",
        [("overhead_vs_load", load_sentence)],
        ["duration=0.5s", "cluster.instance_groups[0].type=c5.large",
         'sweep={"traffic[0].rate": [2000/s, 50000/s, 200000/s]}']),
    Run("bridge-contention", "bridge-contention.yaml",
        "Many bridge tasks on one c5.large: how do latency and drops grow with load?",
        [("overhead_vs_load", load_sentence), ("device_utilization", busiest_sentence)]),
    Run("awsvpc-eni-density", "awsvpc-eni-density.yaml",
        "How many awsvpc tasks fit on a c5.large, with and without ENI trunking?",
        [("tasks_per_instance", density_sentence), ("placement_outcome", placement_sentence)]),
    Run("static-vs-dynamic-ports", "static-vs-dynamic-ports.yaml",
        "Two nginx tasks on host port 80: how many instances do they need?",
        [("placement_outcome", placement_sentence)]),
    Run("eni-trunking-sizes", "eni-trunking-sizes.yaml",
        "How many awsvpc tasks does each c5 size hold, with and without ENI trunking?",
        [("tasks_per_instance", sizes_sentence)]),
    Run("subnet-exhaustion", "subnet-exhaustion.yaml",
        "Does a /28 subnet hold three trunked hosts and twelve awsvpc tasks?",
        [("placement_outcome", placement_sentence), ("tasks_per_instance", subnet_sentence)]),
    Run("binpack-vs-spread", "binpack-vs-spread.yaml",
        "Where do six tasks land under binpack and under spread?",
        [("tasks_per_instance", spread_sentence)]),
    Run("deploy-static-port", "deploy-static-port.yaml",
        "A bridge service on static port 80 with default deployment settings: does a rollout "
        "finish?",
        [("deployment_timeline", timeline_sentence), ("placement_outcome", placement_sentence),
         ("over_time", over_time_sentence)]),
    Run("deploy-daemon", "deploy-daemon.yaml",
        "How does a daemon service on host port 9100 update?",
        [("deployment_timeline", daemon_sentence)]),
    Run("deploy-subnet-surge", "deploy-subnet-surge.yaml",
        "Will a /27 hold 3 trunked hosts, 12 awsvpc tasks and a 200 % deployment surge?",
        [("deployment_timeline", timeline_sentence), ("placement_outcome", placement_sentence)]),
    Run("deploy-slow-start", "deploy-slow-start.yaml",
        "A new revision needs 120 s before it answers health checks: which grace period lets "
        "the rollout finish?",
        [("deployment_timeline", timeline_sentence)]),
    Run("fargate-vs-ec2", "fargate-vs-ec2.yaml",
        "The same awsvpc service on EC2, EC2 with trunking and Fargate: how many run, and "
        "what does a packet cross?",
        [("placement_outcome", placement_sentence), ("overhead_by_device", overhead_sentence)]),
    Run("windows-default", "windows-default.yaml",
        "Windows container instances: default (NAT) or awsvpc?",
        [("hops_by_mode", hops_sentence), ("placement_outcome", placement_sentence)]),
    Run("egress-nat", "egress-nat.yaml",
        "Can the tasks reach the internet from a public subnet, or do they need a NAT gateway?",
        [("packet_fate", fate_sentence)]),
    Run("imds-hop-limit", "imds-hop-limit.yaml",
        "With IMDSv2 required, which modes get the token back with hop limit 1 and 2?",
        [("packet_fate", fate_sentence)]),
    Run("scale-out", "scale-out.yaml",
        "Eight awsvpc tasks on c5.large instances that hold two each: when do they all run?",
        [("deployment_timeline", scaling_sentence)]),
]


def main() -> int:
    IMG.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Figure gallery",
        "",
        "Figures that `ecsnetsim.plots` draws from a run's results, here for the example "
        "scenarios in `scenarios/`. `ecsnetsim plot RESULTS_DIR` draws the same figures "
        "(PNG; SVG too with `--svg`) from any run's `results.json`; in Python, each function in "
        "`ecsnetsim.plots` takes the `Results` of `ecsnetsim.simulate` and returns a "
        "matplotlib figure. Regenerate this page and its images with "
        "`python scripts/make_gallery.py`.",
        "",
    ]
    written = set()
    for run in RUNS:
        sc = ecsnetsim.load_scenario(ROOT / "scenarios" / run.scenario, overrides=run.overrides)
        res = ecsnetsim.simulate(sc)
        lines += [f"## {run.key}", "", f"*{run.question}* (`scenarios/{run.scenario}`"
                  + (", " + ", ".join(f"`--set {o}`" for o in run.overrides)
                     if run.overrides else "") + ")", ""]
        for name, sentence in run.figures:
            fig = plots.FIGURES[name](res)
            if fig is None:
                raise SystemExit(f"{run.key}: {name} does not apply to these results")
            path = IMG / f"{run.key}_{name}.png"
            plots.save(fig, path)
            written.add(path.name)
            lines += [f"![{name} for {run.key}](img/{path.name})", "", sentence(res, sc), ""]
            print(path.relative_to(ROOT))
    for stale in IMG.glob("*.png"):  # figures of runs no longer in the gallery
        if stale.name not in written and stale.name not in KEPT:
            stale.unlink()
    PAGE.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    print(PAGE.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
