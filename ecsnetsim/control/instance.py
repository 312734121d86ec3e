"""Container instances as the ECS agent registers them, and the tasks they run.

Registration follows the agent: CPU = vCPUs x 1024; memory = the OS's MemTotal
(the type's MiB less what the kernel keeps) minus ``ECS_RESERVED_MEMORY``; reserved
ports; the dynamic port range; the built-in attributes. ENI slots are the type's
maximum ENIs (all network cards), the primary ENI taking one; a trunked instance
also holds a trunk ENI and offers VLAN branch ENIs up to the trunking table's limit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from ..catalog import InstanceType
from .fargate import MicroVm
from .ipam import AddressPool, SubnetPool
from .ports import PortTable
from .states import TaskState
from .tally import TaskTally, retally


@dataclass(slots=True)
class Binding:
    """Where a placed task can be reached, filled in by its network mode."""

    ip: str | None = None  # the task's own address (its ENI's, or on a host bridge/NAT)
    ip_pool: AddressPool | None = None  # where ``ip`` came from, to give it back
    interface: str | None = None  # the kind of ENI the task holds: "eni" | "branch" | None
    host_ports: dict[tuple[int, str], int] = field(default_factory=dict)  # container -> host

    @property
    def subnet(self) -> SubnetPool | None:
        """The VPC subnet of the task's own IP, if it has one."""
        return self.ip_pool if isinstance(self.ip_pool, SubnetPool) else None


@dataclass(eq=False, slots=True)
class Task:
    """One ECS task of a service. Two tasks are the same only if they are the same object
    (a field-by-field ``__eq__`` made every ``task in list`` cost a comparison of all the
    fields, and the reconciler's list differences quadratic)."""

    id: str
    service: str
    group: str  # "service:<name>"
    mode: str
    cpu: int
    memory: int
    state: TaskState = TaskState.PENDING  # see lifecycle.py: PENDING (unplaced) ->
    # PROVISIONING -> PENDING -> RUNNING (-> DEACTIVATING) -> STOPPED
    instance: ContainerInstance | MicroVm | None = None  # a micro-VM on Fargate
    binding: Binding = field(default_factory=Binding)
    placed_at: float | None = None
    running_at: float | None = None
    stopped_at: float | None = None
    stopped_reason: str | None = None
    last_failure: str | None = None  # ECS reason of the closest instance when unplaced
    why_not: dict[str, str] = field(default_factory=dict)  # instance id -> reason
    closest: tuple | None = None  # (instance id, Rejection) that ECS's message names
    revision: int = 1  # the service revision (task definition) it runs
    healthy: bool = False  # passed the load balancer's health check (or RUNNING without one)
    healthy_at: float | None = None
    draining: bool = False  # deregistering from the load balancer before it stops
    #: the service's :class:`~.tally.TaskTally` (None: a stand-in, counted nowhere) and
    #: the class it is counted in there
    tally: TaskTally | None = field(default=None, repr=False)
    tally_key: tuple | None = field(default=None, repr=False)
    #: the instance counting it as running
    counted_on: ContainerInstance | None = field(default=None, repr=False)


def instance_id(scenario: str, group: str, index: int) -> str:
    """A stable EC2-style id (``i-`` and 17 hex digits) for reproducible results."""
    digest = hashlib.sha256(f"{scenario}/{group}/{index}".encode()).hexdigest()
    return "i-0" + digest[:16]


class ContainerInstance:
    """An EC2 instance registered to the cluster, with its ENIs, IPs, ports and tasks."""

    platform = "EC2"
    #: attributes on slots: placement reads a few of them for every candidate
    __slots__ = (
        "id", "group", "index", "type", "os", "cpu_architecture", "subnet", "az",
        "cpu_limit", "memory_limit", "cpu_used", "memory_used", "ports", "eni_limit",
        "eni_used", "trunk_tasks", "trunk_note", "trunked", "branch_used", "primary_ip",
        "trunk_ip", "mode_state", "security_groups", "public_ip", "metadata", "tasks",
        "group_counts", "changes", "position", "eni_attach_delay",
        "branch_attach_delay", "container_start_delay", "status", "attributes"
    )

    def __init__(
        self, *, id: str, group: str, index: int, itype: InstanceType, os: str,
        subnet: SubnetPool, reserved_ports: list[int], reserved_ports_udp: list[int],
        dynamic_range: tuple[int, int], reserved_memory: int, memory_overhead_percent: float,
        trunk_tasks: int | None, attributes: dict[str, str], trunk_note: str | None = None,
        eni_attach_delay: float, branch_attach_delay: float, container_start_delay: float,
    ) -> None:
        self.id = id
        self.group = group
        self.index = index
        self.type = itype
        self.os = os
        self.cpu_architecture = itype.cpu_architecture
        self.subnet = subnet
        self.az = subnet.az
        self.cpu_limit = itype.vcpus * 1024
        # the agent registers the OS's total memory in whole MiB, rounded down (MemTotal
        # on Linux, GlobalMemoryStatusEx on Windows): the ECS guide's m4.large, 8192 MiB
        # nominal, registers 7985 MiB on Linux and 8191 on Windows
        mem_total = int(itype.memory_mib * (1 - memory_overhead_percent / 100))
        self.memory_limit = max(0, mem_total - reserved_memory)
        self.cpu_used = 0
        self.memory_used = 0
        self.ports = PortTable(reserved_ports, reserved_ports_udp, dynamic_range)
        self.eni_limit = itype.max_enis
        self.eni_used = 0
        self.trunk_tasks = trunk_tasks  # branch limit when trunked, else None
        self.trunk_note = trunk_note  # why it does not trunk (or what its limit rests on)
        self.trunked = False
        self.branch_used = 0
        self.primary_ip: str | None = None
        self.trunk_ip: str | None = None
        self.mode_state: dict[str, object] = {}  # network mode name -> its state here
        self.security_groups: tuple[str, ...] = ()  # of its primary ENI
        self.public_ip = False
        #: IMDS options (http_tokens, hop_limit): the group's ``Metadata``, or None
        self.metadata: Any = None
        self.tasks: list[Task] = []
        #: running (not STOPPED) tasks here per task group, kept as tasks come and go
        self.group_counts: dict[str, int] = {}
        #: the fleet's log of changed instances (placement indexes read it), None: none
        self.changes: list | None = None
        self.position = -1  # index in the cluster's instance list
        self.eni_attach_delay = eni_attach_delay
        self.branch_attach_delay = branch_attach_delay
        self.container_start_delay = container_start_delay
        self.status = "REGISTERING"  # changed through set_status()
        self.attributes = {
            "ecs.instance-type": itype.name,
            "ecs.availability-zone": subnet.az,
            "ecs.subnet-id": subnet.name,
            "ecs.os-type": os,
            "ecs.cpu-architecture": itype.cpu_architecture,
            "ecs.capability.task-eni": "true",
            **attributes,
        }

    def register(self) -> str | None:
        """Take the primary IP (and the trunk ENI when eligible); return a failure or None."""
        self.primary_ip = self.subnet.allocate()
        if self.primary_ip is None:
            self.set_status("FAILED")
            return (f"instance {self.id} could not launch: InsufficientFreeAddressesInSubnet "
                    f"({self.subnet.name} has no free IP for its primary ENI)")
        self.eni_used = 1
        if self.trunk_tasks is not None:
            self.trunk_ip = self.subnet.allocate()
            if self.trunk_ip is None:
                self.set_status("REGISTRATION_FAILED")
                return (f"instance {self.id} REGISTRATION_FAILED: the trunk ENI could not be "
                        f"created, {self.subnet.name} has no free IP")
            self.trunked = True
            self.eni_used = 2
            self.attributes["ecs.awsvpc-trunk-id"] = "eni-trunk-" + self.id[2:10]
            self.attributes["ecs.capability.task-eni-trunking"] = "true"
        self.set_status("ACTIVE")
        return None

    def deregister(self) -> None:
        """Leave the cluster (INACTIVE); the primary and trunk IPs go back to the subnet.
        Its tasks are stopped by their services."""
        self.set_status("INACTIVE")
        for ip in (self.primary_ip, self.trunk_ip):
            if ip:
                self.subnet.release(ip)

    def set_status(self, value: str) -> None:
        """A new status changes where tasks may go and which of its tasks are current
        (``status`` itself is a plain attribute: placement reads it for every look)."""
        if value == self.status:
            return
        self.status = value
        for task in self.tasks:
            retally(task)
        self.touch()

    def touch(self) -> None:
        """Something placement looks at changed here: the fleet's log says so."""
        if self.changes is not None:
            self.changes.append(self)

    def count_running(self, task: Task) -> None:
        """Keep ``group_counts`` in step: the task counts while it is here and not STOPPED
        (told when it is added, and when it is STOPPED)."""
        here = task.instance is self and task.state is not TaskState.STOPPED
        if here == (task.counted_on is self):
            return
        self.group_counts[task.group] = self.group_counts.get(task.group, 0) + (
            1 if here else -1)
        task.counted_on = self if here else None
        # (no touch of its own: a task STOPPED is then removed, which touches)

    @property
    def branch_limit(self) -> int:
        return self.trunk_tasks or 0 if self.trunked else 0

    @property
    def running_tasks(self) -> list[Task]:
        return [t for t in self.tasks if t.state != TaskState.STOPPED]

    def add(self, task: Task) -> None:
        self.tasks.append(task)
        self.cpu_used += task.cpu
        self.memory_used += task.memory
        task.instance = self
        self.count_running(task)
        retally(task)
        self.touch()

    def remove(self, task: Task) -> None:
        if task in self.tasks:
            self.tasks.remove(task)
            self.cpu_used -= task.cpu
            self.memory_used -= task.memory
            if task.counted_on is self:  # removed before it was STOPPED
                self.group_counts[task.group] -= 1
                task.counted_on = None
            self.touch()
