"""Bandwidths: a lower-case ``b`` is a bit and an upper-case ``B`` a byte, as in every
networking tool, so ``100Mb/s`` and ``100MB/s`` differ by a factor of 8."""

from __future__ import annotations

import pytest

from ecsnetsim.units import parse_bandwidth


def test_megabits_and_megabytes_differ():
    assert parse_bandwidth("100Mb/s") == pytest.approx(100e6 / 8)
    assert parse_bandwidth("100MB/s") == pytest.approx(100e6)
    assert parse_bandwidth("100MB/s") == 8 * parse_bandwidth("100Mb/s")


@pytest.mark.parametrize("text, bytes_per_second", [
    ("100Mbps", 12.5e6), ("100mbps", 12.5e6), ("100 Mbps", 12.5e6),
    ("10Gbps", 1.25e9), ("10gbps", 1.25e9), ("8kbps", 1e3), ("8Kbps", 1e3), ("8bps", 1.0),
    ("1Gb/s", 1.25e8), ("1Gbit/s", 1.25e8), ("1Mbit/s", 1.25e5), ("8b/s", 1.0),
    ("1GB/s", 1e9), ("1GBps", 1e9), ("5KB/s", 5e3), ("5kB/s", 5e3), ("5B/s", 5.0),
    ("1MByte/s", 1e6), ("2000", 2000.0), (1e9, 1e9),
])
def test_spellings(text, bytes_per_second):
    assert parse_bandwidth(text) == pytest.approx(bytes_per_second)


@pytest.mark.parametrize("text", ["25GBPS", "1MBPS", "10 Gbit", "1Mbs", "100M", "1 TB/s"])
def test_ambiguous_or_unknown_units_are_refused(text):
    with pytest.raises(ValueError) as info:
        parse_bandwidth(text)
    message = str(info.value)
    assert "(bits)" in message and "(bytes)" in message and repr(text) in message


def test_the_calibration_profile_still_reads():
    from ecsnetsim.calibration import default_profile  # noqa: PLC0415

    # 100Gbps in the profile: 12.5e9 bytes per second
    assert any(p.bandwidth == pytest.approx(12.5e9) for p in default_profile().values())
