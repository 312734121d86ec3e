"""Host ports of a container instance, kept the way the ECS agent and scheduler do.

* Reserved ports (``ECS_RESERVED_PORTS``, default 22, 2375, 2376, 51678, 51679) are
  never handed out.
* Static host ports (bridge ``hostPort``, every host-mode container port) are held
  per instance and per protocol until the task stops; together with the reserved
  ports they may not exceed 100 per instance ("too many ports registered").
* Dynamic host ports come from the dynamic range the way the agent picks them
  (``ephemeral_ports.go``): scan on from just after the last port handed out, wrap
  around, skip ports in use. They do not count toward the 100.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: ECS: an instance holds at most 100 reserved ports at a time, defaults included.
MAX_RESERVED_PORTS = 100


@dataclass(frozen=True)
class PortNeed:
    """One port mapping of a task definition: a container port (or the first of a
    ``containerPortRange`` of ``count`` ports), its host port (None: none given) and
    protocol."""

    container: int
    host: int | None
    protocol: str = "tcp"
    count: int = 1


@dataclass(frozen=True)
class PortClaim:
    """What a task asks of the instance's port table."""

    static: tuple[tuple[int, str], ...] = ()  # (port, protocol)
    #: (ports, protocol) per dynamic mapping: a single port, or a block of contiguous
    #: ports for a ``containerPortRange`` (the agent maps a range to contiguous ports)
    dynamic: tuple[tuple[int, str], ...] = ()
    #: the protocol when the claim is one dynamic port and nothing else (the usual
    #: bridge task: placement asks only whether a port of the range is free), else None
    one_dynamic: str | None = field(init=False, repr=False, compare=False)

    def __bool__(self) -> bool:
        return bool(self.static or self.dynamic)

    def __post_init__(self) -> None:
        one = self.dynamic[0][1] if not self.static and len(self.dynamic) == 1 and \
            self.dynamic[0][0] == 1 else None
        object.__setattr__(self, "one_dynamic", one)


class PortTable:
    def __init__(self, reserved_tcp, reserved_udp, dynamic_range: tuple[int, int]) -> None:
        self.reserved = {"tcp": set(reserved_tcp), "udp": set(reserved_udp)}
        self.static: dict[tuple[int, str], str] = {}  # (port, proto) -> task id
        self.dynamic: dict[tuple[int, str], str] = {}
        self.range = dynamic_range
        self._last = {"tcp": dynamic_range[0] - 1, "udp": dynamic_range[0] - 1}
        lo, hi = dynamic_range
        #: Ports of the dynamic range held (reserved, static or dynamic), per protocol:
        #: kept as ports are claimed and released, so that the free count placement asks
        #: for on every candidate is not a scan of the whole table.
        self._taken = {pr: sum(1 for p in ports if lo <= p <= hi)
                       for pr, ports in self.reserved.items()}

    # --- questions -------------------------------------------------------------------
    def in_use(self, port: int, proto: str) -> bool:
        key = (port, proto)
        return port in self.reserved[proto] or key in self.static or key in self.dynamic

    @property
    def reserved_count(self) -> int:
        """Ports ECS counts against the 100 limit: reserved set plus static host ports."""
        return len(self.reserved["tcp"]) + len(self.reserved["udp"]) + len(self.static)

    def why_not(self, claim: PortClaim) -> str | None:
        """``None`` if the claim fits, else a human reason (the ECS reason is RESOURCE:PORTS)."""
        proto = claim.one_dynamic
        if proto is not None and self._free_dynamic(proto) >= 1:  # the common case
            return None
        seen = set()
        for port, proto in claim.static:
            if (port, proto) in seen:
                return f"the task maps host port {port}/{proto} twice"
            seen.add((port, proto))
            if port in self.reserved[proto]:
                return f"host port {port}/{proto} is reserved by the agent"
            if (port, proto) in self.static or (port, proto) in self.dynamic:
                owner = self.static.get((port, proto)) or self.dynamic.get((port, proto))
                return f"host port {port}/{proto} is already used by task {owner}"
        if claim.static and self.reserved_count + len(claim.static) > MAX_RESERVED_PORTS:
            return (f"too many ports registered: {self.reserved_count} reserved and static "
                    f"ports held, {len(claim.static)} more would exceed {MAX_RESERVED_PORTS}")
        for proto in sorted({pr for _n, pr in claim.dynamic}):
            need = sum(n for n, pr in claim.dynamic if pr == proto)
            free = self._free_dynamic(proto, exclude=seen)
            if free < need:
                return (f"a host port is unavailable: {need} dynamic {proto} port(s) needed, "
                        f"{free} free in {self.range[0]}-{self.range[1]}")
        for n, proto in claim.dynamic:
            if n > 1 and self._contiguous(n, proto, exclude=seen) is None:
                return (f"{n} contiguous host ports unavailable ({proto}) in "
                        f"{self.range[0]}-{self.range[1]}")
        return None

    def _contiguous(self, n: int, proto: str, exclude=()) -> int | None:
        """The first port of ``n`` free contiguous ports, scanning on from the last port
        handed out and wrapping around as the agent does; None if there is no such block."""
        lo, hi = self.range
        span = hi - lo + 1
        start = self._last[proto] + 1
        run = 0
        for i in range(span + n - 1):
            port = lo + (start - lo + i) % span
            if port == lo and run:  # a block does not wrap past the end of the range
                run = 0
            if self.in_use(port, proto) or (port, proto) in exclude:
                run = 0
                continue
            run += 1
            if run == n:
                return port - n + 1
        return None

    def _free_dynamic(self, proto: str, exclude=()) -> int:
        lo, hi = self.range
        taken = self._taken[proto]
        if exclude:
            taken += sum(1 for (p, pr) in exclude if pr == proto and lo <= p <= hi)
        return (hi - lo + 1) - taken

    def _hold(self, table: dict, port: int, proto: str, task_id: str) -> None:
        if (port, proto) not in table and self.range[0] <= port <= self.range[1]:
            self._taken[proto] += 1
        table[(port, proto)] = task_id

    # --- changes ---------------------------------------------------------------------
    def claim(self, claim: PortClaim, task_id: str) -> list[int]:
        """Hold the claim for ``task_id``; return the dynamic ports in mapping order."""
        for port, proto in claim.static:
            self._hold(self.static, port, proto, task_id)
        ports: list[int] = []
        for n, proto in claim.dynamic:
            if n == 1:
                ports.append(self._next_dynamic(proto, task_id))
                continue
            first = self._contiguous(n, proto)
            if first is None:
                raise RuntimeError("no contiguous block free; why_not() should have said so")
            for port in range(first, first + n):
                self._hold(self.dynamic, port, proto, task_id)
            self._last[proto] = first + n - 1
            ports.extend(range(first, first + n))
        return ports

    def _next_dynamic(self, proto: str, task_id: str) -> int:
        lo, hi = self.range
        span = hi - lo + 1
        start = self._last[proto] + 1
        for i in range(span):
            port = lo + (start - lo + i) % span
            if not self.in_use(port, proto):
                self._hold(self.dynamic, port, proto, task_id)
                self._last[proto] = port
                return port
        raise RuntimeError("no dynamic port free; why_not() should have said so")

    def release(self, task_id: str) -> None:
        for table in (self.static, self.dynamic):
            for key in [k for k, owner in table.items() if owner == task_id]:
                del table[key]
                if self.range[0] <= key[0] <= self.range[1]:
                    self._taken[key[1]] -= 1

    def static_ports(self) -> list[str]:
        return sorted(f"{p}/{proto}" for (p, proto) in self.static)
