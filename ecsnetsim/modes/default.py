"""``default`` (Windows): Docker's ``nat`` driver on Windows container instances.

ECS uses it when a Windows task definition omits ``networkMode``. Like ``bridge`` on
Linux, container ports are published on the instance's address: a static ``hostPort``
is held on the instance, other mappings take ports of the Windows agent's dynamic
range (49152-65535). Each container gets an address on the host's NAT network (HNS
picks its prefix; a /20 here is a parameter-free assumption, it never binds before the
ports do). Inbound packets cross WinNAT, the Hyper-V virtual switch and the
container's vNIC. WinNAT does not loop back: the instance itself and the containers on
it cannot reach a mapped port through the instance's address (Microsoft, "Windows
container networking"; ECS guide, Windows task networking), so such packets are
unreachable.
"""

from __future__ import annotations

from . import base
from .base import EC2_WINDOWS, PublishedPortsMode, Unreachable

#: The host's NAT network (assumption: Windows chooses the internal prefix when the
#: container feature is installed; a /20 of 172.16.0.0/12 is what it typically picks).
NAT_CIDR = "172.20.0.0/20"


class DefaultMode(PublishedPortsMode):
    name = "default"
    label = "default (Windows NAT)"
    colour = "#9c755f"
    platforms = (EC2_WINDOWS,)
    default_for_os = "windows"
    network_cidr = NAT_CIDR
    network_name = "the NAT network"

    # ---- data plane: WinNAT, the Hyper-V virtual switch, the container's vNIC -------
    def _nodes(self, topo, task):
        host = task.instance.id
        return (topo.device(f"{task.id}/stack", "task_stack", host),
                topo.device(f"{task.id}/vnic", "container_vnic", host),
                topo.device(f"{host}/vswitch", "hns_vswitch", host),
                topo.device(f"{host}/winnat", "winnat", host))

    def wire(self, topo, task):
        stack, vnic, vswitch, nat = self._nodes(topo, task)
        rx, tx = topo.primary_eni(task.instance.id)
        topo.chain(rx, nat, vswitch, vnic, stack)
        topo.chain(stack, vnic, vswitch, nat, tx)

    def inbound(self, topo, task):
        stack, vnic, vswitch, nat = self._nodes(topo, task)
        rx, _tx = topo.primary_eni(task.instance.id)
        return [rx, nat, vswitch, vnic, stack]

    def outbound(self, topo, task):
        stack, vnic, vswitch, nat = self._nodes(topo, task)
        _rx, tx = topo.primary_eni(task.instance.id)
        return [stack, vnic, vswitch, nat, tx]

    def to_host_namespace(self, topo, task):
        stack, vnic, vswitch, _nat = self._nodes(topo, task)
        return [stack, vnic, vswitch]

    def local(self, topo, src, dst):
        """From the instance itself (or a container on its NAT network) to a mapped port:
        WinNAT has no loopback, the packet never arrives. A source with an ENI of its
        own goes out through the card and back, as from another host."""
        if base.mode_of(src).to_host_namespace(topo, src) is None:
            return None
        return Unreachable(f"{dst.instance.id}/winnat",
                           "WinNAT does not loop back: a mapped port cannot be reached "
                           "through the instance's own address from the instance or its "
                           "containers")
