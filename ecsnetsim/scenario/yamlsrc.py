"""Safe YAML loading that remembers the line of every key and item, within bounds.

Validation errors must name the line a user has to fix, so the loader keeps a map
from field path (a tuple of keys and list indexes) to the 1-based line where it
starts. Duplicate keys are rejected: YAML silently keeps the last one, which hides
typos in exactly the way the scenario format forbids.

A scenario file is user input and may be hostile or simply huge, so reading it is
bounded before any of it is trusted (see :data:`MAX_FILE_BYTES`, :data:`MAX_DEPTH`,
:data:`MAX_ALIAS_VALUES`, :data:`MAX_INT_DIGITS`): a "billion laughs" file of nested
aliases, a 10,000-deep list, ``/dev/zero`` or a FIFO each end in one clear error
instead of exhausting memory, the stack or patience.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import yaml

from ..errors import ScenarioError, show

Lines = dict[tuple, int]

#: Largest scenario file read, in bytes. Real scenarios are a few KB; the pure-Python
#: parser that keeps lines reads about a megabyte in seconds.
MAX_FILE_BYTES = 1024 * 1024
#: Deepest nesting of lists and mappings. The deepest field of the format is under ten
#: levels down; the parser recurses once per level.
MAX_DEPTH = 64
#: Most values that aliases (``*name``) and merge keys may repeat in all, counted as if
#: each alias were written out in full. A handful of anchors for shared settings repeat
#: dozens; nested aliases that double at each level ("billion laughs") reach millions.
MAX_ALIAS_VALUES = 100_000
#: Most digits of a whole number, counted in decimal whatever base it is written in
#: (``0x`` hex, ``0o``/``0`` octal, ``0b`` binary, ``1:30`` base 60). No field needs more
#: than a 128-bit seed (39 digits).
MAX_INT_DIGITS = 40
#: The bases of YAML 1.1 whole-number literals, by prefix.
_INT_BASES = (("0x", 16), ("0b", 2), ("0o", 8))

_MERGE_TAG = "tag:yaml.org,2002:merge"
_INT_TAG = "tag:yaml.org,2002:int"


class _Limit(Exception):
    """A bound exceeded while composing; carries the field path and 1-based line."""

    def __init__(self, message: str, path: tuple, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, composing with a depth bound and an alias budget.

    Aliases stay shared nodes (as PyYAML composes them); what is bounded is the size
    they would have written out, computed once per node, so that counting costs no more
    than the file itself.
    """

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._depth = 0
        self._sizes: dict[int, int] = {}  # id(node) -> values it holds, written out
        self._repeated = 0
        self._path: list = []  # field path of the node being composed, for errors

    def compose_node(self, parent, index):
        part = _part(parent, index)
        if part is not None:
            self._path.append(part)
        try:
            return self._compose(parent, index)
        finally:
            if part is not None:
                self._path.pop()

    def _compose(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self._count_alias(self.peek_event())
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Limit(f"nested more than {MAX_DEPTH} levels deep (lists and mappings); "
                         f"a scenario needs fewer than ten", tuple(self._path),
                         self.peek_event().start_mark.line + 1)
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        self._sizes[id(node)] = 1 + sum(self._sizes[id(n)] for n in _children(node))
        return node

    def _count_alias(self, event) -> None:
        """Add what ``*alias`` repeats to the budget; refuse an alias inside its anchor."""
        node = self.anchors.get(event.anchor)
        if node is None:  # PyYAML reports the undefined alias itself
            return
        size = self._sizes.get(id(node))
        line = event.start_mark.line + 1
        if size is None:
            raise _Limit(f"an alias refers to a mapping or list that contains it "
                         f"(*{event.anchor})", tuple(self._path), line)
        self._repeated += size
        if self._repeated > MAX_ALIAS_VALUES:
            raise _Limit(f"aliases repeat more than {MAX_ALIAS_VALUES:,} values in all "
                         f"(counted as if written out; *{event.anchor} here repeats "
                         f"{size:,}); write the values out or nest fewer aliases",
                         tuple(self._path), line)


def _part(parent, index):
    """The path step from ``parent`` to the node composed at ``index``: a list index, a
    mapping key's text, or None for a mapping key itself and for the document."""
    if isinstance(parent, yaml.SequenceNode):
        return index
    if isinstance(parent, yaml.MappingNode) and isinstance(index, yaml.ScalarNode):
        return index.value
    return None


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return node.value
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


class _Walk:
    """Builds plain data from the composed node tree and records the line of each path."""

    def __init__(self, constructor: yaml.SafeLoader, file: str | None) -> None:
        self.constructor = constructor
        self.file = file
        self.lines: Lines = {}

    def error(self, message: str, path: tuple, node: yaml.Node) -> ScenarioError:
        return ScenarioError(message, file=self.file, path=format_path(path) or None,
                             line=node.start_mark.line + 1)

    def node(self, node: yaml.Node, path: tuple):
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.node(item, path + (i,)) for i, item in enumerate(node.value)]
        return self.scalar(node, path)

    def scalar(self, node: yaml.Node, path: tuple):
        """A scalar as the safe constructor reads it; a value it cannot read (``!!int x``,
        the date ``2024-13-45``, a number too long) is an error at its line."""
        if node.tag == _INT_TAG:
            digits = decimal_digits(node.value)
            if digits > MAX_INT_DIGITS:
                decimal = all(c.isdigit() or c in "+-_" for c in node.value.strip())
                size = f"{digits:,} digits" if decimal else f"about {digits:,} decimal digits"
                raise self.error(f"a whole number of {size}; expected at most "
                                 f"{MAX_INT_DIGITS} digits", path, node)
        try:
            return self.constructor.construct_object(node, deep=True)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, AttributeError, OverflowError):
            shown = node.value if len(node.value) <= 40 else node.value[:40] + "..."
            kind = node.tag.rsplit(":", 1)[-1]
            raise self.error(f"cannot read {shown!r} as a YAML {kind}", path, node) from None

    def key(self, key_node: yaml.Node, path: tuple) -> str:
        """A mapping key: a field name, never a collection, a number or a boolean."""
        if not isinstance(key_node, yaml.ScalarNode):
            raise self.error("a key must be a plain value", path, key_node)
        key = self.scalar(key_node, path)
        if not isinstance(key, str):
            # YAML reads on/off/yes/no/true/false as booleans and 80 as a number.
            what = {bool: "a boolean", int: "a number", float: "a number",
                    type(None): "null"}.get(type(key), f"a {type(key).__name__}")
            raise self.error(f"expected a field name, got {key_node.value!r}, which YAML "
                             f"reads as {what}; quote it to use it as a name", path, key_node)
        return key

    def mapping(self, node: yaml.MappingNode, path: tuple) -> dict:
        """A mapping; merge keys (``<<: *base``) first, then its own keys, which win."""
        out: dict = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                for key, value in self.merged(key_node, value_node, path).items():
                    out.setdefault(key, value)
        own: set = set()
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key = self.key(key_node, path)
            if key in own:
                raise self.error(f"duplicate key {key!r}", path + (key,), key_node)
            own.add(key)
            self.lines[path + (key,)] = key_node.start_mark.line + 1
            out.pop(key, None)
            out[key] = self.node(value_node, path + (key,))
        return out

    def merged(self, key_node: yaml.Node, value_node: yaml.Node, path: tuple) -> dict:
        """The keys a merge key brings in: one mapping, or a list whose earlier mappings
        win over later ones, as YAML's merge key type says."""
        sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
        out: dict = {}
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                raise self.error("a merge key (<<) takes a mapping or a list of mappings, "
                                 "e.g. <<: *defaults", path, key_node)
            for key, value in self.mapping(source, path).items():
                out.setdefault(key, value)
        return out


def load_yaml(text: str, file: str | None = None) -> tuple[object, Lines]:
    """Parse ``text`` safely within the bounds above; return the data and the line map.
    Errors carry the line."""
    try:
        loader = _BoundedLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None, {}
            walk = _Walk(loader, file)
            data = walk.node(node, ())
        finally:
            loader.dispose()
    except _Limit as exc:
        where = format_path(exc.path)
        if len(where) > 80:  # a path as deep as the bound is no help in full
            where = where[:60] + f"... ({len(exc.path)} levels)"
        raise ScenarioError(exc.message, file=file, path=where or None, line=exc.line) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise ScenarioError(f"not valid YAML: unacceptable character #x{char:04x} "
                            "(YAML allows printable text only)", file=file, line=line) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = _yaml_problem(exc.problem or str(exc))
        raise ScenarioError(f"not valid YAML: {problem}", file=file, line=line) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"not valid YAML: {exc}", file=file) from None
    return data, walk.lines


#: What the YAML parser's commonest complaints usually mean, said after them.
_YAML_HINTS = (
    ("found character '\\t'", "a tab; YAML indents with spaces"),
    ("expected <block end>", "the indentation does not match the lines above"),
    ("mapping values are not allowed here", "a ': ' inside a value: quote the value, or "
                                            "check the indentation"),
    ("could not find expected ':'", "a key without ': ' after it"),
)


def _yaml_problem(problem: str) -> str:
    """The parser's problem, with what it usually means when that is known."""
    hint = next((h for text, h in _YAML_HINTS if problem.startswith(text)), None)
    return f"{problem} ({hint})" if hint else problem


_KINDS = {stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFCHR: "a character device",
          stat.S_IFBLK: "a block device", stat.S_IFSOCK: "a socket"}


def read_bounded(path: str | Path, limit: int = MAX_FILE_BYTES, what: str = "scenario") -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them.

    Opened without blocking and checked on the open descriptor, so that a FIFO cannot
    stall the read and a device such as ``/dev/zero`` cannot fill memory.
    """
    name = str(path)
    if not name:
        raise ScenarioError(f"no {what} file named: the path is empty")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ScenarioError("no such file", file=name) from None
    except IsADirectoryError:
        raise ScenarioError(f"is a directory, expected a {what} file", file=name) from None
    except OSError as exc:
        raise ScenarioError(f"cannot read the file: {exc.strerror or exc}", file=name) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise ScenarioError(f"is a directory, expected a {what} file", file=name)
        kind = _KINDS.get(stat.S_IFMT(mode), "not a regular file")
        raise ScenarioError(f"is {kind}; expected a regular {what} file", file=name)
    with os.fdopen(fd, "rb") as f:
        try:
            data = f.read(limit + 1)
        except OSError as exc:
            raise ScenarioError(f"cannot read the file: {exc.strerror or exc}",
                                file=name) from None
    if len(data) > limit:
        raise ScenarioError(f"larger than {limit:,} bytes, the most a {what} file may hold",
                            file=name)
    return data


def read_yaml_file(path: str | Path) -> tuple[object, Lines, str]:
    """Read a YAML file; return data, line map and the raw text."""
    data = read_bounded(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ScenarioError(f"not a UTF-8 text file (byte 0x{data[exc.start]:02x} on line "
                            f"{line})", file=str(path)) from None
    parsed, lines = load_yaml(text, str(path))
    return parsed, lines, text


def _json_depth(text: str) -> tuple[int, int]:
    """The deepest nesting of ``[`` and ``{`` outside strings, and the line it is first
    reached on: checked before ``json.loads``, which recurses once per level."""
    depth = deepest = 0
    line = at = 1
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            elif ch == "\n":
                line += 1
            continue
        if ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > deepest:
                deepest, at = depth, line
                if deepest > MAX_DEPTH:
                    break
        elif ch in "]}":
            depth -= 1
        elif ch == "\n":
            line += 1
    return deepest, at


def _json_int(text: str) -> int:
    if decimal_digits(text) > MAX_INT_DIGITS:
        raise ValueError(f"a whole number of {decimal_digits(text):,} digits; expected at "
                         f"most {MAX_INT_DIGITS} digits")
    return int(text)


def decimal_digits(literal: str) -> int:
    """How many decimal digits the whole number written ``literal`` has at most, in any
    base YAML 1.1 reads (the bound is on the value, not on the characters: 4,000 hex
    digits are 4,817 decimal ones), without converting it.

    >>> decimal_digits("0x" + "f" * 4000), decimal_digits("-1_000"), decimal_digits("007")
    (4817, 4, 1)
    >>> decimal_digits("190:20:30")  # base 60: 685230, bounded by 7 digits
    7
    """
    import math  # noqa: PLC0415 (only for a literal that is read)

    text = literal.strip().lstrip("+-").replace("_", "").lower()
    base = 10
    for prefix, b in _INT_BASES:
        if text.startswith(prefix):
            text, base = text[len(prefix):], b
            break
    else:
        if ":" in text:  # sexagesimal: one base-60 digit per part after the first
            head, *parts = text.split(":")
            return len(head.lstrip("0")) + math.ceil(len(parts) * math.log10(60))
        if len(text) > 1 and text.startswith("0"):
            base = 8
    significant = len(text.lstrip("0"))
    return significant if base == 10 else math.ceil(significant * math.log10(base))


def _json_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows (nor ECS)")


def load_json(data: bytes, file: str) -> object:
    """Parse JSON read by :func:`read_bounded`, within the same bounds as YAML: depth,
    digits of a whole number; NaN and Infinity (which Python's parser accepts but JSON
    does not) refused. Errors name ``file`` and the line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ScenarioError(f"not a UTF-8 text file (byte 0x{data[exc.start]:02x} on line "
                            f"{line})", file=file) from None
    deepest, line = _json_depth(text)
    if deepest > MAX_DEPTH:
        raise ScenarioError(f"nested more than {MAX_DEPTH} levels deep (arrays and objects); "
                            "a task definition needs fewer than ten", file=file, line=line)
    try:
        return json.loads(text, parse_int=_json_int, parse_constant=_json_constant,
                          object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise ScenarioError(f"not valid JSON: {exc.msg}", file=file, line=exc.lineno) from None
    except _DuplicateKey as exc:
        path, line = _duplicate_at(text)
        raise ScenarioError(f"the key {show(exc.key)} is given twice; JSON parsers keep one "
                            "of the two silently, so which was meant is unknown: keep one",
                            file=file, path=path, line=line) from None
    except (ValueError, RecursionError) as exc:
        raise ScenarioError(f"not valid JSON: {exc}", file=file) from None


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    """A JSON object, refusing a key given twice (as the YAML loader does)."""
    out = dict(pairs)
    if len(out) < len(pairs):
        seen: set[str] = set()
        raise _DuplicateKey(next(k for k, _ in pairs if k in seen or seen.add(k)))
    return out


def _json_places(text: str) -> Iterator[tuple[tuple, int, bool]]:
    """``(field path, line, is_key)`` of every key of ``text`` (valid JSON) and of every
    object or array that is an element of an array, in the order they stand, found by
    walking its strings and brackets."""
    path: list = []  # per open object or array, the key or index inside it
    arrays: list[bool] = []
    line, i = 1, 0
    while i < len(text):
        ch = text[i]
        if ch == "\n":
            line += 1
        elif ch == '"':
            start = i
            i += 1
            while text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            if arrays and not arrays[-1] and text[i + 1:].lstrip().startswith(":"):
                path[-1] = json.loads(text[start:i + 1])
                yield tuple(path), line, True
        elif ch in "{[":
            if arrays and arrays[-1]:
                yield tuple(path), line, False
            arrays.append(ch == "[")
            path.append(0 if ch == "[" else None)
        elif ch in "}]":
            arrays.pop()
            path.pop()
        elif ch == "," and arrays and arrays[-1]:
            path[-1] += 1
        i += 1


def _duplicate_at(text: str) -> tuple[str | None, int | None]:
    """The field path and line of the first key given twice in one object of ``text``
    (valid JSON): the first key whose whole path was seen before."""
    seen: set[tuple] = set()
    for path, line, is_key in _json_places(text):
        if is_key:
            if path in seen:
                return format_path(path) or None, line
            seen.add(path)
    return None, None


def json_lines(text: str) -> Lines:
    """The line of every key of ``text`` (valid JSON), by its field path, as
    :func:`load_yaml` gives them for YAML: so that an error in a JSON file names the line.

    >>> json_lines('{"a": [\\n  {"b": 1}]}')[("a", 0, "b")]
    2
    """
    lines: Lines = {}
    for path, line, _ in _json_places(text):
        lines.setdefault(path, line)
    return lines


def check_depth(data: object) -> None:
    """Refuse data (a dict given to the Python API) nested deeper than :data:`MAX_DEPTH`,
    without recursing: copying or validating it would exhaust the stack."""
    stack = [(data, 0, ())]
    while stack:
        node, depth, path = stack.pop()
        if not isinstance(node, dict | list):
            continue
        if depth >= MAX_DEPTH:
            where = format_path(path)
            where = where if len(where) <= 80 else where[:60] + f"... ({len(path)} levels)"
            raise ScenarioError(f"nested more than {MAX_DEPTH} levels deep (lists and "
                                "mappings); a scenario needs fewer than ten", path=where or None)
        items = node.items() if isinstance(node, dict) else enumerate(node)
        stack.extend((v, depth + 1, path + (k,)) for k, v in items)


def format_path(path: tuple) -> str:
    """``('services', 0, 'containers')`` → ``services[0].containers``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def line_of(lines: Lines, path: tuple) -> int | None:
    """The line of ``path`` or of its nearest ancestor that the file spells out."""
    p = tuple(path)
    while True:
        if p in lines:
            return lines[p]
        if not p:
            return None
        p = p[:-1]


def question(path: str | Path) -> str:
    """The comment block a scenario file starts with (by convention: the question it answers
    and the result to expect), without the ``#`` marks; empty when there is none.
    Read within the loader's bounds (a results file may name any path: a FIFO or a device
    is an :class:`InputError`, not a hang); bytes that are not UTF-8 read as U+FFFD."""
    text = read_bounded(path).decode("utf-8", errors="replace")
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line[1:].strip())
    return "\n".join(lines)
