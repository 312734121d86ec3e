"""The network mode of a task definition that names none, from the hosts it can run on.

RegisterTaskDefinition leaves ``networkMode`` empty when it is not given, and the agent
then uses its host's Docker default: ``bridge`` on Linux, ``default`` (Docker's ``nat``
driver) on Windows (Amazon ECS Developer Guide, "Amazon ECS task networking options for
the EC2 launch type": bridge "is the default network mode on Linux if a network mode
isn't specified in the task definition"; ECS API reference, RegisterTaskDefinition
``networkMode``: on Windows instances "``<default>`` or ``awsvpc`` can be used"). A
Windows task definition written before ``runtimePlatform`` existed names neither, and
ECS runs it in ``default`` on the Windows instances it lands on.

A scenario's service has one network mode, so it is decided here, before validation:
a service on EC2 with neither ``network_mode`` nor ``runtime_platform`` gets ``default``
when every instance group its ``memberOf`` constraints allow runs Windows; otherwise the
schema's default (the OS's of ``runtime_platform``, bridge without one) applies as before.
"""

from __future__ import annotations

from typing import Any

from .. import modes
from ..model import query


def _group_view(group: dict) -> query.InstanceView:
    """What a ``memberOf`` expression sees of an instance of ``group`` (its built-in
    attributes that the scenario fixes, and its own)."""
    attributes = {"ecs.instance-type": str(group.get("type", "")),
                  "ecs.os-type": str(group.get("os", "linux"))}
    if isinstance(group.get("attributes"), dict):
        attributes.update({str(k): str(v) for k, v in group["attributes"].items()})
    return query.InstanceView(ec2_instance_id="", attributes=attributes)


def _allowed(group: dict, constraints: Any) -> bool:
    """Whether the service's ``memberOf`` constraints let its tasks run on ``group``
    (an expression that cannot be read allows it: validation reports it)."""
    for c in constraints if isinstance(constraints, list) else []:
        if not isinstance(c, dict) or c.get("type") != "memberOf":
            continue
        try:
            if not query.matches(str(c.get("expression") or ""), _group_view(group)):
                return False
        except Exception:  # noqa: BLE001 (an invalid expression is validation's to report)
            continue
    return True


def host_oses(service: dict, groups: list) -> set[str]:
    """The OSes of the instance groups the service's tasks may run on.

    >>> host_oses({}, [{"name": "w", "type": "m5.large", "os": "windows"}])
    {'windows'}
    >>> host_oses({"placement_constraints": [{"type": "memberOf",
    ...     "expression": "attribute:ecs.os-type == linux"}]},
    ...     [{"type": "m5.large", "os": "windows"}, {"type": "c5.large"}])
    {'linux'}
    """
    return {str(g.get("os", "linux")) for g in groups
            if isinstance(g, dict) and _allowed(g, service.get("placement_constraints"))}


def with_host_network_modes(raw: dict) -> dict:
    """``raw`` with ``network_mode: default`` on each EC2 service that names neither a
    network mode nor a runtime platform and can only run on Windows instances (a copy
    where something changes; ``raw`` itself is left as it is)."""
    services = raw.get("services")
    cluster = raw.get("cluster")
    groups = cluster.get("instance_groups") if isinstance(cluster, dict) else None
    if not isinstance(services, list) or not isinstance(groups, list) or not groups:
        return raw
    out = None
    for i, svc in enumerate(services):
        if not isinstance(svc, dict) or "network_mode" in svc or "runtime_platform" in svc \
                or svc.get("launch_type", "EC2") != "EC2":
            continue
        if host_oses(svc, groups) == {"windows"}:
            out = out if out is not None else list(services)
            out[i] = {**svc, "network_mode": modes.default_for("windows")}
    return raw if out is None else {**raw, "services": out}
