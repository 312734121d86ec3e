"""``bridge``: Docker's default bridge (docker0) with port publishing through iptables.

A static ``hostPort`` is held on the instance (one copy per port per instance); a
dynamic mapping (``hostPort`` 0 or absent) takes the next free port of the agent's
dynamic range. Each container gets an address on docker0's 172.17.0.0/16.
"""

from __future__ import annotations

from ..control.instance import ContainerInstance, Task
from ..control.ports import PortClaim
from .base import NetworkMode, Rejection, TaskSpec


class BridgeMode(NetworkMode):
    name = "bridge"

    def port_claim(self, spec: TaskSpec) -> PortClaim:
        static = tuple((h, proto) for _c, h, proto in spec.port_mappings if h)
        dynamic = tuple(proto for _c, h, proto in spec.port_mappings if not h)
        return PortClaim(static=static, dynamic=dynamic)

    def why_not(self, inst: ContainerInstance, spec: TaskSpec) -> Rejection | None:
        rejection = super().why_not(inst, spec)
        if rejection is None and inst.docker0.free < 1:
            return Rejection("RESOURCE:PORTS", "docker0 has no free address in 172.17.0.0/16")
        return rejection

    def attach(self, inst: ContainerInstance, task: Task, spec: TaskSpec) -> None:
        super().attach(inst, task, spec)
        task.binding.bridge_ip = inst.docker0.allocate()

    def release(self, inst: ContainerInstance, task: Task) -> None:
        super().release(inst, task)
        if task.binding.bridge_ip:
            inst.docker0.release(task.binding.bridge_ip)
