"""``bridge``: Docker's default bridge (docker0) with port publishing through iptables.

A static ``hostPort`` is held on the instance (one copy per port per instance); a
dynamic mapping (``hostPort`` 0 or absent) takes the next free port of the agent's
dynamic range. Each container gets an address on docker0's 172.17.0.0/16, which this
mode keeps per instance.
"""

from __future__ import annotations

from . import base
from .base import EC2_LINUX, PublishedPortsMode

#: Docker's default bridge network, the first local-scope pool in libnetwork's ipamutils.
DOCKER0_CIDR = "172.17.0.0/16"


class BridgeMode(PublishedPortsMode):
    name = "bridge"
    label = "bridge"
    colour = "#59a14f"
    platforms = (EC2_LINUX,)
    default_for_os = "linux"
    links_allowed = True
    network_cidr = DOCKER0_CIDR
    network_name = "docker0"

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

        From a container behind this docker0 the DOCKER nat chain skips packets from
        docker0, so the connection lands in docker-proxy, which opens a second one to the
        container; from the host namespace, OUTPUT DNAT sends it straight to docker0. A
        source with no way into the host namespace goes out through the card and back.
        """
        src_path = base.mode_of(src).to_host_namespace(topo, src)
        if src_path is None:
            return None
        stack, veth, docker0, nat, _fwd = self._nodes(topo, dst)
        host = dst.instance.id
        if src_path[-1] == docker0:
            hs = topo.host_stack(host)
            port = next(iter(dst.binding.host_ports.values()), 0)
            proxy = topo.device(f"{host}/docker-proxy:{port}", "docker_proxy", host)
            topo.chain(docker0, hs, proxy)
            topo.chain(proxy, hs, docker0, veth, stack)
            return src_path + [hs, proxy, hs, docker0, veth, stack]
        topo.chain(src_path[-1], nat, docker0, veth, stack)
        return src_path + [nat, docker0, veth, stack]
