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


def test_csv_tables_are_dicts_with_the_row_types_columns(swept):
    """The tables behave as before the rows were typed: plain dicts (mutable, any key
    readable by name), whose keys are the CSV columns the row types give."""
    from ecsnetsim import results, rows

    for table, row_type in (("placement", rows.PlacementRow), ("flows", rows.FlowTableRow),
                            ("devices", rows.DeviceRow), ("timeline", rows.TimelinePoint)):
        got = getattr(swept, table)
        assert got and all(type(r) is dict for r in got), table
        assert got.columns == rows.table_columns(row_type), table
        assert got.to_text().splitlines()[0].split() == got.columns, table
    assert results.FLOW_COLUMNS[:3] == ["variant", "name", "from"]


def test_rows_read_as_their_results_json():
    """A row is a read-only mapping over its results.json keys: a key left out when None
    is absent, nested rows become dicts in ``to_json``, and a row cannot be changed."""
    import dataclasses
    import json

    from ecsnetsim import rows

    started = rows.EventRow(1.5, "web", "service (web) has started 1 tasks.")
    launch = rows.EventRow(2.0, "", "launched 2 instances", kind="launch", instances=2)
    assert "kind" not in started and started.get("kind") is None and len(started) == 3
    assert dict(started) == started.to_json() == {
        "t": 1.5, "service": "web", "message": "service (web) has started 1 tasks."}
    assert list(launch) == ["t", "service", "message", "kind", "instances"]
    assert launch["instances"] == 2
    with pytest.raises(KeyError):
        launch["nope"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        launch.t = 3.0
    flow = rows.FlowRow(
        name="f", from_="client", to="web", via="alb", sent=3, delivered=2, dropped=0,
        unreachable=1, in_flight=0, hops=rows.Hops(4.0, 4, 4),
        latency_us=rows.Latency(10.0, 9.0, 12.0, 12.0, 12.5), throughput_pps=2.0,
        path=["eni", "veth"], breakdown_us={"eni": 1.0}, blocked=None)
    assert flow["from"] == "client" and flow["hops"]["min"] == 4 and flow["blocked"] is None
    text = json.dumps(flow.to_json())
    assert text.startswith('{"name": "f", "from": "client", "to": "web"')
    assert json.loads(text)["latency_us"] == {"mean": 10.0, "p50": 9.0, "p90": 12.0,
                                              "p99": 12.0, "max": 12.5, "min": None,
                                              "p999": None, "hist": None}


def test_result_check_covers_every_row_field(swept, tmp_path):
    """The result check is derived from the row types, so a field that only the rows
    name (a flow's ``blocked``, an instance's ``tasks_by_mode``) is checked too."""
    import json

    from ecsnetsim import InputError, Results

    doc = json.loads(swept.to_json())
    doc["variants"][0]["flows"][0]["blocked"] = {"at": 7, "reason": "x"}
    (tmp_path / "results.json").write_text(json.dumps(doc))
    with pytest.raises(InputError, match=r"variants\[0\]\.flows\[0\]\.blocked\.at: expected "
                                         r"a string or null, got a number"):
        Results.load(tmp_path)
    doc = json.loads(swept.to_json())
    doc["variants"][1]["placement"]["instances"][0]["tasks_by_mode"] = {"bridge": "2"}
    (tmp_path / "results.json").write_text(json.dumps(doc))
    with pytest.raises(InputError, match=r"instances\[0\]\.tasks_by_mode\.bridge: expected "
                                         r"a whole number, got a string"):
        Results.load(tmp_path)
    del doc["variants"][1]["placement"]["instances"][0]["tasks_by_mode"]  # older files
    (tmp_path / "results.json").write_text(json.dumps(doc))
    assert Results.load(tmp_path).variants[1]["name"] == swept.variants[1]["name"]
