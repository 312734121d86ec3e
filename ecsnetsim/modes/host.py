"""``host``: the container shares the instance's network namespace and primary ENI.

Every container port is held on the instance (one copy per port per instance); no
NAT, no bridge, no ENI of its own. Packets reach it at the instance IP through the
primary ENI and the host stack.
"""

from __future__ import annotations

from ..control.ports import PortClaim
from .base import NetworkMode, TaskSpec


class HostMode(NetworkMode):
    name = "host"

    def port_claim(self, spec: TaskSpec) -> PortClaim:
        return PortClaim(static=tuple((c, proto) for c, _h, proto in spec.port_mappings))
