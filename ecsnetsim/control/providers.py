"""Capacity providers: where each task of a service with a capacity provider strategy runs.

A strategy lists providers with a ``base`` and a ``weight`` (ECS API reference,
CapacityProviderStrategyItem): "The base value designates how many tasks, at a minimum,
to run on the specified capacity provider"; "The weight value is taken into consideration
after the base value, if defined, is satisfied": two providers of weight 1 share the rest
evenly, weights 1 and 4 put four tasks on the second for every one on the first; a
provider of weight 0 takes no task beyond its base. Each new task goes to the provider
whose base is not yet met, else to the one furthest below its share: the smallest
``(tasks beyond its base + 1) / weight``, the first listed among equals. The tasks
counted are the service's current revision's that are not stopping, so that a task that
stops (a Spot interruption) is replaced where the split is short.

Providers: an Auto Scaling group provider places on its instance group's instances only
(ECS's placement, strategies and constraints within them); FARGATE and FARGATE_SPOT run
each task on a micro-VM of its own (FARGATE_SPOT's can be interrupted: :func:`interrupt`).
Tasks of the EXTERNAL launch type (ECS Anywhere) go to external instances only.
"""

from __future__ import annotations

from collections import Counter
from fractions import Fraction

from ..model import fargate
from ..model.instance import Task
from ..model.states import TaskState, advance
from ..model.tally import retally
from ..scenario.schema import FARGATE_PROVIDERS, CapacityProviderStrategyItem, Scenario
from .capacity import EC2_LAUNCH_BATCH
from .placeindex import PlacementIndex
from .placement import DEFAULT_SERVICE_STRATEGY, PLACED, Decision, place

#: A Fargate Spot task is stopped two minutes after its interruption warning (ECS API
#: reference, CapacityProviderStrategyItem: "your tasks are interrupted with a two-minute
#: warning"; Developer Guide: the warning is a task state change event and a SIGTERM to
#: the running task).
SPOT_WARNING = 120.0

#: The stopped reason of an interrupted Fargate Spot task (as ECS reports it).
SPOT_STOPPED_REASON = "Your Spot Task was interrupted."


def next_provider(strategy: list[CapacityProviderStrategyItem], counts: Counter) -> str:
    """The provider the next task goes to, given the tasks each already runs.

    Examples
    --------
    >>> s = [CapacityProviderStrategyItem(capacity_provider="A", weight=1),
    ...      CapacityProviderStrategyItem(capacity_provider="B", weight=4)]
    >>> split(s, 10)
    Counter({'B': 8, 'A': 2})
    """
    for item in strategy:
        if item.base and counts[item.capacity_provider] < item.base:
            return item.capacity_provider
    weighted = [i for i in strategy if i.weight > 0] or strategy[:1]
    best, best_share = weighted[0].capacity_provider, None
    for item in weighted:
        beyond = max(0, counts[item.capacity_provider] - item.base)
        share = Fraction(beyond + 1, item.weight or 1)
        if best_share is None or share < best_share:
            best, best_share = item.capacity_provider, share
    return best


def deal_past(strategy: list[CapacityProviderStrategyItem], dealt: Counter, blocked,
              budget: int) -> tuple[str | None, int]:
    """Deal tasks by the split (each to :func:`next_provider`'s answer, ``dealt`` counting
    it) until one falls to a provider not in ``blocked``: return that provider and the
    budget left, or ``(None, 0)`` when ``budget`` tasks all fell to blocked providers.

    The same dealing as calling :func:`next_provider` once per task, in jumps: past the
    bases, the split deals in the order of each provider's next share
    ``(tasks beyond its base + m) / weight`` (the first listed among equals), so the tasks
    a blocked provider takes before an open one's turn are counted, not dealt one by one
    (a cluster without room for a service's waiting tasks would otherwise cost
    O(waiting tasks) per task).

    >>> s = [CapacityProviderStrategyItem(capacity_provider="A", weight=1),
    ...      CapacityProviderStrategyItem(capacity_provider="B", weight=4)]
    >>> dealt = Counter()
    >>> deal_past(s, dealt, {"B"}, 100), dealt
    (('A', 96), Counter({'B': 3, 'A': 1}))
    """
    left = budget
    while left > 0:  # bases first, in list order, each provider's until it is met
        item = next((i for i in strategy
                     if i.base and dealt[i.capacity_provider] < i.base), None)
        if item is None:
            break
        name = item.capacity_provider
        if name not in blocked:
            dealt[name] += 1
            return name, left - 1
        n = min(left, item.base - dealt[name])
        dealt[name] += n
        left -= n
    if left <= 0:
        return None, 0
    weighted = [i for i in strategy if i.weight > 0] or strategy[:1]
    order = {i.capacity_provider: k for k, i in enumerate(weighted)}
    beyond = {i.capacity_provider: max(0, dealt[i.capacity_provider] - i.base) for i in weighted}
    weight = {i.capacity_provider: i.weight or 1 for i in weighted}
    open_ = [n for n in order if n not in blocked]
    if not open_:
        return None, 0
    # the open provider whose next share is the smallest: (beyond + 1) / weight, compared
    # as integers (a/b < c/d as a*d < c*b), the first listed among equals
    best = open_[0]
    for n in open_[1:]:
        if (beyond[n] + 1) * weight[best] < (beyond[best] + 1) * weight[n]:
            best = n
    steps = {}
    for n in order:  # the blocked providers' tasks dealt before best's turn
        if n in blocked:
            num, den = (beyond[best] + 1) * weight[n], weight[best]
            most = (num // den if order[n] < order[best] else (num - 1) // den) - beyond[n]
            steps[n] = max(0, most)
    if sum(steps.values()) >= left:
        return None, 0
    for n, k in steps.items():
        dealt[n] += k
    dealt[best] += 1
    return best, left - sum(steps.values()) - 1


def split(strategy: list[CapacityProviderStrategyItem], tasks: int,
          counts: Counter | None = None) -> Counter:
    """How ``tasks`` new tasks split over the providers (on top of ``counts``)."""
    counts = Counter(counts or {})
    added: Counter = Counter()
    for _ in range(tasks):
        name = next_provider(strategy, counts)
        counts[name] += 1
        added[name] += 1
    return added


class GroupPlacement:
    """An Auto Scaling group provider: ECS's placement over its groups' instances (in
    launch order), through a placement index per kind of task that sees only them (the
    same choice as the full scan over them, without looking at every instance per task);
    the full scan runs when none takes the task, for its "why not" answers."""

    launch_batch = EC2_LAUNCH_BATCH

    def __init__(self, fleet, groups: list[str], draws) -> None:
        self.fleet = fleet
        self.groups = groups
        self.draws = draws  # the placement stream's tie-breaks, shared with EC2 placement
        self._indexes: dict[str, PlacementIndex] = {}  # task group -> its index
        self.indexes_built = 0  # how many indexes were made: one per kind of task

    def _index(self, svc, group: str, mode, strategies, constraints) -> PlacementIndex:
        index = self._indexes.get(group)
        if index is None or not index.places(svc.task_spec, mode, strategies, constraints):
            index = self._indexes[group] = PlacementIndex(
                self.fleet.instances, self.fleet.changes, svc.task_spec, group, mode,
                strategies, constraints, frozenset(self.groups))
            self.indexes_built += 1
        return index

    def members(self) -> list:
        groups = self.groups
        if len(groups) == 1:
            return self.fleet.members(groups[0])
        return sorted((i for g in groups for i in self.fleet.members(g)),
                      key=lambda i: i.position)

    def choose(self, svc, task: Task, mode, only=None) -> Decision:
        strategies = svc.spec.placement_strategy or DEFAULT_SERVICE_STRATEGY
        constraints = svc.spec.placement_constraints
        if only is None:
            inst = self._index(svc, task.group, mode, strategies, constraints).choose(
                self.draws)
            if inst is not None:
                return Decision(inst, PLACED)
        cluster = [only] if only is not None else self.members()
        return place(svc.task_spec, task.group, mode, cluster, strategies, constraints,
                     self.draws)


class ExternalPlacement(GroupPlacement):
    """EXTERNAL: ECS's placement over the cluster's external instances (ECS Anywhere)."""

    def choose(self, svc, task: Task, mode, only=None) -> Decision:
        cluster = [only] if only is not None else self.fleet.external
        return place(svc.task_spec, task.group, mode, cluster,
                     svc.spec.placement_strategy or DEFAULT_SERVICE_STRATEGY,
                     svc.spec.placement_constraints, self.draws)


class StrategyPlacement:
    """A service's tasks over the providers of its strategy, each task where the split
    is short (see :func:`next_provider`); remembers which provider runs which task."""

    def __init__(self, strategy: list[CapacityProviderStrategyItem], providers: dict) -> None:
        self.strategy = strategy
        self.providers = providers  # name -> GroupPlacement or the Fargate micro-VMs
        fargate_kind = strategy[0].capacity_provider in FARGATE_PROVIDERS
        self.launch_batch = fargate.LAUNCH_BATCH if fargate_kind else EC2_LAUNCH_BATCH
        self.provider_of: dict[str, str] = {}  # task id -> provider
        self.waiting_for: str | None = None  # the provider the next waiting task needs
        self._counts: Counter = Counter()  # kept by _watch: see counts
        self._tally = None  # the tally _watch follows, and the revision it counts
        self._revision: int | None = None

    def counts(self, svc) -> Counter:
        """The service's current tasks per provider (stopping ones not counted), kept as
        its tasks change class (:meth:`_watch`) and counted afresh only when the service
        starts following this placement or begins a deployment: a count per placed task
        would make placing n tasks O(n^2)."""
        tally = svc.tally
        if self._tally is not tally or self._revision != svc.revision:
            self._tally, self._revision = tally, svc.revision
            tally.watcher = self._watch
            self._counts = Counter(self.provider_of[t.id] for t in tally.live
                                   if self._counted(t.tally_key) and t.id in self.provider_of)
        return Counter(self._counts)

    def _counted(self, key) -> bool:
        """Whether a task of this class counts: placed, not stopped or stopping (its
        state is not DEACTIVATING: that is when it drains), of the current revision."""
        return key is not None and key[0] == self._revision and \
            key[1] is not TaskState.DEACTIVATING

    def _watch(self, task: Task, old, new) -> None:
        name = self.provider_of.get(task.id)
        if name is not None and self._counted(old) != self._counted(new):
            self._counts[name] += 1 if self._counted(new) else -1

    def choose(self, svc, task: Task, mode, only=None) -> Decision:
        """Place ``task`` on the provider the split sends the next task to. When that
        provider has no room, its task waits (PROVISIONING, for managed scaling) while the
        other providers still take their share: the waiting tasks are dealt out by the
        split, the blocked providers' ones skipped, and this task goes to the first that
        falls to a provider with room, if one does among them."""
        dealt = self.counts(svc)
        blocked: dict[str, Decision] = {}
        first = None
        left = max(1, len(svc.waiting))
        while True:
            name, left = deal_past(self.strategy, dealt, blocked, left)
            if name is None:
                break
            decision = self.providers[name].choose(svc, task, mode, only)
            if decision.instance is not None:
                self.provider_of[task.id] = name
                return decision
            blocked[name] = decision
            first = first or name
        self.waiting_for = first
        return blocked[first]

    def waiting_on(self, svc, provider: str, waiting: int) -> int:
        """How many of the service's ``waiting`` tasks the split sends to ``provider``."""
        return split(self.strategy, waiting, self.counts(svc))[provider]


class CapacityProviders:
    """The cluster's providers, and each service's placement by its strategy."""

    def __init__(self, scenario: Scenario, fleet, ec2, micro_vms) -> None:
        self.scenario = scenario
        self.fleet = fleet
        self.by_name = {cp.name: cp for cp in scenario.cluster.capacity_providers}
        self.placements: dict = {"FARGATE": micro_vms, "FARGATE_SPOT": micro_vms}
        for cp in scenario.cluster.capacity_providers:
            if cp.groups:
                self.placements[cp.name] = GroupPlacement(fleet, cp.groups, ec2.draws)
        self.external = ExternalPlacement(fleet, [], ec2.draws)
        self._strategies: dict[tuple, StrategyPlacement] = {}
        #: the groups of providers: scaled by their provider only (see scaling.py)
        self.groups = {g: cp for cp in scenario.cluster.capacity_providers
                       for g in cp.groups}

    def for_service(self, svc) -> StrategyPlacement | GroupPlacement | None:
        """The placement of a service with a strategy (or EXTERNAL), else None."""
        spec = svc.spec
        if spec.launch_type == "EXTERNAL":
            return self.external
        strategy = spec.capacity_provider_strategy
        if not strategy:
            return None
        key = (spec.name, tuple((i.capacity_provider, i.base, i.weight) for i in strategy))
        placement = self._strategies.get(key)
        if placement is None:
            placement = self._strategies[key] = StrategyPlacement(strategy, self.placements)
        return placement

    def provider_of(self, svc, task: Task) -> str | None:
        """The provider a task of ``svc`` runs on, if it has one."""
        placement = self.for_service(svc)
        return getattr(placement, "provider_of", {}).get(task.id)


def interrupt(cluster, selector) -> list[Task]:
    """Fargate Spot takes capacity back: each chosen FARGATE_SPOT task gets the warning
    now (a SIGTERM; it is deregistered and stops counting, so that its service starts a
    replacement where its strategy says) and is STOPPED two minutes later."""
    hit = []
    for svc in cluster.services:
        if selector.service is not None and svc.name != selector.service:
            continue
        spot = [t for t in svc.tally.live
                if t.state == TaskState.RUNNING and not t.draining
                and cluster.providers.provider_of(svc, t) == "FARGATE_SPOT"]
        spot.sort(key=lambda t: t.id)  # the oldest first (task numbers grow)
        if selector.count is not None:
            spot = spot[:selector.count - len(hit)]
        for task in spot:
            _warn(cluster, svc, task)
            hit.append(task)
    if hit:
        cluster.log.instance("spot-interruption", f"Fargate Spot interrupted {len(hit)} "
                             f"task(s): {' '.join(t.id for t in hit)}; each stops in "
                             f"{SPOT_WARNING:g} s", len(hit))
    return hit


def _warn(cluster, svc, task: Task) -> None:
    """The two-minute warning: SIGTERM, out of the target group, replaced; then stopped."""
    cluster.log.service(svc.name, f"(task {task.id}) received a Fargate Spot interruption "
                                  f"warning: SIGTERM sent, the task stops in "
                                  f"{SPOT_WARNING:g} seconds.")
    cluster.stopping(svc, task)
    cluster.lifecycle.settle()
    advance(task, TaskState.DEACTIVATING)
    task.healthy = False
    retally(task)
    cluster.changed(svc)
    cluster.env.process(_reclaim(cluster, svc, task))


def _reclaim(cluster, svc, task: Task):
    yield cluster.env.timeout(SPOT_WARNING)
    if task.state == TaskState.DEACTIVATING:
        cluster.lifecycle.release(svc, task, SPOT_STOPPED_REASON)
        cluster.log.service(svc.name, f"(task {task.id}) stopped: {SPOT_STOPPED_REASON}")
    cluster.wake_all()
