"""``awsvpc``: each task gets its own ENI and subnet IP; no host ports are held.

Without trunking a task ENI takes one of the instance's ENI slots (the primary ENI
holds one, so a c5.large with 3 runs 2 tasks). With trunking the instance holds a
trunk ENI and each task takes a VLAN branch ENI up to the trunking table's limit.
Either way the task's IP comes from one of its subnets in the instance's AZ.

On Fargate the task runs in a micro-VM of its own whose only ENI is the task's: the
packets enter through the task ENI and cross the micro-VM's virtual NIC.
"""

from __future__ import annotations

from typing import Any

from ..endpoint import Endpoint
from ..model.instance import ContainerInstance, Task
from ..model.ipam import SubnetPool
from .base import (
    EC2_LINUX,
    EC2_WINDOWS,
    FARGATE_LINUX,
    FARGATE_WINDOWS,
    Host,
    NetworkMode,
    Rejection,
    TaskSpec,
)

#: The EC2 error a task ENI hits in a full subnet; ECS reports it as the stopped reason.
INSUFFICIENT_IPS = "InsufficientFreeAddressesInSubnet"


def _in_az(mode: NetworkMode, spec: TaskSpec, az: str) -> tuple[SubnetPool, ...]:
    return tuple(s for s in spec.subnets if s.az == az)


class AwsvpcMode(NetworkMode):
    name = "awsvpc"
    label = "awsvpc"
    colour = "#f28e2b"
    platforms = (EC2_LINUX, EC2_WINDOWS, FARGATE_LINUX, FARGATE_WINDOWS)
    host_port_equals_container_port = True
    port_ranges_allowed = True
    own_subnet_ip = True
    task_limit_note = "ENIs \u2212 1, or branch ENIs with trunking"
    target_type = "ip"
    a_records_allowed = True

    def _subnets_in_az(self, inst: Host, spec: TaskSpec) -> tuple[SubnetPool, ...]:
        """The task's subnets in the instance's AZ, once per task definition and AZ."""
        return self._once_per_task_definition(spec, inst.az, _in_az)

    def why_not(self, inst: Host, spec: TaskSpec) -> Rejection | None:
        """ENI or branch slots. Subnet IPs are not checked here: ECS does not either, the
        task fails later when its ENI cannot be created (see ``attach``)."""
        if not self._subnets_in_az(inst, spec):
            return Rejection("LOCATION", f"instance is in {inst.az}; the task's subnets are in "
                             f"{sorted({s.az for s in spec.subnets})}")
        if inst.trunked:
            if inst.branch_used >= inst.branch_limit:
                return Rejection("RESOURCE:ENI", f"all {inst.branch_limit} trunk branch ENIs "
                                 "in use")
        elif inst.eni_used >= inst.eni_limit:
            return Rejection("RESOURCE:ENI", f"all {inst.eni_limit} ENI attachments in use "
                             f"(primary ENI + {inst.eni_used - 1} task ENIs)")
        return None

    def attach(self, inst: Host, task: Task, spec: TaskSpec) -> str | None:
        """Create the task's ENI (or branch) with an IP from a subnet in the instance's AZ.

        With no free IP the ENI cannot be created: placement succeeded, the task did not.
        """
        super().attach(inst, task, spec)
        subnet = next((s for s in self._subnets_in_az(inst, spec) if s.free > 0), None)
        if subnet is None:
            names = ", ".join(s.name for s in self._subnets_in_az(inst, spec))
            return (f"{INSUFFICIENT_IPS}: no free IP address in subnet {names} for the "
                    "task's network interface")
        task.binding.ip = subnet.allocate()
        task.binding.ip_pool = subnet
        if inst.trunked:
            inst.branch_used += 1
            task.binding.interface = "branch"
        else:
            inst.eni_used += 1
            task.binding.interface = "eni"
        return None

    def release(self, inst: Host, task: Task) -> None:
        super().release(inst, task)
        if task.binding.interface == "branch":
            inst.branch_used -= 1
        elif task.binding.interface == "eni":
            inst.eni_used -= 1

    def attach_delay(self, inst: Host, task: Task) -> float:
        return inst.branch_attach_delay if inst.trunked else inst.eni_attach_delay

    def instance_report(self, inst: ContainerInstance) -> dict:
        """The most awsvpc tasks the instance holds: its branch ENIs when trunked, else
        its ENI slots less the primary ENI."""
        limit = inst.branch_limit if inst.trunked else max(0, inst.eni_limit - 1)
        return {"task_limit": limit}

    def endpoint(self, task: Task, service) -> Endpoint:
        """The task's own ENI: its subnet IP and the service's groups. On EC2 it never has
        a public IP; on Fargate when the service assigns one."""
        inst: Any = task.instance
        fargate = inst.platform == "FARGATE"
        public = bool(fargate and service.assign_public_ip)
        return Endpoint(eni=f"eni-{task.id}", ip=task.binding.ip or "0.0.0.0",
                        groups=tuple(service.security_groups or ()),
                        subnet=task.binding.subnet.name if task.binding.subnet else None,
                        public_ip=public,
                        no_public_ip=("awsvpc tasks on EC2 never get a public IP" if not fargate
                                      else "the service does not assign a public IP"),
                        what=f"task {task.id}'s ENI")

    # ---- data plane: the task's own ENI, or a VLAN branch on the trunk ENI ----------
    def _guest(self, topo, task) -> list[str]:
        """The micro-VM's virtual NIC between the ENI and the task stack (Fargate)."""
        if task.instance.platform != "FARGATE":
            return []
        return [topo.device(f"{task.id}/microvm-nic", "microvm_nic", task.instance.id)]

    def wire(self, topo, task):
        host = task.instance.id
        stack = topo.device(f"{task.id}/stack", "task_stack", host)
        guest = self._guest(topo, task)
        if task.binding.interface == "branch":
            rx, tx = topo.eni(f"{host}/trunk", host, kind="trunk_eni")
            vlan = topo.device(f"{task.id}/vlan", "vlan_branch", host)
            topo.chain(rx, vlan, stack)
            topo.chain(stack, vlan, tx)
        else:
            rx, tx = topo.eni(f"{task.id}/eni", host)
            topo.chain(rx, *guest, stack)
            topo.chain(stack, *guest, tx)

    def inbound(self, topo, task):
        host = task.instance.id
        if task.binding.interface == "branch":
            return [f"{host}/trunk:rx", f"{task.id}/vlan", f"{task.id}/stack"]
        return [f"{task.id}/eni:rx", *self._guest(topo, task), f"{task.id}/stack"]

    def outbound(self, topo, task):
        host = task.instance.id
        if task.binding.interface == "branch":
            return [f"{task.id}/stack", f"{task.id}/vlan", f"{host}/trunk:tx"]
        return [f"{task.id}/stack", *self._guest(topo, task), f"{task.id}/eni:tx"]
