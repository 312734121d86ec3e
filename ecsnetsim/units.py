"""Parsing of durations, rates and sizes written with units in scenario files.

Durations accept a number of seconds or a string with a unit (``500us``,
``20ms``, ``10s``, ``2min``, ``1h``); rates accept a number (per second) or
``N/s``, ``N/min``; both come back as plain floats in SI units so that the
simulation never has to think about units again.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "sec": 1.0,
    "min": 60.0,
    "m": 60.0,
    "h": 3600.0,
}
_RATE_UNITS = {"s": 1.0, "sec": 1.0, "min": 1 / 60.0, "m": 1 / 60.0, "h": 1 / 3600.0}
_BANDWIDTH_UNITS = {
    "bps": 1 / 8,
    "kbps": 1e3 / 8,
    "mbps": 1e6 / 8,
    "gbps": 1e9 / 8,
    "b/s": 1.0,
    "kb/s": 1e3,
    "mb/s": 1e6,
    "gb/s": 1e9,
}
_NUMBER = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"  # signed: "-5s" is negative
_DURATION_RE = re.compile(rf"^\s*{_NUMBER}\s*([a-zµ]*)\s*$")
_RATE_RE = re.compile(rf"^\s*{_NUMBER}\s*(?:/\s*([a-z]+))?\s*$")
_BW_RE = re.compile(rf"^\s*{_NUMBER}\s*([a-z/]*)\s*$", re.IGNORECASE)


def _finite(value: float, expected: str) -> float:
    """``value`` as a float, or ``ValueError`` for NaN, infinities and numbers beyond a float."""
    try:
        out = float(value)
    except OverflowError:
        out = math.inf
    if not math.isfinite(out):
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise ValueError(f"expected {expected}, a finite number (got {shown})")
    return out


@dataclass(frozen=True)
class _Quantity:
    """How one kind of quantity is written: its units, its pattern and what to say."""

    what: str  # "a duration"
    example: str  # "30s, 500us, 20ms, 2min"
    numbers_mean: str  # "seconds"
    pattern: re.Pattern
    units: dict[str, float]
    default_unit: str
    lower: bool = False  # unit names are case-insensitive

    def parse(self, value: object) -> float:
        plain = f"expected {self.what} such as {self.example} or a number of {self.numbers_mean}"
        if isinstance(value, bool):
            raise ValueError(plain)
        if isinstance(value, int | float):
            return _finite(value, self.what)
        if not isinstance(value, str):
            raise ValueError(plain)
        m = self.pattern.match(value)
        unit = (m.group(2) if m else None) or self.default_unit
        if self.lower:
            unit = unit.lower()
        if not m or unit not in self.units:
            names = ", ".join(k for k in self.units if k != "µs")
            raise ValueError(f"expected {self.what} such as {self.example} (got {value!r}; "
                             f"units: {names})")
        return _finite(m.group(1), self.what) * self.units[unit]


_DURATION = _Quantity("a duration", "30s, 500us, 20ms, 2min", "seconds", _DURATION_RE,
                      _DURATION_UNITS, "s")
_RATE = _Quantity("a rate", "2000/s, 120/min", "events per second", _RATE_RE, _RATE_UNITS, "s")
_BANDWIDTH = _Quantity("a bandwidth", "10Gbps, 500MB/s", "bytes per second", _BW_RE,
                       _BANDWIDTH_UNITS, "b/s", lower=True)


def parse_duration(value: object) -> float:
    """Return ``value`` in seconds; raise ``ValueError`` with what was expected."""
    seconds = _DURATION.parse(value)
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return seconds


def parse_rate(value: object) -> float:
    """Return ``value`` in events per second (``2000/s``, ``120/min`` or a number)."""
    rate = _RATE.parse(value)
    if rate < 0:
        raise ValueError("a rate cannot be negative")
    return rate


def parse_bandwidth(value: object) -> float:
    """Return ``value`` in bytes per second (``10Gbps``, ``500MB/s`` or a number of bytes/s)."""
    bw = _BANDWIDTH.parse(value)
    if bw <= 0:
        raise ValueError("a bandwidth must be positive")
    return bw


def format_duration(seconds: float) -> str:
    """A short human form of a duration, for summaries."""
    if seconds >= 60:
        return f"{seconds / 60:.1f}min"
    if seconds >= 1:
        return f"{seconds:.1f}s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f}ms"
    return f"{seconds * 1e6:.1f}us"
