"""The network of one variant as a networkx graph of devices, built from placed tasks.

Nodes are devices (each holds its engine :class:`Device`); an edge says a packet can
go from one device to the next. Every instance has its network card (a shared link in
each direction: bandwidth applies per direction and extra ENIs do not add any), a
shared vCPU pool for its kernel devices, a primary ENI and a host stack; each network
mode wires its own devices for each task (see ``modes/``). The VPC fabric joins ENIs
(same-AZ or cross-AZ), a Nitro hairpin joins two ENIs of one instance, and load
balancers and client endpoints sit in the VPC. An instance's ENIs (the devices on its
card) pass its ENA allowances (:mod:`ecsnetsim.net.ena`). A route is a walk in this graph, checked
edge by edge, so a device that is not wired cannot be on a path.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from ..calibration import DeviceParams
from ..calibration.jitter import kind_seed
from .engine import Allowance, Device, Draws, Server

#: Client endpoints and load balancers are fleets, not one host: enough servers that
#: they never queue unless a scenario asks for it through calibration.
CLIENT_CPUS = 64


#: Jitter values drawn per numpy call (per device kind).
JITTER_BLOCK = 4096


class Topology:
    """The devices of one variant and the links between them.

    ``jitter_seed`` seeds the random excess of every device kind that has a ``jitter``
    (one stream per kind, :func:`~ecsnetsim.calibration.jitter.kind_seed`); every device of a kind
    draws from the kind's one :class:`Draws`, in the order packets reach them.
    """

    def __init__(self, profile: dict[str, DeviceParams],
                 jitter_seed: np.random.SeedSequence | None = None) -> None:
        self.g = nx.DiGraph()
        self.profile = profile
        self.jitter_seed = jitter_seed if jitter_seed is not None else np.random.SeedSequence(0)
        self._draws: dict[str, Draws] = {}
        self._cpu: dict[str, Server] = {}
        self._links: dict[tuple[str, str], Server] = {}
        self._hosts: dict[str, object] = {}
        self._allowances: dict[str, Allowance] = {}

    # ---- building blocks ------------------------------------------------------------
    def add_host(self, host_id: str, vcpus: int, bandwidth_bps: float | None,
                 allowance: Allowance | None = None) -> None:
        """Register a CPU pool and a network card (in and out links) for a host, and the
        ENA allowances its ENIs' packets pass (None: none, as for a client fleet)."""
        if allowance is not None:
            self._allowances[host_id] = allowance
        self._cpu[host_id] = Server(f"{host_id}/cpu", max(1, vcpus))
        bw = bandwidth_bps or 1.25e9  # 10 Gbit/s when the catalog has no figure
        for direction in ("rx", "tx"):
            self._links[(host_id, direction)] = Server(f"{host_id}/card-{direction}", 1, bw)

    def device(self, node: str, kind: str, host: str | None = None,
               direction: str | None = None) -> str:
        """The node ``node`` of ``kind``, created with its calibrated device if new."""
        if node in self.g:
            return node
        p = self.profile[kind]
        cpu = None
        if p.service > 0:
            if p.cpu == "host" and host in self._cpu:
                cpu = self._cpu[host]
            else:
                cpu = Server(f"{node}/cpu", p.servers)
        link = self._links.get((host, direction)) if direction else None
        dev = Device(node, kind=kind, host=host, service=p.service, latency=p.latency,
                     buffer=p.buffer, cpu=cpu, link=link,
                     bandwidth=p.bandwidth if link is None else None,
                     jitter=self.draws(kind),
                     allowance=self._allowances.get(host) if link is not None else None,
                     outbound=direction == "tx")
        self.g.add_node(node, device=dev, kind=kind, host=host)
        return node

    def draws(self, kind: str) -> Draws | None:
        """The jitter draws of a device kind (None when its jitter is none), made once."""
        spec = self.profile[kind].jitter
        if spec is None:
            return None
        found = self._draws.get(kind)
        if found is None:
            rng = np.random.default_rng(kind_seed(self.jitter_seed, kind))
            found = self._draws[kind] = Draws(lambda n: spec.draw(rng, n), JITTER_BLOCK)
        return found

    def chain(self, *nodes: str) -> list[str]:
        """Add the edges of a walk through existing nodes; return the walk."""
        for a, b in zip(nodes, nodes[1:], strict=False):
            self.g.add_edge(a, b)
        return list(nodes)

    # ---- shared pieces of every instance ------------------------------------------------
    def eni(self, name: str, host: str, kind: str = "eni") -> tuple[str, str]:
        """An ENI as two devices: its receive and transmit sides on the card's links."""
        return (self.device(f"{name}:rx", kind, host, "rx"),
                self.device(f"{name}:tx", kind, host, "tx"))

    def primary_eni(self, host: str) -> tuple[str, str]:
        return self.eni(f"{host}/eni0", host)

    def host_stack(self, host: str) -> str:
        node = self.device(f"{host}/host-stack", "host_stack", host)
        rx, tx = self.primary_eni(host)
        self.chain(rx, node)
        self.chain(node, tx)
        return node

    def hairpin(self, host: str) -> str:
        return self.device(f"{host}/nic-hairpin", "nic_hairpin", host)

    def fabric(self, az_a: str, az_b: str) -> str:
        if az_a == az_b:
            return self.device(f"vpc/{az_a}", "vpc_fabric")
        return self.device(f"vpc/{az_a}->{az_b}", "vpc_fabric_cross_az")

    def client(self, az: str) -> tuple[str, str, str]:
        """A client endpoint in ``az``: its stack and its ENI (rx, tx)."""
        host = f"client/{az}"
        if host not in self._cpu:
            self.add_host(host, CLIENT_CPUS, None)
        stack = self.device(f"{host}/stack", "host_stack", host)
        rx, tx = self.eni(f"{host}/eni", host)
        self.chain(stack, tx)
        self.chain(rx, stack)
        return stack, rx, tx

    def load_balancer(self, kind: str, az: str, name: str | None = None) -> str:
        """A load balancer's node in ``az`` (one per balancer name and AZ)."""
        return self.device(f"{name or kind}/{az}", kind)

    # ---- routes ---------------------------------------------------------------------
    def allowance(self, host: str) -> Allowance | None:
        """The ENA allowances of ``host``'s card, if it has any."""
        return self._allowances.get(host)

    def pools(self):
        """``(kind, host, Server)`` for every shared pool: vCPUs and card links."""
        for host, pool in self._cpu.items():
            yield "vcpu_pool", host, pool
        for (host, direction), pool in self._links.items():
            yield f"card_{direction}", host, pool

    def connect(self, tx: str, rx: str, src_az: str, dst_az: str, same_host: str | None,
                via: str | None = None, via_name: str | None = None) -> list[str]:
        """The devices between a sending ENI and a receiving ENI (exclusive)."""
        if via is not None:
            lb = self.load_balancer(via, src_az, via_name)
            a, b = self.fabric(src_az, src_az), self.fabric(src_az, dst_az)
            self.chain(tx, a, lb, b, rx)
            return [a, lb, b]
        if same_host is not None:
            h = self.hairpin(same_host)
            self.chain(tx, h, rx)
            return [h]
        f = self.fabric(src_az, dst_az)
        self.chain(tx, f, rx)
        return [f]

    def devices(self, walk: list[str]) -> tuple[Device, ...]:
        """The engine devices of a walk, after checking it is a path in the graph."""
        for a, b in zip(walk, walk[1:], strict=False):
            if a != b and not self.g.has_edge(a, b):
                raise ValueError(f"no link from {a} to {b} in the topology")
        return tuple(self.g.nodes[n]["device"] for n in walk)
