"""The package is layered: no part of it imports a part that imports it back.

Each top-level module or subpackage of ``ecsnetsim`` (``model``, ``modes``, ``control``,
``scenario``, ``net``, ``results``, ...) is a node; an import anywhere in a part (at
module level, inside a function, or under ``TYPE_CHECKING``) is an arrow to the part it
names. The arrows must form no cycle, so that every part builds only on parts below it:
the model at the bottom, the network modes on the model, the control plane on both.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parent.parent / "ecsnetsim"


def _part(path: Path) -> str:
    return path.relative_to(PACKAGE).with_suffix("").parts[0]


def _targets(path: Path, node: ast.AST) -> list[str]:
    """The parts of the package an import statement names."""
    if isinstance(node, ast.Import):
        return [a.name.split(".")[1] for a in node.names if a.name.startswith("ecsnetsim.")]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level == 0:
        mod = node.module or ""
        return [mod.split(".")[1]] if mod.startswith("ecsnetsim.") else []
    here = list(path.relative_to(PACKAGE).parts[:-1])
    base = here[:len(here) - (node.level - 1)] if node.level > 1 else here
    named = (node.module or "").split(".") if node.module else []
    full = base + [n for n in named if n]
    return [full[0]] if full else [a.name for a in node.names]


def import_graph() -> nx.DiGraph:
    """Parts of the package and the imports between them (self-imports left out)."""
    graph = nx.DiGraph()
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in sorted(PACKAGE.rglob("*.py")):
        part = _part(path)
        graph.add_node(part)
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            for target in _targets(path, node):
                if target != part:
                    edges[part, target].append(str(path.relative_to(PACKAGE)))
    for (a, b), where in edges.items():
        graph.add_edge(a, b, where=where)
    return graph


def test_no_part_imports_one_that_imports_it_back():
    graph = import_graph()
    cycles = list(nx.simple_cycles(graph))
    detail = [" -> ".join([*c, c[0]]) + ": " + "; ".join(
        f"{a}->{b} in {graph.edges[a, b]['where'][:3]}" for a, b in zip(c, [*c[1:], c[0]],
                                                                            strict=True))
        for c in cycles[:5]]
    assert not cycles, "\n".join(detail)


def test_the_model_is_the_floor_below_modes_control_and_scenario():
    graph = import_graph()
    above = {"modes", "control", "scenario", "net", "simulate", "results", "plots"}
    assert not above & set(graph.successors("model"))
    assert not {"control", "scenario", "net"} & set(graph.successors("modes"))
    assert "control" not in nx.descendants(graph, "scenario")
    assert {"model", "modes", "scenario"} <= set(graph.successors("control"))
