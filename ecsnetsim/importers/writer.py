"""Write a scenario as YAML with comments, and write files atomically.

PyYAML cannot write comments, and an imported scenario is only useful if a reader can
see which line came from which resource and what was assumed. So the scenario is
written here by hand: block mappings and lists, small leaf mappings in flow style on
one line, each scalar as PyYAML writes it (so that quoting is PyYAML's), comments above
an item and at the end of a line. The text is read back and compared with the data
before it is returned: a writer that could produce a file meaning something else would
be worse than none.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from .stack import StackError

Path_ = tuple  # a field path: keys and list indexes
#: Longest line a leaf mapping is written on in flow style; longer ones are blocks.
FLOW_WIDTH = 96


class Comments:
    """Comment lines to write above a field or item, and at the end of its line."""

    def __init__(self) -> None:
        self.above: dict[Path_, list[str]] = {}
        self.after: dict[Path_, str] = {}

    def add(self, path: Path_, text: str) -> None:
        lines = self.above.setdefault(tuple(path), [])
        for line in _one_line(text):
            if line not in lines:
                lines.append(line)

    def end(self, path: Path_, text: str) -> None:
        self.after[tuple(path)] = " ".join(_one_line(text))

    def inside(self, path: Path_) -> bool:
        """Whether a comment is attached at ``path`` or below it."""
        n = len(path)
        return any(p[:n] == path for p in (*self.above, *self.after))


def _one_line(text: str) -> list[str]:
    """``text`` as comment lines: one per line, spaces collapsed, characters YAML does
    not allow in a file (control characters) shown as '?'."""
    text = "".join(c if c.isprintable() or c == "\n" else "?" for c in str(text))
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()] or [""]


def scalar(value: Any, flow: bool = False) -> str:
    """``value`` as a YAML scalar, quoted where YAML needs it (and, inside a flow
    collection, where a comma or bracket would end it)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = yaml.safe_dump(value, default_flow_style=True, width=10 ** 9, allow_unicode=True)
    text = text.removesuffix("\n").removesuffix("\n...").strip()
    breaks = any(c in text for c in "\n\r\x85\u2028\u2029")
    if breaks or (flow and not _reads_back_in_flow(text, value)):
        quoted = yaml.safe_dump(value, default_style='"', width=10 ** 9, allow_unicode=False)
        return quoted.removesuffix("\n")  # double-quoted, every break escaped: one line
    return text


def _reads_back_in_flow(text: str, value: Any) -> bool:
    """Whether ``text`` reads back as ``value`` as an item and as a key of a flow
    collection (where ``,[]{}#`` end a plain scalar and ``?`` starts a key)."""
    try:
        return yaml.safe_load(f"[{text}]") == [value] and \
            yaml.safe_load(f"{{{text}: 0}}") == {value: 0}
    except yaml.YAMLError:
        return False


def _is_leaf(value: Any) -> bool:
    return not isinstance(value, dict | list) or (
        isinstance(value, list) and all(not isinstance(v, dict | list) for v in value))


def _flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{scalar(k, True)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return scalar(value, flow=True)


def _flowable(value: Any, path: Path_, comments: Comments, indent: int) -> bool:
    """Whether ``value`` goes on one line: a mapping of leaves, with no comment inside,
    short enough."""
    if not isinstance(value, dict) or not all(
            _is_leaf(v) or (isinstance(v, dict) and all(_is_leaf(x) for x in v.values()))
            for v in value.values()):
        return False
    inner = [p for p in (*comments.above, *comments.after) if p[:len(path)] == path
             and len(p) > len(path)]
    return not inner and indent + len(_flow(value)) <= FLOW_WIDTH


class _Emitter:
    def __init__(self, comments: Comments) -> None:
        self.comments = comments
        self.lines: list[str] = []

    def above(self, path: Path_, indent: int) -> None:
        for line in self.comments.above.get(path, ()):
            self.lines.append(" " * indent + ("# " + line).rstrip())

    def tail(self, path: Path_) -> str:
        text = self.comments.after.get(path)
        return f"  # {text}" if text else ""

    def mapping(self, data: dict, path: Path_, indent: int, first: str = "") -> None:
        """``data`` as a block mapping; ``first`` replaces the indent of its first line
        (``- `` for a list item)."""
        for i, (key, value) in enumerate(data.items()):
            sub = (*path, key)
            lead = first if (i == 0 and first) else " " * indent
            if not (i == 0 and first):
                self.above(sub, indent)
            head = f"{lead}{scalar(key)}:"
            if _is_leaf(value) or value in ({}, []):
                self.lines.append(f"{head} {_flow(value)}{self.tail(sub)}")
            elif isinstance(value, dict):
                if _flowable(value, sub, self.comments, indent + len(head)):
                    self.lines.append(f"{head} {_flow(value)}{self.tail(sub)}")
                else:
                    self.lines.append(head + self.tail(sub))
                    self.mapping(value, sub, indent + 2)
            else:
                self.lines.append(head + self.tail(sub))
                self.sequence(value, sub, indent + 2)

    def sequence(self, items: list, path: Path_, indent: int) -> None:
        for i, item in enumerate(items):
            sub = (*path, i)
            self.above(sub, indent)
            if isinstance(item, dict) and item and not _flowable(item, sub, self.comments,
                                                                 indent + 2):
                self.mapping(item, sub, indent + 2, first=" " * indent + "- ")
            else:
                self.lines.append(f"{' ' * indent}- {_flow(item)}{self.tail(sub)}")


def dump(data: dict, comments: Comments, header: list[str]) -> str:
    """The scenario ``data`` as commented YAML, ``header`` lines first; checked by
    reading it back."""
    emitter = _Emitter(comments)
    for line in header:
        for part in _one_line(line):
            emitter.lines.append(("# " + part).rstrip())
    emitter.mapping(data, (), 0)
    text = "\n".join(emitter.lines) + "\n"
    back = yaml.safe_load(text)
    if back != data:  # pragma: no cover - a bug in this module, not bad input
        raise AssertionError("the commented YAML does not read back as the scenario")
    return text


def write_atomically(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory renamed
    over it, so that a reader sees the old file or the whole new one, never a part."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise StackError(f"cannot write {path}: the directory {parent} does not exist")
    if path.is_dir():
        raise StackError(f"cannot write {path}: it is a directory; expected a file name "
                         "such as scenario.yaml")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
