"""The Amazon ECS cluster query language, as used by ``memberOf`` placement constraints.

An expression selects container instances.  Its simplest form is a condition::

    subject operator [argument]

Subjects
    ``agentConnected``, ``agentVersion``, ``attribute:<name>`` (names are made of
    letters, digits, ``-``, ``_``, ``/`` and ``.``, e.g. ``attribute:ecs.instance-type``),
    ``ec2InstanceId``, ``registeredAt``, ``runningTasksCount`` and ``task:group``.

Operators (symbol or word; words are case-insensitive)
    ``==``/``equals``, ``!=``/``not_equals``, ``>``/``greater_than``,
    ``>=``/``greater_than_equal``, ``<``/``less_than``, ``<=``/``less_than_equal``,
    ``exists``, ``!exists``/``not_exists`` (no argument), ``in``, ``!in``/``not_in``
    (list argument ``[a, b]``), ``=~``/``matches``, ``!~``/``not_matches``.

Arguments
    A bare word (``t2.micro``, ``service:production``, ``us-east-1a``, ``t2.*``) or a
    value quoted with single or double quotes (``'i-abcd1234'``, ``"two words"``).
    Quoted values have no escape sequences: a value that contains one kind of quote is
    written between the other kind.  ``and`` and ``or`` must be quoted to be used as values.
    After ``=~``/``!~`` a bare word is read as a regular expression: it ends at
    whitespace, at a quote, at ``&&``/``||``, or at a ``)`` that it did not open, so
    ``not(attribute:ecs.instance-type =~ (t2|t3)\\..*)`` works as expected.

Compound expressions
    ``!``/``not``, ``&&``/``and`` and ``||``/``or``, with parentheses.  ``not`` binds
    tighter than ``and``, which binds tighter than ``or``.

Semantics
    * ``=~`` and ``!~`` use Java regular expressions with ``matches()`` semantics: the
      whole value must match (``re.fullmatch``).  The Java-only forms ``\\z``, ``\\Z``,
      ``\\Q...\\E``, ``(?<name>...)`` and ``\\k<name>`` are translated; other syntax is
      passed to Python's :mod:`re` as is.
    * ``>``, ``>=``, ``<`` and ``<=`` compare numerically when both sides are numbers
      (``runningTasksCount``, ``registeredAt`` as seconds since the epoch, numeric
      attribute values), as versions for ``agentVersion`` when both sides are dotted
      numbers (so ``1.105.1 > 1.9``), and otherwise as strings.
    * ``==`` and ``in`` compare numbers for ``runningTasksCount`` and ``registeredAt``,
      versions for ``agentVersion``, ``true``/``false`` case-insensitively for
      ``agentConnected``, and the exact text for everything else.
    * ``registeredAt`` arguments are seconds since the epoch or ISO 8601 dates such as
      ``2018-06-18``, ``2018-06-18T22:28:28Z`` or ``2018-06-18T22:28:28+00:00``
      (a date without a time zone is UTC).
    * ``task:group`` describes the tasks already running on the instance:
      ``task:group == G`` holds when at least one of them belongs to group ``G``,
      ``in``/``=~`` when at least one group is in the list/matches, and ``!=``, ``!in``
      and ``!~`` are the negations of those.  ``task:group exists`` holds when the
      instance runs any task.  Ordering operators are rejected for ``task:group`` and
      ``agentConnected``.
    * An ``attribute:`` that the instance does not have: ``exists`` is false and
      ``!exists`` is true; ``!=``, ``!in`` and ``!~`` are true (the instance does not
      have that value, is not in that list, does not match); every other operator is
      false.  So ``attribute:stack != prod`` also selects instances with no ``stack``
      attribute, while ``not(attribute:stack == prod)`` behaves the same way and
      ``attribute:stack exists and attribute:stack != prod`` does not.

Errors are reported as :class:`QueryError`, whose message says what was expected and
where, and whose ``position`` is the 0-based character offset in the expression.
Expressions are limited to 2000 characters, as in Amazon ECS.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

__all__ = [
    "And",
    "Condition",
    "Expression",
    "InstanceView",
    "MAX_EXPRESSION_LENGTH",
    "Not",
    "OPERATORS",
    "Or",
    "QueryError",
    "SUBJECTS",
    "matches",
    "parse",
]

MAX_EXPRESSION_LENGTH = 2000
"""Longest expression accepted (the Amazon ECS limit for placement constraint expressions)."""

MAX_NESTING_DEPTH = 100
"""Deepest nesting of parentheses and ``not`` accepted."""

MAX_ATTRIBUTE_NAME_LENGTH = 128

SUBJECTS = (
    "agentConnected",
    "agentVersion",
    "attribute:<name>",
    "ec2InstanceId",
    "registeredAt",
    "runningTasksCount",
    "task:group",
)
"""The subjects of the language, as shown in error messages."""

OPERATORS = ("==", "!=", ">", ">=", "<", "<=", "exists", "!exists", "in", "!in", "=~", "!~")
"""The canonical operators, as shown in error messages and in normalized expressions."""

_AGENT_CONNECTED = "agentConnected"
_AGENT_VERSION = "agentVersion"
_ATTRIBUTE = "attribute"
_EC2_INSTANCE_ID = "ec2InstanceId"
_REGISTERED_AT = "registeredAt"
_RUNNING_TASKS_COUNT = "runningTasksCount"
_TASK_GROUP = "task:group"

_PLAIN_SUBJECTS = {
    name.casefold(): name
    for name in (
        _AGENT_CONNECTED,
        _AGENT_VERSION,
        _EC2_INSTANCE_ID,
        _REGISTERED_AT,
        _RUNNING_TASKS_COUNT,
        _TASK_GROUP,
    )
}
_ATTRIBUTE_PREFIX = "attribute:"
_NUMERIC_SUBJECTS = frozenset({_REGISTERED_AT, _RUNNING_TASKS_COUNT})

_SYMBOL_OPERATORS = ("==", "!=", ">=", "<=", "=~", "!~", ">", "<")  # longest first
_WORD_OPERATORS = {
    "equals": "==",
    "not_equals": "!=",
    "greater_than": ">",
    "greater_than_equal": ">=",
    "less_than": "<",
    "less_than_equal": "<=",
    "exists": "exists",
    "not_exists": "!exists",
    "in": "in",
    "not_in": "!in",
    "matches": "=~",
    "not_matches": "!~",
}
_BANG_OPERATORS = {"exists": "!exists", "in": "!in"}
_UNARY_OPERATORS = frozenset({"exists", "!exists"})
_LIST_OPERATORS = frozenset({"in", "!in"})
_REGEX_OPERATORS = frozenset({"=~", "!~"})
_ORDERING_OPERATORS = frozenset({">", ">=", "<", "<="})
_NEGATED_OPERATORS = frozenset({"!=", "!in", "!~", "!exists"})
_POSITIVE_FORM = {"!=": "==", "!in": "in", "!~": "=~", "!exists": "exists"}

_OPERATOR_LIST = ", ".join(OPERATORS)
_SUBJECT_LIST = ", ".join(SUBJECTS)
_KEYWORD_VALUES = frozenset({"and", "or"})
_DELIMITERS = frozenset("()[],'\"&|!=<>~")
_QUOTES = "'\""
_ATTRIBUTE_NAME_RE = re.compile(r"[A-Za-z0-9\-_/.]+")
_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_VERSION_RE = re.compile(r"\d+(?:\.\d+)*")
_EXAMPLE = "attribute:ecs.instance-type == t2.micro"


class QueryError(ValueError):
    """A malformed cluster query expression.

    ``position`` is the 0-based character offset in ``expression`` where the problem
    was found; the message says what was expected there.
    """

    def __init__(self, message: str, position: int = 0, expression: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.expression = expression

    def excerpt(self) -> str:
        """The expression with a caret under ``position``, for display."""
        return f"{self.expression}\n{' ' * self.position}^"


class _ArgumentError(QueryError):
    """An operator or argument that does not suit its subject.

    The parser reports it as ``head at position N tail``, pointing at the operator when
    ``on_operator`` is set, else at the argument (item ``item`` of a list argument).
    """

    def __init__(
        self, head: str, tail: str = "", item: int | None = None, on_operator: bool = False
    ) -> None:
        super().__init__(head + tail)
        self.head = head
        self.tail = tail
        self.item = item
        self.on_operator = on_operator


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


def _bare_regex_end(text: str, start: int) -> int:
    """Where a bare regular expression starting at ``start`` ends.

    It ends at whitespace, at a quote, at ``&&`` or ``||`` outside parentheses, or at a
    ``)`` it did not open.  Backslash escapes and character classes are skipped over.
    """
    i, n, depth = start, len(text), 0
    while i < n:
        char = text[i]
        if char.isspace() or char in _QUOTES:
            break
        if char == "\\":
            i += 2 if i + 1 < n and not text[i + 1].isspace() else 1
            continue
        if char == "[":
            i += 1
            if text.startswith("^", i):
                i += 1
            if text.startswith("]", i):
                i += 1
            while i < n and text[i] != "]" and not text[i].isspace():
                i += 2 if text[i] == "\\" and i + 1 < n and not text[i + 1].isspace() else 1
            if i < n and text[i] == "]":
                i += 1
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            if depth == 0:
                break
            depth -= 1
        elif char in "&|" and depth == 0 and text.startswith(char * 2, i):
            break
        i += 1
    return i


def _word_end(text: str, start: int) -> int:
    """Where a bare word (subject, keyword or plain value) starting at ``start`` ends."""
    i = start
    while i < len(text) and not text[i].isspace() and text[i] not in _DELIMITERS:
        i += 1
    return i


def _format_value(value: str, regex: bool) -> str:
    """``value`` as it would be written in an expression: bare if possible, else quoted."""
    end = _bare_regex_end(value, 0) if regex else _word_end(value, 0)
    if value and end == len(value) and value.casefold() not in _KEYWORD_VALUES:
        return value
    quote = '"' if "'" in value else "'"
    return f"{quote}{value}{quote}"


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


# --------------------------------------------------------------------------- parser


class _Parser:
    """Recursive descent over the expression text, tokenizing as it goes.

    The grammar::

        or_expr   := and_expr (("||" | "or") and_expr)*
        and_expr  := not_expr (("&&" | "and") not_expr)*
        not_expr  := ("!" | "not") not_expr | "(" or_expr ")" | condition
        condition := subject operator [value | "[" [value ("," value)*] "]"]

    Tokens are read on demand because what a word means depends on where it is: after
    ``=~`` a bare word is a regular expression and may contain ``(``, ``|`` and ``[``.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.open_parens: list[int] = []
        self.depth = 0
        self.last_condition: Condition | None = None

    # ----------------------------------------------------------------- helpers

    def error(self, message: str, position: int) -> QueryError:
        return QueryError(message, position, self.text)

    def skip_space(self) -> int:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1
        return self.pos

    def at_end(self) -> bool:
        return self.skip_space() >= len(self.text)

    def found(self, position: int) -> str:
        """What is at ``position``, for the end of an error message."""
        if position >= len(self.text):
            return ", but the expression ends there"
        char = self.text[position]
        if char == "!" and _word_end(self.text, position + 1) > position + 1:
            end = _word_end(self.text, position + 1)
        elif char in _DELIMITERS:
            end = position + 1
            while end < len(self.text) and end - position < 2 and self.text[end] in "=~&|":
                end += 1
        else:
            end = _word_end(self.text, position)
        snippet = self.text[position:end]
        if len(snippet) > 40:
            snippet = snippet[:37] + "..."
        return f", found {snippet!r}"

    def peek_word(self) -> tuple[str, int]:
        """The bare word at the current position (after spaces) and where it ends."""
        start = self.skip_space()
        end = _word_end(self.text, start)
        return self.text[start:end], end

    def accept_connective(self, symbol: str, word: str) -> str | None:
        start = self.skip_space()
        if self.text.startswith(symbol, start):
            self.pos = start + len(symbol)
            return symbol
        text, end = self.peek_word()
        if text.casefold() == word:
            self.pos = end
            return text
        return None

    def enter(self, position: int) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING_DEPTH:
            raise self.error(
                f"expression nested too deeply (more than {MAX_NESTING_DEPTH} levels of "
                f"parentheses and 'not') at position {position}",
                position,
            )

    # ----------------------------------------------------------------- grammar

    def parse(self) -> Expression:
        if self.at_end():
            raise self.error(f"empty expression; expected a condition such as '{_EXAMPLE}'", 0)
        expression = self.or_expr(None)
        self.expect_end()
        return expression

    def expect_end(self) -> None:
        position = self.skip_space()
        if position >= len(self.text):
            return
        if self.text[position] == ")":
            raise self.error(
                f"unbalanced parenthesis: ')' at position {position} has no matching '('",
                position,
            )
        self.unexpected(position, closing=False)

    def unexpected(self, position: int, closing: bool) -> None:
        expected = "'and', 'or', ')'" if closing else "'and', 'or'"
        message = (
            f"expected {expected} or the end of the expression at position {position}"
            f"{self.found(position)}"
        )
        char = self.text[position]
        last = self.last_condition
        after_space = self.text[position - 1].isspace()
        if char in "&|" and not self.text.startswith(char * 2, position):
            message += f" (write {char * 2!r} or {'and' if char == '&' else 'or'!r})"
        elif last is not None and last.operator in _UNARY_OPERATORS:
            message += f" ({last.operator!r} takes no argument)"
        elif last is not None and isinstance(last.argument, str):
            if not after_space and char in _DELIMITERS and char not in "()":
                message += f" (quote values that contain {char!r})"
            elif after_space and char not in _DELIMITERS:
                message += " (quote values that contain spaces)"
        raise self.error(message, position)

    def or_expr(self, after: str | None) -> Expression:
        operands = [self.and_expr(after)]
        while (word := self.accept_connective("||", "or")) is not None:
            operands.append(self.and_expr(word))
        return _combine(Or, operands)

    def and_expr(self, after: str | None) -> Expression:
        operands = [self.not_expr(after)]
        while (word := self.accept_connective("&&", "and")) is not None:
            operands.append(self.not_expr(word))
        return _combine(And, operands)

    def not_expr(self, after: str | None) -> Expression:
        start = self.skip_space()
        text = self.text
        if start >= len(text):
            where = f"after {after!r} " if after else ""
            raise self.error(
                f"expected a condition {where}at position {start}, but the expression ends there",
                start,
            )
        char = text[start]
        if char == "!":
            self.pos = start + 1
            self.enter(start)
            operand = self.not_expr("!")
            self.depth -= 1
            return Not(operand)
        if char == "(":
            self.pos = start + 1
            self.enter(start)
            self.open_parens.append(start)
            inner = self.or_expr("(")
            position = self.skip_space()
            if position >= len(text):
                raise self.error(
                    f"unbalanced parenthesis: '(' at position {start} is never closed", start
                )
            if text[position] != ")":
                self.unexpected(position, closing=True)
            self.pos = position + 1
            self.last_condition = None
            self.open_parens.pop()
            self.depth -= 1
            return inner
        if char == ")":
            if not self.open_parens:
                raise self.error(
                    f"unbalanced parenthesis: ')' at position {start} has no matching '('",
                    start,
                )
            where = f"after {after!r} " if after else ""
            raise self.error(f"expected a condition {where}at position {start}, found ')'", start)
        word, end = self.peek_word()
        folded = word.casefold()
        if folded == "not":
            self.pos = end
            self.enter(start)
            operand = self.not_expr(word)
            self.depth -= 1
            return Not(operand)
        if folded in _KEYWORD_VALUES or char in "&|":
            raise self.error(
                f"expected a condition before {word or text[start : start + 2]!r} "
                f"at position {start}",
                start,
            )
        if not word:
            where = f"after {after!r} " if after else ""
            raise self.error(
                f"expected a condition (subject operator [argument]) {where}"
                f"at position {start}{self.found(start)}",
                start,
            )
        condition = self.condition()
        self.last_condition = condition
        return condition

    def condition(self) -> Condition:
        subject = self.subject()
        op_pos = self.skip_space()
        operator = self.operator(subject)
        argument: str | tuple[str, ...] | None = None
        positions: list[int] = []
        if operator in _LIST_OPERATORS:
            argument, positions = self.value_list(operator)
        elif operator not in _UNARY_OPERATORS:
            value, value_pos = self.value(operator, regex=operator in _REGEX_OPERATORS)
            argument, positions = value, [value_pos]
        try:
            return Condition(subject, operator, argument)
        except _ArgumentError as exc:
            position = op_pos
            if positions and not exc.on_operator:
                position = positions[exc.item or 0]
            raise self.error(f"{exc.head} at position {position}{exc.tail}", position) from None

    def subject(self) -> str:
        start = self.pos
        word, end = self.peek_word()
        canonical = _PLAIN_SUBJECTS.get(word.casefold())
        if canonical is not None:
            self.pos = end
            return canonical
        if word[: len(_ATTRIBUTE_PREFIX)].casefold() == _ATTRIBUTE_PREFIX:
            name = word[len(_ATTRIBUTE_PREFIX) :]
            name_pos = start + len(_ATTRIBUTE_PREFIX)
            if not name:
                raise self.error(
                    f"missing attribute name after 'attribute:' at position {name_pos}; "
                    "expected e.g. attribute:ecs.instance-type",
                    name_pos,
                )
            if not _ATTRIBUTE_NAME_RE.fullmatch(name):
                bad = next(i for i, c in enumerate(name) if not _ATTRIBUTE_NAME_RE.fullmatch(c))
                raise self.error(
                    f"invalid attribute name {name!r} at position {name_pos + bad}: names may "
                    "contain only letters, digits, '-', '_', '/' and '.'",
                    name_pos + bad,
                )
            if len(name) > MAX_ATTRIBUTE_NAME_LENGTH:
                raise self.error(
                    f"attribute name {name[:20]!r}... at position {name_pos} is longer than "
                    f"{MAX_ATTRIBUTE_NAME_LENGTH} characters",
                    name_pos,
                )
            self.pos = end
            return _ATTRIBUTE_PREFIX + name
        raise self.error(
            f"unknown subject {word!r} at position {start}; expected one of "
            f"{_SUBJECT_LIST}{_suggest_subject(word)}",
            start,
        )

    def operator(self, subject: str) -> str:
        start = self.pos
        text = self.text
        for symbol in _SYMBOL_OPERATORS:
            if text.startswith(symbol, start):
                self.pos = start + len(symbol)
                return symbol
        if text.startswith("!", start):
            word = text[start + 1 : _word_end(text, start + 1)]
            operator = _BANG_OPERATORS.get(word.casefold())
            if operator is not None:
                self.pos = start + 1 + len(word)
                return operator
        else:
            word, end = self.peek_word()
            operator = _WORD_OPERATORS.get(word.casefold())
            if operator is not None:
                self.pos = end
                return operator
        raise self.error(
            f"expected an operator ({_OPERATOR_LIST}) after {subject!r} at position {start}"
            f"{self.found(start)}",
            start,
        )

    def value(self, after: str, regex: bool = False) -> tuple[str, int]:
        start = self.skip_space()
        text = self.text
        if start < len(text) and text[start] in _QUOTES:
            quote = text[start]
            end = text.find(quote, start + 1)
            if end < 0:
                raise self.error(
                    f"unterminated quoted value: the {quote} at position {start} is never closed",
                    start,
                )
            self.pos = end + 1
            return text[start + 1 : end], start
        end = _bare_regex_end(text, start) if regex else _word_end(text, start)
        word = text[start:end]
        if not word:
            raise self.error(
                f"expected a value after {after!r} at position {start}{self.found(start)}",
                start,
            )
        if word.casefold() in _KEYWORD_VALUES:
            raise self.error(
                f"expected a value after {after!r} at position {start}, found the keyword "
                f"{word!r} (write '{word}' in quotes to use it as a value)",
                start,
            )
        self.pos = end
        return word, start

    def value_list(self, operator: str) -> tuple[tuple[str, ...], list[int]]:
        start = self.skip_space()
        text = self.text
        if not text.startswith("[", start):
            raise self.error(
                f"expected a list such as [a, b] after {operator!r} at position {start}"
                f"{self.found(start)}",
                start,
            )
        self.pos = start + 1
        values: list[str] = []
        positions: list[int] = []
        if text.startswith("]", self.skip_space()):
            self.pos += 1
            return (), []
        after = "["
        while True:
            value, position = self.value(after)
            values.append(value)
            positions.append(position)
            here = self.skip_space()
            if here >= len(text):
                raise self.error(
                    f"unterminated list: the '[' at position {start} is never closed", start
                )
            if text[here] == "]":
                self.pos = here + 1
                return tuple(values), positions
            if text[here] != ",":
                raise self.error(
                    f"expected ',' or ']' in the list opened at position {start}, at position "
                    f"{here}{self.found(here)}",
                    here,
                )
            self.pos = here + 1
            after = ","


def _combine(kind: type[And] | type[Or], operands: list[Expression]) -> Expression:
    if len(operands) == 1:
        return operands[0]
    flat: list[Expression] = []
    for operand in operands:
        flat.extend(operand.operands if isinstance(operand, kind) else (operand,))
    return kind(tuple(flat))


def _suggest_subject(word: str) -> str:
    if ":" in word:
        prefix, _, rest = word.partition(":")
        if difflib.get_close_matches(prefix.casefold(), ["attribute"], n=1, cutoff=0.7):
            return f" (did you mean 'attribute:{rest}'?)"
    names = list(_PLAIN_SUBJECTS)
    close = difflib.get_close_matches(word.casefold(), names, n=1, cutoff=0.7)
    return f" (did you mean {_PLAIN_SUBJECTS[close[0]]!r}?)" if close else ""


def parse(expression: str) -> Expression:
    """Parse a cluster query expression; raise :class:`QueryError` if it is malformed."""
    if not isinstance(expression, str):
        raise TypeError(f"expression must be a string, not {type(expression).__name__}")
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise QueryError(
            f"expression is {len(expression)} characters long; the limit is "
            f"{MAX_EXPRESSION_LENGTH} (at position {MAX_EXPRESSION_LENGTH})",
            MAX_EXPRESSION_LENGTH,
            expression,
        )
    return _Parser(expression).parse()


@functools.lru_cache(maxsize=1024)
def _parse_cached(expression: str) -> Expression:
    return parse(expression)


def matches(expression: str | Expression, view: InstanceView) -> bool:
    """Whether ``view`` is selected by ``expression`` (parsed expressions are cached)."""
    if isinstance(expression, Expression):
        return expression.evaluate(view)
    return _parse_cached(expression).evaluate(view)
