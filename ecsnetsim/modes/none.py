"""``none``: the task has only a loopback interface; nothing can reach it.

It takes no port, ENI or IP; placement is bound by CPU and memory alone. Every
packet addressed to it is counted unreachable.
"""

from __future__ import annotations

from .base import EC2_LINUX, NetworkMode


class NoneMode(NetworkMode):
    name = "none"
    label = "none"
    colour = "#bab0ac"
    platforms = (EC2_LINUX,)
    port_mappings_allowed = False

    def wire(self, topo, task):
        """A task in none mode has a loopback device and nothing that leads to it."""
        topo.device(f"{task.id}/loopback", "loopback", task.instance.id)
