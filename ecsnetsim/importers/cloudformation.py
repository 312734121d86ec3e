"""CloudFormation templates (YAML or JSON) into a :class:`~.stack.Stack`.

Templates given together are one deployment: ``!ImportValue`` finds the export of any
of them (``Outputs.*.Export.Name``). A nested ``AWS::CloudFormation::Stack`` is read from
the local file named by the tail of its ``TemplateURL``, looked for beside the template
and under each ``--templates`` directory, with the parameters its parent passes; its
resources are keyed ``<Stack>.<LogicalId>`` and its outputs reach the parent through
``!GetAtt Stack.Outputs.Name``. Resources whose condition is false are left out, and so
is every resource type the network model has no use for, each with a comment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .intrinsics import Template
from .sources import find_template, read_template
from .stack import Origin, Stack, StackError

#: How deep nested stacks may go (CloudFormation itself allows 5 levels below the root
#: in a nested stack hierarchy; a few more are tolerated).
MAX_NESTING = 8


class _Reader:
    def __init__(self, parameters: dict, templates: list[str], region: str,
                 files: list[str]) -> None:
        self.stack = Stack("cloudformation", files)
        self.parameters = parameters
        self.search = [Path(t) for t in templates]
        self.region = region
        self.exports: dict[str, tuple[Template, Any]] = {}
        self.nested: dict[str, Template] = {}
        self.loaded: list[Template] = []
        self._exporting: set[str] = set()

    def note(self, text: str) -> None:
        self.stack.note(text)

    def load(self, path: str, prefix: str, params: dict) -> Template:
        doc = read_template(path)
        if not isinstance(doc, dict) or not isinstance(doc.get("Resources"), dict):
            raise StackError("expected a CloudFormation template: a mapping with Resources",
                             file=path)
        stack_name = Path(path).name.split(".")[0]
        t = Template(doc, path, prefix, stack_name, self.region, params, self.note)
        t.imports = self.import_value
        t.nested_output = self.nested_output
        self.loaded.append(t)
        return t

    def expand(self) -> None:
        """Load every nested stack, breadth first, once the exports of the templates
        given are known (a nested stack's parameters may import them)."""
        depth = {id(t): 0 for t in self.loaded}
        for t in self.loaded:  # grows as children are loaded
            self.collect_exports(t)
            for name, spec in t.resources.items():
                if isinstance(spec, dict) and spec.get("Type") == \
                        "AWS::CloudFormation::Stack" and self._active(t, name, spec):
                    child = self._load_nested(t, name, spec, depth[id(t)])
                    depth[id(child)] = depth[id(t)] + 1

    def _active(self, t: Template, name: str, spec: dict) -> bool:
        cond = spec.get("Condition")
        return cond is None or t.condition(str(cond))

    def _load_nested(self, t: Template, name: str, spec: dict, depth: int) -> Template:
        if depth >= MAX_NESTING:
            raise StackError(f"nested stacks deeper than {MAX_NESTING} levels at {name}",
                             file=t.file)
        props = t.resolve(spec.get("Properties") or {}, f"{name}.Properties")
        props = props if isinstance(props, dict) else {}
        url = str(props.get("TemplateURL", ""))
        near = [Path(t.file).parent, *self.search]
        found = find_template(url, near)
        if found is None:
            raise StackError(f"nested stack {name}: no local file for its TemplateURL "
                             f"{url!r}; expected {url.rsplit('/', 1)[-1] or '?'} under "
                             f"{', '.join(str(p) for p in near)} (give --templates DIR)",
                             file=t.file)
        params = props.get("Parameters")
        params = dict(params) if isinstance(params, dict) else {}
        child = self.load(str(found), f"{t.prefix}{name}.", params)
        self.nested[t.prefix + name] = child
        if str(found) not in self.stack.files:
            self.stack.files.append(str(found))
        self.note(f"nested stack {t.prefix}{name}: its template read from {found}")
        return child

    def collect_exports(self, t: Template) -> None:
        outputs = t.doc.get("Outputs") or {}
        for out_name, out in outputs.items() if isinstance(outputs, dict) else ():
            if isinstance(out, dict) and isinstance(out.get("Export"), dict):
                name = t.resolve(out["Export"].get("Name"), f"Outputs.{out_name}.Export")
                self.exports[str(name)] = (t, out.get("Value"))

    def import_value(self, name: str) -> Any:
        found = self.exports.get(name)
        if found is None or name in self._exporting:
            return None
        self._exporting.add(name)
        try:
            t, value = found
            return t.resolve(value, f"export {name}")
        finally:
            self._exporting.discard(name)

    def nested_output(self, key: str, name: str) -> Any:
        child = self.nested.get(key)
        outputs = (child.doc.get("Outputs") or {}) if child else {}
        if name not in outputs:
            self.note(f"GetAtt {key}.Outputs.{name}: the nested template has no such "
                      "output: unresolved")
            return f"UNRESOLVED(Outputs.{name})"
        return child.resolve(outputs[name].get("Value"), f"{key}.Outputs.{name}")


def read_templates(sources: list[str], parameters: dict[str, str], templates: list[str],
                   region: str) -> Stack:
    """The stack the templates ``sources`` describe; ``parameters`` apply to every
    template given (each refuses a parameter it does not declare only when it is the
    sole template)."""
    reader = _Reader(parameters, templates, region, list(sources))
    if len(sources) > 1:
        declared = set().union(*(_own(p, parameters) for p in sources))
        unknown = sorted(set(parameters) - declared)
        if unknown:
            raise StackError(f"--parameter {unknown[0]}: none of the templates declares it",
                             file=", ".join(sources))
    for path in sources:
        doc_params = parameters if len(sources) == 1 else _own(path, parameters)
        reader.load(path, "", doc_params)
    for t in list(reader.loaded):
        reader.collect_exports(t)
    reader.expand()
    from .cfnresources import add_resources  # noqa: PLC0415

    for t in reader.loaded:
        for name, spec in t.resources.items():
            origin = Origin(str(spec.get("Type", "?")) if isinstance(spec, dict) else "?",
                            t.prefix + name, t.file)
            if not isinstance(spec, dict) or "Type" not in spec:
                raise StackError(f"Resources.{name}: expected a mapping with Type",
                                 file=t.file)
            if not reader._active(t, name, spec):
                reader.stack.ignore(origin, f"its condition {spec['Condition']} is false")
                continue
            add_resources(reader.stack, t, name, spec, origin)
    return reader.stack


def _own(path: str, parameters: dict) -> dict:
    """The parameters a template declares, of those given for several templates."""
    doc = read_template(path)
    declared = doc.get("Parameters") if isinstance(doc, dict) else None
    return {k: v for k, v in parameters.items() if isinstance(declared, dict) and
            k in declared}


__all__ = ["read_templates"]
