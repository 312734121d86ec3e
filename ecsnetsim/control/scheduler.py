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
from ..model.instance import ContainerInstance, Task
from ..model.ipam import SubnetPool
from ..rows import TimelinePoint
from ..scenario.schema import Scenario, Service
from .deployments import DeploymentTracker
from .events import Event, EventLog, Timeline
from .fleet import Fleet
from .hostports import PORT_ALREADY_ALLOCATED, AgentPicks, collision
from .lifecycle import Lifecycle
from .providers import CapacityProviders, interrupt
from .scaling import ManagedScaling
from .service import ServiceController, ServiceState


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
        #: instance group -> whether its agent gives dynamic host ports (testing each by
        #: binding it) rather than Docker; and the ports it gave
        self._agent_picks = {g.name: g.agent_assigns_host_ports
                             for g in scenario.cluster.instance_groups}
        self._picks = AgentPicks()
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
        """The container instances, EC2 first, then external ones (ECS Anywhere)."""
        fleet = self.fleet
        return fleet.instances + fleet.external if fleet.external else fleet.instances

    @property
    def providers(self) -> CapacityProviders:
        """The cluster's capacity providers and which provider runs which task."""
        return self.controller.providers

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
        elif ev.interrupt is not None:
            interrupt(self, ev.interrupt)
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
        held = collision(task, self._picks, self._agent_picks)
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
        if task.instance is not None:
            self._picks.forget(task.instance, task.id, self.env.now)
        self.deployments.stopping(svc, task)

    def drained(self, svc: ServiceState) -> None:
        self.wake_all()

    def health_check_blocked(self, svc: ServiceState, task: Task):
        blocked = vpc.health_check(self.scenario, self._groups, svc.spec, task)
        if blocked is not None:
            svc.health_check_blocked = blocked
        return blocked
