"""Recursive descent over an expression's text, to an :class:`~.evaluator.Expression`,
and the entry points :func:`parse` and :func:`matches`.
"""

from __future__ import annotations

import difflib
import functools

from .evaluator import And, Condition, Expression, Not, Or
from .syntax import (
    _ATTRIBUTE_NAME_RE,
    _ATTRIBUTE_PREFIX,
    _BANG_OPERATORS,
    _DELIMITERS,
    _EXAMPLE,
    _KEYWORD_VALUES,
    _LIST_OPERATORS,
    _OPERATOR_LIST,
    _PLAIN_SUBJECTS,
    _QUOTES,
    _REGEX_OPERATORS,
    _SUBJECT_LIST,
    _SYMBOL_OPERATORS,
    _UNARY_OPERATORS,
    _WORD_OPERATORS,
    MAX_ATTRIBUTE_NAME_LENGTH,
    MAX_EXPRESSION_LENGTH,
    MAX_NESTING_DEPTH,
    QueryError,
    _ArgumentError,
    _bare_regex_end,
    _word_end,
)
from .values import InstanceView

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
