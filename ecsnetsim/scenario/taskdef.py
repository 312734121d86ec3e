"""Import an ECS task definition JSON (``aws ecs describe-task-definition`` output, or the
bare ``taskDefinition`` object) as the fields of a scenario's service.

The file is user input like the scenario itself, read within the same bounds
(:func:`~.yamlsrc.read_bounded`, :func:`~.yamlsrc.load_json`). What RegisterTaskDefinition
itself refuses about sizes is refused here, naming the JSON file and the field, with
AWS's reason; everything else is translated to scenario fields, which then pass the same
schema and checks as fields written in the scenario.
"""

from __future__ import annotations

from typing import Any

from ..errors import ScenarioError, show
from .yamlsrc import load_json

#: RegisterTaskDefinition: a task-level ``cpu``, when given, is "between 128 CPU units
#: (0.125 vCPUs) and 196608 CPU units (192 vCPUs)" (ECS API reference, TaskDefinition.cpu).
TASK_CPU_RANGE = (128, 196608)
#: Docker 20.10 and later refuse a container memory limit or reservation below 6 MiB
#: ("Minimum memory limit allowed is 6MB"); the ECS API reference says not to specify less
#: (ContainerDefinition.memory, memoryReservation).
MIN_CONTAINER_MIB = 6


class _Problem(Exception):
    """A problem at a field of the JSON document (``containerDefinitions[0].memory``)."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(message)
        self.where = where
        self.message = message


def task_definition_fields(data: bytes, file: str) -> tuple[dict[str, Any], list[str]]:
    """The scenario fields of the task definition ``data`` (the bytes of ``file``, read
    with :func:`~.yamlsrc.read_bounded`), and warnings.

    Raises :class:`ScenarioError` naming ``file`` (and the JSON field) for a document that
    is not an ECS task definition or that RegisterTaskDefinition would refuse.
    """
    doc = load_json(data, file)
    try:
        return _fields(doc, file)
    except _Problem as exc:
        where = f"{exc.where}: " if exc.where else ""
        raise ScenarioError(where + exc.message, file=file) from None


def _units(value: Any, key: str, where: str) -> int:
    """Task-level ``cpu``/``memory`` as registered: ``"256"``, ``"1 vCPU"``, ``"2 GB"``."""
    text = str(value).strip().lower() if isinstance(value, str | int | float) else ""
    scale = 1
    for unit, factor in (("vcpu", 1024), ("gib", 1024), ("gb", 1024), ("mib", 1), ("mb", 1)):
        if text.endswith(unit):
            text, scale = text[: -len(unit)].strip(), factor
            break
    try:
        number = float(text) * scale
    except ValueError:
        number = -1.0
    if isinstance(value, bool) or not 0 <= number < 2 ** 53 or number != int(number):
        what = "CPU units or vCPU" if key == "cpu" else "MiB or GB"
        raise _Problem(where, f"{key} {show(value)} is not a number of {what}")
    return int(number)


def _objects(doc: dict, key: str, where: str = "") -> list[dict]:
    """``doc[key]`` as a list of JSON objects, or an error naming the key."""
    items = doc.get(key)
    if items is None:
        return []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise _Problem(f"{where}{key}", "expected a list of JSON objects")
    return items


def _container(c: dict, i: int) -> dict:
    """One container definition in the scenario's terms (name, port mappings, links)."""
    maps = []
    for pm in _objects(c, "portMappings", f"containerDefinitions[{i}]."):
        m = {}
        for key, name in (("containerPort", "container_port"),
                          ("containerPortRange", "container_port_range"),
                          ("hostPort", "host_port"), ("protocol", "protocol")):
            if key in pm:
                m[name] = pm[key]
        maps.append(m)
    out = {"name": c.get("name", "app"), "port_mappings": maps}
    if c.get("links"):
        out["links"] = c["links"]
    return out


def _container_memory(c: dict, i: int, task_memory: int | None) -> int | None:
    """What the container reserves on its instance (``memoryReservation``, else the hard
    limit ``memory``), after RegisterTaskDefinition's and Docker's rules on the two."""
    where = f"containerDefinitions[{i}]"
    values = {}
    for key in ("memory", "memoryReservation"):
        if c.get(key) is None:
            continue
        value = c[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Problem(f"{where}.{key}", f"expected a whole number of MiB, got {show(value)}")
        if value < MIN_CONTAINER_MIB:
            raise _Problem(f"{where}.{key}", (
                f"{value} MiB is below the {MIN_CONTAINER_MIB} MiB Docker reserves for a "
                f"container: Docker 20.10 refuses it (\"Minimum memory limit allowed is 6MB\")"))
        values[key] = value
    hard, soft = values.get("memory"), values.get("memoryReservation")
    if hard is not None and soft is not None and hard <= soft:
        raise _Problem(f"{where}.memory", (
            f"Invalid setting for container {show(c.get('name', i))}: memory ({hard}) must be "
            f"greater than memoryReservation ({soft})"))
    if task_memory is None and hard is None and soft is None:
        raise _Problem(where, (
            f"Invalid setting for container {show(c.get('name', i))}. At least one of "
            "'memory' or 'memoryReservation' must be specified (the task has no task-level "
            "memory)"))
    return soft if soft is not None else hard


def _fields(doc: Any, file: str) -> tuple[dict[str, Any], list[str]]:
    if isinstance(doc, dict) and "taskDefinition" in doc:
        doc = doc["taskDefinition"]
    if not isinstance(doc, dict) or "containerDefinitions" not in doc:
        raise _Problem("", "expected an ECS task definition with containerDefinitions")
    out: dict[str, Any] = {}
    warnings: list[str] = []
    if doc.get("networkMode") is not None:
        out["network_mode"] = doc["networkMode"]
    container_defs = doc["containerDefinitions"]
    if not isinstance(container_defs, list) or not all(
            isinstance(c, dict) for c in container_defs):
        raise _Problem("containerDefinitions", "expected a list of JSON objects")
    for key in ("cpu", "memory"):
        if doc.get(key) is not None:
            out[key] = _units(doc[key], key, "")
    if "cpu" in out and not TASK_CPU_RANGE[0] <= out["cpu"] <= TASK_CPU_RANGE[1]:
        raise _Problem("cpu", (
            f"Invalid 'cpu' setting for task: a task-level cpu is between {TASK_CPU_RANGE[0]} "
            f"CPU units (0.125 vCPU) and {TASK_CPU_RANGE[1]:,} (192 vCPU); got {out['cpu']}"))
    if not container_defs:
        raise _Problem("containerDefinitions", "Container list cannot be empty: a task "
                                               "definition has at least one container")
    # Without task-level sizes (allowed on EC2), ECS reserves the sum of the containers'
    # cpu and memoryReservation (or memory, the hard limit, when no reservation is given).
    memories = [_container_memory(c, i, out.get("memory")) for i, c in enumerate(container_defs)]
    cpus = []
    for i, c in enumerate(container_defs):
        if c.get("cpu") is not None:
            cpus.append(_units(c["cpu"], "cpu", f"containerDefinitions[{i}].cpu"))
    if "cpu" not in out and cpus:
        out["cpu"] = sum(cpus)
    reserved = sum(m for m in memories if m is not None)
    if "memory" not in out:
        out["memory"] = reserved
    elif reserved > out["memory"]:
        raise _Problem("memory", (
            f"Invalid 'memory' setting for task: the containers reserve {reserved} MiB in all, "
            f"more than the task's {out['memory']} MiB"))
    out["containers"] = [_container(c, i) for i, c in enumerate(container_defs)]
    compat = doc.get("requiresCompatibilities")
    if isinstance(compat, list) and "FARGATE" in compat:
        for key in ("cpu", "memory"):  # (AWS's RegisterTaskDefinition error)
            if doc.get(key) is None:
                raise _Problem(key, f"Fargate requires that '{key}' be defined at the task "
                                    "level (requiresCompatibilities includes FARGATE)")
    if compat is not None:
        out["requires_compatibilities"] = compat
        if isinstance(compat, list) and "FARGATE" in compat and "EC2" not in compat:
            out["launch_type"] = "FARGATE"
    platform = doc.get("runtimePlatform")
    if platform is not None and not isinstance(platform, dict):
        raise _Problem("runtimePlatform", "expected a JSON object "
                                          "{operatingSystemFamily, cpuArchitecture}")
    if platform:
        out["runtime_platform"] = {k: v for k, v in (
            ("operating_system_family", platform.get("operatingSystemFamily")),
            ("cpu_architecture", platform.get("cpuArchitecture"))) if v is not None}
    if doc.get("status") == "INACTIVE":
        rev = f"{doc.get('family', '?')}:{doc.get('revision', '?')}"
        warnings.append(
            f"{file}: task definition {rev} is INACTIVE (deregistered): ECS keeps running "
            "existing tasks of it but new services and deployments cannot use it")
    constraints = [
        {k: v for k, v in (("type", pc.get("type")), ("expression", pc.get("expression")))
         if v is not None}
        for pc in _objects(doc, "placementConstraints")
    ]
    for i, pc in enumerate(constraints):
        if pc.get("type") != "memberOf":  # ECS DG, task placement constraints
            raise _Problem(f"placementConstraints[{i}].type", (
                f"a task definition's placement constraints are memberOf only (got "
                f"{pc.get('type')!r}; distinctInstance is given to the service or RunTask)"))
    if constraints:
        out["placement_constraints"] = constraints
    return out, warnings
