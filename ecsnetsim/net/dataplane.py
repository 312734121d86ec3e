"""Placeholder data plane: no traffic yet (filled in by the packet engine)."""

from __future__ import annotations


class DataPlane:
    def __init__(self, scenario, env, cluster, rng, start: float) -> None:
        self.scenario = scenario

    def flow_results(self) -> list[dict]:
        return []

    def device_results(self) -> list[dict]:
        return []
