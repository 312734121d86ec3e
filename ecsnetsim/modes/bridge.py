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

    def attach(self, inst: ContainerInstance, task: Task, spec: TaskSpec) -> str | None:
        super().attach(inst, task, spec)
        task.binding.bridge_ip = inst.docker0.allocate()
        return None

    def release(self, inst: ContainerInstance, task: Task) -> None:
        super().release(inst, task)
        if task.binding.bridge_ip:
            inst.docker0.release(task.binding.bridge_ip)

    # ---- data plane: docker0, veth pairs, iptables NAT, docker-proxy for hairpins ----
    def _nodes(self, topo, task):
        host = task.instance.id
        return (topo.device(f"{task.id}/stack", "task_stack", host),
                topo.device(f"{task.id}/veth", "veth", host),
                topo.device(f"{host}/docker0", "docker0", host),
                topo.device(f"{host}/iptables-nat", "iptables_nat", host),
                topo.device(f"{host}/host-forward", "host_forward", host))

    def wire(self, topo, task):
        stack, veth, docker0, nat, fwd = self._nodes(topo, task)
        rx, tx = topo.primary_eni(task.instance.id)
        topo.chain(rx, nat, fwd, docker0, veth, stack)  # DNAT instanceIP:hostPort
        topo.chain(stack, veth, docker0, fwd, nat, tx)  # MASQUERADE on the way out

    def inbound(self, topo, task):
        stack, veth, docker0, nat, fwd = self._nodes(topo, task)
        rx, _tx = topo.primary_eni(task.instance.id)
        return [rx, nat, fwd, docker0, veth, stack]

    def outbound(self, topo, task):
        stack, veth, docker0, nat, fwd = self._nodes(topo, task)
        _rx, tx = topo.primary_eni(task.instance.id)
        return [stack, veth, docker0, fwd, nat, tx]

    def to_host_namespace(self, topo, task):
        stack, veth, docker0, _nat, _fwd = self._nodes(topo, task)
        return [stack, veth, docker0]

    def local(self, topo, src, dst):
        """Same instance, addressed as instanceIP:hostPort.

        From another bridge container the DOCKER nat chain skips packets from docker0,
        so the connection lands in docker-proxy, which opens a second one to the
        container; from the host namespace, OUTPUT DNAT sends it straight to docker0.
        """
        stack, veth, docker0, nat, _fwd = self._nodes(topo, dst)
        host = dst.instance.id
        if src.mode == "bridge":
            src_path = self.to_host_namespace(topo, src)
            hs = topo.host_stack(host)
            port = next(iter(dst.binding.host_ports.values()), 0)
            proxy = topo.device(f"{host}/docker-proxy:{port}", "docker_proxy", host)
            topo.chain(src_path[-1], hs, proxy)
            topo.chain(proxy, hs, docker0, veth, stack)
            return src_path + [hs, proxy, hs, docker0, veth, stack]
        if src.mode == "host":
            hs = topo.host_stack(host)
            return topo.chain(hs, nat, docker0, veth, stack)
        return None
