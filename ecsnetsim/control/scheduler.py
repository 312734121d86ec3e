"""The cluster on the simpy clock: the control plane's parts wired together.

- :mod:`.fleet`: the container instances of each group (and :mod:`.scaling`, managed
  scale-out for tasks no instance can take);
- :mod:`.service`: one reconciler per service: rolling updates, daemons, placement, the
  launch rate, retries;
- :mod:`.lifecycle`: each task's states, PROVISIONING -> PENDING -> RUNNING, health
  checks, draining, STOPPED;
- :mod:`.deployments`: deployments' waves and health, the circuit breaker;
- :mod:`.events`: the event log in ECS's wording, and the timeline of task counts.

The cluster relays what the lifecycle reports to the services and the deployment
tracker, and applies the scenario's events (deploy, scale, drain, terminate) at their
time.
"""

from __future__ import annotations

import numpy as np
import simpy

from .. import modes, vpc
from ..model.conntrack import held_host_port
from ..model.instance import ContainerInstance, Task
from ..model.ipam import SubnetPool
from ..rows import TimelinePoint
from ..scenario.schema import Scenario, Service
from .deployments import DeploymentTracker
from .events import Event, EventLog, Timeline
from .fleet import Fleet
from .lifecycle import Lifecycle
from .scaling import ManagedScaling
from .service import ServiceController, ServiceState

#: Docker's reason when a published host port cannot be bound (libnetwork's
#: portallocator, ErrPortAlreadyAllocated: "Bind for IP:PORT failed: port is already
#: allocated"); the key of the service's ``launch_failures``.
PORT_ALREADY_ALLOCATED = "port is already allocated"


def port_collision(task: Task) -> str | None:
    """Why ``task``'s containers could not start, when a dynamic host port it was given
    is held by an outbound connection of its instance's host namespace (an ephemeral port
    the kernel handed out), else None.

    The agent hands out dynamic ports from its own table in turn, which knows nothing of
    the kernel's ephemeral ports (as Docker's port allocator did before agent 1.70); the
    bind happens when the container starts, and fails if an outbound connection holds
    the port then. Only TCP ports: the connections modelled are TCP."""
    inst = task.instance
    if inst is None or inst.platform != "EC2" or inst.ports is None:
        return None
    for (port, proto), owner in inst.ports.dynamic.items():
        if owner == task.id and proto == "tcp" and held_host_port(inst, port):
            return (f"CannotStartContainerError: Error response from daemon: driver failed "
                    f"programming external connectivity: Bind for 0.0.0.0:{port} failed: "
                    f"{PORT_ALREADY_ALLOCATED}")
    return None


class Cluster:
    """The container instances, subnets and service schedulers of one variant."""

    def __init__(self, scenario: Scenario, env: simpy.Environment, rng: np.random.Generator):
        self.scenario = scenario
        self.env = env
        self.rng = rng
        self.log = EventLog(env)
        self._timeline = Timeline()
        self.subnets = {s.name: SubnetPool(s.name, s.cidr, s.az, s.reserved_ips)
                        for s in scenario.vpc.subnets}
        self.fleet = Fleet(scenario, env, self.subnets, self.log)
        self.fleet.launch_initial()
        self.scaling = ManagedScaling(env, self.fleet, self.log, self.wake_all)
        self.deployments = DeploymentTracker(env, self.log)
        self.lifecycle = Lifecycle(env, self, modes.get)
        self._groups = vpc.SecurityGroups(scenario.vpc.security_groups)
        self.controller = ServiceController(scenario, env, rng, self.fleet, self.subnets,
                                            self.log, self._timeline, self.lifecycle,
                                            self.deployments, self.scaling)
        for svc in self.services:
            env.process(self.controller.run(svc))
        for ev in sorted(scenario.events, key=lambda e: e.at):
            env.process(self._at(ev))
        if not self.services:
            self.steady.succeed(0.0)

    # ---- what simulate.py and the data plane read -------------------------------------
    @property
    def services(self) -> list[ServiceState]:
        return self.controller.services

    @property
    def instances(self) -> list[ContainerInstance]:
        return self.fleet.instances

    @property
    def events(self) -> list[Event]:
        return self.log.entries

    @property
    def timeline(self) -> list[TimelinePoint]:
        """The services' task counts at each change (rows that read like dicts)."""
        return self._timeline.rows

    @property
    def steady(self) -> simpy.Event:
        """Fires once every task that can start is RUNNING."""
        return self.controller.steady

    def wake_all(self) -> None:
        """Something changed: every service looks again."""
        self.controller.wake_all()

    def finish(self) -> None:
        """At the end of the run: a deployment still waiting on a blocker, or whose new
        tasks keep failing with none turning healthy since, is STALLED."""
        self.controller.finish()

    # ---- the scenario's events ----------------------------------------------------------
    def _at(self, ev):
        env = self.env
        if ev.at > env.now:
            yield env.timeout(ev.at - env.now)
        if ev.deploy is not None:
            svc = self.controller.service(ev.deploy)
            spec = Service.model_validate({**svc.spec.model_dump(by_alias=True), **ev.set})
            self.controller.deploy(svc, spec)
        elif ev.scale is not None:
            self.controller.scale(self.controller.service(ev.scale), ev.desired_count)
        else:
            sel, drain = (ev.drain, True) if ev.drain is not None else (ev.terminate, False)
            for inst in self.fleet.active(sel.group)[:sel.count]:
                self._retire(inst, drain)
        self.wake_all()

    def _retire(self, inst: ContainerInstance, drain: bool) -> None:
        """Drain (tasks are replaced elsewhere first) or terminate (tasks die now)."""
        if drain:
            self.fleet.drain(inst)
        else:
            self.fleet.terminate(inst, self._stop_tasks_on)

    def _stop_tasks_on(self, inst: ContainerInstance) -> None:
        """The instance's live tasks stop, service by service, each service's in the
        order they were placed (the instance's own list: no scan of every task)."""
        on = inst.running_tasks
        for svc in self.services:
            for t in [t for t in on if t.tally is svc.tally]:
                self.lifecycle.release(svc, t, "Host EC2 (instance " + inst.id + ") terminated.")

    # ---- what the lifecycle reports (lifecycle.Listener) ------------------------------
    def changed(self, svc: ServiceState) -> None:
        self.controller.refresh(svc)

    def running(self, svc: ServiceState, task: Task) -> None:
        held = port_collision(task)
        if held is not None:  # docker could not bind the dynamic host port: never started
            self.controller.fail(svc, task, held, key=PORT_ALREADY_ALLOCATED)
            return
        self.controller.running(svc, task)

    def healthy(self, svc: ServiceState, task: Task) -> None:
        self.deployments.healthy(svc, task)

    def settled(self, svc: ServiceState) -> None:
        self.controller.refresh(svc)
        self.controller.check_steady(svc)
        self.wake_all()

    def unhealthy(self, svc: ServiceState, task: Task) -> None:
        self.controller.unhealthy(svc, task)

    def failed(self, svc: ServiceState, task: Task, reason: str) -> None:
        self.controller.fail(svc, task, reason)

    def stopping(self, svc: ServiceState, task: Task) -> None:
        self.deployments.stopping(svc, task)

    def drained(self, svc: ServiceState) -> None:
        self.wake_all()

    def health_check_blocked(self, svc: ServiceState, task: Task):
        blocked = vpc.health_check(self.scenario, self._groups, svc.spec, task)
        if blocked is not None:
            svc.health_check_blocked = blocked
        return blocked
