"""Tests that notice a small change to the core: one task more than ``maximum_percent``
during a rolling update, and ``results.json`` replaced before the tables it describes
when a result set is updated file by file."""

from __future__ import annotations

import json
import os

import pytest
from conftest import make_scenario

from ecsnetsim import load_scenario, simulate
from ecsnetsim.errors import InputError


def _rolling(maximum_percent: int, desired: int = 4):
    """A load-balanced service (health checks of its own: new tasks turn healthy after
    two checks 5 s apart, old ones stay until then) rolled out at 60 s, with room for
    every task the maximum allows."""
    doc = make_scenario(
        duration="10min",
        cluster={"instance_groups": [{"name": "g", "type": "c5.2xlarge", "count": 3,
                                      "subnet": "a"}]},
        services=[{"name": "web", "desired_count": desired, "network_mode": "bridge",
                   "cpu": 256, "memory": 256, "deregistration_delay": "0s",
                   "health_check": {"interval": "5s", "healthy_threshold": 2},
                   "deployment": {"minimum_healthy_percent": 100,
                                  "maximum_percent": maximum_percent},
                   "containers": [{"name": "c", "port_mappings": [{"container_port": 80}]}]}],
        events=[{"at": "60s", "deploy": "web", "set": {"cpu": 300}}])
    (v,) = simulate(load_scenario(doc), workers=1).variants
    return v


@pytest.mark.parametrize("maximum_percent, desired", [(125, 4), (150, 4), (200, 3), (110, 10)])
def test_a_rolling_update_reaches_maximum_percent_and_never_passes_it(maximum_percent,
                                                                      desired):
    """ECS: during a deployment at most floor(desired * maximumPercent / 100) tasks run.
    With minimum healthy 100 % and capacity to spare, the update uses all of that room:
    the timeline's old and new running tasks reach the bound exactly, in
    ceil(desired / room) waves."""
    v = _rolling(maximum_percent, desired)
    bound = desired * maximum_percent // 100
    running = [p["running_old"] + p["running_new"] + p["draining"] for p in v["timeline"]]
    assert max(running) == bound, (max(running), bound)
    (dep,) = v["deployments"]
    assert dep["status"] == "COMPLETED"
    assert dep["waves"] == -(-desired // (bound - desired))


def test_results_json_is_replaced_last_when_a_set_is_updated_file_by_file(tmp_path,
                                                                         monkeypatch):
    """An OUTDIR holding a file of the user's is updated file by file. If the update stops
    halfway, the results.json found there must still be the old one (a reader trusts the
    tables beside the results.json it finds): it is replaced last."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    first = simulate(load_scenario(make_scenario(seed=1)), workers=1)
    first.save(out)
    old = (out / "results.json").read_text()
    second = simulate(load_scenario(make_scenario(seed=2)), workers=1)
    moved: list[str] = []
    real = os.replace

    def replace(src, dst):
        name = os.path.basename(dst)
        if moved and name != "results.json" and len(moved) == 2:
            raise OSError(28, "No space left on device")
        moved.append(name)
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(InputError, match="No space left"):
        second.save(out)
    assert "results.json" not in moved
    assert (out / "results.json").read_text() == old
    monkeypatch.setattr(os, "replace", real)
    moved.clear()
    written = second.save(out)
    assert json.loads((out / "results.json").read_text())["seed"] == 2
    assert (out / "notes.txt").read_text() == "mine" and out / "results.json" in written


@pytest.mark.parametrize("resource", ["cpu", "memory"])
def test_a_task_that_needs_exactly_what_is_left_is_placed(resource):
    """ECS places a task where its CPU and memory are at most what the instance has free:
    two services filling one instance's registered CPU (or memory) exactly both run, and
    one unit more leaves the second unplaced on RESOURCE:CPU (RESOURCE:MEMORY)."""
    def run(extra: int):
        doc = make_scenario()
        (v,) = simulate(load_scenario(doc), workers=1).variants
        limit = int(v["placement"]["instances"][0][resource]["limit"])
        other = "memory" if resource == "cpu" else "cpu"
        services = [{"name": name, "desired_count": 1, "network_mode": "bridge",
                     resource: need, other: 1}
                    for name, need in (("big", limit - 1), ("small", 1 + extra))]
        (v,) = simulate(load_scenario(make_scenario(services=services)), workers=1).variants
        return v

    v = run(0)
    assert [s["running"] for s in v["placement"]["services"]] == [1, 1]
    assert v["placement"]["instances"][0][resource]["used"] == \
        v["placement"]["instances"][0][resource]["limit"]
    v = run(1)
    small = v["placement"]["services"][1]
    assert small["running"] == 0
    assert small["failures"] == {f"RESOURCE:{resource.upper()}": 1}


def test_minimum_healthy_percent_rounds_up():
    """ECS keeps ceil(desired * minimumHealthyPercent / 100) tasks healthy during a
    rolling update: 3 tasks at 50 % keep 2 (not 1), and with no room above desired
    (maximum 100 %) the update stops one old task at a time."""
    doc = make_scenario(
        duration="15min",
        cluster={"instance_groups": [{"name": "g", "type": "c5.2xlarge", "count": 3,
                                      "subnet": "a"}]},
        services=[{"name": "web", "desired_count": 3, "network_mode": "bridge",
                   "cpu": 256, "memory": 256, "deregistration_delay": "0s",
                   "health_check": {"interval": "5s", "healthy_threshold": 2},
                   "deployment": {"minimum_healthy_percent": 50, "maximum_percent": 100},
                   "containers": [{"name": "c", "port_mappings": [{"container_port": 80}]}]}],
        events=[{"at": "60s", "deploy": "web", "set": {"cpu": 300}}])
    (v,) = simulate(load_scenario(doc), workers=1).variants
    (dep,) = v["deployments"]
    assert dep["status"] == "COMPLETED"
    assert dep["min_healthy_observed"] == 2
    # completed once every new task is healthy (the last one started after the last old
    # task stopped, so it is the last to turn healthy), not one task before
    at_end = [p for p in v["timeline"] if p["t"] <= dep["finished_at"]][-1]
    assert (at_end["running_old"], at_end["running_new"], at_end["healthy"]) == (0, 3, 3)


def test_the_closest_instance_among_equals_is_the_first_in_cluster_order():
    """Every instance is full on CPU: ECS names one closest matching instance, here the
    first of the cluster (all got equally far)."""
    doc = make_scenario(
        cluster={"instance_groups": [{"name": "g", "type": "c5.large", "count": 3,
                                      "subnet": "a"}]},
        services=[{"name": "s", "desired_count": 4, "network_mode": "bridge", "cpu": 2048,
                   "memory": 1}])
    (v,) = simulate(load_scenario(doc), workers=1).variants
    first = v["placement"]["instances"][0]["id"]
    (unplaced,) = v["placement"]["unplaced"]
    assert unplaced["reason"] == "RESOURCE:CPU"
    assert unplaced["closest"] == first
    assert f"The closest matching container-instance {first} " in \
        next(e["message"] for e in v["placement"]["events"] if "unable" in e["message"])


def test_where_directories_cannot_be_exchanged_a_failed_swap_keeps_the_old_set(
        tmp_path, monkeypatch):
    """Without renameat2's exchange (another kernel or file system) the new set is put
    in place with two renames; if the second fails, the old set is put back."""
    from ecsnetsim import results

    out = tmp_path / "out"
    simulate(load_scenario(make_scenario(seed=1)), workers=1).save(out)
    old = (out / "results.json").read_text()
    monkeypatch.setattr(results, "_exchange", lambda a, b: False)
    real = os.rename

    def rename(src, dst):
        if os.fspath(dst) == os.fspath(out) and "old-" not in os.path.basename(src):
            # the new set into place (not the old one put back)
            raise OSError(28, "No space left on device")
        real(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(InputError, match="No space left"):
        simulate(load_scenario(make_scenario(seed=2)), workers=1).save(out)
    assert (out / "results.json").read_text() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # nothing left beside


def test_a_stop_signal_during_the_swap_lands_after_it(tmp_path, monkeypatch):
    """SIGINT/SIGTERM/SIGHUP are held back for the few system calls of a swap: one sent
    while the new set is put in place is handled once it is there, never between."""
    import signal
    import threading

    from ecsnetsim import results

    out = tmp_path / "out"
    simulate(load_scenario(make_scenario(seed=1)), workers=1).save(out)
    seen: list[int] = []
    real_exchange = results._exchange

    def exchange(a, b):
        # arrives in the middle of the swap (sent to this thread: a signal to the process
        # may be taken by another thread, where it is not held back)
        signal.pthread_kill(threading.get_ident(), signal.SIGHUP)
        return real_exchange(a, b)

    def handler(signum, frame):
        seen.append(json.loads((out / "results.json").read_text())["seed"])

    monkeypatch.setattr(results, "_exchange", exchange)
    previous = signal.signal(signal.SIGHUP, handler)
    try:
        simulate(load_scenario(make_scenario(seed=2)), workers=1).save(out)
    finally:
        signal.signal(signal.SIGHUP, previous)
    assert seen == [2]  # handled with the new set in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # the old set removed
