"""``host``: the container shares the instance's network namespace and primary ENI.

Every container port is held on the instance (one copy per port per instance); no
NAT, no bridge, no ENI of its own. Packets reach it at the instance IP through the
primary ENI and the host stack. Being the most direct path, it is the baseline the
comparison measures the other modes against.
"""

from __future__ import annotations

from ..model.ports import PortClaim
from . import base
from .base import EC2_LINUX, NetworkMode, TaskSpec


class HostMode(NetworkMode):
    name = "host"
    label = "host"
    colour = "#4e79a7"
    platforms = (EC2_LINUX,)
    comparison_baseline = True
    host_port_equals_container_port = True

    def port_claim(self, spec: TaskSpec) -> PortClaim:
        return PortClaim(static=tuple((n.container + k, n.protocol)
                                      for n in spec.port_mappings for k in range(n.count)))

    def inbound(self, topo, task):
        host = task.instance.id
        rx, _tx = topo.primary_eni(host)
        return [rx, topo.host_stack(host)]

    def outbound(self, topo, task):
        host = task.instance.id
        _rx, tx = topo.primary_eni(host)
        return [topo.host_stack(host), tx]

    def to_host_namespace(self, topo, task):
        return [topo.host_stack(task.instance.id)]

    def local(self, topo, src, dst):
        """Same instance: the source enters the host namespace and the host stack delivers."""
        path = base.mode_of(src).to_host_namespace(topo, src)
        if path is None:
            return None
        stack = topo.host_stack(dst.instance.id)
        topo.chain(path[-1], stack)
        return path + [stack]
