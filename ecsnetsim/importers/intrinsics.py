"""CloudFormation's intrinsic functions, resolved offline.

A reference to a resource (``!Ref Subnet``, ``!GetAtt SG.GroupId``) resolves to a
:class:`ResourceRef`, a string holding the resource's key (its logical ID, prefixed by
the nested stacks above it), which the importer finds again by key; AWS would give an ID
or an ARN known only once the stack exists. Parameters come from ``--parameter``, then
the template's defaults; pseudo parameters from the region given and documented
placeholders. What cannot be known offline (an SSM parameter's value, an attribute of a
resource outside the templates, an export no template given declares) becomes text
marked :data:`~.stack.UNRESOLVED`, and a note says where.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from typing import Any

from .stack import UNRESOLVED, StackError

#: The placeholder account ID (AWS::AccountId is not known offline).
ACCOUNT_ID = "123456789012"
#: AZ letters ``!GetAZs`` returns for a region (a region's real list depends on the
#: account; every commercial region has at least three).
AZ_LETTERS = "abc"


class ResourceRef(str):
    """A reference to a resource of the templates: the string is its key."""


class _NoValue:
    """``AWS::NoValue``: the property is removed."""


NO_VALUE = _NoValue()


def unresolved(what: str) -> str:
    return f"{UNRESOLVED}({what})"


class Template:
    """One template's parameters, mappings, conditions and resources, and how to resolve
    values in it. ``prefix`` is prepended to its resources' keys (nested stacks)."""

    def __init__(self, doc: dict, file: str, prefix: str, stack_name: str, region: str,
                 parameters: dict[str, Any], note: Callable[[str], None]) -> None:
        self.doc = doc
        self.file = file
        self.prefix = prefix
        self.stack_name = stack_name
        self.region = region
        self.note = note
        self.resources: dict = _section(doc, "Resources", file)
        self.mappings: dict = _section(doc, "Mappings", file)
        self.conditions: dict = _section(doc, "Conditions", file)
        self._condition_values: dict[str, bool] = {}
        self.params = self._parameters(parameters)
        self.imports: Callable[[str], Any] = lambda name: None
        self.nested_output: Callable[[str, str], Any] = lambda stack, name: None
        self.where = ""

    def _parameters(self, given: dict[str, Any]) -> dict[str, Any]:
        declared = _section(self.doc, "Parameters", self.file)
        unknown = sorted(set(given) - set(declared))
        if unknown:
            raise StackError(f"--parameter {unknown[0]}: the template has no such parameter; "
                             f"expected one of {', '.join(sorted(declared)) or '(none)'}",
                             file=self.file)
        out = {}
        for name, spec in declared.items():
            spec = spec if isinstance(spec, dict) else {}
            kind = str(spec.get("Type", "String"))
            value = given.get(name, spec.get("Default"))
            if value is None:
                self.note(f"parameter {name} has no default and was not given "
                          f"(--parameter {name}=VALUE): unresolved")
                value = unresolved(f"parameter {name}")
            elif kind.startswith("AWS::SSM::Parameter::Value"):
                self.note(f"parameter {name} is the SSM parameter {value}, not read offline")
                value = unresolved(f"ssm:{value}")
            if isinstance(value, str) and (kind.startswith("List<") or
                                           kind == "CommaDelimitedList"):
                value = [v.strip() for v in value.split(",")]
            out[name] = value
        return out

    # -- conditions ------------------------------------------------------------------
    def condition(self, name: str) -> bool:
        if name not in self._condition_values:
            if name not in self.conditions:
                raise StackError(f"condition {name!r} is not declared in Conditions",
                                 file=self.file)
            self._condition_values[name] = False  # a condition naming itself: false
            value = self.resolve(self.conditions[name], f"Conditions.{name}")
            self._condition_values[name] = bool(value) and value is not NO_VALUE
        return self._condition_values[name]

    # -- values ----------------------------------------------------------------------
    def resolve(self, value: Any, where: str) -> Any:
        """``value`` with every intrinsic function in it applied."""
        self.where = where
        return self._resolve(value)

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self._resolve(v) for v in value]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            handler = _FUNCTIONS.get(key)
            if handler is not None:
                return handler(self, arg)
        out = {}
        for k, v in value.items():
            v = self._resolve(v)
            if v is not NO_VALUE:
                out[k] = v
        return out

    def ref(self, name: Any) -> Any:
        name = self._resolve(name)
        if not isinstance(name, str):
            return unresolved(f"Ref {name!r}")
        if name in self.params:
            return self.params[name]
        if name in self.resources:
            return ResourceRef(self.prefix + name)
        pseudo = {"AWS::Region": self.region, "AWS::StackName": self.stack_name,
                  "AWS::AccountId": ACCOUNT_ID, "AWS::Partition": "aws",
                  "AWS::URLSuffix": "amazonaws.com", "AWS::NotificationARNs": [],
                  "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{ACCOUNT_ID}:"
                                  f"stack/{self.stack_name}/id"}
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in pseudo:
            return pseudo[name]
        self.note(f"{self.where}: Ref {name} names no parameter or resource: unresolved")
        return unresolved(f"Ref {name}")

    def get_att(self, arg: Any) -> Any:
        arg = self._resolve(arg)
        if isinstance(arg, str):
            arg = arg.split(".", 1)
        if not (isinstance(arg, list) and len(arg) == 2):
            raise StackError(f"{self.where}: Fn::GetAtt takes [resource, attribute] "
                             f"(got {arg!r})", file=self.file)
        res, attr = str(arg[0]), str(arg[1])
        spec = self.resources.get(res)
        if spec is None:
            self.note(f"{self.where}: GetAtt {res}.{attr}: no resource {res} in the "
                      "template: unresolved")
            return unresolved(f"GetAtt {res}.{attr}")
        if attr.startswith("Outputs.") and _type(spec) == "AWS::CloudFormation::Stack":
            return self.nested_output(self.prefix + res, attr[len("Outputs."):])
        if attr == "CidrBlock" and _type(spec) == "AWS::EC2::VPC":
            return self.resolve(_props(spec).get("CidrBlock"), f"{res}.CidrBlock")
        return ResourceRef(self.prefix + res)

    def sub(self, arg: Any) -> Any:
        text, variables = (arg, {}) if isinstance(arg, str) else (
            arg[0], arg[1] if len(arg) > 1 else {}) if isinstance(arg, list) and arg else (
            None, {})
        if not isinstance(text, str) or not isinstance(variables, dict):
            raise StackError(f"{self.where}: Fn::Sub takes a string or [string, {{vars}}]",
                             file=self.file)
        values = {k: self._resolve(v) for k, v in variables.items()}

        def one(match: re.Match) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in values:
                return _text(values[name])
            if "." in name and name.split(".", 1)[0] in self.resources:
                return _text(self.get_att(name.split(".", 1)))
            return _text(self.ref(name))

        return re.sub(r"\$\{([^}]*)\}", one, text)


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(_text(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is NO_VALUE else str(value)


def _type(spec: Any) -> str:
    return str(spec.get("Type", "")) if isinstance(spec, dict) else ""


def _props(spec: Any) -> dict:
    props = spec.get("Properties") if isinstance(spec, dict) else None
    return props if isinstance(props, dict) else {}


def _section(doc: dict, name: str, file: str) -> dict:
    value = doc.get(name) or {}
    if not isinstance(value, dict):
        raise StackError(f"{name}: expected a mapping of names to declarations", file=file)
    return value


def _join(t: Template, arg: Any) -> str:
    arg = t._resolve(arg)
    if not (isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list)):
        raise StackError(f"{t.where}: Fn::Join takes [delimiter, [values]]", file=t.file)
    return str(arg[0]).join(_text(v) for v in arg[1])


def _select(t: Template, arg: Any) -> Any:
    arg = t._resolve(arg)
    if not (isinstance(arg, list) and len(arg) == 2):
        raise StackError(f"{t.where}: Fn::Select takes [index, [values]]", file=t.file)
    index, items = arg
    if isinstance(items, str) and UNRESOLVED in items:
        return unresolved(f"Select {index} of {items}")
    try:
        return items[int(index)]
    except (ValueError, TypeError, IndexError, KeyError):
        raise StackError(f"{t.where}: Fn::Select index {index!r} is not in the list of "
                         f"{len(items) if isinstance(items, list) else '?'}",
                         file=t.file) from None


def _get_azs(t: Template, arg: Any) -> list[str]:
    region = t._resolve(arg) or t.region
    t.note(f"Fn::GetAZs: the AZs of {region} are taken as {region}a, {region}b, {region}c")
    return [f"{region}{c}" for c in AZ_LETTERS]


def _if(t: Template, arg: Any) -> Any:
    if not (isinstance(arg, list) and len(arg) == 3):
        raise StackError(f"{t.where}: Fn::If takes [condition, if true, if false]",
                         file=t.file)
    return t._resolve(arg[1] if t.condition(str(arg[0])) else arg[2])


def _equals(t: Template, arg: Any) -> bool:
    arg = t._resolve(arg)
    if not (isinstance(arg, list) and len(arg) == 2):
        raise StackError(f"{t.where}: Fn::Equals takes [a, b]", file=t.file)
    return _text(arg[0]) == _text(arg[1])


def _find_in_map(t: Template, arg: Any) -> Any:
    arg = t._resolve(arg)
    if not (isinstance(arg, list) and len(arg) >= 3):
        raise StackError(f"{t.where}: Fn::FindInMap takes [map, key, key]", file=t.file)
    try:
        return t.mappings[arg[0]][_text(arg[1])][_text(arg[2])]
    except (KeyError, TypeError):
        if len(arg) == 4 and isinstance(arg[3], dict) and "DefaultValue" in arg[3]:
            return arg[3]["DefaultValue"]
        t.note(f"{t.where}: FindInMap {arg[:3]} is not in Mappings: unresolved")
        return unresolved(f"FindInMap {arg[:3]}")


def _split(t: Template, arg: Any) -> list:
    arg = t._resolve(arg)
    if not (isinstance(arg, list) and len(arg) == 2):
        raise StackError(f"{t.where}: Fn::Split takes [delimiter, string]", file=t.file)
    return _text(arg[1]).split(str(arg[0]))


def _cidr(t: Template, arg: Any) -> Any:
    arg = t._resolve(arg)
    try:
        block, count, bits = arg[0], int(arg[1]), int(arg[2])
        net = ipaddress.ip_network(str(block), strict=False)
        nets = net.subnets(new_prefix=net.max_prefixlen - bits)
        return [str(next(nets)) for _ in range(count)]
    except (ValueError, TypeError, IndexError, StopIteration):
        t.note(f"{t.where}: Fn::Cidr {arg!r} cannot be computed offline: unresolved")
        return [unresolved(f"Cidr {i}") for i in range(256)]


def _import_value(t: Template, arg: Any) -> Any:
    name = _text(t._resolve(arg))
    value = t.imports(name)
    if value is None:
        t.note(f"{t.where}: ImportValue {name}: no template given exports it: unresolved")
        return unresolved(f"ImportValue {name}")
    return value


def _logic(kind: str):
    def apply(t: Template, arg: Any) -> bool:
        values = [bool(v) for v in t._resolve(arg if isinstance(arg, list) else [arg])]
        if kind == "and":
            return all(values)
        if kind == "or":
            return any(values)
        return not values[0]
    return apply


def _transform(t: Template, arg: Any) -> Any:
    t.note(f"{t.where}: Fn::Transform (a macro) is not run offline: unresolved")
    return unresolved("Transform")


_FUNCTIONS: dict[str, Callable[[Template, Any], Any]] = {
    "Ref": lambda t, a: t.ref(a),
    "Condition": lambda t, a: t.condition(str(a)),
    "Fn::GetAtt": lambda t, a: t.get_att(a),
    "Fn::Sub": lambda t, a: t.sub(a),
    "Fn::Join": _join,
    "Fn::Select": _select,
    "Fn::GetAZs": _get_azs,
    "Fn::If": _if,
    "Fn::Equals": _equals,
    "Fn::And": _logic("and"),
    "Fn::Or": _logic("or"),
    "Fn::Not": _logic("not"),
    "Fn::FindInMap": _find_in_map,
    "Fn::Split": _split,
    "Fn::Base64": lambda t, a: _text(t._resolve(a)),  # kept as text: only read, never sent
    "Fn::Cidr": _cidr,
    "Fn::ImportValue": _import_value,
    "Fn::Length": lambda t, a: len(v) if isinstance(v := t._resolve(a), list) else 0,
    "Fn::ToJsonString": lambda t, a: json.dumps(t._resolve(a), default=str),
    "Fn::Transform": _transform,
}
