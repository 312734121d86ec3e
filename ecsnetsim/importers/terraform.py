"""``terraform show -json`` output (a plan or a state) into a :class:`~.stack.Stack`.

A state (``values.root_module``) holds every resource's attributes, IDs and ARNs
included, so references are found by ID. A plan (``planned_values.root_module``) does
not know the IDs of resources it has yet to create: such an attribute is absent (or
null) in the planned values, and the reference is read instead from the plan's
``configuration``, whose expressions list what they refer to (``aws_subnet.private[0]``,
``module.network.private_subnets`` followed through the module's outputs). Resources in
child modules are read with their module path (``module.app.aws_ecs_service.web``).
"""

from __future__ import annotations

import re
from typing import Any

from .sources import read_json
from .stack import Origin, Stack, StackError, as_list
from .tfresources import HANDLERS, WHY_NOT, _d

_INDEX = re.compile(r"\[[^\]]*\]$")


class _Config:
    """The plan's configuration: expressions and what they reference, by address."""

    def __init__(self, root: dict) -> None:
        self.resources: dict[str, dict] = {}
        self.outputs: dict[str, list[str]] = {}
        self._read(_d(root), "")

    def _read(self, module: dict, prefix: str) -> None:
        for res in as_list(module.get("resources")):
            if isinstance(res, dict) and isinstance(res.get("address"), str):
                self.resources[prefix + res["address"]] = res
        for name, out in _d(module.get("outputs")).items():
            refs = as_list(_d(_d(out).get("expression")).get("references"))
            self.outputs[f"{prefix}module-output.{name}"] = [prefix + r for r in refs
                                                             if isinstance(r, str)]
        for name, call in _d(module.get("module_calls")).items():
            self._read(_d(_d(call).get("module")), f"{prefix}module.{name}.")

    def references(self, address: str, path: list) -> list[str]:
        """What the expression at ``path`` (keys and block indexes) of the resource at
        ``address`` refers to, as addresses of resources (with their module path)."""
        base = _INDEX.sub("", address)
        prefix = _module_prefix(base)
        expr: Any = _d(self.resources.get(base)).get("expressions")
        for step in path:
            if isinstance(step, int):
                expr = as_list(expr)[step] if step < len(as_list(expr)) else None
            else:
                expr = _d(expr).get(step)
        refs = [r for r in as_list(_d(expr).get("references")) if isinstance(r, str)]
        index = address[len(base):]  # "[1]" of a counted resource, or ""
        if index:  # aws_subnet.private[count.index] in the resource at index 1
            refs = [re.sub(r"\[(count\.index|each\.key)\]", index, r) for r in refs]
        return self._follow([prefix + r for r in refs])

    def _follow(self, refs: list[str], depth: int = 0) -> list[str]:
        out: list[str] = []
        for ref in refs:
            m = re.match(r"^((?:module\.[^.]+\.)*)module\.([^.\[]+)(?:\[[^\]]*\])?\.(\w+)", ref)
            key = m and f"{m.group(1)}module.{m.group(2)}.module-output.{m.group(3)}"
            if key and key in self.outputs and depth < 8:
                out += self._follow(self.outputs[key], depth + 1)
            elif ref not in out:
                out.append(ref)
        return out


def _module_prefix(address: str) -> str:
    parts = address.split(".")
    prefix = []
    i = 0
    while i + 1 < len(parts) and parts[i] == "module":
        prefix += parts[i:i + 2]
        i += 2
    return ".".join(prefix) + "." if prefix else ""


class _Reader:
    def __init__(self, stack: Stack, path: str, config: _Config) -> None:
        self.stack = stack
        self.path = path
        self.config = config
        self.instances: dict[str, list[str]] = {}

    def resolve_refs(self, refs: list[str]) -> list[str]:
        """Addresses of resource instances: ``aws_subnet.a.id`` -> ``aws_subnet.a``, a
        counted resource named without index -> each of its instances."""
        out: list[str] = []
        for ref in refs:
            for address in self._instances(ref):
                if address not in out:
                    out.append(address)
        return out

    def _instances(self, ref: str) -> list[str]:
        parts = ref.split(".")
        for n in range(len(parts), 1, -1):
            candidate = ".".join(parts[:n])
            if candidate in self.instances:
                return self.instances[candidate]
        return []

    def ref(self, res: dict, value: Any, path: list) -> Any:
        """``value`` if known, else what the configuration says it refers to (the
        first)."""
        if value not in (None, "", []):
            return value
        refs = self.resolve_refs(self.config.references(res["address"], path))
        return refs[0] if refs else None

    def refs(self, res: dict, value: Any, path: list) -> list:
        if value not in (None, "", []):
            return as_list(value)
        return self.resolve_refs(self.config.references(res["address"], path))

    def read(self, resources: list[dict]) -> None:
        for res in resources:
            address = res["address"]
            self.instances.setdefault(address, []).append(address)
            base = _INDEX.sub("", address)
            if base != address:
                self.instances.setdefault(base, []).append(address)

        for res in resources:
            kind = str(res.get("type"))
            origin = Origin(kind, res["address"], self.path)
            if res.get("mode") == "data":
                self.stack.ignore(origin, "a data source: it reads what exists, it creates "
                                          "nothing")
                continue
            handler = HANDLERS.get(kind)
            if handler is None:
                self.stack.ignore(origin, WHY_NOT.get(kind, "a resource type the network "
                                                            "model does not use"))
                continue
            handler(self, res, _d(res.get("values")), origin)


def _resources(module: dict) -> list[dict]:
    out = []
    for res in as_list(module.get("resources")):
        if isinstance(res, dict) and isinstance(res.get("address"), str):
            out.append(res)
    for child in as_list(module.get("child_modules")):
        out += _resources(_d(child))
    return out


def read_terraform(sources: list[str]) -> Stack:
    stack = Stack("terraform", list(sources))
    for path in sources:
        doc = read_json(path, "Terraform JSON ('terraform show -json' of a plan or a state)")
        doc = _d(doc)
        root = _d(doc.get("planned_values")).get("root_module") or \
            _d(doc.get("values")).get("root_module")
        if not isinstance(root, dict):
            raise StackError("expected 'terraform show -json' output: planned_values."
                             "root_module (a plan) or values.root_module (a state)",
                             file=path)
        config = _Config(_d(doc.get("configuration")).get("root_module"))
        _Reader(stack, path, config).read(_resources(root))
    return stack


