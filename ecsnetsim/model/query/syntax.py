"""The query language's words: its limits, subjects and operators, the lexer's
scanners, and its error.

Kept apart from the parser and the evaluator, which both read them.
"""

from __future__ import annotations

import re

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


