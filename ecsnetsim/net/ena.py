"""An EC2 instance's ENA allowances: the packets per second and the inbound and outbound
bandwidth its Nitro card lets through, beyond which it drops packets and counts them.

Every packet that crosses one of an instance's ENIs (primary, task or trunk ENI) passes,
on its way in or out, the instance's allowances (:class:`~ecsnetsim.net.engine.Allowance`,
checked by the ENI's device in the packet loop): a **PPS** allowance for both directions
together and a **bandwidth** allowance per direction, each a token bucket. A packet that
finds too few tokens is dropped and counted under the ``ethtool -S`` name of the ENA
counter (``pps_allowance_exceeded``, ``bw_in_allowance_exceeded``,
``bw_out_allowance_exceeded``); nothing is queued for it. The card's own queue at its
peak bandwidth stays what it was (the ENIs' link), so a run whose traffic stays within
the allowances moves exactly the packets it moved without them.

Sources and assumptions
-----------------------
* **Bandwidth** (Amazon EC2 User Guide, "Amazon EC2 instance network bandwidth"): the
  instance's bandwidth applies to inbound and outbound traffic separately; an instance
  with "up to" bandwidth has a baseline and "can use a network I/O credit mechanism to
  burst beyond their baseline bandwidth", "typically from 5 to 60 minutes". Each
  direction's bucket fills at the type's baseline (``baseline_gbps`` of the catalog,
  DescribeInstanceTypes) and holds the credits of :data:`CREDIT_SECONDS` at the type's
  peak: ``(peak - baseline) x 300 s`` (**assumption**: the shortest burst AWS names), plus
  :data:`WINDOW_SECONDS` of the baseline.
* **PPS** (EC2 User Guide, "Monitor network performance for ENA settings on your EC2
  instance": ``pps_allowance_exceeded`` counts packets beyond "the maximum for the
  instance", bidirectional): AWS publishes no figure. :data:`PPS_PER_GBPS` packets/s per
  Gbps of the type's peak bandwidth (**assumption**, low confidence: the calibration
  reference's 75-100 kpps per Gbps, from c5.xlarge observed near 1.0 Mpps and c5n.xlarge
  near 1.8 Mpps; Blue Matador 2018 found only a weak link to the advertised bandwidth).
* **Burst within a second**: AWS says traffic beyond an allowance is queued, then
  dropped, and that microbursts of milliseconds exceed allowances that per-minute
  figures hide; the queue's depth is not published. Each bucket holds
  :data:`WINDOW_SECONDS` of its rate (**assumption**: 10 ms).

An instance group's ``ena_allowances`` overrides each of these (``pps``, ``bandwidth``,
``burst``, ``window``).

Examples
--------
>>> from ecsnetsim import catalog
>>> a = allowance_of("i-1", catalog.get("m5.large"), None)
>>> round(a.pps_rate), round(a.in_rate * 8 / 1e9, 3)  # packets/s, baseline Gbps
(1000000, 0.75)
>>> round(a.in_limit, 2)  # seconds of the baseline the bucket holds: 300 s at 9.25 Gbps
3700.01
"""

from __future__ import annotations

from .engine import Allowance

#: Packets per second of the PPS allowance per Gbps of the type's peak bandwidth
#: (assumption; see the module's sources).
PPS_PER_GBPS = 100_000.0
#: How long the instance can run at its peak bandwidth from full credits (assumption:
#: the shortest of AWS's "typically from 5 to 60 minutes").
CREDIT_SECONDS = 300.0
#: Each bucket's depth beyond the credits, in seconds of its rate (assumption).
WINDOW_SECONDS = 0.01
#: The card's bandwidth when the catalog has no figure (as the topology's link).
DEFAULT_GBPS = 10.0


def allowance_of(name: str, itype, settings) -> Allowance:
    """The ENA allowances of an instance of type ``itype`` named ``name``, with an instance
    group's ``ena_allowances`` (``settings``; None: every default)."""
    peak = itype.peak_gbps if itype.peak_gbps is not None else itype.baseline_gbps
    peak = DEFAULT_GBPS if peak is None else peak
    baseline = itype.baseline_gbps if itype.baseline_gbps is not None else peak
    window = _given(settings, "window", WINDOW_SECONDS)
    pps = _given(settings, "pps", PPS_PER_GBPS * peak)
    bw = _given(settings, "bandwidth", baseline * 1e9 / 8)  # bytes/s per direction
    credits = max(0.0, peak * 1e9 / 8 - bw) * _given(settings, "burst", CREDIT_SECONDS)
    depth = credits + bw * window
    return Allowance(name, pps=pps, pps_depth=max(1.0, pps * window),
                     bw_in=bw, bw_in_depth=depth, bw_out=bw, bw_out_depth=depth)


def _given(settings, field: str, default: float) -> float:
    value = None if settings is None else getattr(settings, field)
    return default if value is None else float(value)
