"""Random per-packet delay of a device kind: the ``jitter`` of the calibration profile.

A device's ``latency`` is the **floor** of its fixed delay (the least time a packet spends
there at idle beyond its CPU and link stages); ``jitter`` is a random **excess** added to
it, drawn afresh for every packet that crosses a device of the kind::

    delay = latency + X,     X >= 0 drawn from the kind's jitter distribution

So ``jitter: none`` (X = 0) is the constant-delay device, exactly, and a profile's floors
sum to a path's minimum while the excesses give its median, mean and tail. The excess does
not hold the CPU or the link (it is wake-up, interrupt moderation and fabric time, not
work): queueing, utilization and drops are unchanged by it, only the time a packet
reaches the next device moves. A random CPU time is available to the engine separately
(:class:`~ecsnetsim.net.engine.Device`'s ``service_sampler`` accepts the same draws).

Distributions (each given by its median and 99th percentile, both durations, p99 > p50):

* ``lognormal``: ``X = exp(mu + sigma Z)`` with ``mu = ln p50``, ``sigma = ln(p99/p50)/z99``;
* ``gamma``: shape ``k`` and scale ``theta`` solved so that the distribution's median and
  99th percentile are ``p50`` and ``p99`` (a lighter tail than lognormal for the same
  two quantiles);
* ``empirical``: ``samples`` (durations); a draw takes a uniform ``u`` and reads the
  samples' linearly interpolated quantile at ``u`` (``numpy.quantile``'s ``linear``), so
  the draws follow the table's distribution without repeating only its values.

Draws come in blocks from a numpy Generator of the run's own jitter stream, one stream
per device kind (:func:`kind_seed`), so that the same seed gives the same draws in every
build and a kind's draws do not depend on which other kinds a scenario uses.

Examples
--------
>>> spec = parse({"dist": "lognormal", "p50": "2us", "p99": "10us"})
>>> x = spec.draw(np.random.default_rng(1), 200_000)
>>> [round(float(q) * 1e6, 1) for q in np.quantile(x, [0.5, 0.99])]
[2.0, 10.0]
>>> parse("none") is None
True
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from ..units import parse_duration

__all__ = ["DISTRIBUTIONS", "JitterSpec", "kind_seed", "parse", "check"]

DISTRIBUTIONS = ("lognormal", "gamma", "empirical")
#: The standard normal's 99th percentile.
Z99 = 2.3263478740408408
#: Most samples an empirical table may hold (a scenario is hand-written input).
MAX_SAMPLES = 100_000


@dataclass(frozen=True)
class JitterSpec:
    """A jitter distribution: ``dist`` with ``p50``/``p99`` (seconds) or ``samples``."""

    dist: str
    p50: float | None = None
    p99: float | None = None
    samples: tuple[float, ...] = ()

    def describe(self) -> str:
        """Short human form, for the calibration table (``lognormal p50 1 us, p99 4 us``)."""
        if self.dist == "empirical":
            return f"empirical, {len(self.samples)} samples"
        return f"{self.dist} p50 {self.p50 * 1e6:g} us, p99 {self.p99 * 1e6:g} us"

    @cached_property
    def _gamma(self) -> tuple[float, float]:
        return gamma_shape_scale(self.p50, self.p99)

    @cached_property
    def _table(self) -> np.ndarray:
        return np.sort(np.asarray(self.samples, dtype=np.float64))

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` draws (seconds) from ``rng``."""
        if self.dist == "lognormal":  # exp(mu + sigma Z), vectorised: faster than lognormal()
            z = rng.standard_normal(n)
            z *= math.log(self.p99 / self.p50) / Z99
            z += math.log(self.p50)
            return np.exp(z, out=z)
        if self.dist == "gamma":
            k, theta = self._gamma
            return rng.gamma(k, theta, n)
        table = self._table
        pos = rng.random(n) * (len(table) - 1)
        return np.interp(pos, np.arange(len(table)), table)

    def mean(self) -> float:
        """The distribution's mean (seconds), for documentation and tests."""
        if self.dist == "lognormal":
            sigma = math.log(self.p99 / self.p50) / Z99
            return self.p50 * math.exp(sigma * sigma / 2)
        if self.dist == "gamma":
            k, theta = self._gamma
            return k * theta
        return float(np.mean(self._table))


def kind_seed(stream: np.random.SeedSequence, kind: str) -> np.random.SeedSequence:
    """The seed of one device kind's draws: a child of the run's jitter stream keyed by
    the kind's name (CRC-32), so adding or reordering kinds changes no other kind's draws."""
    return np.random.SeedSequence(stream.entropy,
                                  spawn_key=(*stream.spawn_key, zlib.crc32(kind.encode())))


# ---- parsing and checking -------------------------------------------------------------
def check(value: Any) -> list[tuple[tuple, str]]:
    """Problems of a ``jitter`` value as ``(sub-path, message)`` pairs (empty: valid)."""
    try:
        parse(value)
    except _Invalid as exc:
        return [(exc.path, str(exc))]
    return []


class _Invalid(ValueError):
    def __init__(self, path: tuple, message: str) -> None:
        super().__init__(message)
        self.path = path


def parse(value: Any) -> JitterSpec | None:
    """A ``jitter`` value of the profile or a scenario: ``none`` (or null) for a constant
    delay, ``{dist, p50, p99}``, or ``{samples: [...]}`` (``dist: empirical``).
    Raises ``ValueError`` (with ``.path``, the field at fault) when it is none of these."""
    if value is None or value is False or (isinstance(value, str) and value.lower() == "none"):
        return None
    if not isinstance(value, Mapping):
        raise _Invalid((), "expected none, {dist: lognormal|gamma, p50: DURATION, "
                           "p99: DURATION} or {samples: [DURATION, ...]}")
    unknown = [k for k in value if k not in ("dist", "p50", "p99", "samples")]
    if unknown:
        raise _Invalid((unknown[0],), f"unknown jitter field {unknown[0]!r}; expected one of: "
                                      "dist, p50, p99, samples")
    dist = value.get("dist", "empirical" if "samples" in value else "lognormal")
    if dist not in DISTRIBUTIONS:
        raise _Invalid(("dist",), f"unknown distribution {dist!r}; expected one of: "
                                  f"{', '.join(DISTRIBUTIONS)}")
    if dist == "empirical":
        return _empirical(value)
    return _parametric(dist, value)


def _duration(value: Any, path: tuple) -> float:
    try:
        seconds = parse_duration(value)
    except (ValueError, TypeError) as exc:
        raise _Invalid(path, str(exc)) from None
    if not (seconds >= 0 and math.isfinite(seconds)):
        raise _Invalid(path, "expected a finite duration >= 0")
    return seconds


def _parametric(dist: str, value: Mapping) -> JitterSpec:
    for key in ("p50", "p99"):
        if key not in value:
            raise _Invalid((key,), f"{dist} jitter needs {key} (a duration, e.g. 2us)")
    if "samples" in value:
        raise _Invalid(("samples",), f"samples belong to dist: empirical, not {dist}")
    p50, p99 = _duration(value["p50"], ("p50",)), _duration(value["p99"], ("p99",))
    if not p50 > 0:
        raise _Invalid(("p50",), "expected a duration > 0")
    if not p99 > p50:
        raise _Invalid(("p99",), f"expected a duration above p50 ({p50 * 1e6:g} us)")
    if p99 / p50 > 1e6:
        raise _Invalid(("p99",), "expected p99 at most a million times p50")
    return JitterSpec(dist, p50, p99)


def _empirical(value: Mapping) -> JitterSpec:
    samples = value.get("samples")
    if "p50" in value or "p99" in value:
        key = "p50" if "p50" in value else "p99"
        raise _Invalid((key,), "an empirical jitter takes samples, not percentiles")
    if not isinstance(samples, Sequence) or isinstance(samples, str) or len(samples) < 2:
        raise _Invalid(("samples",), "expected a list of at least two durations")
    if len(samples) > MAX_SAMPLES:
        raise _Invalid(("samples",), f"expected at most {MAX_SAMPLES} samples")
    return JitterSpec("empirical", samples=tuple(
        _duration(s, ("samples", i)) for i, s in enumerate(samples)))


# ---- the gamma distribution from two quantiles -------------------------------------------
def _lower_regularized_gamma(a: float, x: float) -> float:
    """P(a, x), the gamma distribution's CDF at ``x`` for shape ``a`` and scale 1 (series
    below ``a + 1``, Lentz's continued fraction above; Numerical Recipes 6.2)."""
    if x <= 0:
        return 0.0
    log_front = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1:
        term = total = 1.0 / a
        ap = a
        for _ in range(10_000):
            ap += 1
            term *= x / ap
            total += term
            if abs(term) < abs(total) * 1e-16:
                break
        return total * math.exp(log_front)
    tiny = 1e-300
    b = x + 1 - a
    c, d = 1 / tiny, 1 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-16:
            break
    return 1.0 - math.exp(log_front) * h


def _gamma_quantile(a: float, p: float) -> float:
    """The ``p`` quantile of the unit-scale gamma of shape ``a`` (bisection in log x)."""
    lo, hi = 1e-300, max(1.0, a) * 100 + 100
    for _ in range(200):
        mid = math.sqrt(lo * hi) if lo > 0 else hi / 2
        if _lower_regularized_gamma(a, mid) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo <= hi * 1e-14:
            break
    return (lo + hi) / 2


def gamma_shape_scale(p50: float, p99: float) -> tuple[float, float]:
    """Shape and scale of the gamma distribution with median ``p50`` and 99th percentile
    ``p99``: the ratio p99/p50 falls as the shape grows, so the shape is found by
    bisection in log space, then the scale from the median.

    >>> k, theta = gamma_shape_scale(1.0, 3.0)
    >>> round(_gamma_quantile(k, 0.5) * theta, 9), round(_gamma_quantile(k, 0.99) * theta, 9)
    (1.0, 3.0)
    """
    ratio = p99 / p50
    lo, hi = math.log(1e-3), math.log(1e5)
    for _ in range(200):
        mid = (lo + hi) / 2
        k = math.exp(mid)
        if _gamma_quantile(k, 0.99) / _gamma_quantile(k, 0.5) > ratio:
            lo = mid  # too wide: a larger shape narrows it
        else:
            hi = mid
        if hi - lo < 1e-12:
            break
    k = math.exp((lo + hi) / 2)
    return k, p50 / _gamma_quantile(k, 0.5)
