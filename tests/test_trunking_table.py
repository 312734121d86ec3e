"""A user's ENI trunking table (``cluster.trunking_table``) merged over the built-in one.

The built-in table is the ECS Developer Guide's "Supported Amazon EC2 instance types" of
the page "Elastic network interface trunking" as of 2023-04-18, with the columns
``instance_type, tasks_without_trunking, tasks_with_trunking``; types added to ECS's page
since (m7i, c7i, ...) are not in it and so never trunk. A file with the same columns adds
rows or replaces built-in ones, and each instance names the table its figure came from.
The rows below are written for the tests (m7i.large given m6i.large's published 2/10).
"""

from __future__ import annotations

import json
import os

import pytest
from conftest import make_scenario, run_cli

import ecsnetsim
from ecsnetsim.errors import ScenarioError
from ecsnetsim.scenario import load_scenario

HEADER = "instance_type,tasks_without_trunking,tasks_with_trunking\n"


def _doc(itype: str, desired: int = 10, **cluster) -> dict:
    doc = make_scenario(account={"awsvpc_trunking": True}, cluster={
        "instance_groups": [{"name": "g", "type": itype, "count": 1, "subnet": "a"}],
        **cluster})
    doc["services"][0].update(network_mode="awsvpc", desired_count=desired)
    return doc


def _write(tmp_path, doc: dict, table: str | None, name: str = "trunking.csv"):
    if table is not None:
        (tmp_path / name).write_text(table)
    path = tmp_path / "s.yaml"
    path.write_text(json.dumps(doc, indent=1))
    return path


def _instance(path) -> tuple[dict, dict]:
    (v,) = ecsnetsim.simulate(str(path), seed=1, workers=1).variants
    return v["placement"]["services"][0], v["placement"]["instances"][0]


def test_a_row_of_the_file_makes_a_newer_type_trunk(tmp_path):
    path = _write(tmp_path, _doc("m7i.large"), None)
    svc, inst = _instance(path)
    assert (inst["trunked"], svc["running"]) == (False, 2)  # 3 ENIs: 2 awsvpc tasks
    assert "m7i.large is not in ECS's trunking table of 2023-04-18" in inst["trunk_reason"]
    path = _write(tmp_path, _doc("m7i.large", trunking_table="trunking.csv"),
                  "# mine\n" + HEADER + "m7i.large,2,10\n")
    svc, inst = _instance(path)
    assert (inst["trunked"], inst["branch_eni"], svc["running"]) == (
        True, {"used": 10, "limit": 10}, 10)
    assert inst["trunk_reason"] == "10 branch ENIs (trunking table trunking.csv, line 3)"


def test_a_row_of_the_file_replaces_the_built_in_row(tmp_path):
    path = _write(tmp_path, _doc("c5.large", trunking_table="trunking.csv"),
                  HEADER + "c5.large,2,6\nm7i.large,2,10\n")
    svc, inst = _instance(path)
    assert (inst["branch_eni"]["limit"], svc["running"]) == (6, 6)
    assert inst["trunk_reason"] == ("6 branch ENIs (trunking table trunking.csv, line 2, in "
                                    "place of ECS's table of 2023-04-18)")
    # types the file does not list keep the built-in rows
    path = _write(tmp_path, _doc("m5.large", trunking_table="trunking.csv"),
                  HEADER + "c5.large,2,6\n")
    _, inst = _instance(path)
    assert inst["trunk_reason"] == "10 branch ENIs (ECS trunking table of 2023-04-18)"


def test_the_catalogs_decisions_apply_to_a_row_of_the_file(tmp_path):
    """A trunked figure below the untrunked one means no trunking, as for built-in rows."""
    path = _write(tmp_path, _doc("m7i.large", trunking_table="trunking.csv"),
                  HEADER + "m7i.large,2,1\n")
    _, inst = _instance(path)
    assert inst["trunked"] is False
    assert "below the untrunked one" in inst["trunk_reason"]
    assert "(trunking table trunking.csv, line 2)" in inst["trunk_reason"]


def test_trunk_tasks_of_a_group_still_wins(tmp_path):
    doc = _doc("m7i.large", trunking_table="trunking.csv")
    doc["cluster"]["instance_groups"][0]["trunk_tasks"] = 4
    _, inst = _instance(_write(tmp_path, doc, HEADER + "m7i.large,2,10\n"))
    assert inst["branch_eni"]["limit"] == 4


def test_the_path_is_relative_to_the_scenario_file(tmp_path, monkeypatch):
    sub = tmp_path / "tables"
    sub.mkdir()
    (sub / "t.csv").write_text(HEADER + "m7i.large,2,10\n")
    path = _write(tmp_path, _doc("m7i.large", trunking_table="tables/t.csv"), None)
    monkeypatch.chdir(sub)  # not the scenario's directory
    sc = load_scenario(path)
    assert sc.cluster.trunking_table.file == "tables/t.csv"
    assert [(r.instance_type, r.tasks_with_trunking, r.line)
            for r in sc.cluster.trunking_table.rows] == [("m7i.large", 10, 2)]
    # a scenario given as a mapping: relative to the working directory
    monkeypatch.chdir(tmp_path)
    assert load_scenario(_doc("m7i.large", trunking_table="tables/t.csv")).cluster \
        .trunking_table.rows[0].instance_type == "m7i.large"


def test_the_summary_says_which_table_each_figure_came_from(tmp_path, capsys):
    doc = _doc("m7i.large", trunking_table="trunking.csv")
    doc["cluster"]["instance_groups"].append(
        {"name": "old", "type": "c5.large", "count": 1, "subnet": "a"})
    path = _write(tmp_path, doc, HEADER + "m7i.large,2,10\n")
    rc, out, err = run_cli(capsys, "run", path, "-o", tmp_path / "out", "--no-plots")
    assert rc == 0, err
    assert "trunking (1 instance): 10 branch ENIs (trunking table trunking.csv, line 2)" in out
    assert "trunking (1 instance): 10 branch ENIs (ECS trunking table of 2023-04-18)" in out


@pytest.mark.parametrize("table, line, words", [
    ("", 1, "empty; expected a header"),
    ("instance_type,tasks_with_trunking\nm7i.large,10\n", 1,
     "the header lacks tasks_without_trunking"),
    (HEADER + "m7i.large,2,ten\n", 2,
     "tasks_with_trunking of m7i.large: expected a whole number of tasks"),
    (HEADER + "m7i.large,2,-1\n", 2, "expected a whole number of tasks from 0 to 1000"),
    (HEADER + "m7i.large,2,10\nc7i.large,2,10\nM7I.large,2,12\n", 4,
     "m7i.large is also on line 2"),
    (HEADER + ",2,10\n", 2, "instance_type is empty"),
])
def test_a_bad_file_is_refused_at_its_line(tmp_path, capsys, table, line, words):
    path = _write(tmp_path, _doc("m7i.large", trunking_table="trunking.csv"), table)
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert (err.value.file, err.value.line) == (str(tmp_path / "trunking.csv"), line)
    assert words in err.value.message
    rc, _, stderr = run_cli(capsys, "validate", path)
    assert rc == 2 and f"trunking.csv:{line}: " in stderr and "Traceback" not in stderr


def test_a_missing_file_is_refused_at_the_scenario_field(tmp_path, capsys):
    path = _write(tmp_path, _doc("m7i.large", trunking_table="nowhere.csv"), None)
    rc, _, err = run_cli(capsys, "validate", path)
    assert rc == 2
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1)
                if "trunking_table" in text)
    assert f"{path}:{line}: cluster.trunking_table: trunking table " in err
    assert f"{os.path.join(str(tmp_path), 'nowhere.csv')!r}: no such file" in err
