"""What every network mode answers, from the task definition to the packet path.

A mode is one module in this package with one subclass of :class:`NetworkMode`,
listed in ``modes/__init__``. Everything that differs between modes lives on that
object, so nothing outside this package tests a mode's name:

* **where it is allowed**: ``platforms`` (launch type and OS pairs), and for which OS it
  is the default when a task definition omits ``networkMode``;
* **task definition rules**: which port mappings RegisterTaskDefinition accepts
  (:meth:`NetworkMode.port_mapping_problem`, with AWS's reason) and how the
  ``compare: {network_mode: ...}`` shorthand rewrites them (:meth:`adapt_port_mapping`);
* **the control plane**: what a task claims from an instance (``why_not``, ``attach``,
  ``release``, ``attach_delay``), the per-instance state the mode keeps
  (:meth:`new_instance_state`) and the per-instance figures it reports
  (:meth:`instance_report`);
* **the data plane**: the devices it wires for a task and the walks a packet takes in,
  out and between tasks of one instance (``wire``, ``inbound``, ``outbound``,
  ``to_host_namespace``, ``local``);
* **presentation**: its label and colour in figures.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from mypy_extensions import mypyc_attr

from ..endpoint import Endpoint
from ..model.fargate import MicroVm
from ..model.instance import ContainerInstance, Task
from ..model.ipam import AddressPool, SubnetPool
from ..model.ports import PortClaim, PortNeed

#: ``(launch type, OS)`` pairs in the ECS guide's network-mode table.
EC2_LINUX = ("EC2", "linux")
EC2_WINDOWS = ("EC2", "windows")
FARGATE_LINUX = ("FARGATE", "linux")
FARGATE_WINDOWS = ("FARGATE", "windows")

#: Where a task runs: an EC2 container instance, or a Fargate micro-VM of its own.
Host = ContainerInstance | MicroVm


@dataclass(frozen=True)
class TaskSpec:
    """The parts of a service's task definition that placement looks at."""

    service: str
    mode: str
    cpu: int
    memory: int
    port_mappings: tuple[PortNeed, ...] = ()
    subnets: tuple[SubnetPool, ...] = ()  # where task ENIs may go (modes with their own ENI)
    os: str | None = None  # runtimePlatform: "linux" | "windows" | None (any)
    cpu_architecture: str | None = None  # runtimePlatform: "x86_64" | "arm64" | None (any)
    gpu: int = 0  # GPUs its containers' resourceRequirements reserve


@dataclass(frozen=True)
class Rejection:
    """Why a task does not fit an instance: the ECS reason and the numbers behind it."""

    reason: str  # RESOURCE:CPU, RESOURCE:MEMORY, RESOURCE:PORTS, RESOURCE:ENI, ...
    detail: str

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}"


@dataclass(frozen=True)
class Unreachable:
    """A packet that cannot get there: the device where it stops and why, in AWS's terms."""

    at: str | None
    reason: str


@mypyc_attr(allow_interpreted_subclasses=True)  # (a mode of one's own, uncompiled)
class NetworkMode:
    """Base class; subclasses override what differs. Defaults: no ports, no ENI.

    What a mode declares is a class variable (``ClassVar``): compiled, an attribute with
    a default would be kept per object, and a subclass's own value not seen by the base
    class's methods.

    Task-definition rules are declared by four attributes, so that one reading of
    RegisterTaskDefinition's rules (:meth:`port_mapping_problem`) serves every mode.
    """

    name: ClassVar[str] = "?"
    label: ClassVar[str] = "?"
    colour: ClassVar[str] = "#76b7b2"
    #: ``(launch type, OS)`` pairs where ECS accepts the mode.
    platforms: ClassVar[tuple[tuple[str, str], ...]] = (EC2_LINUX,)
    #: OS on which ECS uses this mode when ``networkMode`` is omitted.
    default_for_os: ClassVar[str | None] = None
    #: The mode whose paths the comparison measures others against (the most direct).
    comparison_baseline: ClassVar[bool] = False
    #: Task-definition rules: port mappings allowed at all; ``hostPort`` must be empty or
    #: equal ``containerPort``; ``containerPortRange`` allowed.
    port_mappings_allowed: ClassVar[bool] = True
    host_port_equals_container_port: ClassVar[bool] = False
    port_ranges_allowed: ClassVar[bool] = False
    #: Docker ``links`` between containers allowed (RegisterTaskDefinition: bridge only).
    links_allowed: ClassVar[bool] = False
    #: Whether the task has an IP of its own in a VPC subnet (its own ENI).
    own_subnet_ip: ClassVar[bool] = False
    #: The load-balancer target type its tasks register as (ECS refuses the other one).
    target_type: ClassVar[str] = "instance"
    #: Whether Cloud Map may register its tasks with A records (the task's own IP).
    a_records_allowed: ClassVar[bool] = False
    #: What bounds the tasks of this mode per instance, when ``instance_report`` gives a
    #: ``task_limit`` (shown beside the limit in figures).
    task_limit_note: ClassVar[str] = ""
    #: what was worked out per task definition (see :meth:`_once_per_task_definition`)
    _per_spec: dict[tuple, tuple]

    # ---- where the mode is allowed ------------------------------------------------
    @functools.cached_property
    def supported_os(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(os for lt, os in self.platforms if lt == "EC2"))

    def allows(self, launch_type: str, os: str | None = None) -> bool:
        return any(lt == launch_type and (os is None or o == os) for lt, o in self.platforms)

    # ---- task definition -------------------------------------------------------------
    def port_mapping_problem(self, pm) -> tuple[str | None, str] | None:
        """``(field, AWS's reason)`` when RegisterTaskDefinition rejects the mapping ``pm``
        (a ``PortMapping``) in this mode; the field is None for the mapping as a whole."""
        if not self.port_mappings_allowed:
            return None, (f"port mappings are not supported when networkMode is "
                          f"'{self.name}': a task in {self.name} mode has no external "
                          "connectivity")
        if pm.container_port_range is not None and not self.port_ranges_allowed:
            return "container_port_range", (
                f"containerPortRange is not supported when networkMode is '{self.name}'; "
                "it is supported in bridge and awsvpc (and Windows default) modes")
        if self.host_port_equals_container_port and pm.host_port is not None and \
                pm.container_port is not None and pm.host_port != pm.container_port:
            return "host_port", (
                f"when networkMode={self.name}, the hostPort must be left empty or equal the "
                f"containerPort (containerPort {pm.container_port}, hostPort {pm.host_port}); "
                "dynamic host ports exist only in bridge and default modes")
        return None

    def adapt_port_mapping(self, pm: dict) -> list[dict]:
        """How ``compare: {network_mode: ...}`` rewrites one mapping (a raw dict) for this
        mode: the mappings that replace it (none where the mode allows none)."""
        if not self.port_mappings_allowed:
            return []
        if self.host_port_equals_container_port:
            if pm.get("container_port_range") is not None and not self.port_ranges_allowed:
                lo, hi = (int(x) for x in str(pm["container_port_range"]).split("-"))
                rest = {k: v for k, v in pm.items() if k not in ("container_port_range",
                                                                  "host_port")}
                return [{**rest, "container_port": p, "host_port": p} for p in range(lo, hi + 1)]
            if pm.get("container_port_range") is None:
                return [{**pm, "host_port": pm.get("container_port")}]
        return [pm]

    def task_subnets(self, service_subnets: tuple[SubnetPool, ...],
                     instance_subnets: tuple[SubnetPool, ...]) -> tuple[SubnetPool, ...]:
        """The subnets a task's own ENI may use: none unless the mode gives tasks an ENI."""
        if not self.own_subnet_ip:
            return ()
        return service_subnets or instance_subnets

    # ---- control plane -------------------------------------------------------------
    def new_instance_state(self, inst: Host):
        """Per-instance state this mode keeps (a bridge, a NAT network), or None."""
        return None

    def state(self, inst: Host):
        """This mode's state on ``inst``, created the first time it is asked for."""
        states = inst.mode_state
        try:
            return states[self.name]
        except KeyError:
            state = states[self.name] = self.new_instance_state(inst)
            return state

    def port_claim(self, spec: TaskSpec) -> PortClaim:
        return PortClaim()

    def _once_per_task_definition(self, spec: TaskSpec, part: object,
                                  make: Callable[[NetworkMode, TaskSpec, Any], Any]) -> Any:
        """``make(self, spec, part)``, worked out once per task definition ``spec`` and
        ``part`` of it (placement asks on every candidate instance), and kept while
        ``spec`` lives; ``part`` tells apart the values kept for one task definition
        (None: its port claim; an AZ name: awsvpc's subnets there). ``make`` is a plain
        function, so that nothing is built per call."""
        try:
            cache = self._per_spec
        except AttributeError:  # (the modes are made without arguments, by subclasses)
            cache = self._per_spec = {}
        key = (id(spec), part)
        hit = cache.get(key)
        if hit is None or hit[0] is not spec:
            hit = cache[key] = (spec, make(self, spec, part))
        return hit[1]

    def _claim_of(self, spec: TaskSpec) -> PortClaim | None:
        """:meth:`port_claim`, once per task definition; None when the task claims no host
        port."""
        return self._once_per_task_definition(spec, None, _claim_or_none)

    def dynamic_host_ports(self) -> bool:
        """Whether a mapping without ``hostPort`` takes a dynamic host port."""
        return False

    def why_not(self, inst: Host, spec: TaskSpec) -> Rejection | None:
        """Mode-specific resources (ports, ENI or branch, subnet IP); None if they fit."""
        claim = self._claim_of(spec)
        ports = inst.ports  # (none on a micro-VM, which publishes no port)
        if claim is not None and ports is not None:
            detail = ports.why_not(claim)
            if detail:
                return Rejection("RESOURCE:PORTS", detail)
        return None

    def attach(self, inst: Host, task: Task, spec: TaskSpec) -> str | None:
        """Claim what the task holds; return why it failed to start, or None."""
        claim = self._claim_of(spec)
        ports = inst.ports
        dynamic = iter(ports.claim(claim, task.id)) if claim is not None and ports is not None \
            else iter(())
        for need in spec.port_mappings:
            for k in range(need.count):
                if need.host is not None and need.host:
                    host = need.host + k
                elif self.dynamic_host_ports():
                    host = next(dynamic)
                else:
                    host = need.container + k
                task.binding.host_ports[(need.container + k, need.protocol)] = host
        return None

    def release(self, inst: Host, task: Task) -> None:
        if inst.ports is not None:
            inst.ports.release(task.id)
        if task.binding.ip is not None and task.binding.ip_pool is not None:
            task.binding.ip_pool.release(task.binding.ip)

    def attach_delay(self, inst: Host, task: Task) -> float:
        """Seconds between placement and the task's network being ready."""
        return 0.0

    def instance_report(self, inst: ContainerInstance) -> dict:
        """Per-instance figures this mode adds to the instance rows of the results (for
        example the most tasks of the mode the instance can hold)."""
        return {}

    def endpoint(self, task: Task, service) -> Endpoint:
        """Whose ENI, address and security groups the task's packets carry: here the
        instance's primary ENI (the task has no ENI of its own)."""
        inst: Any = task.instance  # (an EC2 instance: a micro-VM has no primary ENI)
        return Endpoint(eni=f"eni-{inst.id[2:]}", ip=inst.primary_ip or "0.0.0.0",
                        groups=tuple(inst.security_groups), subnet=inst.subnet.name,
                        public_ip=inst.public_ip, what=f"instance {inst.id}")

    # ---- data plane ----------------------------------------------------------------
    # Walks are lists of topology node names (see ``net/topology.py``).
    def wire(self, topo, task: Task) -> None:
        """Add the task's devices and links to the topology."""

    def inbound(self, topo, task: Task) -> list[str] | Unreachable:
        """From the ENI that receives (rx side) to the task's application."""
        return Unreachable(None, f"network mode {self.name}: the task has no interface "
                                 "that other hosts can reach")

    def outbound(self, topo, task: Task) -> list[str] | Unreachable:
        """From the task's application to the ENI that sends (tx side)."""
        return Unreachable(None, f"network mode {self.name}: the task has no external "
                                 "connectivity")

    def to_host_namespace(self, topo, task: Task) -> list[str] | None:
        """From the application into its instance's host namespace, if it has a way there."""
        return None

    def local(self, topo, src: Task, dst: Task) -> list[str] | Unreachable | None:
        """A whole walk from ``src`` to this mode's ``dst`` on the same instance, when the
        mode has a path that stays inside the host; None: out through the card and back;
        :class:`Unreachable` when the host cannot reach it at all."""
        return None


@mypyc_attr(allow_interpreted_subclasses=True)
class PublishedPortsMode(NetworkMode):
    """A mode that publishes container ports on the instance's address through NAT
    (Linux ``bridge``, Windows ``default``): a static ``hostPort`` is held on the instance,
    one copy per port per instance; a mapping without one takes the next free port of the
    agent's dynamic range, and a ``containerPortRange`` a block of contiguous ones. Each
    task gets an address on the instance's own container network (``network_cidr``)."""

    port_ranges_allowed = True
    #: The instance's container network and how to name it in a reason.
    network_cidr: ClassVar[str] = "172.17.0.0/16"
    network_name: ClassVar[str] = "the container network"

    def new_instance_state(self, inst: Host) -> AddressPool:
        """The container network's addresses: the network address, the gateway (.1)
        and the broadcast address are not handed to containers."""
        return AddressPool(self.network_cidr, reserved_low=2, reserved_high=1)

    def why_not(self, inst: Host, spec: TaskSpec) -> Rejection | None:
        rejection = super().why_not(inst, spec)
        if rejection is None and self.state(inst).free < 1:
            return Rejection("RESOURCE:PORTS", f"{self.network_name} has no free address in "
                                               f"{self.network_cidr}")
        return rejection

    def attach(self, inst: Host, task: Task, spec: TaskSpec) -> str | None:
        super().attach(inst, task, spec)
        task.binding.ip_pool = self.state(inst)
        task.binding.ip = task.binding.ip_pool.allocate()
        return None

    def port_claim(self, spec: TaskSpec) -> PortClaim:
        static = tuple((n.host, n.protocol) for n in spec.port_mappings if n.host)
        dynamic = tuple((n.count, n.protocol) for n in spec.port_mappings if not n.host)
        return PortClaim(static=static, dynamic=dynamic)

    def dynamic_host_ports(self) -> bool:
        return True


def _claim_or_none(mode: NetworkMode, spec: TaskSpec, _part: object) -> PortClaim | None:
    claim = mode.port_claim(spec)
    return claim if claim else None


def mode_of(task: Task) -> NetworkMode:
    """The mode object of a task (the registry lives in ``modes/__init__``)."""
    from . import MODES  # noqa: PLC0415 (the registry imports the mode modules)

    return MODES[task.mode]
