"""``run`` ends cleanly and replaces its result set as one unit.

Stop signals end the pool workers and remove the staging directory while the previous
result set stays as it was; an output path over the file-name limit and a run above
the cost budget are refused before anything is simulated.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import ecsnetsim.simulate  # noqa: F401 (the module, patched below)
from ecsnetsim import cost, plots
from ecsnetsim.cli import main

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "scenarios" / "static-vs-dynamic-ports.yaml"  # 2 variants, no traffic
LONG = ROOT / "scenarios" / "compare-modes.yaml"  # 5 variants; made long with --set
DATA = ("results.json", "placement.csv", "flows.csv", "devices.csv", "timeline.csv",
        "timeseries.csv", "report.html")


def digest(outdir: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(outdir.iterdir()) if p.is_file()}


def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (from /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def staging_dirs(parent: Path) -> list[str]:
    return [p.name for p in parent.iterdir() if p.name.startswith(".ecsnetsim-")]


@pytest.fixture
def previous(tmp_path) -> Path:
    """An OUTDIR holding the result set of an earlier run (without figures: faster)."""
    out = tmp_path / "out"
    assert main(["run", str(SMALL), "-o", str(out), "--quiet", "--no-plots"]) == 0
    return out


@pytest.fixture
def previous_figures(tmp_path) -> Path:
    """An OUTDIR holding the result set of an earlier run, with its figures."""
    out = tmp_path / "out"
    assert main(["run", str(SMALL), "-o", str(out), "--quiet", "--plots"]) == 0
    assert any(p.suffix == ".png" for p in out.iterdir())
    return out


def start_long_run(out: Path) -> tuple[subprocess.Popen, list[int]]:
    """A run that simulates for minutes, once its pool workers have started."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "ecsnetsim", "run", str(LONG), "-o", str(out), "--quiet",
         "--force", "--set", "duration=600s"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while len(children(proc.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    workers = children(proc.pid)
    assert len(workers) >= 2, "the pool workers did not start"
    time.sleep(0.5)  # into the simulation
    return proc, workers


@pytest.mark.skipif(not Path("/proc/self/stat").exists() or os.cpu_count() == 1,
                    reason="needs /proc and a process pool")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_stop_signal_ends_the_workers_and_keeps_the_previous_set(previous, sig):
    before = digest(previous)
    proc, workers = start_long_run(previous)
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=20)  # EOF on the pipes: no worker holds them
    finally:
        proc.kill()
    assert proc.returncode == 128 + sig, err
    assert f"stopped by {signal.Signals(sig).name}" in err and "Traceback" not in err
    deadline = time.monotonic() + 5
    while any(alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [w for w in workers if alive(w)]
    assert staging_dirs(previous.parent) == []
    assert digest(previous) == before


@pytest.mark.skipif(not Path("/proc/self/stat").exists() or os.cpu_count() == 1,
                    reason="needs /proc and a process pool")
def test_workers_of_a_killed_run_exit_by_themselves(tmp_path):
    proc, workers = start_long_run(tmp_path / "out")
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 10
    while any(alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [w for w in workers if alive(w)]
    for w in left:
        os.kill(w, signal.SIGKILL)
    assert left == []


def test_sigterm_while_saving_removes_the_staging_directory(previous, monkeypatch, capsys):
    before = digest(previous)
    real = plots.write_all

    def draw_then_stop(*args, **kwargs):
        written = real(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(1)  # the handler runs here
        return written

    def unhandled(signum, frame):
        raise RuntimeError("SIGTERM reached a handler outside ecsnetsim")

    monkeypatch.setattr(plots, "write_all", draw_then_stop)
    old = signal.signal(signal.SIGTERM, unhandled)
    try:
        rc = main(["run", str(SMALL), "-o", str(previous), "--quiet", "--plots",
                   "--set", "seed=9"])
    finally:
        assert signal.getsignal(signal.SIGTERM) is unhandled  # main put it back
        signal.signal(signal.SIGTERM, old)
    assert rc == 128 + signal.SIGTERM, capsys.readouterr().err
    assert staging_dirs(previous.parent) == []
    assert digest(previous) == before


def test_an_interrupt_between_renames_never_mixes_two_sets(previous, monkeypatch):
    """Interrupted right after the first file system rename of the swap, OUTDIR holds one
    whole set: the old one or the new one, never new results.json with old tables."""
    import ecsnetsim.results as results_mod

    before = digest(previous)
    calls = []

    def interrupting(real):
        def wrapper(*args, **kwargs):
            out = real(*args, **kwargs)
            calls.append(args)
            if len(calls) == 1:
                raise KeyboardInterrupt
            return out
        return wrapper

    monkeypatch.setattr(os, "replace", interrupting(os.replace))
    monkeypatch.setattr(os, "rename", interrupting(os.rename))
    if hasattr(results_mod, "_exchange"):
        monkeypatch.setattr(results_mod, "_exchange", interrupting(results_mod._exchange))
    rc = main(["run", str(SMALL), "-o", str(previous), "--quiet", "--no-plots",
               "--set", "services[0].desired_count=2"])  # every table differs
    assert rc == 130 and calls
    after = digest(previous)
    same = {name: after.get(name) == before[name]
            for name in ("results.json", "placement.csv", "timeline.csv")}  # all differ
    assert all(same.values()) or not any(same.values()), same


def test_no_plots_leaves_no_figure_of_the_previous_run(previous_figures):
    out = previous_figures
    assert main(["run", str(SMALL), "-o", str(out), "--quiet", "--no-plots"]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(DATA)
    assert staging_dirs(out.parent) == []


def test_other_files_in_outdir_are_kept_and_stale_figures_removed(previous_figures):
    out = previous_figures
    (out / "notes.txt").write_text("mine\n")
    assert main(["run", str(SMALL), "-o", str(out), "--quiet", "--no-plots"]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted([*DATA, "notes.txt"])
    assert (out / "notes.txt").read_text() == "mine\n"


def test_the_swapped_in_directory_keeps_the_outdir_permissions(previous):
    previous.chmod(0o750)
    assert main(["run", str(SMALL), "-o", str(previous), "--quiet", "--no-plots"]) == 0
    assert previous.stat().st_mode & 0o7777 == 0o750


@pytest.fixture
def no_simulation(monkeypatch):
    """Fail the test if anything gets as far as simulating."""
    def refuse(*args, **kwargs):
        raise AssertionError("simulated although the run should have been refused")

    monkeypatch.setattr(sys.modules["ecsnetsim.simulate"], "simulate", refuse)


@pytest.mark.parametrize("how", ["output", "name"])
def test_a_name_over_the_file_name_limit_is_refused_before_the_run(tmp_path, capsys, how,
                                                                 no_simulation):
    long = "x" * 300
    args = ["-o", str(tmp_path / long)] if how == "output" else ["--set", f"name={long}"]
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        rc = main(["run", str(SMALL), "--quiet", *args])
    finally:
        os.chdir(cwd)
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err, err
    assert f"is 300 bytes; a file name may have at most {os.pathconf(tmp_path, 'PC_NAME_MAX')}" \
        in err
    assert list(tmp_path.iterdir()) == [] or how == "name"


def test_a_path_over_the_path_limit_is_refused_before_the_run(tmp_path, capsys, no_simulation):
    deep = tmp_path.joinpath(*(["d" * 200] * 25))
    rc = main(["run", str(SMALL), "-o", str(deep), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "the path is too long" in err


@pytest.mark.parametrize("override, over", [
    ("traffic[0].rate=1e9/s", "packets"),
    ("duration=100h", "packets"),
    ("services[0].desired_count=100000", "tasks"),
])
def test_a_run_above_the_budget_is_refused_with_the_flag_named(capsys, override, over,
                                                               no_simulation):
    start = time.monotonic()
    rc = main(["run", str(LONG), "--quiet", "--set", override])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert f"above the budget ({over} {cost.BUDGET[over]:,})" in err and "--force" in err
    assert time.monotonic() - start < 10


def test_force_runs_above_the_budget_and_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(cost.BUDGET, "tasks", 1)
    out = tmp_path / "out"
    assert main(["run", str(SMALL), "-o", str(out), "--no-plots"]) == 2
    assert not out.exists()
    capsys.readouterr()
    assert main(["run", str(SMALL), "-o", str(out), "--no-plots", "--force"]) == 0
    err = capsys.readouterr().err
    assert "--force: running 0 packets, 12 tasks, 6 instances, 2 variant(s)" in err
    assert (out / "results.json").is_file()


def test_estimate_counts_every_variant_and_scale_events():
    from ecsnetsim import load_scenario

    est = cost.estimate(load_scenario(LONG))
    sc = load_scenario(LONG)
    flows = sum(f.rate for f in sc.traffic) * sc.duration
    assert est.variants == 5 and est.packets == pytest.approx(flows * 5)
    assert est.over_budget() == []


@pytest.mark.parametrize("foreign", [False, True], ids=["set-only", "beside-other-files"])
def test_flow_logs_of_an_earlier_run_do_not_survive_a_run_without_them(tmp_path, foreign):
    """flow_logs.csv belongs to the result set: a later run without flow logs removes it,
    whether OUTDIR is swapped in whole or (with other files in it) file by file."""
    from conftest import SCENARIOS

    out = tmp_path / "out"
    if foreign:
        out.mkdir()
        (out / "notes.txt").write_text("mine")
    scenario = str(SCENARIOS / "security-groups.yaml")
    args = ["run", scenario, "--quiet", "--no-plots", "-o", str(out),
            "--set", "duration=0.05s", "--set", "warmup=0s"]
    assert main([*args, "--set", "flow_logs=true"]) == 0
    assert (out / "flow_logs.csv").is_file()
    assert main(args) == 0
    assert not (out / "flow_logs.csv").exists()
    assert (out / "results.json").is_file()
    assert (out / "notes.txt").is_file() == foreign
