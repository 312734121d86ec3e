"""Safe YAML loading that remembers the line of every key and item.

Validation errors must name the line a user has to fix, so the loader keeps a map
from field path (a tuple of keys and list indexes) to the 1-based line where it
starts. Duplicate keys are rejected: YAML silently keeps the last one, which hides
typos in exactly the way the scenario format forbids.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from ..errors import ScenarioError

Lines = dict[tuple, int]


def _walk(node: yaml.Node, path: tuple, lines: Lines, constructor, file: str | None,
          active: frozenset = frozenset()):
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.CollectionNode):
        if id(node) in active:  # an alias inside the collection it names: `a: &x [*x]`
            raise ScenarioError("an alias refers to a mapping or list that contains it",
                                file=file, path=format_path(path) or None,
                                line=node.start_mark.line + 1)
        active = active | {id(node)}
    if isinstance(node, yaml.MappingNode):
        out = {}
        for key_node, value_node in node.value:
            key = constructor.construct_object(key_node, deep=True)
            if isinstance(key, list | dict):
                raise ScenarioError("a key must be a plain value", file=file,
                                    path=format_path(path) or None,
                                    line=key_node.start_mark.line + 1)
            if not isinstance(key, str):
                # YAML reads on/off/yes/no/true/false as booleans and 80 as a number.
                what = {bool: "a boolean", int: "a number", float: "a number",
                        type(None): "null"}.get(type(key), f"a {type(key).__name__}")
                raise ScenarioError(f"expected a field name, got {key_node.value!r}, which YAML "
                                    f"reads as {what}; quote it to use it as a name", file=file,
                                    path=format_path(path) or None,
                                    line=key_node.start_mark.line + 1)
            if key in out:
                raise ScenarioError(f"duplicate key {key!r}", file=file,
                                    path=format_path(path + (key,)),
                                    line=key_node.start_mark.line + 1)
            lines[path + (key,)] = key_node.start_mark.line + 1
            out[key] = _walk(value_node, path + (key,), lines, constructor, file, active)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(item, path + (i,), lines, constructor, file, active)
                for i, item in enumerate(node.value)]
    return constructor.construct_object(node, deep=True)


def load_yaml(text: str, file: str | None = None) -> tuple[object, Lines]:
    """Parse ``text`` safely; return the data and the line map. Errors carry the line."""
    lines: Lines = {}
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None, lines
            data = _walk(node, (), lines, loader, file)
        finally:
            loader.dispose()
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise ScenarioError(f"not valid YAML: unacceptable character #x{char:04x} "
                            "(YAML allows printable text only)", file=file, line=line) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or str(exc)
        raise ScenarioError(f"not valid YAML: {problem}", file=file, line=line) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"not valid YAML: {exc}", file=file) from None
    return data, lines


def read_yaml_file(path: str | Path) -> tuple[object, Lines, str]:
    """Read a YAML file; return data, line map and the raw text."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError("no such file", file=str(path)) from None
    except IsADirectoryError:
        raise ScenarioError("is a directory, expected a scenario YAML file",
                            file=str(path)) from None
    except UnicodeDecodeError:
        raise ScenarioError("not a UTF-8 text file", file=str(path)) from None
    except OSError as exc:
        raise ScenarioError(f"cannot read the file: {exc.strerror or exc}",
                            file=str(path)) from None
    data, lines = load_yaml(text, str(path))
    return data, lines, text


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
