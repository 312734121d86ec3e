"""``plot`` checks results.json before drawing: a broken file is exit 2 with the field
named, never a traceback from deep inside the figure code."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import pytest

from ecsnetsim import load_scenario, simulate
from ecsnetsim.cli import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def documents() -> dict[str, dict]:
    """Valid results documents: placement only, traffic with a comparison, deployments."""
    out = {}
    for name, sets in (("awsvpc-eni-density", []),
                       ("compare-modes", ["duration=0.5s", "warmup=0.1s"]),
                       ("deploy-static-port", [])):
        sc = load_scenario(ROOT / "scenarios" / f"{name}.yaml", overrides=sets)
        out[name] = json.loads(simulate(sc, workers=1).to_json())
    return out


def plot(capsys, tmp_path: Path, content: bytes | str | dict) -> tuple[int, str]:
    d = tmp_path / "res"
    d.mkdir(exist_ok=True)
    f = d / "results.json"
    if isinstance(content, dict):
        content = json.dumps(content)
    if isinstance(content, str):
        content = content.encode()
    f.write_bytes(content)
    capsys.readouterr()
    rc = main(["plot", str(d), "-o", str(tmp_path / "figs")])
    return rc, capsys.readouterr().err


def test_valid_results_are_drawn(documents, tmp_path, capsys):
    rc, err = plot(capsys, tmp_path, documents["awsvpc-eni-density"])
    assert rc == 0, err
    assert (tmp_path / "figs" / "placement_outcome.png").is_file()


def test_binary_bytes(tmp_path, capsys):
    rc, err = plot(capsys, tmp_path, bytes(range(256)) * 4)
    assert rc == 2 and "results.json" in err and "not UTF-8" in err and "Traceback" not in err


def test_latin1_bytes(documents, tmp_path, capsys):
    doc = copy.deepcopy(documents["awsvpc-eni-density"])
    doc["variants"][0]["name"] = "caf\u00e9"
    rc, err = plot(capsys, tmp_path, json.dumps(doc, ensure_ascii=False).encode("latin-1"))
    assert rc == 2 and "not UTF-8 text (byte 0xe9)" in err


def test_no_variants(documents, tmp_path, capsys):
    rc, err = plot(capsys, tmp_path, {**documents["awsvpc-eni-density"], "variants": []})
    assert rc == 2 and "variants: expected at least one item" in err


def test_nan(documents, tmp_path, capsys):
    doc = copy.deepcopy(documents["compare-modes"])
    doc["variants"][1]["flows"][0]["latency_us"]["p99"] = float("nan")
    rc, err = plot(capsys, tmp_path, json.dumps(doc))
    assert rc == 2 and "NaN is not a number JSON allows" in err


def test_infinity_in_a_number_field(documents, tmp_path, capsys):
    doc = copy.deepcopy(documents["compare-modes"])
    doc["variants"][0]["devices"][0]["utilization"] = 1e400
    rc, err = plot(capsys, tmp_path, json.dumps(doc))
    assert rc == 2 and "Infinity" in err


@pytest.mark.parametrize("where, value, field, expected", [
    (("variants", 0, "flows", 0, "latency_us"), "fast", "variants[0].flows[0].latency_us",
     "expected an object, got a string"),
    (("variants", 0, "placement", "instances", 0, "eni", "used"), "3",
     "variants[0].placement.instances[0].eni.used", "expected a finite number, got a string"),
    (("variants", 1, "devices", 0, "kind"), None, "variants[1].devices[0].kind",
     "expected a string, got null"),
    (("variants", 0, "flows", 0, "path"), {}, "variants[0].flows[0].path",
     "expected a list, got an object"),
    (("comparison", "flows", 0, "variant"), "nope", "comparison.flows[0].variant",
     "names no variant ('nope')"),
])
def test_wrong_types_name_the_field(documents, tmp_path, capsys, where, value, field, expected):
    doc = copy.deepcopy(documents["compare-modes"])
    node = doc
    for part in where[:-1]:
        node = node[part]
    node[where[-1]] = value
    rc, err = plot(capsys, tmp_path, doc)
    assert rc == 2 and f"results.json: {field}: {expected}" in err, err


@pytest.mark.parametrize("key", ["placement", "flows", "devices", "name"])
def test_missing_keys_name_the_field(documents, tmp_path, capsys, key):
    doc = copy.deepcopy(documents["compare-modes"])
    del doc["variants"][2][key]
    rc, err = plot(capsys, tmp_path, doc)
    assert rc == 2 and f"results.json: variants[2]: missing {key}\n" in err, err


def test_missing_service_field(documents, tmp_path, capsys):
    doc = copy.deepcopy(documents["awsvpc-eni-density"])
    del doc["variants"][0]["placement"]["services"][0]["running"]
    rc, err = plot(capsys, tmp_path, doc)
    assert rc == 2 and "variants[0].placement.services[0]: missing running" in err


def _mutants(doc: dict, rng: random.Random, n: int):
    """``n`` copies of ``doc``, each with one field deleted or replaced by a wrong value."""
    def paths(node, path=()):
        yield path
        items = (node.items() if isinstance(node, dict) else
                 enumerate(node[:2]) if isinstance(node, list) else ())
        for k, v in items:
            yield from paths(v, path + (k,))

    every = [p for p in paths(doc) if p]
    for _ in range(n):
        out = copy.deepcopy(doc)
        where = rng.choice(every)
        parent = out
        for part in where[:-1]:
            parent = parent[part]
        if isinstance(parent, dict) and rng.random() < 0.3:
            del parent[where[-1]]
        else:
            parent[where[-1]] = rng.choice([None, "x", [], {}, -1, 1e308, True, 0, 2.5])
        yield where, out


def test_mutated_results_never_crash_plot(documents, tmp_path, capsys, monkeypatch):
    """Seeded: 8 one-field mutants of small valid documents end in exit 0 or 2 (figures
    drawn as PNG only, to keep the test short)."""
    import ecsnetsim.results

    monkeypatch.setattr(ecsnetsim.results, "FIGURE_FORMATS", ("png",))
    rng = random.Random(14)
    small = {k: documents[k] for k in ("awsvpc-eni-density", "deploy-static-port")}
    failures = []
    for i in range(8):
        name = rng.choice(sorted(small))
        where, doc = next(_mutants(small[name], rng, 1))
        rc, err = plot(capsys, tmp_path / str(i), doc) if (tmp_path / str(i)).mkdir() is None \
            else (None, None)
        if rc not in (0, 2) or "Traceback" in err:
            failures.append((name, where, rc, err[-300:]))
    assert failures == []
