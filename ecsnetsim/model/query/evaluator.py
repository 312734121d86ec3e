"""A parsed expression and how it selects an instance: conditions, ``not``, ``and``
and ``or``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .syntax import (
    _AGENT_CONNECTED,
    _AGENT_VERSION,
    _ATTRIBUTE,
    _ATTRIBUTE_PREFIX,
    _LIST_OPERATORS,
    _NEGATED_OPERATORS,
    _OPERATOR_LIST,
    _ORDERING_OPERATORS,
    _PLAIN_SUBJECTS,
    _POSITIVE_FORM,
    _REGEX_OPERATORS,
    _REGISTERED_AT,
    _RUNNING_TASKS_COUNT,
    _SUBJECT_LIST,
    _TASK_GROUP,
    _UNARY_OPERATORS,
    OPERATORS,
    QueryError,
    _ArgumentError,
)
from .values import (
    InstanceView,
    _compile_regex,
    _equal,
    _format_number,
    _format_value,
    _Operand,
    _order,
    _prepare_operand,
    _subject_kind,
)

# --------------------------------------------------------------------------- expressions


class Expression:
    """A parsed cluster query expression.

    ``evaluate(view)`` tells whether a container instance is selected; ``str()`` gives
    a normalized form (canonical operators, ``and``/``or``/``not(...)``, minimal
    parentheses) that parses back to an equal expression.
    """

    __slots__ = ()

    def evaluate(self, view: InstanceView) -> bool:
        raise NotImplementedError

    def __str__(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class Condition(Expression):
    """``subject operator [argument]``.

    ``subject`` is canonical (``runningTasksCount``, ``attribute:stack``), ``operator``
    is one of :data:`OPERATORS`, and ``argument`` is None for ``exists``/``!exists``, a
    tuple of strings for ``in``/``!in`` and a string otherwise.
    """

    subject: str
    operator: str
    argument: str | tuple[str, ...] | None = None
    _kind: str = field(init=False, repr=False, compare=False)
    _operands: tuple[_Operand, ...] = field(init=False, repr=False, compare=False)
    _pattern: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        kind = _subject_kind(self.subject)
        if kind != _ATTRIBUTE and kind not in _PLAIN_SUBJECTS.values():
            raise QueryError(f"unknown subject {self.subject!r}; expected one of {_SUBJECT_LIST}")
        op = self.operator
        if op not in OPERATORS:
            raise QueryError(f"unknown operator {op!r}; expected one of {_OPERATOR_LIST}")
        if op in _ORDERING_OPERATORS and kind in (_TASK_GROUP, _AGENT_CONNECTED):
            raise _ArgumentError(
                f"operator {op!r} cannot be used with {kind}",
                "; use ==, !=, in, !in, =~, !~, exists or !exists",
                on_operator=True,
            )
        arg = self.argument
        operands: tuple[_Operand, ...] = ()
        pattern = None
        if op in _UNARY_OPERATORS:
            if arg is not None:
                raise QueryError(f"{op!r} takes no argument")
        elif op in _LIST_OPERATORS:
            if not isinstance(arg, tuple):
                raise QueryError(f"{op!r} needs a list argument")
            operands = tuple(
                _prepare_operand(kind, op, text, index) for index, text in enumerate(arg)
            )
        elif not isinstance(arg, str):
            raise QueryError(f"{op!r} needs a single value")
        elif op in _REGEX_OPERATORS:
            pattern = _compile_regex(arg)
        else:
            operands = (_prepare_operand(kind, op, arg, None),)
        object.__setattr__(self, "_kind", kind)
        object.__setattr__(self, "_operands", operands)
        object.__setattr__(self, "_pattern", pattern)

    def _subject_value(self, view: InstanceView) -> _Operand | None:
        kind = self._kind
        if kind == _ATTRIBUTE:
            value = view.attributes.get(self.subject[len(_ATTRIBUTE_PREFIX) :])
            return None if value is None else _Operand.of(str(value))
        if kind == _RUNNING_TASKS_COUNT:
            count = view.running_tasks_count
            return _Operand(str(count), float(count))
        if kind == _REGISTERED_AT:
            return _Operand(_format_number(view.registered_at), float(view.registered_at))
        if kind == _AGENT_CONNECTED:
            return _Operand("true" if view.agent_connected else "false")
        if kind == _AGENT_VERSION:
            return _Operand.of(view.agent_version)
        return _Operand(view.ec2_instance_id)

    def _holds(self, operator: str, value: _Operand) -> bool:
        """Whether ``value`` satisfies ``operator`` with this condition's argument."""
        kind = self._kind
        if operator == "exists":
            return True
        if operator in ("==", "in"):
            return any(_equal(kind, value, operand) for operand in self._operands)
        if operator == "=~":
            assert self._pattern is not None
            return self._pattern.fullmatch(value.text) is not None
        if operator in _NEGATED_OPERATORS:
            return not self._holds(_POSITIVE_FORM[operator], value)
        order = _order(kind, value, self._operands[0])
        if operator == ">":
            return order > 0
        if operator == ">=":
            return order >= 0
        if operator == "<":
            return order < 0
        return order <= 0

    def evaluate(self, view: InstanceView) -> bool:
        op = self.operator
        if self._kind == _TASK_GROUP:
            positive = _POSITIVE_FORM.get(op, op)
            hit = any(self._holds(positive, _Operand(group)) for group in view.task_groups)
            return hit if positive == op else not hit
        value = self._subject_value(view)
        if value is None:  # an attribute the instance does not have
            return op in _NEGATED_OPERATORS
        return self._holds(op, value)

    def __str__(self) -> str:
        head = f"{self.subject} {self.operator}"
        arg = self.argument
        if arg is None:
            return head
        if isinstance(arg, tuple):
            return f"{head} [{', '.join(_format_value(item, False) for item in arg)}]"
        return f"{head} {_format_value(arg, self.operator in _REGEX_OPERATORS)}"


@dataclass(frozen=True)
class Not(Expression):
    """``not(operand)``."""

    operand: Expression

    def evaluate(self, view: InstanceView) -> bool:
        return not self.operand.evaluate(view)

    def __str__(self) -> str:
        return f"not({self.operand})"


@dataclass(frozen=True)
class And(Expression):
    """``a and b and ...``: true when every operand is."""

    operands: tuple[Expression, ...]

    def evaluate(self, view: InstanceView) -> bool:
        return all(operand.evaluate(view) for operand in self.operands)

    def __str__(self) -> str:
        return " and ".join(
            f"({operand})" if isinstance(operand, Or) else str(operand) for operand in self.operands
        )


@dataclass(frozen=True)
class Or(Expression):
    """``a or b or ...``: true when any operand is."""

    operands: tuple[Expression, ...]

    def evaluate(self, view: InstanceView) -> bool:
        return any(operand.evaluate(view) for operand in self.operands)

    def __str__(self) -> str:
        return " or ".join(str(operand) for operand in self.operands)


