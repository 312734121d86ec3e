"""Parsing of durations, rates and sizes written with units in scenario files.

Durations accept a number of seconds or a string with a unit (``500us``,
``20ms``, ``10s``, ``2min``, ``1h``); rates accept a number (per second) or
``N/s``, ``N/min``; bandwidths a number of bytes per second or a unit where ``b`` is
a bit and ``B`` a byte (``10Gbps`` and ``100Mb/s`` bits, ``500MB/s`` bytes); all come
back as plain floats in SI units so that the simulation never has to think about units
again.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

#: Largest seed: numpy's SeedSequence keeps 128 bits of entropy, and a seed is written
#: into results.json and every summary (a bound on the value, whatever base it is written in).
MAX_SEED = 2**128 - 1

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
#: Bandwidth units as networking tools write them: a lower-case ``b`` is a bit, an
#: upper-case ``B`` a byte (``100Mb/s`` = 12.5e6 bytes/s, ``100MB/s`` = 1e8); ``bps`` is
#: bits per second. The SI prefix is read in either case (``kbps`` = ``Kbps``).
_BANDWIDTH_PREFIX = {"": 1.0, "k": 1e3, "m": 1e6, "g": 1e9}
_BANDWIDTH_UNIT_RE = re.compile(r"^([kKmMgG]?)(b|B)(ps|PS|Ps|pS|/s|it/s|its/s|yte/s|ytes/s)$")
#: The units named in error messages.
_BANDWIDTH_NAMES = "bps, Mbps, Gbps, Mb/s (bits); B/s, KB/s, MB/s, GB/s (bytes)"
_NUMBER = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"  # signed: "-5s" is negative
_DURATION_RE = re.compile(rf"^\s*{_NUMBER}\s*([a-zµ]*)\s*$")
_RATE_RE = re.compile(rf"^\s*{_NUMBER}\s*(?:/\s*([a-z]+))?\s*$")
_BW_RE = re.compile(rf"^\s*{_NUMBER}\s*([A-Za-z/]*)\s*$")


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


def _bandwidth_factor(unit: str) -> float | None:
    """Bytes per second per unit of ``unit``; ``None`` if it is not a bandwidth unit.

    An all-capitals unit with ``PS`` (``GBPS``) says neither bits nor bytes and is
    refused; ``Gbps`` (bits) and ``GBps`` (bytes) are not."""
    if not unit:
        return 1.0  # a plain number: bytes per second
    m = _BANDWIDTH_UNIT_RE.match(unit)
    if not m or (m.group(3) in ("PS", "pS") and m.group(2) == "B"):
        return None
    per = 1.0 if m.group(2) == "B" and not m.group(3).startswith("it") else 1 / 8
    if m.group(2) == "b" and m.group(3).startswith("yte"):
        per = 1.0  # "byte/s" spelled out
    return _BANDWIDTH_PREFIX[m.group(1).lower()] * per


def parse_bandwidth(value: object) -> float:
    """Return ``value`` in bytes per second: ``10Gbps`` and ``100Mb/s`` are bits per
    second, ``500MB/s`` bytes per second, a plain number bytes per second."""
    plain = "expected a bandwidth such as 10Gbps, 100Mb/s (bits) or 500MB/s (bytes)"
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(plain + " or a number of bytes per second")
    if isinstance(value, str):
        m = _BW_RE.match(value)
        factor = _bandwidth_factor(m.group(2)) if m else None
        if factor is None:
            shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
            raise ValueError(f"{plain} (got {shown}; units: {_BANDWIDTH_NAMES})")
        bw = _finite(m.group(1), "a bandwidth") * factor
        bw = _finite(bw, "a bandwidth")
    else:
        bw = _finite(value, "a bandwidth")
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
