"""What an expression compares: what it sees of an instance (:class:`InstanceView`),
and the operands of a condition with their numeric, version or time readings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from .syntax import (
    _AGENT_CONNECTED,
    _AGENT_VERSION,
    _ATTRIBUTE,
    _ATTRIBUTE_PREFIX,
    _KEYWORD_VALUES,
    _NUMBER_RE,
    _NUMERIC_SUBJECTS,
    _REGISTERED_AT,
    _RUNNING_TASKS_COUNT,
    _VERSION_RE,
    _ArgumentError,
    _bare_regex_end,
    _word_end,
)


@dataclass(frozen=True)
class InstanceView:
    """What an expression can see of one container instance."""

    ec2_instance_id: str
    attributes: Mapping[str, str]
    running_tasks_count: int = 0
    task_groups: frozenset[str] = frozenset()
    agent_connected: bool = True
    agent_version: str = "1.105.1"
    registered_at: float = 0.0


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class _Operand:
    """One side of a comparison: its text and, where it has one, its numeric reading."""

    text: str
    number: float | None = None
    version: tuple[int, ...] | None = None

    @classmethod
    def of(cls, text: str, number: float | None = None) -> _Operand:
        if number is None and _NUMBER_RE.fullmatch(text):
            number = float(text)
        version = None
        if _VERSION_RE.fullmatch(text):
            parts = [int(part) for part in text.split(".")]
            while len(parts) > 1 and parts[-1] == 0:
                parts.pop()
            version = tuple(parts)
        return cls(text, number, version)


def _format_number(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else repr(float(number))


def _parse_timestamp(text: str) -> float | None:
    """Seconds since the epoch, from a number or an ISO 8601 date; None if neither."""
    if _NUMBER_RE.fullmatch(text):
        return float(text)
    if not text[:1].isdigit():
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _java_regex_to_python(pattern: str) -> str:
    """Translate the Java-only parts of a regular expression to Python syntax."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        if pattern[i] == "\\" and i + 1 < n:
            escaped = pattern[i + 1]
            if escaped == "Q":
                end = pattern.find("\\E", i + 2)
                literal = pattern[i + 2 :] if end < 0 else pattern[i + 2 : end]
                out.append(re.escape(literal))
                i = n if end < 0 else end + 2
                continue
            if escaped == "z":
                out.append(r"\Z")
            elif escaped == "Z":
                out.append(r"(?=\n?\Z)")
            elif escaped == "k" and pattern.startswith("<", i + 2) and ">" in pattern[i + 3 :]:
                end = pattern.index(">", i + 3)
                out.append(f"(?P={pattern[i + 3 : end]})")
                i = end + 1
                continue
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if pattern.startswith("(?<", i) and i + 3 < n and pattern[i + 3].isalpha():
            out.append("(?P<")
            i += 3
            continue
        out.append(pattern[i])
        i += 1
    return "".join(out)


def _compile_regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(_java_regex_to_python(pattern))
    except (re.error, OverflowError, RecursionError) as exc:
        detail = getattr(exc, "msg", None) or str(exc)
        raise _ArgumentError(f"invalid regular expression {pattern!r}", f": {detail}") from None


def _subject_kind(subject: str) -> str:
    return _ATTRIBUTE if subject.startswith(_ATTRIBUTE_PREFIX) else subject


def _prepare_operand(kind: str, operator: str, text: str, item: int | None) -> _Operand:
    """Read an argument value the way its subject needs it, or raise _ArgumentError."""
    if kind == _REGISTERED_AT:
        number = _parse_timestamp(text)
        if number is None:
            raise _ArgumentError(
                "expected a date such as 2018-06-18T22:28:28Z or a number of seconds since "
                f"the epoch after 'registeredAt {operator}'",
                f", found {text!r}",
                item=item,
            )
        return _Operand.of(text, number)
    if kind == _RUNNING_TASKS_COUNT and not _NUMBER_RE.fullmatch(text):
        raise _ArgumentError(
            f"expected a number after 'runningTasksCount {operator}'",
            f", found {text!r}",
            item=item,
        )
    if kind == _AGENT_CONNECTED and text.casefold() not in ("true", "false"):
        raise _ArgumentError(
            f"expected true or false after 'agentConnected {operator}'",
            f", found {text!r}",
            item=item,
        )
    return _Operand.of(text)


def _equal(kind: str, value: _Operand, argument: _Operand) -> bool:
    if kind in _NUMERIC_SUBJECTS:
        return value.number == argument.number
    if kind == _AGENT_CONNECTED:
        return value.text.casefold() == argument.text.casefold()
    if kind == _AGENT_VERSION and value.version is not None and argument.version is not None:
        return value.version == argument.version
    return value.text == argument.text


def _order(kind: str, value: _Operand, argument: _Operand) -> int:
    """-1, 0 or 1 as ``value`` sorts before, with or after ``argument``."""
    if kind == _AGENT_VERSION and value.version is not None and argument.version is not None:
        left, right = value.version, argument.version
    elif value.number is not None and argument.number is not None:
        left, right = value.number, argument.number
    else:
        left, right = value.text, argument.text
    return (left > right) - (left < right)


def _format_value(value: str, regex: bool) -> str:
    """``value`` as it would be written in an expression: bare if possible, else quoted."""
    end = _bare_regex_end(value, 0) if regex else _word_end(value, 0)
    if value and end == len(value) and value.casefold() not in _KEYWORD_VALUES:
        return value
    quote = '"' if "'" in value else "'"
    return f"{quote}{value}{quote}"


