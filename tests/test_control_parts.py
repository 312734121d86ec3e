"""Unit tests of the control plane's parts, each through its own API: the event log,
the task lifecycle, the instance fleet and managed scale-out, the deployment tracker and
the service controller's launch limiter (end-to-end behaviour: test_deployments.py,
test_placement.py)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import simpy
from conftest import SCENARIOS, make_scenario

from ecsnetsim import modes
from ecsnetsim.control.deployments import (
    DeploymentTracker,
    breaker_threshold,
    target_health,
)
from ecsnetsim.control.events import EventLog, Timeline
from ecsnetsim.control.fleet import Fleet
from ecsnetsim.control.lifecycle import (
    TRANSITIONS,
    IllegalTransition,
    Lifecycle,
    TaskState,
    advance,
)
from ecsnetsim.control.scheduler import Cluster
from ecsnetsim.control.service import LAUNCH_BATCH, LAUNCH_WINDOW, task_spec
from ecsnetsim.control.servicestate import Deployment, ServiceState
from ecsnetsim.model.instance import Task, instance_id
from ecsnetsim.model.ipam import SubnetPool
from ecsnetsim.scenario import load_scenario
from ecsnetsim.scenario.schema import HealthCheck

S = TaskState


def _fleet(**over):
    sc = load_scenario(make_scenario(**over))
    env = simpy.Environment()
    log = EventLog(env)
    subnets = {s.name: SubnetPool(s.name, s.cidr, s.az, s.reserved_ips)
               for s in sc.vpc.subnets}
    return sc, env, log, Fleet(sc, env, subnets, log)


def _task(n: int = 1, revision: int = 1) -> Task:
    task = Task(id=f"s-{n:04d}", service="s", group="service:s", mode="bridge", cpu=0,
                memory=1)
    task.revision = revision
    return task


# ---- event log ----------------------------------------------------------------------
def test_event_log_words_service_and_instance_events_at_the_clock_time():
    env = simpy.Environment()
    log = EventLog(env)
    log.service("api", "has reached a steady state.")
    env.run(until=2.5)
    log.instance("launch", "managed scaling launches 2 ...", 2, service="api")
    log.instance("drain", "container instance i-1 is DRAINING")
    assert len(log) == 3
    assert [e.as_dict() for e in log] == [
        {"t": 0, "service": "api", "message": "service (api) has reached a steady state."},
        {"t": 2.5, "service": "api", "message": "managed scaling launches 2 ...",
         "kind": "launch", "instances": 2},
        {"t": 2.5, "service": "", "message": "container instance i-1 is DRAINING",
         "kind": "drain", "instances": 1},
    ]


def test_timeline_records_changes_only_and_keeps_the_last_row_of_an_instant():
    tl = Timeline()
    tl.record(0.0, "a", (0, 1, 1, 0, 0))
    tl.record(1.0, "a", (0, 1, 1, 0, 0))  # unchanged: no row
    tl.record(2.0, "a", (0, 2, 0, 1, 0))
    tl.record(2.0, "a", (0, 2, 0, 2, 0))  # same instant: replaces
    tl.record(2.0, "b", (0, 1, 0, 1, 0))
    assert [(r["t"], r["service"], r["healthy"]) for r in tl.rows] == [
        (0.0, "a", 0), (2.0, "a", 2), (2.0, "b", 1)]
    assert set(tl.rows[0]) == {"t", "service", "running_old", "running_new", "pending",
                               "healthy", "draining"}


# ---- task lifecycle -------------------------------------------------------------------
LEGAL = [(a, b) for a in S for b in sorted(TRANSITIONS[a])]
ILLEGAL = [(a, b) for a in S for b in S if b not in TRANSITIONS[a]]


def test_task_state_is_a_string_in_output():
    assert S.RUNNING == "RUNNING" and f"{S.STOPPED}" == "STOPPED"
    assert json.dumps({"state": S.DEACTIVATING}) == '{"state": "DEACTIVATING"}'
    assert _task().state == "PENDING"


def test_the_modelled_path_is_legal():
    path = [S.PROVISIONING, S.PENDING, S.RUNNING, S.DEACTIVATING, S.STOPPED]
    task = _task()
    for state in path:
        advance(task, state)
        assert task.state == state
    assert set(LEGAL) == {(S.PENDING, S.PROVISIONING), (S.PENDING, S.RUNNING),
                          (S.PENDING, S.STOPPED), (S.PROVISIONING, S.PENDING),
                          (S.PROVISIONING, S.STOPPED), (S.RUNNING, S.DEACTIVATING),
                          (S.RUNNING, S.STOPPED), (S.DEACTIVATING, S.STOPPED)}


@pytest.mark.parametrize(("start", "to"), LEGAL)
def test_legal_transition(start, to):
    task = _task()
    task.state = start
    advance(task, to)
    assert task.state == to
    assert task.draining == (to == S.DEACTIVATING)


@pytest.mark.parametrize(("start", "to"), ILLEGAL)
def test_illegal_transition_is_an_error(start, to):
    task = _task()
    task.state = start
    with pytest.raises(IllegalTransition, match=f"{start} -> {to}"):
        advance(task, to)
    assert task.state == start


class Recorder:
    """A lifecycle listener that notes what it hears."""

    def __init__(self):
        self.heard = []

    def __getattr__(self, name):
        return lambda svc, *args: self.heard.append((name, *(a.id for a in args[:1])))


def _lifecycle(health_check=None, deregistration_delay=300.0, load_balanced=False):
    sc, env, log, fleet = _fleet()
    fleet.launch_initial()
    spec = sc.services[0].model_copy(update={"health_check": health_check,
                                             "deregistration_delay": deregistration_delay})
    svc = SimpleNamespace(name="s", spec=spec, task_spec=task_spec(spec, fleet, fleet.subnets),
                          load_balanced=load_balanced)
    rec = Recorder()
    return env, Lifecycle(env, rec, modes.get), svc, fleet.instances[0], rec


def test_lifecycle_starts_a_task_to_running_and_healthy_without_a_load_balancer():
    env, life, svc, inst, rec = _lifecycle()
    task = _task()
    assert life.start(svc, task, inst, modes.get("bridge"))
    assert task.state == S.PROVISIONING and task.instance is inst and task.placed_at == 0
    env.run(until=inst.container_start_delay / 2)
    assert task.state == S.PENDING  # bridge attaches at once: containers starting
    env.run(until=inst.container_start_delay + 1)
    assert task.state == S.RUNNING and task.healthy
    assert task.running_at == task.healthy_at == inst.container_start_delay
    assert [h[0] for h in rec.heard] == ["running", "healthy", "settled"]


def test_lifecycle_health_checks_then_drains_for_the_deregistration_delay():
    hc = HealthCheck(interval=10, healthy_threshold=2)
    env, life, svc, inst, rec = _lifecycle(hc, deregistration_delay=30, load_balanced=True)
    task = _task()
    life.start(svc, task, inst, modes.get("bridge"))
    healthy_after, _ = target_health(hc, 0.0)
    env.run(until=inst.container_start_delay + healthy_after + 1)
    assert task.healthy and task.healthy_at == inst.container_start_delay + healthy_after
    life.stop(svc, task, "Task replaced by a deployment")
    assert task.state == S.DEACTIVATING and task.draining and not task.healthy
    assert task in inst.running_tasks  # draining still holds its resources
    life.stop(svc, task, "again")  # already on its way: nothing happens
    env.run(until=env.now + 31)
    assert task.state == S.STOPPED and not task.draining
    assert task.stopped_reason == "Task replaced by a deployment" and task not in inst.tasks
    assert [h[0] for h in rec.heard] == [
        "running", "health_check_blocked", "changed", "healthy", "settled",  # healthy
        "stopping", "changed",  # DEACTIVATING
        "changed", "drained"]  # STOPPED after the delay
    with pytest.raises(IllegalTransition):
        life.release(svc, task, "twice")


def test_lifecycle_stops_a_task_that_is_still_starting_without_draining():
    env, life, svc, inst, rec = _lifecycle(deregistration_delay=30, load_balanced=True)
    task = _task()
    life.start(svc, task, inst, modes.get("bridge"))
    life.stop(svc, task, "Scaling activity")
    assert task.state == S.STOPPED and not inst.tasks
    env.run(until=100)
    assert task.state == S.STOPPED and task.running_at is None  # its start process gave up


def test_a_task_stopped_while_draining_keeps_its_reason():
    env, life, svc, inst, rec = _lifecycle(deregistration_delay=30, load_balanced=True)
    task = _task()
    life.start(svc, task, inst, modes.get("bridge"))
    env.run(until=inst.container_start_delay + 1)
    life.stop(svc, task, "Task replaced by a deployment")
    assert task.state == S.DEACTIVATING
    life.release(svc, task, "Host EC2 (instance i-1) terminated.")  # its instance went away
    env.run(until=env.now + 31)
    assert task.state == S.STOPPED and task.stopped_reason.startswith("Host EC2")
    assert [h[0] for h in rec.heard][-2:] == ["changed", "drained"]


def test_a_failed_attachment_is_reported_and_the_task_does_not_start():
    env, life, svc, inst, rec = _lifecycle()
    class Failing(modes.NetworkMode):  # a mode whose attachment always fails
        def attach(self, inst, task, spec):
            return "RESOURCE:ENI"

    task = _task()
    assert not life.start(svc, task, inst, Failing())
    assert task.state == S.PROVISIONING and rec.heard == [("failed", task.id)]
    env.run(until=100)
    assert task.state == S.PROVISIONING  # stopping it is the service's call


# ---- instance fleet -------------------------------------------------------------------
TWO_GROUPS = {"cluster": {"instance_groups": [
    {"name": "a", "type": "c5.large", "count": 3, "subnet": "a"},
    {"name": "b", "type": "m5.large", "count": 2, "subnet": "a"}]}}


def test_fleet_numbers_instances_per_group():
    sc, env, log, fleet = _fleet(**TWO_GROUPS)
    fleet.launch_initial()
    assert [(i.group, i.index) for i in fleet.instances] == [
        ("a", 0), ("a", 1), ("a", 2), ("b", 0), ("b", 1)]
    assert [i.id for i in fleet.members("b")] == [instance_id("t", "b", n) for n in (0, 1)]
    assert fleet.active("a") == fleet.instances[:3] and fleet.held("b") == 2
    assert fleet.members("nope") == [] and fleet.active("nope") == []
    assert fleet.launch(fleet.groups["b"]).index == 2


def test_fleet_group_queries_after_drain_and_terminate():
    sc, env, log, fleet = _fleet(**TWO_GROUPS)
    fleet.launch_initial()
    a0, a1, a2 = fleet.members("a")
    subnet = a0.subnet
    used = subnet.used
    fleet.drain(a0)
    assert fleet.active("a") == [a1, a2] and fleet.held("a") == 3
    stopped = []
    fleet.terminate(a1, stopped.append)
    assert stopped == [a1] and a1.status == "INACTIVE"
    assert subnet.used == used - 1  # its primary IP is back in the subnet
    assert fleet.active("a") == [a2] and fleet.held("a") == 2
    assert fleet.members("a") == [a0, a1, a2]  # the group remembers every instance
    assert fleet.launch(fleet.groups["a"]).index == 3  # numbers are not reused
    assert [(e.kind, e.instances) for e in log] == [("drain", 1), ("terminate", 1)]
    assert log.entries[1].message == f"container instance {a1.id} was terminated"


def test_fleet_counts_failed_launches_in_the_numbering():
    # a /28 offers 11 addresses: the 12th instance finds no IP for its primary ENI
    sc, env, log, fleet = _fleet(
        vpc={"subnets": [{"name": "a", "cidr": "10.0.0.0/28", "az": "us-east-1a"}]},
        cluster={"instance_groups": [{"name": "g", "type": "c5.large", "count": 12,
                                      "subnet": "a"}]})
    fleet.launch_initial()
    assert [i.index for i in fleet.members("g")] == list(range(12))
    assert fleet.members("g")[-1].status == "FAILED" and len(fleet.active("g")) == 11
    assert [e.kind for e in log] == ["launch-failed"]


def test_deregister_gives_back_the_primary_and_trunk_ips():
    sc, env, log, fleet = _fleet(account={"awsvpc_trunking": True})
    fleet.launch_initial()
    inst = fleet.instances[0]
    assert inst.trunked and inst.subnet.used == 2
    inst.deregister()
    assert inst.status == "INACTIVE" and inst.subnet.used == 0


def test_scale_out_numbers_new_instances_after_the_groups_own():
    sc = load_scenario(SCENARIOS / "scale-out.yaml")
    env = simpy.Environment()
    cluster = Cluster(sc, env, np.random.default_rng(1))
    g = cluster.fleet.groups["hosts"]
    svc = cluster.services[0]
    assert cluster.scaling.fit_on_new(g, svc, modes.get("awsvpc"), 10) == 2  # ENIs bind
    env.run(until=cluster.steady)
    hosts = cluster.fleet.members("hosts")
    assert [i.index for i in hosts] == [0, 1, 2, 3] and cluster.fleet.active("hosts") == hosts
    assert cluster.fleet.held("hosts") == 4 and cluster.scaling.pending == 0
    kinds = [(e.kind, e.instances) for e in cluster.events if e.kind]
    assert kinds == [("launch", 2), ("register", 1), ("register", 1)]
    assert len(svc.running) == 8 and not svc.unplaced


# ---- deployment tracker -----------------------------------------------------------------
@pytest.mark.parametrize(("desired", "threshold"), [
    (0, 3), (1, 3), (5, 3), (6, 3), (7, 4), (10, 5), (399, 200), (400, 200), (5000, 200)])
def test_circuit_breaker_threshold(desired, threshold):
    assert breaker_threshold(desired) == threshold


def _service(desired=10, circuit_breaker=None, revisions=1):
    spec = make_scenario()["services"][0] | {"desired_count": desired}
    if circuit_breaker is not None:
        spec["deployment"] = {"circuit_breaker": circuit_breaker}
    sc = load_scenario(make_scenario(services=[spec]))
    env = simpy.Environment()
    log = EventLog(env)
    svc = ServiceState(spec=sc.services[0], task_spec=None, desired=desired,
                       load_balanced=False)
    for r in range(1, revisions + 1):
        svc.revisions[r] = (sc.services[0], None)
    svc.revision = revisions
    return env, log, DeploymentTracker(env, log), svc


def test_waves_count_starts_after_an_old_task_stopped():
    env, log, tracker, svc = _service(revisions=2)
    dep = tracker.begin(svc)
    assert svc.deployment is dep and svc.deployments == [dep] and dep.waves == 0
    tracker.started(dep, 2)
    assert dep.waves == 1
    tracker.started(dep, 1)  # replacing new tasks alone is no new wave
    tracker.started(dep, 0)
    assert dep.waves == 1
    tracker.stopping(svc, _task(revision=2))  # a new task stopping: still no new wave
    tracker.started(dep, 1)
    assert dep.waves == 1
    tracker.stopping(svc, _task(revision=1))
    tracker.started(dep, 3)
    assert dep.waves == 2
    tracker.started(None, 3)  # no deployment: nothing to count
    assert log.entries[0].message == "service (s) (deployment s:2) new deployment started."


def test_zero_healthy_seconds_and_fewest_healthy():
    dep = Deployment(service="s", revision=2, started_at=0.0)
    dep.observe(0.0, 3)
    dep.observe(10.0, 0)
    dep.observe(12.0, 0)  # still none: the window stays open from 10
    dep.observe(25.0, 1)
    assert dep.zero_healthy_seconds == 15 and dep.min_healthy_observed == 0
    dep.observe(30.0, 0)
    dep.close(40.0, "COMPLETED")  # an open window ends with the deployment
    assert dep.zero_healthy_seconds == 25 and dep.finished_at == 40.0
    assert dep.as_dict()["status"] == "COMPLETED"


def test_a_newer_deployment_stalls_the_one_in_progress():
    env, log, tracker, svc = _service(revisions=2)
    first = tracker.begin(svc)
    svc.revision = 3
    second = tracker.begin(svc)
    assert first.status == "STALLED" and first.finished_at is None
    assert svc.deployment is second and svc.deployments == [first, second]


@pytest.mark.parametrize(("rollback", "status"), [(False, "FAILED"), (True, "ROLLED_BACK")])
def test_circuit_breaker_trips_at_the_threshold(rollback, status):
    env, log, tracker, svc = _service(desired=10, revisions=2,
                                      circuit_breaker={"enable": True, "rollback": rollback})
    dep = tracker.begin(svc)
    for _ in range(breaker_threshold(10) - 1):
        assert tracker.task_failed(svc, "RESOURCE:ENI") is None
    assert svc.deployment is dep and dep.status == "IN_PROGRESS"
    again = tracker.task_failed(svc, "RESOURCE:ENI")
    assert dep.status == status and svc.deployment is None and dep.failed_tasks == 5
    assert dep.failures == {"RESOURCE:ENI": 5}
    assert (again is svc.revisions[1][0]) if rollback else again is None
    assert log.entries[-1].message == ("service (s) (deployment s:2) deployment failed: "
                                       "tasks failed to start.")


def test_circuit_breaker_off_only_counts():
    env, log, tracker, svc = _service(desired=2, revisions=2)
    dep = tracker.begin(svc)
    for _ in range(10):
        assert tracker.task_failed(svc, "ELB:UNHEALTHY") is None
    assert dep.status == "IN_PROGRESS" and dep.failed_tasks == 10


def test_finish_stalls_a_deployment_whose_tasks_keep_failing():
    env, log, tracker, svc = _service(revisions=2)
    dep = tracker.begin(svc)
    tracker.task_failed(svc, "RESOURCE:ENI")
    tracker.finish(svc, moving=True)
    assert dep.status == "STALLED"
    assert log.entries[-1].message == "service (s) (deployment s:2) is STALLED: RESOURCE:ENI."
    env, log, tracker, svc = _service(revisions=2)
    dep = tracker.begin(svc)
    tracker.finish(svc, moving=True)
    assert dep.status == "IN_PROGRESS"


def test_target_health_with_and_without_a_grace_period():
    hc = HealthCheck(interval=10, healthy_threshold=3, unhealthy_threshold=2)
    assert target_health(hc, 0.0) == (30.0, None)
    assert target_health(hc, 45.0) == (70.0, 20.0)  # fails checks 1-4: stopped at 20 s
    assert target_health(hc.model_copy(update={"grace_period": 120.0}), 45.0) == (70.0, None)


# ---- service controller -------------------------------------------------------------
def test_launch_limiter_starts_250_tasks_per_service_per_minute():
    sc = load_scenario(make_scenario(services=[{"name": "s", "desired_count": 300,
                                                "network_mode": "bridge", "cpu": 0,
                                                "memory": 1}]))
    env = simpy.Environment()
    cluster = Cluster(sc, env, np.random.default_rng(1))
    svc = cluster.services[0]
    env.run(until=1)
    assert len(svc.tasks) == LAUNCH_BATCH and len(svc.unplaced) == 300 - LAUNCH_BATCH
    assert svc.throttled and not cluster.steady.triggered
    env.run(until=LAUNCH_WINDOW + 1)
    assert len(svc.tasks) == 300 and not svc.unplaced
    started = [e.message for e in cluster.events if "has started" in e.message]
    assert [m.split(" tasks:")[0] for m in started] == ["service (s) has started 250",
                                                        "service (s) has started 50"]


# ---- the port table's free count, kept as ports come and go ----------------------------
def test_free_dynamic_count_matches_a_scan_of_the_table():
    """The table counts the dynamic range's held ports as claims and releases happen; the
    count must equal a scan of everything held after any sequence of them."""
    from ecsnetsim.model.ports import PortClaim, PortTable

    rng = np.random.default_rng(3)
    lo, hi = 40000, 40063
    table = PortTable([22, 40010], [53], (lo, hi))
    held: list[str] = []

    def scanned(proto: str) -> int:
        taken = {p for (p, pr) in [*table.static, *table.dynamic] if pr == proto}
        taken |= {p for p in table.reserved[proto]}
        return (hi - lo + 1) - sum(1 for p in taken if lo <= p <= hi)

    for step in range(400):
        proto = ("tcp", "udp")[int(rng.integers(2))]
        if held and rng.random() < 0.4:
            table.release(held.pop(int(rng.integers(len(held)))))
        else:
            static = ((int(rng.integers(lo - 5, hi + 5)), proto),) if rng.random() < 0.3 else ()
            claim = PortClaim(static=static, dynamic=((int(rng.integers(1, 4)), proto),))
            if table.why_not(claim) is None:
                table.claim(claim, f"t{step}")
                held.append(f"t{step}")
        for pr in ("tcp", "udp"):
            assert table._free_dynamic(pr) == scanned(pr)


def test_a_second_change_at_the_same_instant_replaces_the_row_at_any_time_value():
    """The timeline keeps one row per service and instant; an instant that does not round
    exactly to the stored microsecond (0.1 + 0.2) must still be recognised as the same."""
    tl = Timeline()
    now = 0.1 + 0.2
    tl.record(now, "web", (0, 1, 2, 0, 0))
    tl.record(now, "web", (0, 2, 1, 0, 0))
    assert [(r.t, r.running_new, r.pending) for r in tl.rows] == [(0.3, 2, 1)]
