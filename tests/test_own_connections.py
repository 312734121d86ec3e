"""An instance's own outbound connections (the agent's, Docker's): they hold host ephemeral
ports and host conntrack entries as Little's law says (rate x hold), and a dynamic host
port they hold collides with a bridge task's start when the ranges overlap, never when
they do not."""

from __future__ import annotations

import pytest
from conftest import PRIVATE_VPC, first_variant, make_scenario


def _scenario(own: dict | None, eph: str, dyn: str | None, tasks: int = 1,
              duration: float = 140) -> dict:
    """One m5.xlarge whose own connections (no task makes them) hold host ports; a bridge
    service with a dynamic host port scaled to ``tasks`` at 60 s (Docker picks the ports,
    blind to the kernel's)."""
    group = {"name": "g", "type": "m5.xlarge", "count": 1, "subnet": "private-a",
             "ephemeral_port_range": eph, "agent_assigns_host_ports": False,
             "own_connections": own}
    if dyn:
        group["dynamic_host_port_range"] = dyn
    return make_scenario(
        duration=duration, vpc=PRIVATE_VPC, cluster={"instance_groups": [group]},
        services=[{"name": "web", "desired_count": 1, "network_mode": "bridge", "cpu": 4,
                   "memory": 16,
                   "containers": [{"name": "w", "port_mappings": [{"container_port": 80}]}]}],
        events=[{"at": 60, "scale": "web", "desired_count": tasks}])


def test_ports_and_entries_held_as_littles_law_says():
    # 10/s held 50 s: 500 open on average (Poisson arrivals: the peak a few standard
    # deviations, sqrt(500) = 22, above it over the run)
    v = first_variant(_scenario({"rate": 10, "hold": 50}, "40000-40999", None, duration=100))
    inst = v["placement"]["instances"][0]
    assert 500 <= inst["ephemeral_ports"]["peak"] <= 500 + 5 * 22
    assert inst["conntrack"]["peak"] == inst["ephemeral_ports"]["peak"]
    assert inst["ephemeral_ports"]["exhausted"] == 0 and inst["conntrack"]["dropped"] == 0


def test_a_full_range_refuses_them_by_name():
    # 10/s held 50 s wants 500 ports of a range of 100: the rest EADDRNOTAVAIL
    v = first_variant(_scenario({"rate": 10, "hold": 50}, "40000-40099", "41000-41099",
                       duration=100))
    inst = v["placement"]["instances"][0]
    assert inst["ephemeral_ports"]["peak"] == 100
    assert inst["ephemeral_ports"]["exhausted"] > 0


def test_disjoint_ranges_never_collide():
    v = first_variant(_scenario({"rate": 10, "hold": 50}, "40000-40999", "41000-41999", tasks=80))
    web = v["placement"]["services"][0]
    assert web["launch_failures"] == {} and web["running"] == 80


def test_overlapping_ranges_collide_at_the_share_of_ports_held():
    # about half of the 1000 ports held; Docker picks in turn, blind to them: about half
    # of the starts fail, and the service retries them
    runs = [first_variant(_scenario({"rate": 10, "hold": 50}, "40000-40999", None, tasks=80),
                          seed=s) for s in (1, 2)]
    failed = sum(v["placement"]["services"][0]["launch_failures"].get(
        "port is already allocated", 0) for v in runs)
    started = sum(v["placement"]["services"][0]["running"] - 1 for v in runs)
    held = runs[0]["placement"]["instances"][0]["ephemeral_ports"]["peak"] / 1000
    assert failed / (failed + started) == pytest.approx(held, abs=0.12)


def test_without_them_nothing_changes():
    sc = _scenario(None, "40000-40999", None, duration=10)
    del sc["events"]
    v = first_variant(sc)
    assert "ephemeral_ports" not in v["placement"]["instances"][0]


def test_bad_own_connections_are_a_located_error(tmp_path, capsys):
    import json

    from conftest import run_cli

    sc = _scenario({"rate": 0, "hold": 50}, "40000-40999", None)
    path = tmp_path / "bad.yaml"
    path.write_text(json.dumps(sc))
    rc, _out, err = run_cli(capsys, "validate", path)
    assert rc == 2 and "cluster.instance_groups[0].own_connections.rate" in err
    assert "Traceback" not in err
