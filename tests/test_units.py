"""Durations, rates and bandwidths written with units, and what bad values say."""

from __future__ import annotations

import math

import pytest

from ecsnetsim.units import format_duration, parse_bandwidth, parse_duration, parse_rate


@pytest.mark.parametrize("text, seconds", [
    ("1ns", 1e-9),
    ("500us", 500e-6),
    ("500µs", 500e-6),
    ("20ms", 0.02),
    ("10s", 10.0),
    ("10sec", 10.0),
    ("2min", 120.0),
    ("2m", 120.0),
    ("1h", 3600.0),
    ("1.5h", 5400.0),
    ("7", 7.0),
    (" 5 ms ", 0.005),
    (".5s", 0.5),
    ("1e3us", 1e-3),
    ("2.5E-3s", 2.5e-3),
    ("+3s", 3.0),
    ("0s", 0.0),
    (0, 0.0),
    (4, 4.0),
    (0.25, 0.25),
])
def test_durations(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)
    assert isinstance(parse_duration(text), float)


@pytest.mark.parametrize("value, fragment", [
    ("10 parsecs", "got '10 parsecs'"),
    ("10 parsecs", "units: ns, us, ms, s, sec, min, m, h"),
    ("5 MS", "got '5 MS'"),        # units are lower case: MS is not ms
    ("s", "expected a duration"),
    ("", "expected a duration"),
    ("5 s s", "expected a duration"),
    ("five seconds", "expected a duration"),
    ("1,5s", "expected a duration"),
    ("nan", "expected a duration"),
    ("-5s", "cannot be negative"),
    ("-0.1ms", "cannot be negative"),
    (-1, "cannot be negative"),
    (True, "expected a duration"),
    (None, "expected a duration"),
    ([1], "expected a duration"),
    ({"s": 1}, "expected a duration"),
    (math.nan, "finite"),
    (math.inf, "finite"),
    ("1e400s", "finite"),
    (10**400, "finite"),
])
def test_bad_durations(value, fragment):
    with pytest.raises(ValueError) as info:
        parse_duration(value)
    assert fragment in str(info.value)
    assert len(str(info.value)) < 200


@pytest.mark.parametrize("text, per_second", [
    (2000, 2000.0),
    (0.5, 0.5),
    ("2000", 2000.0),
    ("2000/s", 2000.0),
    ("2000/sec", 2000.0),
    ("120/min", 2.0),
    ("120/m", 2.0),
    ("3600/h", 1.0),
    (" 10 / s ", 10.0),
    ("1e3/s", 1000.0),
    ("0/s", 0.0),
])
def test_rates(text, per_second):
    assert parse_rate(text) == pytest.approx(per_second)


@pytest.mark.parametrize("value, fragment", [
    ("fast", "got 'fast'"),
    ("5/parsec", "got '5/parsec'"),
    ("5/ms", "got '5/ms'"),
    ("2000/s/s", "expected a rate"),
    ("/s", "expected a rate"),
    ("-5/s", "cannot be negative"),
    (-1, "cannot be negative"),
    (True, "expected a rate"),
    (None, "expected a rate"),
    ([5], "expected a rate"),
    (math.inf, "finite"),
    (math.nan, "finite"),
])
def test_bad_rates(value, fragment):
    with pytest.raises(ValueError) as info:
        parse_rate(value)
    assert fragment in str(info.value)


@pytest.mark.parametrize("text, bytes_per_second", [
    ("8bps", 1.0),
    ("8kbps", 1e3),
    ("8mbps", 1e6),
    ("10Gbps", 1.25e9),
    ("10 gbps", 1.25e9),
    ("100b/s", 12.5),        # b is a bit, B a byte, as in every networking tool
    ("100kb/s", 1e5 / 8),
    ("100B/s", 100.0),
    ("500MB/s", 5e8),
    ("2GB/s", 2e9),
    ("1000", 1000.0),
    (1e9, 1e9),
    (12, 12.0),
])
def test_bandwidths(text, bytes_per_second):
    assert parse_bandwidth(text) == pytest.approx(bytes_per_second)


@pytest.mark.parametrize("value, fragment", [
    ("10 parsecs", "got '10 parsecs'"),
    ("fast", "expected a bandwidth"),
    ("10 Gbit", "expected a bandwidth"),
    ("25GBPS", "expected a bandwidth"),   # neither bits (Gbps) nor bytes (GBps)
    ("10 TB/s", "expected a bandwidth"),
    (0, "must be positive"),
    ("0Gbps", "must be positive"),
    (-1, "must be positive"),
    ("-1Gbps", "must be positive"),
    (True, "expected a bandwidth"),
    (None, "expected a bandwidth"),
    (["10Gbps"], "expected a bandwidth"),
    (math.inf, "finite"),
    ("1e999gbps", "finite"),
])
def test_bad_bandwidths(value, fragment):
    with pytest.raises(ValueError) as info:
        parse_bandwidth(value)
    assert fragment in str(info.value)


@pytest.mark.parametrize("seconds, text", [
    (120.0, "2.0min"),
    (60.0, "1.0min"),
    (12.34, "12.3s"),
    (1.0, "1.0s"),
    (0.0205, "20.5ms"),
    (0.001, "1.0ms"),
    (0.0005, "500.0us"),
    (0.0, "0.0us"),
])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_formatted_durations_parse_back():
    for seconds in (90.0, 2.5, 0.0125, 7.5e-5):
        assert parse_duration(format_duration(seconds)) == pytest.approx(seconds, rel=0.05)
