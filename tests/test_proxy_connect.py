"""docker-proxy's per-connection work on a hairpin: a connection's first packet crosses the
proxy's connection setup (accept, dial the container) on the instance's vCPUs, the other
packets of the connection the proxy as any packet does; packet flows are untouched."""

from __future__ import annotations

import pytest
from conftest import first_variant, hairpin_scenario

from ecsnetsim.net import connections

SETUP_US = (connections.PROXY_CONNECT_CPU + connections.PROXY_CONNECT_LATENCY) * 1e6


def _hairpin(**flow) -> dict:
    """The hairpin at 50 a second (or the connections ``flow`` gives)."""
    return first_variant(hairpin_scenario(**flow), seed=3)


def _devices(v: dict, suffix: str) -> list[dict]:
    return [d for d in v["devices"] if d["kind"] == "docker_proxy" and d["id"].endswith(suffix)]


def test_each_connection_pays_the_proxy_setup_once():
    packets = _hairpin(rate=50)
    one = _hairpin(connections={"rate": 50, "requests": 1, "hold": 0.1})
    five = _hairpin(connections={"rate": 10, "requests": 5, "hold": 0.1, "interval": 0.02})
    assert "docker_proxy" in one["flows"][0]["path"]
    # one packet a connection: every packet is a first packet, each takes the setup: the
    # same packets at the same times (and the same jitter draws) as the packet flow, each
    # later by the setup's CPU and latency (150 us), no queue at 50 a second
    p, c = packets["flows"][0], one["flows"][0]
    assert c["sent"] == p["sent"] == c["connections"]["opened"] == 150
    assert c["latency_us"]["mean"] - p["latency_us"]["mean"] == pytest.approx(SETUP_US, abs=1)
    [setup] = _devices(one, "/connect")
    assert setup["packets"] == 150 and setup["host"] == one["placement"]["instances"][0]["id"]
    assert not _devices(packets, "/connect")  # a packet flow never crosses it
    # five packets a connection: the first through the setup, four through the proxy
    [setup] = _devices(five, "/connect")
    [proxy] = [d for d in five["devices"] if d["kind"] == "docker_proxy"
               and not d["id"].endswith("/connect")]
    opened = five["flows"][0]["connections"]["opened"]
    assert setup["packets"] == opened and proxy["packets"] == 4 * opened


def test_the_setup_runs_on_the_instances_vcpus():
    one = _hairpin(connections={"rate": 50, "requests": 1, "hold": 0.1})
    packets = _hairpin(rate=50)

    def vcpu_busy(v: dict) -> float:
        [pool] = [d for d in v["devices"] if d["kind"] == "vcpu_pool"]
        return pool["utilization"] * 3.0 * 2  # window 3 s, 2 vCPUs (m5.large)

    # 150 connections x 50 us more of the instance's CPU than the same packets
    assert vcpu_busy(one) - vcpu_busy(packets) == pytest.approx(
        150 * connections.PROXY_CONNECT_CPU, rel=1e-3)
