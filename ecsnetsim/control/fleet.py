"""The instance fleet: container instances of each group, launched, numbered, retired.

An instance takes its group's type, OS and agent settings (the OS's reserved ports and
dynamic port range unless the group sets its own) and its group's subnet (the VPC's first
by default). Instances of a group are numbered from 0 in launch order, failed launches
included, so that ids stay stable when a launch fails.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import simpy

from .. import catalog
from ..model.instance import ContainerInstance, instance_id
from ..model.ipam import SubnetPool
from ..scenario.schema import (
    LINUX_DYNAMIC_PORT_RANGE,
    LINUX_MEMORY_OVERHEAD_PERCENT,
    LINUX_RESERVED_PORTS,
    WINDOWS_DYNAMIC_PORT_RANGE,
    WINDOWS_MEMORY_OVERHEAD_PERCENT,
    WINDOWS_RESERVED_PORTS,
    InstanceGroup,
    Scenario,
)
from . import trunking
from .events import EventLog


def _range(text: str) -> tuple[int, int]:
    lo, hi = text.split("-")
    return int(lo), int(hi)


def build_instance(sc: Scenario, g: InstanceGroup, index: int, subnet: SubnetPool
                   ) -> ContainerInstance:
    """Instance ``index`` of group ``g`` in ``subnet``, not yet registered."""
    itype = catalog.get(g.type)
    windows = g.os == "windows"
    trunk = trunking.decide(itype, g.os, sc.account.awsvpc_trunking, g.awsvpc_trunking,
                            g.trunk_tasks, sc.cluster.trunking_table)
    overhead = g.memory_overhead_percent
    if overhead is None:
        overhead = WINDOWS_MEMORY_OVERHEAD_PERCENT if windows else LINUX_MEMORY_OVERHEAD_PERCENT
    agent = g.agent
    reserved = agent.reserved_ports if agent.reserved_ports is not None else (
        WINDOWS_RESERVED_PORTS if windows else LINUX_RESERVED_PORTS)
    # ECS_DYNAMIC_HOST_PORT_RANGE, else the agent's default: the kernel's
    # ip_local_port_range (agent/utils/ephemeral_ports_linux.go reads it)
    drange = g.dynamic_host_port_range or agent.dynamic_port_range or \
        g.ephemeral_port_range or (
            WINDOWS_DYNAMIC_PORT_RANGE if windows else LINUX_DYNAMIC_PORT_RANGE)
    inst = ContainerInstance(
        id=instance_id(sc.name, g.name, index), group=g.name, index=index, itype=itype,
        os=g.os, subnet=subnet, reserved_ports=reserved,
        reserved_ports_udp=agent.reserved_ports_udp, dynamic_range=_range(drange),
        reserved_memory=agent.reserved_memory,
        memory_overhead_percent=overhead, trunk_tasks=trunk.branches, trunk_note=trunk.reason,
        attributes=g.attributes, eni_attach_delay=agent.eni_attach_delay,
        branch_attach_delay=agent.branch_attach_delay,
        container_start_delay=agent.container_start_delay)
    inst.security_groups = tuple(g.security_groups)
    inst.public_ip = g.public_ip
    inst.metadata = g.metadata
    if g.external:
        _make_external(inst)
    return inst


#: Where external instances (ECS Anywhere) take their address: their own network, not a
#: subnet of the VPC (the range is an assumption; no result depends on it but the rows).
ON_PREMISES = ("on-premises", "192.168.0.0/16", "on-premises")


def _make_external(inst: ContainerInstance) -> None:
    """An ECS Anywhere server: registered with the ``ecs.capability.external`` attribute
    (ECS Developer Guide, external instances), no ENI to attach, no VPC subnet or AZ."""
    inst.eni_limit = 0
    attributes = inst.attributes
    for name in ("ecs.availability-zone", "ecs.subnet-id", "ecs.capability.task-eni"):
        attributes.pop(name, None)
    attributes["ecs.capability.external"] = "true"


class Fleet:
    """Every instance of the cluster in launch order, and each group's own list."""

    def __init__(self, scenario: Scenario, env: simpy.Environment,
                 subnets: dict[str, SubnetPool], log: EventLog) -> None:
        self.scenario = scenario
        self.env = env
        self.subnets = subnets
        self.log = log
        self.instances: list[ContainerInstance] = []
        #: external instances (ECS Anywhere), apart: EC2 placement never sees them, and
        #: only EXTERNAL tasks go to them (with their own change log)
        self.external: list[ContainerInstance] = []
        self.external_changes: list[ContainerInstance] = []
        self._on_premises: SubnetPool | None = None
        self.groups = {g.name: g for g in scenario.cluster.instance_groups}
        self._members: dict[str, list[ContainerInstance]] = {name: [] for name in self.groups}
        self._launched: Counter = Counter()  # group -> instances launched (next index)
        #: instances whose placement-relevant state changed, in order (appended by the
        #: instances themselves; placement indexes read on from where they last looked)
        self.changes: list[ContainerInstance] = []

    def launch_initial(self) -> None:
        """Each group's ``count`` instances, group after group."""
        for g in self.scenario.cluster.instance_groups:
            for _ in range(g.count):
                self.launch(g)

    def subnet_of(self, g: InstanceGroup) -> SubnetPool:
        if g.external:
            if self._on_premises is None:
                self._on_premises = SubnetPool(*ON_PREMISES)
            return self._on_premises
        return self.subnets[g.subnet or self.scenario.vpc.subnets[0].name]

    def build(self, g: InstanceGroup, index: int, subnet: SubnetPool) -> ContainerInstance:
        return build_instance(self.scenario, g, index, subnet)

    def launch(self, g: InstanceGroup) -> ContainerInstance:
        """Launch and register the group's next instance (a failure is an event)."""
        inst = self.build(g, self._launched[g.name], self.subnet_of(g))
        self._launched[g.name] += 1
        instances, changes = (self.external, self.external_changes) if g.external else \
            (self.instances, self.changes)
        inst.changes = changes
        inst.position = len(instances)
        failure = inst.register()
        if failure:
            self.log.instance("launch-failed", failure)
        if g.external:
            inst.eni_used = 0  # (its own network: no primary ENI of a VPC)
        instances.append(inst)
        self._members[g.name].append(inst)
        return inst

    def members(self, group: str) -> list[ContainerInstance]:
        """The group's instances in launch order, whatever their status."""
        return self._members.get(group, [])

    def active(self, group: str) -> list[ContainerInstance]:
        """The group's ACTIVE instances in launch order."""
        return [i for i in self.members(group) if i.status == "ACTIVE"]

    def held(self, group: str) -> int:
        """The group's instances that count against its maximum (ACTIVE or DRAINING)."""
        return sum(1 for i in self.members(group) if i.status in ("ACTIVE", "DRAINING"))

    def drain(self, inst: ContainerInstance) -> None:
        """DRAINING: no new task is placed; the services replace its tasks elsewhere."""
        inst.set_status("DRAINING")
        self.log.instance("drain", f"container instance {inst.id} is DRAINING")

    def terminate(self, inst: ContainerInstance,
                  stop_tasks: Callable[[ContainerInstance], None]) -> None:
        """Gone: its tasks die now (``stop_tasks``), its own IPs go back to the subnet."""
        inst.deregister()
        self.log.instance("terminate", f"container instance {inst.id} was terminated")
        stop_tasks(inst)
