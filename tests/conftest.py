"""Shared helpers: small scenarios built as dicts, and the scenarios directory."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"


def make_scenario(**over) -> dict:
    """A one-subnet, one-group, one-service scenario; keyword overrides replace sections."""
    base = {
        "version": 1,
        "name": "t",
        "duration": 0,
        "vpc": {"subnets": [{"name": "a", "cidr": "10.0.0.0/16", "az": "us-east-1a"}]},
        "cluster": {"instance_groups": [{"name": "g", "type": "c5.large", "count": 1,
                                         "subnet": "a"}]},
        "services": [{"name": "s", "desired_count": 1, "network_mode": "bridge", "cpu": 0,
                      "memory": 1}],
    }
    out = copy.deepcopy(base)
    out.update(copy.deepcopy(over))
    return out


#: A VPC with a public subnet (internet gateway) and a private one behind a NAT gateway.
PRIVATE_VPC = {"subnets": [
    {"name": "public-a", "cidr": "10.0.0.0/24", "az": "us-east-1a", "route": "igw"},
    {"name": "private-a", "cidr": "10.0.1.0/24", "az": "us-east-1a", "route": "nat:nat-a"}],
    "nat_gateways": [{"name": "nat-a", "subnet": "public-a"}]}


def first_variant(sc: dict, seed: int = 1) -> dict:
    """The results document of ``sc``'s first variant, simulated in this process."""
    import ecsnetsim

    return ecsnetsim.simulate(sc, seed=seed, workers=1).document["variants"][0]


def hairpin_scenario(**flow) -> dict:
    """A bridge task to another on the same instance by its host port (docker-proxy's
    hairpin), constant arrivals for 3 s; ``flow`` adds to the flow (its rate or its
    connections)."""
    return make_scenario(
        duration=3.0,
        cluster={"instance_groups": [{"name": "g", "type": "m5.large", "count": 1,
                                      "subnet": "a"}]},
        services=[{"name": "front", "desired_count": 1, "network_mode": "bridge", "cpu": 64,
                   "memory": 64},
                  {"name": "back", "desired_count": 1, "network_mode": "bridge", "cpu": 64,
                   "memory": 64,
                   "containers": [{"name": "b", "port_mappings": [{"container_port": 80}]}]}],
        traffic=[{"name": "hairpin", "from": "front", "to": "back", "port": 80,
                  "arrival": "constant", **flow}])


def run_cli(capsys, *args) -> tuple[int, str, str]:
    """Run ``ecsnetsim ARGS`` in this process; return exit status, stdout, stderr (argparse's
    usage errors, --help and --version exit through SystemExit: its code is the status)."""
    from ecsnetsim.cli import main

    capsys.readouterr()
    try:
        rc = main([str(a) for a in args])
    except SystemExit as exc:
        rc = exc.code
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture
def scenario_dir() -> Path:
    return SCENARIOS
