"""The calibration profile: every device kind's latency, CPU cost and buffer, with sources.

The default profile ships as ``data/calibration.yaml``; a scenario overrides any value
with ``calibration: {docker0: {service: 4us}}`` (or ``--set calibration.docker0.service=4us``).
Only the overridden kind changes, so only paths that cross that device move.

A kind's ``latency`` is the floor of its fixed delay and its ``jitter`` the random excess
over it, per packet (:mod:`ecsnetsim.calibration.jitter`): ``calibration: {eni: {jitter: {dist:
gamma, p50: 1us, p99: 4us}}}``, an empirical table ``{samples: [...]}``, or ``jitter: none``
for the constant delay of old.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from typing import Any

import yaml

from ..units import parse_bandwidth, parse_duration
from . import jitter as jitters
from .jitter import JitterSpec

FIELDS = ("latency", "service", "buffer", "bandwidth", "servers", "jitter")


@dataclass(frozen=True)
class DeviceParams:
    """Parameters of one device kind (seconds, bytes/s, packets)."""

    kind: str
    description: str
    latency: float
    service: float
    buffer: int | None
    cpu: str  # host | own | none
    servers: int = 1
    bandwidth: float | None = None
    source: str = ""
    jitter: JitterSpec | None = None
    """Random excess over ``latency`` per packet (None: a constant delay)."""


def _parse_field(name: str, value: Any) -> Any:
    if name == "jitter":
        return jitters.parse(value)
    if name in ("latency", "service"):
        return parse_duration(value)
    if name == "bandwidth":
        return None if value is None else parse_bandwidth(value)
    if name in ("buffer", "servers"):
        if value is None and name == "buffer":
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            what = "packets" if name == "buffer" else "servers"
            raise ValueError(f"expected a positive whole number of {what}")
        return value
    raise ValueError(f"unknown calibration field {name!r}")


@cache
def default_profile() -> dict[str, DeviceParams]:
    """The shipped profile, parsed once."""
    text = resources.files(__package__).joinpath("data/calibration.yaml").read_text("utf-8")
    doc = yaml.safe_load(text)
    out = {}
    for kind, spec in doc["kinds"].items():
        out[kind] = DeviceParams(
            kind=kind,
            description=spec["description"],
            latency=parse_duration(spec["latency"]),
            service=parse_duration(spec["service"]),
            buffer=spec.get("buffer"),
            cpu=spec.get("cpu", "host"),
            servers=int(spec.get("servers", 1)),
            bandwidth=parse_bandwidth(spec["bandwidth"]) if spec.get("bandwidth") else None,
            source=spec["source"],
            jitter=jitters.parse(spec.get("jitter")),
        )
    return out


def check_overrides(overrides: Mapping[str, Mapping[str, Any]]) -> Iterator[tuple[tuple, str]]:
    """Yield ``(path, message)`` for every override that names no kind or field."""
    kinds = default_profile()
    for kind, fields in overrides.items():
        if kind not in kinds:
            yield ("calibration", kind), (f"unknown device kind {kind!r}; expected one of: "
                                          f"{', '.join(kinds)}")
            continue
        for name, value in fields.items():
            if name not in FIELDS:
                yield ("calibration", kind, name), (f"unknown calibration field {name!r}; "
                                                    f"expected one of: {', '.join(FIELDS)}")
                continue
            if name == "jitter":
                for sub, message in jitters.check(_jitter_over(kinds[kind], value)):
                    yield ("calibration", kind, name, *sub), message
                continue
            try:
                _parse_field(name, value)
            except ValueError as exc:
                yield ("calibration", kind, name), str(exc)


def _jitter_over(default: DeviceParams, value: Any) -> Any:
    """A jitter override on top of the kind's default: a mapping that leaves out ``dist``,
    ``p50`` or ``p99`` keeps the default's (``jitter: {p99: 12us}`` widens the tail only);
    ``none``, an empirical table or a kind without a parametric default stand as given."""
    base = default.jitter
    if not isinstance(value, Mapping) or base is None or base.dist == "empirical" \
            or "samples" in value or value.get("dist") == "empirical":
        return value
    return {"dist": base.dist, "p50": base.p50, "p99": base.p99, **value}


def profile(overrides: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, DeviceParams]:
    """The default profile with ``overrides`` applied (already validated by the loader)."""
    out = dict(default_profile())
    for kind, fields in (overrides or {}).items():
        changes = {name: _parse_field(name, _jitter_over(out[kind], value)
                                      if name == "jitter" else value)
                   for name, value in fields.items()}
        out[kind] = replace(out[kind], **changes, source=out[kind].source + " (overridden)")
    return out
