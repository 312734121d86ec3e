"""Fargate: tasks that run off the cluster's instances, each in a micro-VM of its own.

A Fargate task uses no instance's CPU, memory, ENI slot or port. It gets its own ENI
with one IP from the service's subnets (awsvpc is the only mode Fargate allows), in
the Availability Zone where the service has the fewest tasks (Fargate spreads tasks
across the AZs of the service's subnets; it takes no strategies or constraints). The
service scheduler launches up to 500 Fargate tasks per service per minute (ECS best
practices, task launch). The task's size must be one of Fargate's CPU and memory
pairs (:data:`SIZES`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ..catalog import InstanceType
from .tally import retally

#: Fargate task sizes: task CPU units -> the memory values (MiB) allowed with it.
#: Source: Amazon ECS Developer Guide, "Task CPU and memory" (Fargate), and the ECS API
#: reference, RegisterTaskDefinition ``cpu``: 256 (.25 vCPU) 512/1024/2048 MiB; 512 1-4 GB;
#: 1024 2-8 GB; 2048 4-16 GB; 4096 8-30 GB in 1 GB steps; 8192 16-60 GB in 4 GB steps;
#: 16384 32-120 GB in 8 GB steps (8 and 16 vCPU need Linux platform version 1.4.0).
SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}
#: Windows containers on Fargate start at 1 vCPU (ECS guide, Fargate Windows task sizes).
WINDOWS_MIN_CPU = 1024

#: Fargate's service scheduler launch rate (ECS best practices: 500 tasks/service/min).
LAUNCH_BATCH = 500


def size_problem(cpu: int, memory: int, os: str = "linux") -> tuple[str, str] | None:
    """``(field, reason)`` when ``cpu``/``memory`` is not a Fargate size, else None."""
    if cpu not in SIZES:
        return "cpu", (f"Fargate supports task CPU values {', '.join(map(str, SIZES))} "
                       f"(got {cpu})")
    if os == "windows" and cpu < WINDOWS_MIN_CPU:
        return "cpu", (f"Windows tasks on Fargate need at least {WINDOWS_MIN_CPU} CPU units "
                       f"(got {cpu})")
    allowed = SIZES[cpu]
    if memory not in allowed:
        return "memory", (f"with cpu {cpu}, Fargate supports memory {_ranges(allowed)} MiB "
                          f"(got {memory})")
    return None


def _ranges(values: tuple[int, ...]) -> str:
    if len(values) <= 3:
        return ", ".join(map(str, values))
    return f"{values[0]}-{values[-1]} in steps of {values[1] - values[0]}"


@dataclass
class MicroVm:
    """The host of one Fargate task: a micro-VM whose only ENI is the task's.

    It stands where a container instance stands for an EC2 task (the network mode
    attaches the task's ENI to it, the lifecycle waits on its start-up, the data plane
    wires it as a host), but it belongs to no cluster, offers exactly one ENI and
    publishes no host port.
    """

    id: str
    az: str
    type: InstanceType
    container_start_delay: float  # Fargate's start-up: capacity, ENI, VM and image pull
    os: str = "linux"
    platform = "FARGATE"
    status = "ACTIVE"
    ports = None
    trunked = False
    branch_used = 0
    branch_limit = 0
    eni_attach_delay = 0.0  # part of ``container_start_delay``
    branch_attach_delay = 0.0

    #: the service's count of tasks on micro-VMs per AZ, kept as tasks come and go
    per_az: Counter | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.eni_limit = 1
        self.eni_used = 0
        self.mode_state: dict = {}
        self.tasks: list = []

    def add(self, task) -> None:
        self.tasks.append(task)
        task.instance = self
        if self.per_az is not None:
            self.per_az[self.az] += 1
        retally(task)

    def remove(self, task) -> None:
        if task in self.tasks:
            self.tasks.remove(task)
            if self.per_az is not None:
                self.per_az[self.az] -= 1


def vm_type(cpu: int, memory: int, arch: str = "x86_64") -> InstanceType:
    """The micro-VM's shape as the data plane sees it: the task's vCPUs (at least one)."""
    return InstanceType(name=f"fargate.{cpu}-{memory}", vcpus=max(1, cpu // 1024),
                        memory_mib=memory, max_enis=1, network_cards=1, ipv4_per_eni=1,
                        baseline_gbps=None, peak_gbps=None, hypervisor="firecracker",
                        architectures=(arch,), bare_metal=False, burstable=False,
                        trunk_tasks=None, trunk_note=None)


def pick_az(subnet_azs: list[str], running: Counter) -> str:
    """The AZ of the service's subnets where it runs the fewest tasks (first on ties)."""
    return min(dict.fromkeys(subnet_azs), key=lambda az: running[az])
