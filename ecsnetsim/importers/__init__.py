"""Import a real stack as a scenario: CloudFormation, Terraform, or AWS CLI output.

>>> from ecsnetsim.importers import import_stack
>>> imp = import_stack("cloudformation", ["stack.yaml"])      # doctest: +SKIP
>>> imp.scenario["services"][0]["network_mode"]                # doctest: +SKIP
'bridge'
>>> imp.write("scenario.yaml")                                 # doctest: +SKIP

Each importer reads its source into the neutral :class:`~.stack.Stack`;
:mod:`.build` and :mod:`.services` turn that into a scenario and its comments, and
:mod:`.writer` writes it as commented YAML. The scenario is validated before it is
returned, so what is written is what ``ecsnetsim run`` accepts. Nothing is fetched: a
value that cannot be known offline gets a placeholder and a comment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from .stack import Stack, StackError

#: ``ecsnetsim import KIND``: the sources understood.
KINDS = ("cloudformation", "terraform", "aws")
#: Region assumed for AZ names when the source does not give one.
DEFAULT_REGION = "us-east-1"


@dataclass
class Imported:
    """An imported stack: the scenario (a dict ``load_scenario`` takes), its commented
    YAML text, and the notes the comments hold."""

    scenario: dict
    text: str
    notes: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    def write(self, path: str | Path) -> Path:
        """Write the YAML to ``path`` atomically (the old file or the new, never half)."""
        from .writer import write_atomically

        write_atomically(path, self.text)
        return Path(path)


def import_stack(kind: str, sources: list[str | Path], *, parameters: dict | None = None,
                 templates: list[str | Path] | None = None, region: str = DEFAULT_REGION,
                 name: str | None = None) -> Imported:
    """Read ``sources`` of ``kind`` (``cloudformation``, ``terraform`` or ``aws``) and
    return the scenario they describe. ``parameters`` (CloudFormation) override template
    parameters; ``templates`` are directories searched for nested stacks' templates.

    Raises :class:`StackError` (exit status 2 on the command line) naming the file and
    what was expected.
    """
    sources = [str(s) for s in sources]
    if not sources:
        raise StackError("no source file given")
    if kind == "cloudformation":
        from .cloudformation import read_templates

        stack = read_templates(sources, parameters or {},
                               [str(t) for t in templates or []], region)
    elif kind == "terraform":
        from .terraform import read_terraform

        stack = read_terraform(sources)
    elif kind == "aws":
        from .awscli import read_aws_cli

        stack = read_aws_cli(sources)
    else:
        raise StackError(f"unknown source kind {kind!r}; expected one of {', '.join(KINDS)}")
    return assemble(stack, name or _name_of(stack.name or sources[0]), region)


def _name_of(source: str) -> str:
    stem = Path(source).name.split(".")[0]
    return re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-._") or "imported"


def assemble(stack: Stack, name: str, region: str) -> Imported:
    """The scenario of ``stack``, validated, with its commented YAML."""
    from .build import DURATION, Builder
    from .services import add_services
    from .writer import dump

    b = Builder(stack, name, region)
    b.add_subnets()
    b.add_nat_gateways()
    b.add_security_groups()
    b.add_instance_groups()
    add_services(b)
    if not b.services and not b.instance_groups:
        raise StackError("found no ECS service, Auto Scaling group or container instance: "
                         "nothing to simulate; expected a stack with at least one of them "
                         "(give the templates or outputs that hold them too)",
                         file=", ".join(stack.files))
    if not b.subnets:
        b.subnet_name("imported", "the source describes no subnet; a scenario needs one")
    scenario: dict = {"version": 1, "name": name, "seed": 1, "duration": DURATION}
    b.say(("duration",), "a stack says nothing about time: a short run (placement, then "
                         "30 s of the assumed traffic)")
    if b.trunking:
        scenario["account"] = {"awsvpc_trunking": True}
        b.say(("account",), "instances in the source have a trunk ENI (ecs.awsvpc-trunk-id)")
    vpc: dict = {"subnets": b.subnets}
    if b.nat_gateways:
        vpc["nat_gateways"] = b.nat_gateways
    if b.groups is not None:
        vpc["security_groups"] = b.groups
    scenario["vpc"] = vpc
    scenario["cluster"] = {"instance_groups": b.instance_groups}
    if b.capacity_providers:
        scenario["cluster"]["capacity_providers"] = b.capacity_providers
    for key, value in (("services", b.services), ("load_balancers", b.load_balancers),
                       ("traffic", b.traffic)):
        if value:
            scenario[key] = value
    _validate(scenario, stack)
    header = _header(stack, b)
    text = dump(scenario, b.comments, header)
    unused = _unnamed(stack, text)
    if unused:  # every resource read is accounted for, even one no line came from
        header += ["Read, but no line of the scenario comes from it:"]
        header += [f"  - {origin}" for origin in unused]
        text = dump(scenario, b.comments, header)
    return Imported(scenario, text, list(stack.notes),
                    [f"{o}: {why}" for o, why in stack.ignored])


def _unnamed(stack: Stack, text: str) -> list[str]:
    """The resources read into ``stack`` that no comment of ``text`` names (a target
    group no service uses, a capacity provider association whose default strategy no
    service falls back on, ...)."""
    out: list[str] = []
    for items in stack.items.values():
        for item in items.values():
            origin = str(item.origin)
            if origin not in text and origin not in out:
                out.append(origin)
    return out


def _header(stack: Stack, b) -> list[str]:
    files = ", ".join(Path(f).name for f in stack.files)
    lines = [f"Imported by 'ecsnetsim import {stack.kind}' from {files}.",
             "Each item below names the resource it came from; what was assumed is said "
             "beside it."]
    if not b.services:
        lines.append("No ECS service in the source: the scenario shows what the instances "
                     "register.")
    if stack.notes:
        lines.append("Assumptions:")
        lines += [f"  - {n}" for n in stack.notes]
    if stack.ignored:
        lines.append("Resources not modelled:")
        lines += [f"  - {o}: {why}" for o, why in stack.ignored]
    return lines


def _validate(scenario: dict, stack: Stack) -> None:
    """Load the scenario as ``run`` would; a stack AWS itself would refuse (a task
    definition's sizes, a network mode on Fargate) is an input error naming the source."""
    from ..scenario import load_scenario

    try:
        load_scenario(scenario)
    except InputError as exc:
        where = f"{exc.path}: " if exc.path else ""
        files = ", ".join(stack.files)
        raise StackError(f"the stack does not make a valid scenario: {where}{exc.message}",
                         file=files) from None


__all__ = ["KINDS", "Imported", "StackError", "import_stack"]
