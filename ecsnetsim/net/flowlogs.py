"""VPC flow logs of a run: one record per ENI and 5-tuple, aggregated over the run.

A packet makes a record at each ENI it leaves or enters (the source's egress, the
destination's ingress), with the addresses and ports that ENI sees: an awsvpc task's
own ENI and IP; for bridge, host and default tasks the instance's primary ENI and IP
(and, for bridge and default, the host port). ``action`` is what the security groups
decided (ACCEPT or REJECT).

Records carry the 14 fields of the version 2 default format (Amazon VPC User Guide,
"Flow log records": version, account-id, interface-id, srcaddr, dstaddr, srcport,
dstport, protocol, packets, bytes, start, end, action, log-status), written with
underscores as the rest of the result files are. ``start`` and ``end`` are seconds of
the simulated clock (which starts at 0 with placement), the first and last second the
record's packets were sent in; ``account_id`` is the documentation's example account,
one account owning the whole scenario.

Source ports come from the sender's ephemeral range, one per flow and sender, drawn
from the run's seed without taking a draw from any other stream: a Linux host's
(``ip_local_port_range`` 32768-60999), a Windows host's (49152-65535), or a load
balancer's own connections to its targets (1024-65535).

The load balancers' health checks are logged too, computed from the tasks' lives: one
record per check target and ENI (each target group of a service with several checks its
own port), one packet per check (its TCP SYN: a check that a security group rejects gets
no further), every ``interval`` from the moment the task started RUNNING until it
stopped or the run ended, ACCEPT or REJECT as the target's security groups decide for
that port.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from .. import targetgroups
from ..rows import FlowLogRecord

#: Field ``version``: the default format's.
VERSION = 2
#: Field ``account_id``: the example account of AWS's documentation (one account owns
#: every ENI of a scenario).
ACCOUNT_ID = "123456789012"
#: Field ``log_status``: every record's data was logged.
LOG_STATUS = "OK"
#: Ephemeral source ports by sender (ECS developer guide and the Linux kernel's
#: ``ip_local_port_range`` default; Windows' dynamic port range; Elastic Load Balancing,
#: "Network ACLs for your load balancer": connections to targets from 1024-65535).
EPHEMERAL = {"linux": (32768, 60999), "windows": (49152, 65535), "elb": (1024, 65535)}
#: IANA protocol numbers.
PROTOCOLS = {"tcp": 6, "udp": 17}
#: Bytes of a health check's TCP SYN (IPv4 and TCP headers with the usual options).
SYN_BYTES = 60
#: Spawn-key tag of the port draws, apart from every other stream of the run.
_PORTS_KEY = 0xF10


def ephemeral_port(seed: np.random.SeedSequence | None, sender: str, *key: int) -> int:
    """A source port in ``sender``'s ephemeral range (:data:`EPHEMERAL`), fixed by the
    run's ``seed`` and ``key`` (the flow's index, ...), drawn without touching any of the
    run's streams.

    >>> seq = np.random.SeedSequence(1)
    >>> p = ephemeral_port(seq, "linux", 0)
    >>> 32768 <= p <= 60999 and p == ephemeral_port(seq, "linux", 0)
    True
    >>> 1024 <= ephemeral_port(seq, "elb", 0) <= 65535
    True
    """
    low, high = EPHEMERAL[sender]
    if seed is None:
        return low
    word = np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, _PORTS_KEY, *key),
                                  pool_size=seed.pool_size).generate_state(1)[0]
    return low + int(word) % (high - low + 1)


class FlowLog:
    """Packet counters per record key, one counter per flow (its packet size, its sending
    window and the source ports its senders use)."""

    def __init__(self, seed: np.random.SeedSequence | None = None, scenario=None,
                 services=(), env=None) -> None:
        self.seed = seed
        self._flows: list[tuple[int, Counter, tuple[float, float], dict[str, int]]] = []
        #: what the health checks are computed from when the records are asked for: the
        #: scenario, the control plane's service states and the clock (its end)
        self._checked = (scenario, list(services), env)

    def source_port(self, index: int, sender: str) -> int:
        """The source port of flow ``index``'s packets (``sender``: linux or windows)."""
        return ephemeral_port(self.seed, sender, index)

    def counter(self, flow, window: tuple[float, float] = (0.0, 0.0),
                ports: dict[str, int] | None = None) -> Counter:
        """A counter of ``flow``'s record keys. ``ports`` maps a sender's address to its
        own source port, where it opens connections of its own (an ALB to its targets)."""
        counts: Counter = Counter()
        self._flows.append((flow.size, counts, window, ports or {}))
        return counts

    def records(self) -> list[FlowLogRecord]:
        """Records aggregated over every flow, then the health checks, in a stable order."""
        packets: Counter = Counter()
        octets: Counter = Counter()
        first: dict[tuple, float] = {}
        last: dict[tuple, float] = {}
        for size, counts, (start, stop), ports in self._flows:
            for key, n in counts.items():
                key = _with_port(key, ports)
                packets[key] += n
                octets[key] += n * size
                first[key] = min(first.get(key, start), start)
                last[key] = max(last.get(key, stop), stop)
        rows = []
        for key in sorted(packets):
            eni, src, dst, sport, dport, proto, action = key
            rows.append(record(eni, src, dst, sport, dport, proto, packets[key], octets[key],
                               first[key], last[key], action))
        scenario, services, env = self._checked
        if scenario is not None and env is not None:
            rows += health_check_records(scenario, services, env.now, self.seed)
        return rows


def _with_port(key: tuple, ports: dict[str, int]) -> tuple:
    """A record key with the source port its sender uses (a balancer's own)."""
    port = ports.get(key[1])
    return key if port is None else (*key[:3], port, *key[4:])


def record(eni: str, src: str, dst: str, sport: int, dport: int, proto: int, packets: int,
           octets: int, start: float, end: float, action: str) -> FlowLogRecord:
    """A version 2 record; ``start``/``end`` in whole seconds around the packets' times."""
    return FlowLogRecord(VERSION, ACCOUNT_ID, eni, src, dst, sport, dport, proto, packets,
                         octets, math.floor(start), math.ceil(end), action, LOG_STATUS)


def health_check_records(scenario, services, end: float,
                         seed: np.random.SeedSequence | None) -> list[FlowLogRecord]:
    """The health checks of every load-balanced service's tasks, aggregated per load
    balancer node ENI and target ENI, port and verdict: at the balancer's ENI (egress,
    ACCEPT) and at the target's (ingress, ACCEPT or REJECT by its security groups)."""
    from .. import modes, vpc  # noqa: PLC0415 (the model, imported by the data plane anyway)

    groups = vpc.SecurityGroups(scenario.vpc.security_groups)
    sums: dict[tuple, list] = {}
    for state in services:
        if not state.load_balanced:
            continue
        for task in state.tasks:
            if task.running_at is None or task.instance is None:
                continue
            spec = state.revisions.get(task.revision, (state.spec,))[0]
            stop = end if task.stopped_at is None else min(task.stopped_at, end)
            interval = spec.health_check.interval if spec.health_check else 30.0
            checks = int((stop - task.running_at) // interval)
            if checks <= 0:
                continue
            first, last = task.running_at + interval, task.running_at + checks * interval
            for lb, ep, dport, proto, blocked in _targets(scenario, groups, spec, task,
                                                          modes, vpc):
                sport = ephemeral_port(seed, "elb", _index(scenario, lb.name))
                p = PROTOCOLS.get(proto, 6)
                for eni, action in ((lb.endpoint.eni, "ACCEPT"),
                                    (ep.eni, "REJECT" if blocked else "ACCEPT")):
                    key = (eni, lb.endpoint.ip, ep.ip, sport, dport, p, action)
                    acc = sums.setdefault(key, [0, first, last])
                    acc[0] += checks
                    acc[1], acc[2] = min(acc[1], first), max(acc[2], last)
    return [record(*key[:6], n, n * SYN_BYTES, first, last, key[6])
            for key, (n, first, last) in sorted(sums.items())]


def _index(scenario, name: str) -> int:
    """A balancer's place among the scenario's (a key of its source port)."""
    names = [b.name for b in scenario.load_balancers]
    return names.index(name) + 1 if name in names else 0


def _targets(scenario, groups, spec, task, modes, vpc) -> list[tuple]:
    """``(balancer, target endpoint, port checked, protocol, blocked)`` of each target
    group that checks a task: every group of a service with several (each checks its own
    port, and its own security group verdict decides its records), else the one balancer
    in front of it; none when no balancer checks it (no listener port, no balancer named
    or in front of it)."""
    mode = modes.get(task.mode)
    if spec.load_balancers is not None:
        out = []
        for tg in targetgroups.of_service(spec):
            lb = vpc.balancer(scenario, tg.load_balancer, mode.target_type)
            ep = mode.endpoint(task, spec)
            dport = task.binding.host_ports.get((tg.container_port, tg.protocol),
                                                tg.container_port)
            blocked = groups.enabled and groups.admits(ep, dport, tg.protocol, lb.endpoint,
                                                       ep.eni)
            out.append((lb, ep, dport, tg.protocol, blocked))
        return out
    via = spec.load_balancer or next(
        (f.via for f in scenario.traffic if f.via != "direct"
         and getattr(scenario.service_named(f.to), "name", None) == spec.name), None)
    maps = [pm for c in spec.containers for pm in c.port_mappings]
    if via is None or not maps:
        return []
    lb = vpc.balancer(scenario, via, mode.target_type)
    port, proto = maps[0].ports[0], maps[0].protocol
    dport = task.binding.host_ports.get((port, proto), port)
    return [(lb, mode.endpoint(task, spec), dport, proto,
             vpc.health_check(scenario, groups, spec, task))]
