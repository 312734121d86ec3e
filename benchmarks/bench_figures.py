"""Where a run's CPU goes: simulating against drawing figures, per shipped scenario.

Each scenario is run as a user runs it (``ecsnetsim run SCENARIO -o DIR``) in a child
process of its own, which counts the CPU (user + system, its own and that of the worker
processes it waited for) of the whole ``run`` and, inside it, of drawing the figures
(``Results._draw``: importing matplotlib, every figure built and saved) and of writing
report.html. The share printed is figures and report against the whole run; what is
left (imports, loading, simulating, the result files) is the rest. Interpreter start-up
is not counted.

``--tree DIR`` runs the package found in DIR (a checkout of another commit, e.g. made
with ``git worktree add /tmp/before HEAD``, with the compiled extensions copied in)
instead of the installed one, on DIR's own copy of each scenario; ``--vs DIR`` runs both,
the two alternating run by run, and prints them side by side. Scenario names default to
those of ``--vs`` (or of this checkout).

Usage::

    python benchmarks/bench_figures.py                          # every scenario, once
    python benchmarks/bench_figures.py --repeat 3 compare-modes
    python benchmarks/bench_figures.py --tree /tmp/after --vs /tmp/before --repeat 3 --markdown
    python benchmarks/bench_figures.py --run-args=--plots compare-modes   # figures drawn
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"


def _cpu() -> float:
    """CPU seconds of this process and of the children it has waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _child(scenario: str, outdir: str, extra: list[str]) -> None:
    """Run one scenario through the CLI in this process (with the ``run`` options
    ``extra``); print its CPU as JSON."""
    start = _cpu()
    from ecsnetsim import cli, htmlreport, results  # noqa: PLC0415 (timed with the run)

    spent = {"figures": 0.0, "report": 0.0}
    drawn: list[str] = []

    def timed(key, fn):
        def wrapper(*args, **kwargs):
            t0 = _cpu()
            try:
                out = fn(*args, **kwargs)
            finally:
                spent[key] += _cpu() - t0
            if key == "figures":
                drawn.extend(n for n in out[0] if n.endswith(".png"))
            return out
        return wrapper

    results.Results._draw = timed("figures", results.Results._draw)
    htmlreport.write = timed("report", htmlreport.write)
    code = cli.main(["run", scenario, "-o", outdir, "--quiet", *extra])
    total = _cpu() - start
    print(json.dumps({"total": total, **spent, "n": len(drawn), "exit": code,
                      "drawn": sorted(drawn)}))


def _measure(scenario: Path, tree: str | None, extra: list[str]) -> dict:
    """One run of ``scenario`` by the package in ``tree`` (the installed one when None);
    a tree runs its own copy of the scenario when it has one (an older version may not
    read a newer file's keys)."""
    own = Path(tree) / "scenarios" / scenario.name if tree else None
    scenario = own if own is not None and own.is_file() else scenario
    env = dict(os.environ)
    if tree:
        env["PYTHONPATH"] = tree + os.pathsep + env.get("PYTHONPATH", "")
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, __file__, "--child", str(scenario), tmp,
                              *extra],
                             env=env, capture_output=True, text=True, check=False)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise SystemExit(f"{scenario.name}: no measurement\n{out.stderr[-2000:]}")
    return json.loads(lines[-1])


def _median(runs: list[dict]) -> dict:
    keys = ("total", "figures", "report")
    out = {k: statistics.median(r[k] for r in runs) for k in keys}
    out["n"] = runs[0]["n"]
    out["drawn"] = runs[0]["drawn"]
    out["share"] = (out["figures"] + out["report"]) / out["total"] if out["total"] else 0.0
    return out


def _row(name: str, m: dict) -> str:
    return (f"{name:28s} {m['total']:7.2f} {m['figures']:7.2f} {m['report']:7.3f} "
            f"{m['n']:3d} {100 * m['share']:6.1f} %")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenarios", nargs="*", help="scenario names (default: every one)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per scenario (median)")
    ap.add_argument("--tree", help="run the package in this directory")
    ap.add_argument("--vs", help="also run the package in this directory, side by side")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table too")
    ap.add_argument("--json", help="write every measurement to this file")
    ap.add_argument("--run-args", default="", metavar="ARGS",
                    help="options given to every run, e.g. '--plots' (run draws no "
                         "figure without it)")
    args = ap.parse_args(argv)
    where = Path(args.vs) / "scenarios" if args.vs else SCENARIOS
    names = args.scenarios or sorted(p.stem for p in where.glob("*.yaml"))
    trees = {"this": args.tree} | ({"vs": args.vs} if args.vs else {})
    table: dict[str, dict[str, dict]] = {}
    print(f"{'scenario':28s} {'CPU s':>7s} {'figs s':>7s} {'report':>7s} {'n':>3s} "
          f"{'share':>8s}")
    for name in names:
        runs: dict[str, list[dict]] = {t: [] for t in trees}
        for _ in range(args.repeat):
            for label, tree in trees.items():  # alternating, so drift hits both alike
                runs[label].append(_measure(SCENARIOS / f"{name}.yaml", tree,
                                            args.run_args.split()))
        table[name] = {label: _median(rs) for label, rs in runs.items()}
        for label, m in table[name].items():
            print(_row(f"{name} [{label}]" if args.vs else name, m), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(table, indent=1))
    if args.markdown:
        print(_markdown(table, bool(args.vs)))
    return 0


def _markdown(table: dict[str, dict[str, dict]], paired: bool) -> str:
    if not paired:
        lines = ["| scenario | run CPU s | figures s | report s | figures | share |",
                 "|---|---:|---:|---:|---:|---:|"]
        for name, ms in table.items():
            m = ms["this"]
            lines.append(f"| {name} | {m['total']:.2f} | {m['figures']:.2f} | "
                         f"{m['report']:.3f} | {m['n']} | {100 * m['share']:.0f} % |")
        return "\n".join(lines)
    lines = ["| scenario | before: run CPU s | figures s | n | share | after: run CPU s | "
             "figures s | n | share |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, ms in table.items():
        b, a = ms["vs"], ms["this"]
        lines.append(f"| {name} | {b['total']:.2f} | {b['figures'] + b['report']:.2f} | "
                     f"{b['n']} | {100 * b['share']:.0f} % | {a['total']:.2f} | "
                     f"{a['figures'] + a['report']:.2f} | {a['n']} | "
                     f"**{100 * a['share']:.0f} %** |")
    tot = {k: sum(ms[k]["total"] for ms in table.values()) for k in ("vs", "this")}
    fig = {k: sum(ms[k]["figures"] + ms[k]["report"] for ms in table.values())
           for k in ("vs", "this")}
    lines.append(f"| all {len(table)} | {tot['vs']:.2f} | {fig['vs']:.2f} | | "
                 f"{100 * fig['vs'] / tot['vs']:.0f} % | {tot['this']:.2f} | "
                 f"{fig['this']:.2f} | | **{100 * fig['this'] / tot['this']:.0f} %** |")
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        sys.exit(main())
