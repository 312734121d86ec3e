"""VPC flow logs of a run: one record per ENI and 5-tuple, aggregated over the run.

A packet makes a record at each ENI it leaves or enters (the source's egress, the
destination's ingress), with the addresses and ports that ENI sees: an awsvpc task's
own ENI and IP; for bridge, host and default tasks the instance's primary ENI and IP
(and, for bridge and default, the host port). ``action`` is what the security groups
decided (ACCEPT or REJECT). Fields are those of the version 2 default format that the
model knows; packets are counted as sent, bytes as packets times the flow's size.
"""

from __future__ import annotations

from collections import Counter

from ..rows import FlowLogRecord


class FlowLog:
    """Packet counters per record key, one counter per flow (its packet size)."""

    def __init__(self) -> None:
        self._flows: list[tuple[int, Counter]] = []

    def counter(self, flow) -> Counter:
        counts: Counter = Counter()
        self._flows.append((flow.size, counts))
        return counts

    def records(self) -> list[FlowLogRecord]:
        """Records aggregated over every flow, in a stable order."""
        packets: Counter = Counter()
        octets: Counter = Counter()
        for size, counts in self._flows:
            for key, n in counts.items():
                packets[key] += n
                octets[key] += n * size
        rows = []
        for key in sorted(packets):
            eni, src, dst, sport, dport, proto, action = key
            rows.append(FlowLogRecord(eni, src, dst, sport, dport, proto, packets[key],
                                      octets[key], action))
        return rows
