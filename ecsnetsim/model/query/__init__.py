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

from .evaluator import And, Condition, Expression, Not, Or
from .parser import _parse_cached, matches, parse  # noqa: F401 (_parse_cached: its cache)
from .syntax import MAX_EXPRESSION_LENGTH, OPERATORS, SUBJECTS, QueryError
from .values import InstanceView

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
