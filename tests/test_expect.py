"""``expect:``: claims a scenario makes about its results, checked at load (with the
claim's line) and against every run, and the verdict ``run`` prints and writes."""

from __future__ import annotations

import functools
import json

import pytest
from conftest import SCENARIOS, make_scenario

import ecsnetsim
from ecsnetsim.cli import main
from ecsnetsim.scenario import expect

try:  # the consistency test runs every shipped scenario once: share its runs
    from test_consistency import FAST as SHARED_OVERRIDES
    from test_consistency import _run as _shared_run
except ImportError:  # pragma: no cover (that module renamed its helpers)
    SHARED_OVERRIDES, _shared_run = {}, None

PATHS = sorted(SCENARIOS.glob("*.yaml"))
#: Shorter than the file, long enough for every claim (the 400 kpps bridge point drops
#: packets only once its queue has filled).
OWN_OVERRIDES = {"bridge-contention": ["duration=0.1s", "warmup=0.02s"]}

HEAD = """\
version: 1
name: t
vpc: {subnets: [{name: a, cidr: 10.0.0.0/24, az: us-east-1a}]}
cluster: {instance_groups: [{name: g, type: c5.large, count: 1, subnet: a}]}
services:
  - {name: web, desired_count: 4, cpu: 128, memory: 128,
     containers: [{name: web, port_mappings: [{container_port: 8080}]}]}
traffic:
  - {name: ingress, from: client, to: web, port: 8080, rate: 500/s}
duration: 0.1s
compare: {network_mode: [awsvpc, bridge]}
expect:
  - "awsvpc: web.running == 2"
"""


def _scenario(tmp_path, claim: str) -> str:
    path = tmp_path / "s.yaml"
    path.write_text(HEAD + f"  - {claim}\n")
    return str(path)


@pytest.mark.parametrize(("claim", "message"), [
    ('"hostt: web.running == 4"', "no variant named 'hostt'; expected one of: awsvpc, bridge"),
    ('"bridge: api.running == 4"', "no service named 'api' in variant 'bridge'; expected one "
                                   "of: web"),
    ('"flow egress.hops > 3"', "no flow named 'egress'"),
    ('"subnet b.ips_free > 3"', "no subnet named 'b'"),
    ('"deployment web.status == COMPLETED"', "no deploy event for a service named 'web'"),
    ('"web.runing == 4"', "a service has no field 'runing'"),
    ('"flow ingress.latency.p99 < 4"', "expected flow NAME.FIELD, FIELD one of"),
    ('"web.running = 4"', "expected one comparison"),
    ('"web.running == COMPLETED"', "== compares like with like (got a number and text)"),
    ('"web.network_mode > 3"', "> compares numbers"),
    ("bridge: web.running == 4", "YAML read this claim as a mapping; quote it"),
])
def test_a_bad_claim_is_a_load_error_at_its_line(tmp_path, claim, message):
    path = _scenario(tmp_path, claim)
    with pytest.raises(ecsnetsim.ScenarioError) as err:
        ecsnetsim.load_scenario(path)
    assert str(err.value).startswith(f"{path}:14: expect[1]: "), str(err.value)
    assert message in str(err.value)


def test_validate_reports_a_bad_claim_and_exits_2(tmp_path, capsys):
    path = _scenario(tmp_path, '"bridge: flow ingres.hops > 3"')
    assert main(["validate", path]) == 2
    assert f"{path}:14: expect[1]: 'bridge: flow ingres.hops': no flow named 'ingres'" in \
        capsys.readouterr().err


def test_claims_are_checked_against_the_run():
    sc = ecsnetsim.load_scenario(make_scenario(
        duration="0.1s", compare={"network_mode": ["awsvpc", "bridge"]},
        services=[{"name": "web", "desired_count": 4, "cpu": 128, "memory": 128,
                   "containers": [{"name": "web", "port_mappings": [{"container_port": 80}]}]}],
        traffic=[{"name": "in", "to": "web", "port": 80, "rate": "500/s"}],
        expect=["awsvpc: web.running == 2",  # 3 ENIs, the primary takes one
                "awsvpc: web.failures.RESOURCE:ENI == web.desired - web.running",
                "bridge: flow in.hops > awsvpc: flow in.hops",
                "bridge: flow in.path contains docker0",
                "flow in.unreachable == 0",  # in every variant
                "web.running == 4",  # not in awsvpc
                "awsvpc: instances.eni.used.max < instances.eni.limit.max"]))
    doc = ecsnetsim.simulate(sc).document
    claims = doc["expectations"]["claims"]
    assert [c["pass"] for c in claims] == [True, True, True, True, True, False, False]
    hops = claims[2]["checks"][0]
    assert hops["left"] > hops["right"] and hops["variant"] is None
    assert [(c["variant"], c["left"]) for c in claims[5]["checks"]] == [("awsvpc", 2),
                                                                        ("bridge", 4)]
    assert doc["expectations"]["agrees"] is False
    lines = expect.verdict(doc)
    assert lines[0] == "expected: DISAGREES — web.running == 4: got awsvpc: 2"
    assert lines[1].endswith("awsvpc: instances.eni.used.max < instances.eni.limit.max: "
                             "got 3 vs 3")
    assert lines[2].strip() == "(2 of 7 claims do not hold)"


def test_run_prints_the_verdict_and_check_sets_the_exit_status(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text("# Question: how many fit?\n# Expected: 2 of 4 with awsvpc.\n" + HEAD)
    out = tmp_path / "out"
    assert main(["run", str(path), "-o", str(out), "--no-plots", "--check"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("answer: ") and lines[2] == "expected: agrees (1 claim)"
    block = json.loads((out / "results.json").read_text())["expectations"]
    assert block["question"] == "how many fit?" and block["expected"] == "2 of 4 with awsvpc."
    assert block["agrees"] is True

    path.write_text(HEAD + '  - "bridge: web.running < awsvpc: web.running"\n')
    assert main(["run", str(path), "-o", str(out), "--no-plots"]) == 0  # it ran
    assert "expected: DISAGREES — bridge: web.running < awsvpc: web.running: got 4 vs 2" \
        in capsys.readouterr().out
    assert main(["run", str(path), "-o", str(out), "--no-plots", "--check", "--quiet"]) == 3
    assert "DISAGREES" in capsys.readouterr().err
    assert json.loads((out / "results.json").read_text())["expectations"]["agrees"] is False


def test_set_that_renames_the_variants_leaves_their_claims_unchecked(tmp_path, capsys):
    path = _scenario(tmp_path, '"web.running > 0"')
    out = tmp_path / "out"
    assert main(["run", path, "-o", str(out), "--no-plots",
                 "--set", "compare={network_mode: [host]}"]) == 0
    assert "expected: agrees (1 claim; 1 not checked: no variant 'awsvpc' in this run)" in \
        capsys.readouterr().out
    claims = json.loads((out / "results.json").read_text())["expectations"]["claims"]
    assert claims[0]["pass"] is None and claims[1]["pass"] is True


@functools.cache
def _results(name: str) -> dict:
    if name in OWN_OVERRIDES or _shared_run is None:
        sc = ecsnetsim.load_scenario(SCENARIOS / f"{name}.yaml",
                                     overrides=OWN_OVERRIDES.get(name, []))
        return ecsnetsim.simulate(sc, workers=1).document
    return _shared_run(name)[1].document


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_every_shipped_scenario_states_its_expectation_as_claims_that_hold(path):
    """Each ``# Expected:`` has ``expect:`` claims, and the run agrees with all of them
    (the three scenarios the consistency test shortens keep every claim true)."""
    if "\nExpected:" not in "\n" + ecsnetsim.question(path):
        pytest.skip("no Expected: header")
    assert ecsnetsim.load_scenario(path).expect, f"{path.name} has no expect: claims"
    block = _results(path.stem)["expectations"]
    failed = [expect.failure(c) for c in block["claims"] if c["pass"] is not True]
    assert not failed and block["agrees"] is True, failed
    assert block["expected"] and block["question"]


def test_a_header_named_by_a_results_file_is_read_within_bounds(tmp_path):
    """``plot`` reads the question of the scenario a results.json names: a FIFO there is
    a clean error (no header), not a read that blocks, and bytes that are not UTF-8 do
    not stop it."""
    import os

    from ecsnetsim.errors import InputError
    from ecsnetsim.scenario import expect, question

    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="FIFO|regular"):
        question(fifo)
    assert expect.header(str(fifo)) == {}
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"# Question: caf\xe9?\nversion: 1\n")
    assert expect.header(str(latin)) == {"Question": "caf\ufffd?"}
