"""What every network mode answers: what a task needs from a host, how it is attached.

A mode is one module in this package with one subclass of :class:`NetworkMode`.
The control plane asks it whether a task fits an instance (``why_not``), to claim
and release what the task holds (``attach``/``release``) and how long attachment
takes; the data plane asks it which devices a packet crosses (``inbound``/``outbound``).
Adding a mode means adding a module here and registering it in ``modes/__init__``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..control.instance import ContainerInstance, Task
from ..control.ipam import SubnetPool
from ..control.ports import PortClaim


@dataclass(frozen=True)
class TaskSpec:
    """The parts of a service's task definition that placement looks at."""

    service: str
    mode: str
    cpu: int
    memory: int
    port_mappings: tuple[tuple[int, int | None, str], ...]  # (container, host or None, proto)
    subnets: tuple[SubnetPool, ...] = ()  # awsvpc: where task ENIs may go


@dataclass(frozen=True)
class Rejection:
    """Why a task does not fit an instance: the ECS reason and the numbers behind it."""

    reason: str  # RESOURCE:CPU, RESOURCE:MEMORY, RESOURCE:PORTS, RESOURCE:ENI, ...
    detail: str

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}"


class NetworkMode:
    """Base class; subclasses override what differs. Defaults: no ports, no ENI."""

    name = "?"
    supported_os: tuple[str, ...] = ("linux",)

    # ---- control plane -------------------------------------------------------------
    def port_claim(self, spec: TaskSpec) -> PortClaim:
        return PortClaim()

    def why_not(self, inst: ContainerInstance, spec: TaskSpec) -> Rejection | None:
        """Mode-specific resources (ports, ENI or branch, subnet IP); None if they fit."""
        claim = self.port_claim(spec)
        if claim.static or claim.dynamic:
            detail = inst.ports.why_not(claim)
            if detail:
                return Rejection("RESOURCE:PORTS", detail)
        return None

    def attach(self, inst: ContainerInstance, task: Task, spec: TaskSpec) -> str | None:
        """Claim what the task holds; return why it failed to start, or None."""
        claim = self.port_claim(spec)
        dynamic = iter(inst.ports.claim(claim, task.id))
        for container_port, host_port, proto in spec.port_mappings:
            if host_port:
                task.binding.host_ports[(container_port, proto)] = host_port
            elif self.name == "bridge":
                task.binding.host_ports[(container_port, proto)] = next(dynamic)
            else:
                task.binding.host_ports[(container_port, proto)] = container_port
        return None

    def release(self, inst: ContainerInstance, task: Task) -> None:
        inst.ports.release(task.id)

    def attach_delay(self, inst: ContainerInstance, task: Task) -> float:
        """Seconds between placement and the task's network being ready."""
        return 0.0

    # ---- data plane ----------------------------------------------------------------
    # Walks are lists of topology node names (see ``net/topology.py``).
    def wire(self, topo, task: Task) -> None:
        """Add the task's devices and links to the topology."""

    def inbound(self, topo, task: Task) -> list[str] | None:
        """From the ENI that receives (rx side) to the task's application; None: unreachable."""
        return None

    def outbound(self, topo, task: Task) -> list[str] | None:
        """From the task's application to the ENI that sends (tx side); None: no way out."""
        return None

    def to_host_namespace(self, topo, task: Task) -> list[str] | None:
        """From the application into its instance's host namespace, if it has a way there."""
        return None

    def local(self, topo, src: Task, dst: Task) -> list[str] | None:
        """A whole walk from ``src`` to this mode's ``dst`` on the same instance, when the
        mode has a path that stays inside the host; None: out through the card and back."""
        return None


def mode_of(task: Task) -> NetworkMode:
    """The mode object of a task (the registry lives in ``modes/__init__``)."""
    from . import MODES  # noqa: PLC0415 (the registry imports the mode modules)

    return MODES[task.mode]
