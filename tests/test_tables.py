"""The result tables: one model printed by the summary and by report.html, with the
per-instance resource columns taken from the declared resources."""

from __future__ import annotations

import copy
import dataclasses
import doctest
import html
import importlib
import re

import pytest
from conftest import SCENARIOS

import ecsnetsim
from ecsnetsim import htmlreport, tables
from ecsnetsim.model import resources
from ecsnetsim.report import summary


@pytest.fixture(scope="module")
def res():
    sc = ecsnetsim.load_scenario(SCENARIOS / "awsvpc-eni-density.yaml",
                                 overrides=["traffic=[{name: ping, from: api, to: api, "
                                            "rate: 2000/s}]"])
    return ecsnetsim.simulate(sc, seed=1, progress=False)


class Doc:
    """A results document as the summary and the report read it."""

    def __init__(self, document: dict):
        self.document = document


def html_rows(page: str, name: str) -> list[list[str]]:
    """The body cells of the report's table ``name``, as text."""
    body = re.search(rf'data-table="{name}">.*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    return [[html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", body)]


@pytest.mark.parametrize("module", ["ecsnetsim.tables", "ecsnetsim.model.resources",
                                    "ecsnetsim.report"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


def test_summary_and_report_print_the_same_cells(res):
    text = summary(res)
    page = htmlreport.render(res)
    for build, name in ((tables.services, "services"), (tables.instance_types, "instance-types"),
                        (tables.flows, "flows")):
        table = build(res.document["variants"])
        assert table.rows
        shown = html_rows(page, name)
        assert len(shown) == len(table.rows)
        for row, cells in zip(table.rows, shown, strict=True):
            # every cell of the model is in the page as it is in the summary (the page
            # only groups thousands)
            for col, value, cell in zip(table.columns, row, cells, strict=True):
                if col.header == "variant":
                    continue
                if isinstance(value, float):  # the page rounds floats for reading
                    assert float(cell.replace(",", "")) == pytest.approx(value, rel=0.05)
                else:
                    assert cell.replace(",", "") == tables._plain(value), (col.header, cell)
            omitted = tables.TEXT_OMITS[name]
            line = "  " + "".join(c.text(v) for c, v in zip(table.columns, row, strict=True)
                                  if c.header not in omitted)
            assert line.rstrip() in text.splitlines()


def test_the_instance_columns_are_the_declared_resources(res, monkeypatch):
    """Declaring a resource placement reserves is enough for the summary and the report
    to show it, wherever an instance row has it."""
    doc = copy.deepcopy(res.document)
    for v in doc["variants"]:
        for n, inst in enumerate(v["placement"]["instances"]):
            inst["widgets"] = {"used": n, "limit": 8}
    widgets = resources.Resource(
        "widgets", "widgets", "instance", "a test's tasks", "RESOURCE:WIDGETS", "a test",
        lambda inst: None, resources._used_limit("widgets"))
    monkeypatch.setattr(tables, "RESOURCES", (*resources.RESOURCES, widgets))
    text = summary(Doc(doc))
    header = next(line for line in text.splitlines() if "instance type" in line)
    assert header.rstrip().endswith("widgets")
    per_type = tables.instance_types(doc["variants"])
    assert per_type.rows[0][-1] == tables.Pair(sum(range(2)), 16)  # two c5.large
    page = htmlreport.render(Doc(doc))
    assert html_rows(page, "instances")[1][-1] == "1/8"
    # rows without it show no such column
    monkeypatch.setattr(tables, "RESOURCES", resources.RESOURCES)
    assert "widgets" not in summary(Doc(doc))


def test_gpus_show_only_where_an_instance_has_them(res):
    doc = copy.deepcopy(res.document)
    assert "GPUs" not in summary(Doc(doc))
    doc["variants"][0]["placement"]["instances"][0]["gpu"] = {"used": 1, "limit": 4}
    text = summary(Doc(doc))
    header = next(line for line in text.splitlines() if "instance type" in line)
    assert "GPUs" in header
    assert "1/4" in text.split("\n== variant")[1]


def test_a_pair_reads_around_its_slash():
    col = tables.Column("CPU", 12)
    assert col.text(tables.Pair(1536, 4096)) == "  1536/4096 "
    assert dataclasses.asdict(tables.Pair(1, 2)) == {"used": 1, "limit": 2}
