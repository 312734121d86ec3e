"""Executors: the same results byte for byte in this process, in a local pool and on a
Dask cluster; a worker killed mid-run loses no variant; a bad --executor, a scheduler
that does not answer and a missing Dask are one clear error with exit status 2."""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from conftest import SCENARIOS, make_scenario

from ecsnetsim import executors, load_scenario, planner, simulate
from ecsnetsim.cli import main
from ecsnetsim.scenario import variants_of
from ecsnetsim.simulate import run_variant

#: The tests that start or reach a Dask cluster; the others check errors without one.
needs_dask = pytest.mark.skipif(importlib.util.find_spec("distributed") is None,
                                reason="the dask extra is not installed")


def _sweep() -> dict:
    """Three network modes, three replications: nine short runs with Poisson traffic."""
    return make_scenario(
        duration=0.05, replications=3, seed=11,
        services=[{"name": "s", "desired_count": 2, "network_mode": "bridge", "cpu": 0,
                   "memory": 1, "containers": [{"name": "c", "port_mappings": [
                       {"container_port": 80, "host_port": 0}]}]}],
        traffic=[{"name": "f", "to": "s", "rate": "3000/s", "size": 200}],
        compare={"variants": [{"name": "host", "set": {"network_mode": "host"}},
                              {"name": "bridge", "set": {"network_mode": "bridge"}},
                              {"name": "awsvpc", "set": {"network_mode": "awsvpc"}}]})


@pytest.fixture(scope="module")
def cluster():
    """One LocalCluster of two workers for the tests that share it (starting one takes
    seconds)."""
    with executors.DaskExecutor(workers=2) as ex:
        yield ex


@needs_dask
def test_dask_results_equal_local_byte_for_byte():
    finished: list[str] = []
    on_dask = simulate(_sweep(), executor="dask", workers=2, progress=finished.append)
    serial = simulate(_sweep(), workers=1)
    pool = simulate(_sweep(), workers=2)
    assert on_dask.to_json() == serial.to_json() == pool.to_json()
    assert on_dask.to_json() != simulate(_sweep(), seed=12, workers=1).to_json()
    assert sorted(finished) == sorted(["host", "bridge", "awsvpc"] * 3)
    assert [v["name"] for v in on_dask.variants] == ["host", "bridge", "awsvpc"]
    assert on_dask.variants[0]["replications"] == 3


@needs_dask
def test_precision_adds_the_same_replications_on_a_cluster(cluster):
    """Replications are added a batch at a time on a cluster, kept up to the first that is
    precise enough: the answer of adding them one at a time."""
    sc = make_scenario(
        duration=0.05, seed=4,
        traffic=[{"name": "f", "to": "s", "rate": "5000/s", "size": 200}],
        services=[{"name": "s", "desired_count": 1, "network_mode": "bridge", "cpu": 0,
                   "memory": 1, "containers": [{"name": "c", "port_mappings": [
                       {"container_port": 80, "host_port": 80}]}]}])
    one_by_one = simulate(sc, workers=1, precision=0.05)
    batched = simulate(sc, executor=cluster, precision=0.05)
    assert one_by_one.variants[0]["replications"] == 9  # odd: the last batch of two is cut
    assert batched.to_json() == one_by_one.to_json()


def _crash_once(marker: str, spec, seed: int) -> dict:
    """A job that kills its own worker process the first time any job runs (as the
    out-of-memory killer would), and simulates normally after."""
    if not os.path.exists(marker):
        with open(marker, "w"):
            pass
        os._exit(1)
    return run_variant(spec, seed)


def _always_crash(_spec, _seed: int) -> dict:
    os._exit(1)


def _jobs():
    specs = variants_of(load_scenario(_sweep()))
    jobs = [(spec, seed) for seed in (11, 12) for spec in specs]
    return jobs, list(range(len(jobs)))


def _text(results: list[dict]) -> str:
    return json.dumps(results, sort_keys=True)


@needs_dask
def test_a_killed_dask_worker_loses_no_variant(cluster, tmp_path):
    jobs, order = _jobs()
    expected = executors.LocalExecutor(1).map(run_variant, jobs, order)
    crash = functools.partial(_crash_once, str(tmp_path / "crashed"))
    got = cluster.map(crash, jobs, order)
    assert (tmp_path / "crashed").exists()  # a worker did die
    assert _text(got) == _text(expected)


def test_a_killed_pool_worker_loses_no_variant(tmp_path, capsys):
    jobs, order = _jobs()
    expected = executors.LocalExecutor(1).map(run_variant, jobs, order)
    done: list[int] = []
    crash = functools.partial(_crash_once, str(tmp_path / "crashed"))
    got = executors.LocalExecutor(2).map(crash, jobs, order, done.append)
    assert _text(got) == _text(expected)
    assert sorted(done) == order  # each job reported finished once
    assert "a worker process died" in capsys.readouterr().err


def test_a_job_that_always_kills_its_worker_ends_the_run():
    jobs, order = _jobs()
    with pytest.raises(executors.WorkerLost, match="killed"):
        executors.LocalExecutor(2).map(_always_crash, jobs[:2], order[:2])


@needs_dask
def test_plan_on_a_cluster_gives_the_local_answer(cluster):
    dynamic = ["services[0].containers[0].port_mappings[0].host_port=0"]
    here = planner.plan(SCENARIOS / "plan-ports.yaml", "hosts", max_count=16,
                        overrides=dynamic)
    there = planner.plan(SCENARIOS / "plan-ports.yaml", "hosts", max_count=16,
                         overrides=dynamic, executor=cluster)
    assert there == here and here["rows"][0]["count"] == 8
    assert cluster.client is not None  # the caller's cluster is left running


@needs_dask
def test_run_on_a_running_scheduler_by_address(cluster, tmp_path, scenario_dir):
    """``--executor dask://HOST:PORT`` connects to a scheduler already running (here the
    shared LocalCluster's) and writes the local pool's results.json."""
    address = cluster.cluster.scheduler_address.removeprefix("tcp://")
    scenario = str(scenario_dir / "compare-modes.yaml")
    flags = ["--replications", "2", "--set", "duration=0.2s", "--set", "warmup=0s",
             "--no-plots", "--quiet"]
    assert main(["run", scenario, "-o", str(tmp_path / "there"), *flags,
                 "--executor", f"dask://{address}"]) == 0
    assert main(["run", scenario, "-o", str(tmp_path / "here"), *flags]) == 0
    there = (tmp_path / "there" / "results.json").read_text()
    assert there == (tmp_path / "here" / "results.json").read_text()


def _children(pid: int) -> list[int]:
    """Live processes whose parent is ``pid`` (from /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                out.append(int(entry))
    return out


@needs_dask
@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs /proc")
def test_ctrl_c_shuts_the_local_cluster_down(tmp_path):
    """Ctrl-C (SIGINT to the whole process group, workers included) mid-sweep: exit 130
    with the one-line message, no traceback from any worker, every worker gone."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "ecsnetsim", "run", str(SCENARIOS / "compare-modes.yaml"),
         "-o", str(tmp_path / "out"), "--quiet", "--force", "--set", "duration=600s",
         "--executor", "dask", "--workers", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while len(_children(proc.pid)) < 3 and time.monotonic() < deadline:  # tracker + 2
        time.sleep(0.1)
    started = _children(proc.pid)
    assert len(started) >= 3, "the cluster's workers did not start"
    time.sleep(3)  # the workers import and take their first jobs
    os.killpg(proc.pid, signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "stopped by SIGINT" in err and "Traceback" not in err
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in started) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in started if _alive(p)]
    assert not (tmp_path / "out").exists()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@needs_dask
def test_an_unreachable_scheduler_is_one_line_and_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(executors, "CONNECT_TIMEOUT_S", 1.0)
    port = _closed_port()
    rc = main(["run", str(SCENARIOS / "plan-ports.yaml"), "-o", str(tmp_path / "out"),
               "--executor", f"dask://127.0.0.1:{port}"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith(f"ecsnetsim: error: --executor dask://127.0.0.1:{port}: no Dask "
                          "scheduler answered within 1 s")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("value, message", [
    ("bogus", "expected local, dask or dask://HOST:PORT"),
    ("dask://", "expected dask://HOST:PORT"),
    ("dask://10.0.0.5", "expected dask://HOST:PORT"),
    ("dask://10.0.0.5:0", "port from 1 to 65535"),
    ("dask://h:8786/x", "expected dask://HOST:PORT"),
])
@pytest.mark.parametrize("command", ["run", "plan"])
def test_a_bad_executor_exits_2(tmp_path, capsys, command, value, message):
    args = [command, str(SCENARIOS / "plan-ports.yaml"), "-o", str(tmp_path / "out"),
            "--executor", value] + (["--group", "hosts"] if command == "plan" else [])
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("ecsnetsim: error: --executor") and message in err
    assert err.count("\n") == 1


def test_dask_not_installed_names_the_extra(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    assert main(["run", str(SCENARIOS / "plan-ports.yaml"), "-o", str(tmp_path),
                 "--executor", "dask"]) == 2
    err = capsys.readouterr().err
    assert "pip install -e '.[dask]'" in err and "Traceback" not in err
    with pytest.raises(executors.InputError, match=r"\.\[dask\]"):
        simulate(_sweep(), executor="dask")


def test_parse_reads_the_three_forms():
    assert executors.parse("local") == ("local", None)
    assert executors.parse(" DASK ") == ("dask", None)
    assert executors.parse("dask://scheduler.internal:8786") == ("dask",
                                                                  "scheduler.internal:8786")
    assert executors.parse("dask://[::1]:8786") == ("dask", "[::1]:8786")


def test_workers_lost_for_good_is_one_line_not_a_traceback(monkeypatch, tmp_path, capsys):
    """Worker processes killed from outside again and again: the run gives up with one
    line saying so (exit 1: the machine, not the input)."""
    import importlib

    from ecsnetsim import cli
    from ecsnetsim.executors import WorkerLost

    def lost(*_a, **_k):
        raise WorkerLost("worker processes were killed 4 times while running the jobs")

    monkeypatch.setattr(importlib.import_module("ecsnetsim.simulate"), "simulate", lost)
    code = cli.main(["run", str(SCENARIOS / "binpack-vs-spread.yaml"), "--quiet",
                     "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1
    assert err.strip() == ("ecsnetsim: error: worker processes were killed 4 times while "
                           "running the jobs")
    assert not (tmp_path / "out").exists()
