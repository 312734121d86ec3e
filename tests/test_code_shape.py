"""The package's functions stay small enough to read: none longer than 120 lines (ruff
holds them to 25 branch points: C901 and PLR0912 in pyproject.toml)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "ecsnetsim"
MAX_LINES = 120


def _functions():
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                yield path.relative_to(PACKAGE), node


def test_no_function_is_longer_than_120_lines():
    long = [f"{path}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for path, node in _functions() if node.end_lineno - node.lineno + 1 > MAX_LINES]
    assert not long, "\n".join(long)


def test_the_package_has_functions_to_measure():
    assert sum(1 for _ in _functions()) > 500
