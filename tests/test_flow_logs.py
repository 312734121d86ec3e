"""VPC flow logs: the 14 fields of version 2, source ports from the sender's ephemeral
range fixed by the seed, and the load balancers' health checks logged, ACCEPT and REJECT
(the REJECT a user looks for when targets never turn healthy)."""

from __future__ import annotations

import functools

from conftest import SCENARIOS

from ecsnetsim import load_scenario, simulate
from ecsnetsim.net.flowlogs import EPHEMERAL
from ecsnetsim.results import FLOW_LOG_COLUMNS

V2_FIELDS = ["version", "account_id", "interface_id", "srcaddr", "dstaddr", "srcport",
             "dstport", "protocol", "packets", "bytes", "start", "end", "action",
             "log_status"]


@functools.cache
def _run(seed: int = 13):
    sc = load_scenario(SCENARIOS / "security-groups.yaml",
                       overrides=["flow_logs=true", "duration=2s", "warmup=0s"])
    return simulate(sc, seed=seed, workers=1)


def _variant(res, name):
    return next(v for v in res.variants if v["name"] == name)


def _lb_ips(v) -> set[str]:
    """The balancer nodes' addresses: the source of every record at a balancer's ENI."""
    return {r["srcaddr"] for r in v["flow_logs"] if r["interface_id"].startswith("eni-lb-")}


def test_every_record_has_the_fourteen_v2_fields_in_order():
    res = _run()
    assert FLOW_LOG_COLUMNS == ["variant", *V2_FIELDS]
    for v in res.variants:
        assert v["flow_logs"]
        for r in v["flow_logs"]:
            assert list(r) == V2_FIELDS
            assert r["version"] == 2 and r["log_status"] == "OK"
            assert r["action"] in ("ACCEPT", "REJECT")
            assert isinstance(r["start"], int) and isinstance(r["end"], int)
            assert 0 <= r["start"] <= r["end"] <= v["end"] + 1, r


def test_source_ports_come_from_the_senders_ephemeral_range_and_the_seed():
    res = _run()
    v = _variant(res, "awsvpc")
    lbs = _lb_ips(v)
    client = [r for r in v["flow_logs"] if r["interface_id"] == "eni-client"]
    assert client
    low, high = EPHEMERAL["linux"]
    assert all(low <= r["srcport"] <= high for r in client)
    from_lb = [r for r in v["flow_logs"] if r["srcaddr"] in lbs]
    assert from_lb
    low, high = EPHEMERAL["elb"]
    assert all(low <= r["srcport"] <= high for r in from_lb)
    # an ALB opens connections of its own: not the client's port
    assert {r["srcport"] for r in from_lb}.isdisjoint({r["srcport"] for r in client})
    again, other = _run(13), _run(14)
    ports = [r["srcport"] for r in v["flow_logs"]]
    assert ports == [r["srcport"] for r in _variant(again, "awsvpc")["flow_logs"]]
    assert ports != [r["srcport"] for r in _variant(other, "awsvpc")["flow_logs"]]
    assert 50000 not in ports


def test_health_checks_that_a_security_group_drops_are_logged_as_reject():
    """hosts-8080 opens 8080 only, bridge targets register dynamic host ports: every check
    is rejected at the instances' ENIs, at least unhealthy_threshold (2) per stopped task;
    with the dynamic range open no check is rejected, and awsvpc targets accept theirs."""
    res = _run()
    v = _variant(res, "bridge hosts-8080")
    (svc,) = v["placement"]["services"]
    lbs = _lb_ips(v)
    rejected = [r for r in v["flow_logs"] if r["action"] == "REJECT"]
    assert rejected and all(r["srcaddr"] in lbs for r in rejected)
    assert all(r["interface_id"].startswith("eni-0") for r in rejected)  # instances' ENIs
    assert all(EPHEMERAL["linux"][0] <= r["dstport"] <= EPHEMERAL["linux"][1] for r in rejected)
    assert sum(r["packets"] for r in rejected) >= 2 * svc["stopped"]["ELB:UNHEALTHY"]
    assert all(r["bytes"] == 60 * r["packets"] for r in rejected)
    assert not any(r["action"] == "REJECT" for r in _variant(res, "bridge hosts-dynamic")
                   ["flow_logs"])
    ok = _variant(res, "awsvpc")
    checks = [r for r in ok["flow_logs"] if r["srcaddr"] in _lb_ips(ok)
              and r["interface_id"].startswith("eni-web-") and r["bytes"] == 60 * r["packets"]]
    assert checks and all(r["action"] == "ACCEPT" and r["dstport"] == 8080 for r in checks)


def test_a_windows_sender_uses_the_windows_dynamic_range():
    """Tasks on Windows instances send from 49152-65535; the client (a Linux host) from
    32768-60999."""
    sc = load_scenario(SCENARIOS / "windows-default.yaml",
                       overrides=["flow_logs=true", "duration=0.2s", "warmup=0s"])
    res = simulate(sc, workers=1)
    for v in res.variants:
        assert {i["os"] for i in v["placement"]["instances"]} == {"windows"}
        lbs = _lb_ips(v)
        client_ip = next(r["srcaddr"] for r in v["flow_logs"]
                         if r["interface_id"] == "eni-client")
        sent = {(r["srcaddr"], r["srcport"]) for r in v["flow_logs"]}
        client = {p for a, p in sent if a == client_ip}
        others = {p for a, p in sent if a != client_ip and a not in lbs}
        assert client and others
        assert all(32768 <= p <= 60999 for p in client)
        assert all(49152 <= p <= 65535 for p in others)
