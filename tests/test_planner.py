"""The capacity planner: its counts match answers derived by hand from the per-instance
limits (host ports, CPU, ENIs, trunk branches), an SLO tightens them, and bad input is
one clear error with exit status 2."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import pytest
import yaml
from conftest import SCENARIOS, make_scenario

from ecsnetsim import InputError, planner
from ecsnetsim.cli import main

PLAN_PORTS = SCENARIOS / "plan-ports.yaml"
DYNAMIC = "services[0].containers[0].port_mappings[0].host_port=0"


def _write(tmp_path, doc: dict, name: str = "s.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc))
    return path


def _awsvpc(tmp_path, tasks: int, trunking: bool):
    doc = make_scenario(
        account={"awsvpc_trunking": trunking},
        services=[{"name": "api", "desired_count": tasks, "network_mode": "awsvpc",
                   "cpu": 16, "memory": 32}])
    return _write(tmp_path, doc)


def _row(result: dict) -> dict:
    assert len(result["rows"]) == 1
    return result["rows"][0]


def test_static_host_port_takes_one_instance_per_copy(tmp_path):
    result = planner.plan(PLAN_PORTS, "hosts")
    row = _row(result)
    assert row["type"] == "m5.large"
    assert row["count"] == 30 and row["binding"] == "RESOURCE:PORTS"
    assert row["running"] == row["desired"] == 30
    assert row["ports"] == 30 and row["enis"] == 30


def test_dynamic_ports_are_cpu_bound():
    row = _row(planner.plan(PLAN_PORTS, "hosts", overrides=[DYNAMIC]))
    per_instance = 2048 // 512  # m5.large: 2 vCPU = 2048 units; tasks of 512
    assert row["count"] == math.ceil(30 / per_instance) == 8
    assert row["binding"] == "RESOURCE:CPU"


def test_awsvpc_without_trunking_is_max_enis_minus_one(tmp_path):
    row = _row(planner.plan(_awsvpc(tmp_path, 7, False), "g", max_count=20))
    assert row["count"] == math.ceil(7 / 2)  # c5.large: 3 ENIs, the primary takes one
    assert row["binding"] == "RESOURCE:ENI" and row["enis"] == 4 + 7


def test_awsvpc_with_trunking_is_the_trunking_table(tmp_path):
    row = _row(planner.plan(_awsvpc(tmp_path, 23, True), "g", max_count=20))
    assert row["count"] == math.ceil(23 / 10)  # c5.large with trunking: 10 tasks
    assert row["branches"] == 23


def test_several_types_and_a_max_that_is_not_enough(tmp_path):
    result = planner.plan(PLAN_PORTS, "hosts", types=["m5.large", "M5.XLARGE"], max_count=20,
                          overrides=[DYNAMIC])
    rows = {r["type"]: r for r in result["rows"]}
    assert rows["m5.large"]["count"] == 8 and rows["m5.xlarge"]["count"] == 4
    short = _row(planner.plan(PLAN_PORTS, "hosts", max_count=5))
    assert short["count"] is None and short["binding"] == "RESOURCE:PORTS"
    assert short["running"] == 5 and "not reached with 5" in short["note"]


SLO_SCENARIO = make_scenario(
    duration="0.02s", warmup="0.005s", seed=3,
    services=[{"name": "web", "desired_count": 8, "network_mode": "bridge", "cpu": 256,
               "memory": 256, "containers": [{"name": "web", "port_mappings": [
                   {"container_port": 8080, "host_port": 0}]}]}],
    traffic=[{"name": "load", "from": "client", "to": "web", "port": 8080,
              "rate": "400000/s", "size": 200}])


def test_an_slo_tightens_the_answer(tmp_path):
    path = _write(tmp_path, SLO_SCENARIO)
    # 8 tasks of 256 fill one c5.large's 2048 units, but 400 kpps of bridge packets
    # saturate its 2 vCPUs: the p99 is milliseconds there, tens of us on two.
    loose = _row(planner.plan(path, "g", max_count=8))
    assert loose["count"] == 1
    tight = _row(planner.plan(path, "g", max_count=8, slos=["load:p99<100us"]))
    assert tight["count"] >= 2 and tight["binding"] == "SLO:load"
    assert tight["p99_us"]["load"] < 100


def test_bisection_falls_back_to_a_linear_scan_where_not_monotone():
    holds = {3, 8} | set(range(12, 17))

    class Fake:
        def __init__(self):
            self.seen = {}

        def __call__(self, n):
            self.seen[n] = SimpleNamespace(ok=n in holds)
            return self.seen[n]

    count, note = planner._bisect(Fake(), 16)
    assert count == 3 and "linear scan" in note
    count, note = planner._bisect(Fake(), 2)
    assert count is None and note is None


def test_cli_prints_the_table_and_writes_plan_json(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["plan", str(PLAN_PORTS), "--group", "hosts", "--set", DYNAMIC,
                 "--types", "m5.large", "--max", "16", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "m5.large" in text and "RESOURCE:CPU" in text and "plan.json" in text
    doc = json.loads((out / "plan.json").read_text())
    assert doc["group"] == "hosts"
    assert doc["rows"][0].items() >= {"type": "m5.large", "count": 8, "binding": "RESOURCE:CPU",
                                      "running": 30, "desired": 30}.items()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".ecsnetsim-")]


@pytest.mark.parametrize("args, message", [
    (["--group", "nope"], "no such instance group"),
    (["--group", "hosts", "--types", "zz9.huge"], "unknown instance type"),
    (["--group", "hosts", "--types", ","], "comma-separated"),
    (["--group", "hosts", "--slo", "ingress:p50<3us"], "FLOW:p99<VALUE"),
    (["--group", "hosts", "--slo", "ingress:p99<fast"], "duration"),
    (["--group", "hosts", "--slo", "ingress:p99<200us"], "no flow 'ingress'"),
])
def test_bad_input_exits_2(tmp_path, capsys, args, message):
    assert main(["plan", str(PLAN_PORTS), *args, "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ecsnetsim: error:") and message in err and "Traceback" not in err


def test_a_scenario_with_variants_is_refused(tmp_path, capsys):
    assert main(["plan", str(SCENARIOS / "compare-modes.yaml"), "--group", "web-hosts",
                 "-o", str(tmp_path)]) == 2
    assert "compare" in capsys.readouterr().err
    with pytest.raises(InputError, match="sweep"):
        planner.plan(SCENARIOS / "eni-trunking-sizes.yaml", "host")


def test_parse_slo_reads_units():
    slo = planner.parse_slo(" ingress : p99 < 1.5ms ")
    assert slo.flow == "ingress" and slo.limit_us == pytest.approx(1500)


def test_more_instances_can_be_worse_the_search_goes_up_from_one():
    """With trunking each c5.large takes two subnet IPs: 200 of them exhaust a /24, so the
    largest count fails while a small one holds; the plan still finds the small one."""
    aw = ["services[0].network_mode=awsvpc",
          "services[0].containers[0].port_mappings[0].host_port=8080",
          "account.awsvpc_trunking=true"]
    (row,) = planner.plan(PLAN_PORTS, group="hosts", types=["c5.large"], overrides=aw)["rows"]
    assert row["count"] is not None and row["count"] < 30 and row["running"] == 30
    assert row["binding"] != "RESOURCE:ENI"
    assert "200 instances do not hold" in row["note"]


def test_the_worst_case_estimate_is_the_search_that_climbs_to_max():
    """Static ports need 30: with --max 30 the search climbs all the way, and simulates
    exactly the counts the estimate assumed."""
    (row,) = planner.plan(PLAN_PORTS, "hosts", max_count=30)["rows"]
    assert row["count"] == 30
    counts = planner.search_counts(30)
    assert row["simulations"] == len(counts) and counts[-1] == 30
    est = planner.estimate(PLAN_PORTS, 0, ["m5.large", "c5.large"], 30, [])
    assert est.tasks == 2 * 30 * len(counts) and est.variants == 2 * len(counts)
    assert est.instances == 30  # what one simulation holds at most


def test_plan_refuses_a_search_above_the_budget_unless_forced(tmp_path, capsys):
    # 10,000 tasks in each of the ~17 simulations of a search up to 200: 170,000 tasks
    big = ["--set", "services[0].desired_count=10000"]
    out = tmp_path / "out"
    assert main(["plan", str(PLAN_PORTS), "--group", "hosts", *big, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ecsnetsim: error: {PLAN_PORTS}: this plan's search is estimated")
    assert "tasks" in err and "--force" in err and "Traceback" not in err
    assert not out.exists()


def test_plan_force_runs_above_the_budget_and_says_so(tmp_path, capsys, monkeypatch):
    from ecsnetsim import cost

    monkeypatch.setitem(cost.BUDGET, "tasks", 100)  # the search below places 30 x 10
    args = ["plan", str(PLAN_PORTS), "--group", "hosts", "--max", "16", "--set", DYNAMIC,
            "-o", str(tmp_path / "out")]
    assert main(args) == 2
    assert "--force" in capsys.readouterr().err
    assert main([*args, "--force"]) == 0
    captured = capsys.readouterr()
    assert "ecsnetsim: --force: running" in captured.err and "RESOURCE:CPU" in captured.out
