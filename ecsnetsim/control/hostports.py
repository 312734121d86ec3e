"""Dynamic host ports against the kernel's ephemeral ports: whether a bridge or default
task's container can bind the host port it was given when it starts.

Outbound connections of an instance's host namespace hold ephemeral ports
(:mod:`ecsnetsim.model.conntrack`); a port one of them holds cannot be bound by the
container's published port. Who picked the port decides how often that happens:

* **the agent** (1.70 and later, ``agent_assigns_host_ports: true``) picks each dynamic
  port by binding a listener to it, scanning on from the last port it gave, so it skips
  every port a connection holds at the pick; the container fails only if a connection
  takes its port between the pick and the container's start (a race). The model's port
  table hands out ports in turn without the kernel's, so the port the agent would have
  given is worked out here: from the table's port on, the first that no connection held
  at the pick and that no other task was given (:class:`AgentPicks`);
* **Docker** (agents before 1.70, ``false``) picks from its own allocator, blind to the
  kernel's ports: any port held at the container's start collides.

The window from the pick to the bind is the model's placement to RUNNING (attach and
container start delays), an upper bound: the agent picks when it creates the container,
after the image pull. The failure is counted as ``port is already allocated``, Docker's
words for a published port that is taken (docker-proxy reports the kernel's refusal as
"bind: address already in use"). Only TCP: the connections modelled are TCP.
"""

from __future__ import annotations

from ..model.conntrack import held_host_port

#: The key of a service's ``launch_failures`` for such a task.
PORT_ALREADY_ALLOCATED = "port is already allocated"


class AgentPicks:
    """The dynamic host ports the agent gave, per instance: (task id, the table's port) ->
    [the port given, when the task stopped (None while it lives)]. A port is the agent's
    from its pick until its task stops; the picks are worked out when the containers start
    (in the order they were picked), so a stopped task's port is kept until no later pick
    can be earlier than its stop."""

    def __init__(self) -> None:
        self.given: dict[str, dict[tuple[str, int], list]] = {}

    def port_for(self, inst, task_id: str, port: int, picked: float) -> int | None:
        """The port an agent that tests ports by binding them gave instead of the table's
        ``port`` (picked at ``picked``), remembered for the task; None if none was free."""
        given = self.given.setdefault(inst.id, {})
        for key in [k for k, (_q, stop) in given.items() if stop is not None and stop <= picked]:
            del given[key]  # stopped before this pick (and before any pick still to come)
        mine = given.get((task_id, port))
        if mine is not None:
            return mine[0]
        others = {q for q, _stop in given.values()}
        lo, hi = inst.ports.range
        q = port
        for _ in range(hi - lo + 1):
            since = held_host_port(inst, q)
            free_then = since is None or since > picked
            if free_then and q not in others and (q == port or not inst.ports.in_use(q, "tcp")):
                given[task_id, port] = [q, None]
                return q
            q = lo if q >= hi else q + 1
        return None

    def forget(self, inst, task_id: str, now: float) -> None:
        """The task stopped at ``now``: its ports are the agent's to give again after."""
        for key, entry in self.given.get(inst.id, {}).items():
            if key[0] == task_id and entry[1] is None:
                entry[1] = now


def collision(task, picks: AgentPicks, agent_picks: dict[str, bool]) -> str | None:
    """Why ``task``'s container could not bind its dynamic host port, or None (a Fargate
    micro-VM has no host ports to pick: nothing can collide there). ``agent_picks``
    says per instance group whether the agent picks the port (``picks``: its picks) or
    Docker does, blind to the kernel's ports (groups not named: the agent)."""
    inst = task.instance
    if inst is None or inst.platform != "EC2" or inst.ports is None:
        return None
    agent = picks if agent_picks.get(inst.group, True) else None
    picked = task.placed_at if task.placed_at is not None else 0.0
    for (port, proto), owner in list(inst.ports.dynamic.items()):
        if owner != task.id or proto != "tcp":
            continue
        bound = port if agent is None else agent.port_for(inst, task.id, port, picked)
        if bound is not None and held_host_port(inst, bound) is not None:
            return (f"CannotStartContainerError: Error response from daemon: driver failed "
                    f"programming external connectivity: Bind for 0.0.0.0:{bound} failed: "
                    f"{PORT_ALREADY_ALLOCATED}")
    return None
