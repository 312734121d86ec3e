"""IP address management: VPC subnets, and address pools of host networks.

A VPC subnet reserves five addresses (the first four and the last: network, VPC
router, DNS, future use, broadcast), so it offers 2^(32-prefix) - 5. Every instance
primary IP, trunk ENI IP and awsvpc task IP is drawn here; exhaustion is what stops
awsvpc tasks and instances alike.
"""

from __future__ import annotations

import functools
import heapq
import ipaddress
import socket

#: Addresses AWS reserves in every subnet (Amazon VPC User Guide, subnet sizing).
VPC_RESERVED_PER_SUBNET = 5


@functools.lru_cache(maxsize=256)
def _network(cidr: str) -> ipaddress.IPv4Network:
    """A CIDR parsed once: every instance's container network is the same one."""
    return ipaddress.IPv4Network(cidr)


class AddressPool:
    """Hands out the lowest free address of a network, skipping reserved ones."""

    def __init__(self, cidr: str, reserved_low: int, reserved_high: int, taken: int = 0) -> None:
        self.network = _network(cidr)
        self._base = int(self.network.network_address)
        self._first = reserved_low
        self._last = self.network.num_addresses - 1 - reserved_high
        self.capacity = max(0, self._last - self._first + 1 - taken)
        self._next = self._first + taken
        self._free: list[int] = []  # released offsets, reused lowest first
        self._used: set[int] = set()

    @property
    def used(self) -> int:
        return len(self._used)

    @property
    def free(self) -> int:
        return self.capacity - len(self._used)

    def allocate(self) -> str | None:
        """The next free address, or ``None`` when the pool is exhausted."""
        if self._free:  # a heap: the lowest released offset, without sorting each time
            off = heapq.heappop(self._free)
        elif self._next <= self._last and len(self._used) < self.capacity:
            off = self._next
            self._next += 1
        else:
            return None
        self._used.add(off)
        return socket.inet_ntoa((self._base + off).to_bytes(4, "big"))

    def release(self, ip: str) -> None:
        off = int(ipaddress.IPv4Address(ip)) - self._base
        if off in self._used:
            self._used.remove(off)
            heapq.heappush(self._free, off)


class SubnetPool(AddressPool):
    """A VPC subnet: name, AZ and the 2^(32-prefix) - 5 usable addresses."""

    def __init__(self, name: str, cidr: str, az: str, reserved_ips: int = 0) -> None:
        # first four (network, router, DNS, future use) and the last (broadcast)
        super().__init__(cidr, reserved_low=4, reserved_high=1, taken=reserved_ips)
        self.name = name
        self.az = az
        self.cidr = str(self.network)
        self.other_consumers = reserved_ips

    @property
    def usable(self) -> int:
        """2^(32 - prefix) - 5: what AWS lets ENIs use in this subnet."""
        return self.network.num_addresses - VPC_RESERVED_PER_SUBNET
