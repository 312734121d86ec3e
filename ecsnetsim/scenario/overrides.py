"""Field paths such as ``services[0].containers[0].port_mappings[0].host_port``.

Used by ``--set PATH=VALUE`` and by ``compare`` variants. A list of named items may
also be addressed by name (``services.web.desired_count``), which keeps overrides
readable and stable when items are reordered.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from ..errors import InputError, clip, show
from .yamlsrc import load_yaml

_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_path(text: str) -> list[str | int]:
    """Split a dotted field path into keys and list indexes."""
    parts: list[str | int] = []
    pos = 0
    text = text.strip()
    if not text:
        raise InputError("empty field path")
    while pos < len(text):
        if text[pos] == "." and parts:
            pos += 1
        m = _TOKEN.match(text, pos)
        if not m:
            raise InputError(f"cannot read field path {show(text)} at position {pos}; expected "
                             "something like services[0].desired_count")
        if m.group(2) is not None and len(m.group(2)) > 9:
            raise InputError(f"index [{clip(m.group(2), 20)}] in field path is too large; a "
                             "list in a scenario has far fewer items")
        parts.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        pos = m.end()
    return parts


def parse_value(text: str) -> Any:
    """A ``--set`` value is read as a YAML scalar or flow collection (``[a, b]``), within
    the scenario loader's bounds (a nested alias, a 10,000-deep list or a 5,000-digit
    number is an :class:`InputError`); text that is not YAML at all stays a string."""
    try:
        value, _ = load_yaml(text)
    except InputError as exc:
        if exc.message.startswith("not valid YAML"):
            return text
        raise InputError(exc.message) from None
    return value


def _resolve_name(items: list, name: str, where: str) -> int:
    for i, item in enumerate(items):
        if isinstance(item, dict) and item.get("name") == name:
            return i
    names = [str(it.get("name")) for it in items if isinstance(it, dict)]
    raise InputError(f"no item named {show(name)} in {where or 'the scenario'}; "
                     f"expected an index or one of {show(names)}")


def set_path(data: dict, path: str | list, value: Any, resolved: list | None = None) -> dict:
    """Return a deep copy of ``data`` with ``path`` set to ``value``.

    Missing mapping keys are created (validation later rejects unknown ones, with the
    path); list indexes must exist. ``resolved``, if given, receives the path with
    names turned into indexes (``services[0].desired_count`` for ``services.web...``).
    """
    parts = parse_path(path) if isinstance(path, str) else list(path)
    out = copy.deepcopy(data)
    node: Any = out
    where = ""
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            if isinstance(part, str):
                if part.isdigit():
                    part = int(part)
                else:
                    part = _resolve_name(node, part, where)
            if not 0 <= part < len(node):
                raise InputError(f"{where or 'list'} has {len(node)} items; index {part} "
                                 "does not exist")
            where += f"[{part}]"
            parts[i] = part
        elif isinstance(node, dict):
            if not isinstance(part, str):
                raise InputError(f"{where or 'the scenario'} is a mapping; expected a key, "
                                 f"not [{part}]")
            where += ("." if where else "") + part
            if not last and (part not in node or node[part] is None):
                node[part] = {} if not isinstance(parts[i + 1], int) else []
        else:
            raise InputError(f"{where} is a single value; it has no field {show(part)}")
        if last:
            node[part] = value
        else:
            node = node[part]
    if resolved is not None:
        resolved.extend(parts)
    return out


def apply_overrides(data: dict, assignments: list[str],
                    origins: dict[tuple, str] | None = None) -> dict:
    """Apply ``PATH=VALUE`` strings in order.

    ``origins``, if given, maps each field path that was set to its ``PATH=VALUE``.
    """
    for text in assignments:
        if "=" not in text:
            raise InputError(f"--set expects PATH=VALUE, got {show(text)}")
        path, _, value = text.partition("=")
        resolved: list = []
        try:
            parsed = parse_value(value)
            data = set_path(data, path.strip(), parsed, resolved)
            _check_unit(path, parsed)
        except InputError as exc:
            raise InputError(f"--set {clip(text, 80)}: {exc.message}") from None
        if origins is not None:
            origins[tuple(resolved)] = text
    return data


#: Fields whose value on the command line must carry its unit, with an example: a rate
#: in a file may be a number per second (the format's contract), but ``--set
#: traffic[0].rate=5000`` is easily meant per minute, or as a packet count.
UNIT_REQUIRED = {"rate": "5000/s or 300/min"}


def _check_unit(path: str, value: Any) -> None:
    """Refuse a bare number for a field of :data:`UNIT_REQUIRED` given with ``--set``."""
    field = path.strip().rsplit(".", 1)[-1]
    if field in UNIT_REQUIRED and isinstance(value, int | float) and not isinstance(value, bool):
        raise InputError(f"a {field} on the command line needs its unit, e.g. "
                         f"{UNIT_REQUIRED[field]} (got the number {show(value)} alone)")
