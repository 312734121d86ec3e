"""The Python API's result views: variant lookup, tables in a notebook, DataFrames."""

from __future__ import annotations

import pytest
from conftest import SCENARIOS

import ecsnetsim


@pytest.fixture(scope="module")
def swept():
    """Two compare groups crossed with a three-point sweep: six variants."""
    sc = ecsnetsim.load_scenario(SCENARIOS / "bridge-contention.yaml", overrides=[
        "duration=0.01s", "warmup=0s", "services[0].desired_count=2",
        'sweep={"traffic[0].rate": [1000/s, 2000/s, 4000/s]}'])
    return ecsnetsim.simulate(sc, workers=1)


def test_variant_by_name(swept):
    first = swept.variants[0]
    assert swept.variant(first["name"]) is first


def test_variant_by_group_and_sweep_value_as_written_or_as_number(swept):
    groups = sorted({v["group"] for v in swept.variants})
    for group in groups:
        for text, number in (("1000/s", 1000), ("4000/s", 4000.0)):
            v = swept.variant(group=group, value=text)
            assert v["group"] == group and v["sweep"]["value"] == text
            assert swept.variant(group=group, value=number) is v


def test_variant_lookup_that_is_not_one_variant_says_what_there_is(swept):
    with pytest.raises(KeyError, match="no variant 'nope'"):
        swept.variant("nope")
    with pytest.raises(KeyError, match="more than one variant"):
        swept.variant(group=swept.variants[0]["group"])
    with pytest.raises(KeyError, match="no variant"):
        swept.variant(group=swept.variants[0]["group"], value="3/s")


def test_tables_show_as_html_without_pandas(swept):
    table = swept.services
    page = table._repr_html_()
    assert page.count("<tr>") == 1 + len(table)  # the header and one row per service row
    for column in ("variant", "network_mode", "running", "unplaced"):
        assert f"<th>{column}</th>" in page


def test_long_tables_are_cut_with_a_count(swept):
    table = swept.devices
    assert len(table) > table.SHOWN
    page = table._repr_html_()
    assert page.count("<tr>") == 1 + table.SHOWN
    assert f"{len(table) - table.SHOWN} more rows of {len(table)}" in page


def test_cells_read_the_same_as_text_and_html_and_are_escaped():
    from ecsnetsim import Table

    table = Table([{"a": "<b>", "b": None, "c": 0.1234567891, "d": {"RESOURCE:ENI": 8}}])
    page = table._repr_html_()
    assert "&lt;b&gt;" in page and "<td>-</td>" in page and "<td>0.1235</td>" in page
    assert "<td>RESOURCE:ENI×8</td>" in page
    assert table.to_text().splitlines()[1].split() == ["<b>", "-", "0.1235", "RESOURCE:ENI×8"]


def test_to_dataframe_has_the_csv_columns(swept, tmp_path):
    pd = pytest.importorskip("pandas")
    swept.save(tmp_path)
    frame = swept.flows.to_dataframe()
    on_disk = pd.read_csv(tmp_path / "flows.csv")
    assert list(frame.columns) == list(on_disk.columns)
    assert len(frame) == len(on_disk)
