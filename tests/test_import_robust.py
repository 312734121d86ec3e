"""Whatever a source holds, import ends in a scenario (exit 0) or one clear message (exit
2), never an internal error: the fixtures with values swapped for values of other types,
seeded so that every run tries the same ones."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

from ecsnetsim.cli import main
from ecsnetsim.importers.sources import CfnLoader

DATA = ROOT / "tests" / "data" / "import"
ODD = [None, 0, -1, 70000, True, "", "x" * 300, "10.0.0.0/33", "!Ref", [], [1, "a"], {},
       {"Ref": "Nope"}, {"Fn::GetAtt": ["Nope", "Arn"]}, {"Fn::Select": [9, []]},
       {"Fn::Length": 3}, {"Fn::Sub": ["${x}", {"x": []}]}, {"Fn::If": ["Nope", 1, 2]},
       "arn:aws:ecs:us-east-1:1:task-definition/x:1", "subnet-0zzz", "sg-0zzz", 3.5]


def _leaves(doc, path=()):
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _leaves(v, (*path, i))
    yield path


def _set(doc, path, value):
    if not path:
        return value
    target = doc
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return doc


def _mutants(doc, n: int, seed: int):
    rng = random.Random(seed)
    paths = list(_leaves(doc))
    for _ in range(n):
        out = copy.deepcopy(doc)
        for path in rng.sample(paths, 3):
            try:
                out = _set(out, path, copy.deepcopy(rng.choice(ODD)))
            except (KeyError, IndexError, TypeError):
                pass  # an earlier swap removed the path
        yield out


def _exit(capsys, *args) -> tuple[int, str]:
    capsys.readouterr()
    try:
        rc = main([str(a) for a in args])
    except SystemExit as exc:
        rc = exc.code
    return rc, capsys.readouterr().err


def _load(path: Path):
    text = path.read_text()
    return json.loads(text) if path.suffix == ".json" else yaml.load(text, Loader=CfnLoader)


CASES = [
    ("cloudformation", [DATA / "cloudformation" / "web-stack.yaml",
                        DATA / "cloudformation" / "network.json"]),
    ("terraform", [DATA / "terraform" / "plan.json"]),
    ("terraform", [DATA / "terraform" / "state.json"]),
    ("aws", sorted((DATA / "aws").glob("*.json"))),
]


@pytest.mark.parametrize("kind, sources", CASES, ids=lambda c: c if isinstance(c, str) else
                         c[0].name)
def test_mutated_sources_exit_0_or_2(capsys, tmp_path, kind, sources):
    for seed, victim in enumerate(sources):
        for n, mutant in enumerate(_mutants(_load(victim), 15, seed)):
            files = []
            for src in sources:
                path = tmp_path / f"{n}-{src.name}".replace(".yaml", ".json")
                if src is victim:
                    path.write_text(json.dumps(mutant, default=str))
                else:
                    path.write_text(json.dumps(_load(src), default=str))
                files.append(path)
            if kind == "cloudformation":
                files.append("--templates")
                files.append(DATA / "cloudformation")
            rc, err = _exit(capsys, "import", kind, *files, "-o", tmp_path / "s.yaml")
            assert rc in (0, 2), f"{victim.name} mutant {n}: exit {rc}\n{err}"
            assert "Traceback" not in err
