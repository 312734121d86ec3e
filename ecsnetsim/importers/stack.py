"""The neutral description of an imported stack, shared by every importer.

A CloudFormation template, a Terraform plan and a set of ``aws ... describe-*`` outputs
name the same things in three vocabularies. Each importer translates its source into
:class:`Stack`: items by category (``subnet``, ``sg``, ``asg``, ``service``, ...), each
with the fields the scenario needs under one set of names, the place it came from
(:class:`Origin`), and references to other items by key or by any alias the source uses
(an ID, an ARN, a name). :mod:`.build` then turns a Stack into a scenario without knowing
which source it came from, so that every importer makes the same assumptions and writes
the same comments.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError

#: Text that marks a value an importer could not resolve offline (a ``!GetAtt`` of a
#: resource not in the template, an SSM parameter, a Terraform value known only after
#: apply). Values holding it are never used as they are: the builder puts a placeholder
#: in their place and says so in a comment.
UNRESOLVED = "UNRESOLVED"


class StackError(InputError):
    """A source that cannot be imported: not the document expected, or refused as AWS
    would refuse it. Exit status 2, naming the file and what was expected."""


@dataclass(frozen=True)
class Origin:
    """Where an item came from: the source's own type name, the item's name there, and
    the file."""

    kind: str  # AWS::EC2::Subnet, aws_subnet, describe-subnets
    name: str  # a logical ID, a Terraform address or an AWS ID
    file: str

    def __str__(self) -> str:
        return f"{self.kind} {self.name} ({Path(self.file).name})"


@dataclass
class Item:
    """One thing of the stack: a subnet, a security group, a service, ..."""

    key: str
    name: str
    origin: Origin
    fields: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def get(self, name: str, default: Any = None) -> Any:
        value = self.fields.get(name)
        return default if value is None else value

    def list(self, name: str) -> list:
        """A field that should be a list, as one (a single value becomes a list of it)."""
        return as_list(self.fields.get(name))

    def dicts(self, name: str) -> list[dict]:
        """A field that should be a list of mappings: the mappings in it."""
        return [v for v in self.list(name) if isinstance(v, dict)]


class Stack:
    """Items by category, the aliases that refer to them, and what the importer assumed
    or left out (every one becomes a comment in the scenario)."""

    def __init__(self, kind: str, files: list[str]) -> None:
        self.kind = kind
        self.files = files
        self.items: dict[str, dict[str, Item]] = defaultdict(dict)
        self.aliases: dict[str, str] = {}
        self.notes: list[str] = []  # assumptions about the whole stack
        self.ignored: list[tuple[Origin, str]] = []
        self.name: str | None = None  # a scenario name the source suggests (its cluster)

    def add(self, category: str, key: str, name: str, origin: Origin,
            aliases: tuple = (), **fields: Any) -> Item:
        key, name = str(key), str(name)  # whatever type the source gave
        item = Item(key, name, origin, fields)
        self.items[category][key] = item
        for alias in aliases:
            if isinstance(alias, str) and alias and UNRESOLVED not in alias:
                self.aliases.setdefault(f"{category}:{alias}", key)
        return item

    def all(self, category: str) -> list[Item]:
        return list(self.items.get(category, {}).values())

    def find(self, category: str, ref: Any) -> Item | None:
        """The item of ``category`` that ``ref`` names: its key, an alias (ID, ARN,
        name), or an ARN whose last part is one."""
        if not isinstance(ref, str) or not ref:
            return None
        items = self.items.get(category, {})
        if ref in items:
            return items[ref]
        key = self.aliases.get(f"{category}:{ref}")
        if key is None and ref.startswith("arn:"):
            key = self.aliases.get(f"{category}:{ref.rsplit('/', 1)[-1]}")
        return items.get(key) if key is not None else None

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def ignore(self, origin: Origin, why: str) -> None:
        self.ignored.append((origin, why))


def resolved(value: Any) -> bool:
    """Whether ``value`` holds nothing the importer could not resolve."""
    if isinstance(value, str):
        return UNRESOLVED not in value
    if isinstance(value, list):
        return all(resolved(v) for v in value)
    if isinstance(value, dict):
        return all(resolved(v) for v in value.values())
    return True


def as_list(value: Any) -> list:
    """A value that may be one item, a list, or absent, as a list."""
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def as_int(value: Any) -> int | None:
    """A whole number written as a number or a string (``"2"``), else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


def as_bool(value: Any) -> bool | None:
    """``true``/``"true"``/``"ENABLED"``-style flags, else None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "enabled", "yes"):
            return True
        if text in ("false", "disabled", "no"):
            return False
    return None
