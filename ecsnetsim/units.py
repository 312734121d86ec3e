"""Parsing of durations, rates and sizes written with units in scenario files.

Durations accept a number of seconds or a string with a unit (``500us``,
``20ms``, ``10s``, ``2min``, ``1h``); rates accept a number (per second) or
``N/s``, ``N/min``; both come back as plain floats in SI units so that the
simulation never has to think about units again.
"""

from __future__ import annotations

import math
import re

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


def parse_duration(value: object) -> float:
    """Return ``value`` in seconds; raise ``ValueError`` with what was expected."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 500us, 2min or a number of seconds")
    if isinstance(value, int | float):
        seconds = _finite(value, "a duration")
    elif isinstance(value, str):
        m = _DURATION_RE.match(value)
        if not m or (m.group(2) or "s") not in _DURATION_UNITS:
            raise ValueError(
                f"expected a duration such as 30s, 500us, 20ms, 2min (got {value!r}; "
                f"units: {', '.join(k for k in _DURATION_UNITS if k != 'µs')})"
            )
        seconds = _finite(m.group(1), "a duration") * _DURATION_UNITS[m.group(2) or "s"]
    else:
        raise ValueError("expected a duration such as 30s, 500us, 2min or a number of seconds")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return seconds


def parse_rate(value: object) -> float:
    """Return ``value`` in events per second (``2000/s``, ``120/min`` or a number)."""
    if isinstance(value, bool):
        raise ValueError("expected a rate such as 2000/s, 120/min or a number per second")
    if isinstance(value, int | float):
        rate = _finite(value, "a rate")
    elif isinstance(value, str):
        m = _RATE_RE.match(value)
        if not m or (m.group(2) or "s") not in _RATE_UNITS:
            raise ValueError(f"expected a rate such as 2000/s or 120/min (got {value!r})")
        rate = _finite(m.group(1), "a rate") * _RATE_UNITS[m.group(2) or "s"]
    else:
        raise ValueError("expected a rate such as 2000/s, 120/min or a number per second")
    if rate < 0:
        raise ValueError("a rate cannot be negative")
    return rate


def parse_bandwidth(value: object) -> float:
    """Return ``value`` in bytes per second (``10Gbps``, ``500MB/s`` or a number of bytes/s)."""
    if isinstance(value, bool):
        raise ValueError("expected a bandwidth such as 10Gbps, 500MB/s or bytes per second")
    if isinstance(value, int | float):
        bw = _finite(value, "a bandwidth")
    elif isinstance(value, str):
        m = _BW_RE.match(value)
        unit = (m.group(2) if m else "").lower() or "b/s"
        if not m or unit not in _BANDWIDTH_UNITS:
            raise ValueError(f"expected a bandwidth such as 10Gbps or 500MB/s (got {value!r})")
        bw = _finite(m.group(1), "a bandwidth") * _BANDWIDTH_UNITS[unit]
    else:
        raise ValueError("expected a bandwidth such as 10Gbps, 500MB/s or bytes per second")
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
