"""Reading source files: bounded, UTF-8, JSON or CloudFormation YAML, errors with the file.

CloudFormation's YAML short forms (``!Ref``, ``!GetAtt``, ...) are tags, which a plain
safe loader refuses. :class:`CfnLoader` is PyYAML's ``SafeLoader`` with exactly those
tags registered, each building the long form (``{"Fn::GetAtt": [...]}``) that JSON
templates use; every other tag, ``!!python/object`` among them, is refused as the safe
loader refuses it. The document is then checked for depth and size before anything walks
it, so that nested aliases cannot make a small file a huge one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from ..scenario.yamlsrc import read_bounded
from .stack import StackError

#: A template's largest size: CloudFormation takes at most 1 MB from S3 (51,200 bytes
#: inline) (CloudFormation quotas, "Template body size").
MAX_TEMPLATE_BYTES = 1024 * 1024
#: ``terraform show -json`` and AWS CLI outputs of a large account run to megabytes.
MAX_JSON_BYTES = 64 * 1024 * 1024
#: Deepest nesting, and most values, a source may hold once aliases are written out.
MAX_DEPTH = 64
MAX_VALUES = 1_000_000

#: Short-form tags and the intrinsic function each stands for (CloudFormation User
#: Guide, intrinsic function reference).
SHORT_FORMS = {
    "!Ref": "Ref", "!Condition": "Condition", "!GetAtt": "Fn::GetAtt", "!Sub": "Fn::Sub",
    "!Join": "Fn::Join", "!Select": "Fn::Select", "!GetAZs": "Fn::GetAZs",
    "!ImportValue": "Fn::ImportValue", "!If": "Fn::If", "!Equals": "Fn::Equals",
    "!And": "Fn::And", "!Or": "Fn::Or", "!Not": "Fn::Not", "!FindInMap": "Fn::FindInMap",
    "!Split": "Fn::Split", "!Base64": "Fn::Base64", "!Cidr": "Fn::Cidr",
    "!Length": "Fn::Length", "!ToJsonString": "Fn::ToJsonString",
    "!Transform": "Fn::Transform",
}


class CfnLoader(yaml.SafeLoader):
    """PyYAML's safe loader with CloudFormation's short-form tags, refusing a key given
    twice in one mapping (PyYAML would keep the last one silently; CloudFormation's
    guide calls the result undefined)."""

    def construct_mapping(self, node, deep=False):
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True) if isinstance(
                key_node, yaml.ScalarNode) else None
            if key is not None and not isinstance(key, list | dict) and key in seen:
                raise _Duplicate(key, key_node.start_mark.line + 1)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


class _Duplicate(Exception):
    def __init__(self, key, line: int) -> None:
        super().__init__(key)
        self.key = key
        self.line = line


def _duplicate_message(key) -> str:
    return (f"the key {key!r} is given twice in one mapping; a parser keeps one of the two "
            "silently, so which was meant is unknown: keep one")


def _unique(pairs: list) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise _Duplicate(key, 0)
        out[key] = value
    return out


def _construct(function: str):
    def construct(loader: CfnLoader, node: yaml.Node) -> dict:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if function == "Fn::GetAtt":  # !GetAtt Resource.Attribute
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {function: value}
    return construct


for _tag, _function in SHORT_FORMS.items():
    CfnLoader.add_constructor(_tag, _construct(_function))


def _text(path: str, limit: int, what: str) -> str:
    data = read_bounded(path, limit=limit, what=what)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise StackError(f"not a UTF-8 text file (byte 0x{data[exc.start]:02x} on line "
                         f"{line}); expected a {what}", file=path) from None


def _check_size(doc: Any, path: str) -> None:
    """Refuse a document nested deeper than :data:`MAX_DEPTH` or holding more than
    :data:`MAX_VALUES` values counted as if its aliases were written out."""
    stack = [(doc, 1)]
    seen = 0
    while stack:
        value, depth = stack.pop()
        seen += 1
        if depth > MAX_DEPTH:
            raise StackError(f"nested more than {MAX_DEPTH} levels deep", file=path)
        if seen > MAX_VALUES:
            raise StackError(f"holds more than {MAX_VALUES:,} values (counting what YAML "
                             "aliases repeat)", file=path)
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)


def read_json(path: str, what: str, limit: int = MAX_JSON_BYTES) -> Any:
    text = _text(path, limit, what)
    try:
        doc = json.loads(text, parse_constant=_no_constant, object_pairs_hook=_unique)
    except _Duplicate as exc:
        raise StackError(_duplicate_message(exc.key), file=path) from None
    except json.JSONDecodeError as exc:
        raise StackError(f"not valid JSON: {exc.msg}; expected a {what}", file=path,
                         line=exc.lineno) from None
    except (ValueError, RecursionError) as exc:
        raise StackError(f"not valid JSON ({exc}); expected a {what}", file=path) from None
    _check_size(doc, path)
    return doc


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def read_template(path: str) -> Any:
    """A CloudFormation template, JSON or YAML with short forms."""
    what = "CloudFormation template (JSON or YAML)"
    text = _text(path, MAX_TEMPLATE_BYTES, what)
    if text.lstrip().startswith("{"):
        return read_json(path, what, MAX_TEMPLATE_BYTES)
    try:
        doc = yaml.load(text, Loader=CfnLoader)  # noqa: S506 (a SafeLoader subclass)
    except _Duplicate as exc:
        raise StackError(_duplicate_message(exc.key), file=path, line=exc.line) from None
    except yaml.constructor.ConstructorError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        tag = exc.problem.split("tag", 1)[-1].strip() if exc.problem else "?"
        raise StackError(f"the YAML tag {tag} is refused: only CloudFormation's short forms "
                         f"({', '.join(SHORT_FORMS)}) and plain YAML are read", file=path,
                         line=line) from None
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise StackError(f"not valid YAML: {exc.problem}; expected a {what}", file=path,
                         line=line) from None
    except (yaml.YAMLError, RecursionError) as exc:
        raise StackError(f"not valid YAML ({type(exc).__name__}); expected a {what}",
                         file=path) from None
    _check_size(doc, path)
    return doc


def find_template(url: str, near: list[Path]) -> Path | None:
    """The local file for a nested stack's ``TemplateURL``: its last path part, looked
    for in each directory of ``near`` and below."""
    tail = url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]
    if not tail:
        return None
    for folder in near:
        direct = folder / tail
        if direct.is_file():
            return direct
        for found in sorted(folder.rglob(tail)):
            if found.is_file():
                return found
    return None
