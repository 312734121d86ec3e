"""Import an ECS task definition JSON (``aws ecs describe-task-definition`` output, or the
bare ``taskDefinition`` object) as the fields of a scenario's service.

The file is user input like the scenario itself, read within the same bounds
(:func:`~.yamlsrc.read_bounded`, :func:`~.yamlsrc.load_json`). What RegisterTaskDefinition
itself refuses about sizes is refused here, naming the JSON file and the field, with
AWS's reason; everything else is translated to scenario fields, which then pass the same
schema and checks as fields written in the scenario.
"""

from __future__ import annotations

import difflib
from typing import Any

from ..errors import ScenarioError, choices, show
from .taskdef_shapes import SHAPES
from .yamlsrc import format_path, json_lines, load_json

#: RegisterTaskDefinition: a task-level ``cpu``, when given, is "between 128 CPU units
#: (0.125 vCPUs) and 196608 CPU units (192 vCPUs)" (ECS API reference, TaskDefinition.cpu).
TASK_CPU_RANGE = (128, 196608)
#: Docker 20.10 and later refuse a container memory limit or reservation below 6 MiB
#: ("Minimum memory limit allowed is 6MB"); the ECS API reference says not to specify less
#: (ContainerDefinition.memory, memoryReservation).
MIN_CONTAINER_MIB = 6
#: Keys other tools spell differently (Docker's API and compose files), and the ECS key
#: they mean: named in the error when no ECS key is spelled closely enough.
OTHER_TOOLS_KEYS = {"portBindings": "portMappings", "ports": "portMappings",
                    "env": "environment", "Env": "environment", "cpus": "cpu",
                    "mem_limit": "memory", "memoryLimit": "memory",
                    "mem_reservation": "memoryReservation", "network_mode": "networkMode"}


class _Problem(Exception):
    """A problem at a field of the JSON document (``containerDefinitions[0].memory``)."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(message)
        self.where = where
        self.message = message


def task_definition_fields(data: bytes, file: str, unknown_keys: str = "refuse"
                           ) -> tuple[dict[str, Any], list[str]]:
    """The scenario fields of the task definition ``data`` (the bytes of ``file``, read
    with :func:`~.yamlsrc.read_bounded`), and warnings.

    Raises :class:`ScenarioError` naming ``file`` (and the JSON field) for a document that
    is not an ECS task definition or that RegisterTaskDefinition would refuse. A key the
    ECS API does not define is refused as the AWS CLI refuses it, with its line
    (``unknown_keys="warn"``: said in a warning instead, for a source whose own tool drops
    such keys before ECS sees them, as Terraform's AWS provider does).
    """
    doc = load_json(data, file)
    found = unknown_key(doc)
    warnings = []
    if found is not None:
        path, known = found
        if unknown_keys != "warn":
            line = json_lines(data.decode("utf-8-sig")).get(path)
            raise ScenarioError(unknown_key_message(path, known), file=file,
                                path=format_path(path), line=line)
        hint = _suggestion(str(path[-1]), known)
        warnings.append(f"{file}: {format_path(path)}: not a key of an ECS task definition"
                        f"{' ' + hint if hint else ''}; ignored")
    try:
        fields, more = _fields(doc, file)
        return fields, warnings + more
    except _Problem as exc:
        where = f"{exc.where}: " if exc.where else ""
        raise ScenarioError(where + exc.message, file=file) from None


def unknown_key(doc: Any) -> tuple[tuple, list[str]] | None:
    """The field path of the first key in ``doc`` that the ECS API does not define, and
    the keys allowed where it is; None when every key is one of the API's.

    >>> unknown_key({"family": "web", "containerDefinitions": [{"portBindings": []}]})[0]
    ('containerDefinitions', 0, 'portBindings')
    """
    if not isinstance(doc, dict):
        return None
    shape = "DescribeTaskDefinitionResponse" if "taskDefinition" in doc else "TaskDefinition"
    todo: list[tuple[Any, str, tuple]] = [(doc, shape, ())]
    while todo:
        node, shape, path = todo.pop(0)
        members = SHAPES[shape]
        for key, value in node.items():
            if key not in members:
                return path + (key,), list(members)
            inner = members[key]
            if inner is None:
                continue
            if isinstance(value, dict):
                todo.append((value, inner, path + (key,)))
            elif isinstance(value, list):
                todo.extend((v, inner, path + (key, i)) for i, v in enumerate(value)
                            if isinstance(v, dict))
    return None


def _suggestion(key: str, known: list[str]) -> str:
    """``(did you mean 'portMappings'?)`` for a key spelled close to an allowed one (or
    one Docker spells so), else ``""``."""
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6) or [
        k for k in known if k.lower() == key.lower()]
    if not close and OTHER_TOOLS_KEYS.get(key) in known:
        close = [OTHER_TOOLS_KEYS[key]]
    return f"(did you mean {show(close[0])}?)" if close else ""


def unknown_key_message(path: tuple, known: list[str]) -> str:
    """The AWS CLI's words for a key the API does not define, with a did-you-mean:
    ``Unknown parameter in containerDefinitions[0]: "portBindings" (did you mean
    'portMappings'?), must be one of: name, image, ...``."""
    key = str(path[-1])
    where = format_path(path[:-1]) or "input"
    hint = _suggestion(key, known)
    return (f"Unknown parameter in {where}: \"{key}\"{' ' + hint if hint else ''}: the AWS "
            f"CLI refuses a key the ECS API does not define; expected one of "
            f"{choices(known, most=24)}")


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


def _container_gpus(c: dict, i: int, warnings: list[str]) -> int:
    """The GPUs a container's ``resourceRequirements`` reserve (ECS API reference,
    ResourceRequirement: for type GPU, "the number of physical GPUs the Amazon ECS
    container agent reserves for the container"; the value is a string)."""
    where = f"containerDefinitions[{i}].resourceRequirements"
    total = 0
    for j, req in enumerate(_objects(c, "resourceRequirements", f"containerDefinitions[{i}].")):
        kind, value = req.get("type"), req.get("value")
        if kind == "InferenceAccelerator":
            warnings.append(f"{where}[{j}]: an Elastic Inference accelerator is not modelled "
                            "(ignored)")
            continue
        if kind != "GPU":
            raise _Problem(f"{where}[{j}].type", f"expected GPU or InferenceAccelerator, got "
                                                 f"{show(kind)}")
        text = str(value).strip() if isinstance(value, str | int) and \
            not isinstance(value, bool) else ""
        if not text.isdigit() or int(text) < 1:
            raise _Problem(f"{where}[{j}].value", (
                f"expected a whole number of GPUs such as \"1\", got {show(value)} (ALL and "
                "fractions of a GPU, which ECS Managed Instances accept, are not modelled)"))
        total += int(text)
    return total


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
    if "cpu" not in out:
        # a container without cpu reserves 0 units (ECS API reference, Container.cpu:
        # "0 if no value was specified in the container definition when the task
        # definition was registered"), so a task with no cpu anywhere reserves none
        out["cpu"] = sum(cpus)
    gpus = sum(_container_gpus(c, i, warnings) for i, c in enumerate(container_defs))
    if gpus:
        out["gpu"] = gpus
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
    constraints = _placement_constraints(doc)
    if constraints:
        out["placement_constraints"] = constraints
    return out, warnings


def _placement_constraints(doc: dict) -> list[dict]:
    """The task definition's placement constraints, memberOf only (ECS Developer Guide,
    task placement constraints: distinctInstance is given to the service or RunTask)."""
    constraints = [
        {k: v for k, v in (("type", pc.get("type")), ("expression", pc.get("expression")))
         if v is not None}
        for pc in _objects(doc, "placementConstraints")
    ]
    for i, pc in enumerate(constraints):
        if pc.get("type") != "memberOf":
            raise _Problem(f"placementConstraints[{i}].type", (
                f"a task definition's placement constraints are memberOf only (got "
                f"{pc.get('type')!r}; distinctInstance is given to the service or RunTask)"))
    return constraints
