"""Tests for the EC2 instance-type catalog and the ECS trunking table."""

from __future__ import annotations

import copy
import csv
import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ecsnetsim import catalog
from ecsnetsim.catalog import InstanceType, UnknownInstanceType

REPO_ROOT = Path(__file__).resolve().parents[1]
BUILD_SCRIPT = REPO_ROOT / "scripts" / "build_catalog.py"
SAMPLE_JSON = Path(__file__).parent / "data" / "describe_instance_types_sample.json"

# Rows where the ECS table prints 13 untrunked tasks but the EC2 data gives 16 ENIs.
KNOWN_UNTRUNKED_MISMATCHES = frozenset(
    f"{family}.{size}"
    for family in ("c6in", "m6in", "m6idn", "r6in", "r6idn")
    for size in ("32xlarge", "metal")
)
TABLE_ONLY_TYPES = ("p3.2xlarge", "p3.8xlarge", "p3.16xlarge", "u-18tb1.metal", "u-24tb1.metal")


# --- catalog contents -------------------------------------------------------------


def test_catalog_is_large_sorted_and_unique():
    types = catalog.all_types()
    assert len(types) >= 1200
    names = [t.name for t in types]
    assert names == sorted(names)
    assert len(set(names)) == len(names)
    assert all(isinstance(t, InstanceType) for t in types)


def test_c5_large():
    t = catalog.get("c5.large")
    assert (t.vcpus, t.memory_mib) == (2, 4096)
    assert t.max_enis == 3
    assert t.network_cards == 1
    assert t.ipv4_per_eni == 10
    assert t.awsvpc_tasks_without_trunking == 2
    assert t.trunk_tasks == 10
    assert t.trunk_eni_limit == 12
    assert t.trunk_note is None
    assert (t.baseline_gbps, t.peak_gbps) == (0.75, 10.0)
    assert t.bandwidth_bps == pytest.approx(10e9 / 8)
    assert t.hypervisor == "nitro"
    assert t.cpu_architecture == "x86_64"
    assert not t.bare_metal and not t.burstable


def test_m5_4xlarge():
    t = catalog.get("m5.4xlarge")
    assert t.max_enis == 8
    assert t.awsvpc_tasks_without_trunking == 7
    assert t.trunk_tasks == 60
    assert t.trunk_eni_limit == 62


@pytest.mark.parametrize(
    ("name", "enis", "cards"),
    [("dl1.24xlarge", 60, 4), ("p4d.24xlarge", 60, 4), ("trn1.32xlarge", 40, 8)],
)
def test_multi_card_types_count_enis_over_all_cards(name, enis, cards):
    t = catalog.get(name)
    assert t.max_enis == enis
    assert t.network_cards == cards
    assert t.awsvpc_tasks_without_trunking == enis - 1


def test_field_types_and_flags():
    metal = catalog.get("c5.metal")
    assert metal.bare_metal and metal.hypervisor is None
    assert catalog.get("t3.micro").burstable
    assert catalog.get("m1.small").hypervisor == "xen"
    assert {t.hypervisor for t in catalog.all_types()} == {"nitro", "xen", None}
    assert all(t.max_enis >= 1 and t.vcpus >= 1 for t in catalog.all_types())


def test_cpu_architecture_is_normalised():
    assert catalog.get("a1.large").cpu_architecture == "arm64"
    assert catalog.get("m1.small").architectures == ("i386", "x86_64")
    assert catalog.get("m1.small").cpu_architecture == "x86_64"
    assert catalog.get("mac2.metal").cpu_architecture == "arm64"
    assert {t.cpu_architecture for t in catalog.all_types()} == {"x86_64", "arm64"}


def test_bandwidth_prefers_peak_over_baseline():
    t = catalog.get("t3.micro")
    assert t.baseline_gbps == pytest.approx(0.064)
    assert t.bandwidth_bps == pytest.approx(5e9 / 8)
    replaced = InstanceType(**{**t.__dict__, "peak_gbps": None})
    assert replaced.bandwidth_bps == pytest.approx(0.064e9 / 8)
    unknown = InstanceType(**{**t.__dict__, "peak_gbps": None, "baseline_gbps": None})
    assert unknown.bandwidth_bps is None


def test_sources_are_read_from_headers():
    assert "moto" in catalog.CATALOG_SOURCE or "DescribeInstanceTypes" in catalog.CATALOG_SOURCE
    assert catalog.TRUNKING_SOURCE.startswith("Amazon ECS Developer Guide")
    assert "49232cf2ab3bbe78781a45fb1a4c4cf7eee8790a" in catalog.TRUNKING_SOURCE
    assert "2023-04-18" in catalog.TRUNKING_SOURCE


# --- the trunking table and the decisions on it -----------------------------------


def test_trunking_table_is_raw():
    table = catalog.trunking_table()
    assert len(table) == 435
    assert table["a1.medium"] == (1, 10)
    assert table["i4i.large"] == (2, -2)
    assert table["i4i.32xlarge"] == (14, 498)
    table["a1.medium"] = (0, 0)
    assert catalog.trunking_table()["a1.medium"] == (1, 10)


def test_untrunked_column_matches_ec2_enis():
    table = catalog.trunking_table()
    checked = 0
    mismatched = set()
    for name, (without, _) in table.items():
        if name in TABLE_ONLY_TYPES:
            continue
        t = catalog.get(name)
        if name in KNOWN_UNTRUNKED_MISMATCHES:
            mismatched.add(name)
            assert (without, t.max_enis) == (13, 16)
            assert t.awsvpc_tasks_without_trunking == 15
            assert "EC2 figure is used" in t.trunk_note
            continue
        assert without == t.max_enis - 1 == t.awsvpc_tasks_without_trunking, name
        checked += 1
    assert checked == 420
    assert mismatched == KNOWN_UNTRUNKED_MISMATCHES


def test_table_only_types_are_not_instance_types():
    table = catalog.trunking_table()
    for name in TABLE_ONLY_TYPES:
        assert name in table
        assert catalog.match(name) == []
        with pytest.raises(UnknownInstanceType, match="trunking table"):
            catalog.get(name)


def test_negative_row_is_not_trunking_capable():
    t = catalog.get("i4i.large")
    assert t.trunk_tasks is None
    assert t.trunk_eni_limit is None
    assert "-2" in t.trunk_note and "typo" in t.trunk_note
    assert t.awsvpc_tasks_without_trunking == 2


@pytest.mark.parametrize(
    ("name", "printed"),
    [("i4i.16xlarge", 248), ("i4i.32xlarge", 498), ("i4i.metal", 498), ("trn1n.32xlarge", 242)],
)
def test_rows_above_cap_are_clamped(name, printed):
    t = catalog.get(name)
    assert t.trunk_tasks == 120
    assert t.trunk_eni_limit == 122
    assert f"table prints {printed}; clamped to 120" in t.trunk_note


def test_no_trunk_figure_exceeds_cap():
    assert max(t.trunk_tasks or 0 for t in catalog.all_types()) == catalog.TRUNK_TASK_CAP == 120


def test_u6tb1_is_not_trunking_capable():
    t = catalog.get("u-6tb1.56xlarge")
    assert catalog.trunking_table()["u-6tb1.56xlarge"] == (14, 12)
    assert t.trunk_tasks is None
    assert "unsupported" in t.trunk_note and "not trunking-capable" in t.trunk_note


@pytest.mark.parametrize(
    "name", ["m5n.large", "m5n.16xlarge", "m5zn.6xlarge", "r5b.16xlarge", "r5dn.16xlarge"]
)
def test_unsupported_family_rows_are_kept(name):
    t = catalog.get(name)
    assert t.trunk_tasks == catalog.trunking_table()[name][1]
    assert "unsupported" in t.trunk_note and "allow-list" in t.trunk_note


def test_types_outside_the_table_are_not_trunking_capable():
    table = catalog.trunking_table()
    for name in ("t3.micro", "m1.small", "c5n.large", "m5.metal", "m7i.large"):
        assert name not in table
        t = catalog.get(name)
        assert t.trunk_tasks is None and t.trunk_eni_limit is None and t.trunk_note is None
    capable = {t.name for t in catalog.all_types() if t.trunk_tasks is not None}
    assert capable <= set(table)
    assert len(capable) == 428  # 430 table rows with EC2 data, minus the two refused


def test_only_documented_rows_carry_notes():
    noted = {t.name for t in catalog.all_types() if t.trunk_note}
    assert noted == {
        "i4i.large",
        "i4i.16xlarge",
        "i4i.32xlarge",
        "i4i.metal",
        "trn1n.32xlarge",
        "u-6tb1.56xlarge",
        "r5b.16xlarge",
        "r5dn.16xlarge",
        "c5a.8xlarge",
        *(f"m5n.{s}" for s in ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge")),
        *(f"m5n.{s}" for s in ("12xlarge", "16xlarge")),
        *(f"m5zn.{s}" for s in ("large", "xlarge", "2xlarge", "3xlarge", "6xlarge")),
        *KNOWN_UNTRUNKED_MISMATCHES,
    }


def test_decisions_are_documented_in_module_docstring():
    doc = catalog.__doc__
    for needle in ("i4i.large", "clamped to 120", "u-6tb1.56xlarge", "allow-list", "m5zn"):
        assert needle in doc


# --- lookup -------------------------------------------------------------------------


def test_get_is_case_insensitive():
    assert catalog.get(" C5.Large ") is catalog.get("c5.large")


def test_unknown_type_suggests_close_names():
    with pytest.raises(KeyError) as excinfo:
        catalog.get("c5.larg")
    err = excinfo.value
    assert isinstance(err, UnknownInstanceType)
    assert "c5.large" in err.suggestions
    assert "c5.large" in str(err)
    assert str(err).startswith("unknown instance type 'c5.larg'")


def test_unknown_type_without_close_names():
    with pytest.raises(UnknownInstanceType) as excinfo:
        catalog.get("zzzzzzzz")
    assert excinfo.value.suggestions == []


def test_match_glob():
    names = [t.name for t in catalog.match("c5.*")]
    assert "c5.large" in names and "c5.metal" in names
    assert all(n.startswith("c5.") for n in names)
    assert names == sorted(names)
    assert [t.name for t in catalog.match("C5.*")] == names
    assert all(t.bare_metal for t in catalog.match("*.metal"))
    assert [t.name for t in catalog.match("c5?.large")] == [
        "c5a.large",
        "c5d.large",
        "c5n.large",
    ]


def test_match_without_glob_is_family_or_exact():
    assert [t.name for t in catalog.match("c5")] == [t.name for t in catalog.match("c5.*")]
    assert not any(t.name.startswith("c5a.") for t in catalog.match("c5"))
    assert [t.name for t in catalog.match("c5.large")] == ["c5.large"]
    assert catalog.match("c5.huge") == []
    assert catalog.match("nosuchfamily") == []


# --- the build script ---------------------------------------------------------------

EXPECTED_SAMPLE_ROWS = [
    "c5.large,2,4096,3,1,10,0.75,10.0,nitro,x86_64,false,false,0",
    "c5.metal,96,196608,15,1,50,25.0,25.0,,x86_64,true,false,0",
    "m1.small,1,1740,2,1,4,0.3,1.2,xen,i386;x86_64,false,false,0",
    "p4d.24xlarge,96,1179648,60,4,50,400.0,400.0,nitro,x86_64,false,false,8",
    "t3.micro,2,1024,2,1,2,0.064,5.0,nitro,x86_64,false,true,0",
]
EXPECTED_HEADER = (
    "instance_type,vcpus,memory_mib,max_enis,network_cards,ipv4_per_eni,"
    "baseline_gbps,peak_gbps,hypervisor,architectures,bare_metal,burstable,gpus"
)


def run_build(source: Path, output: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            str(BUILD_SCRIPT),
            "--from-json",
            str(source),
            "--output",
            str(output),
            "--date",
            "2024-01-02",
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def split_output(path: Path) -> tuple[list[str], list[str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    comments = [line for line in lines if line.startswith("#")]
    body = [line for line in lines if not line.startswith("#")]
    return comments, body


def test_build_script_on_sample(tmp_path):
    output = tmp_path / "types.csv"
    result = run_build(SAMPLE_JSON, output)
    assert result.returncode == 0, result.stderr
    comments, body = split_output(output)
    assert comments[0].startswith("# Source: ")
    assert SAMPLE_JSON.name in comments[0] and "2024-01-02" in comments[0]
    assert body[0] == EXPECTED_HEADER
    assert body[1:] == EXPECTED_SAMPLE_ROWS
    assert output.read_text(encoding="utf-8").startswith("# ")


def test_build_script_accepts_bare_list_dict_and_gzip(tmp_path):
    records = json.loads(SAMPLE_JSON.read_text(encoding="utf-8"))["InstanceTypes"]
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(list(reversed(records))), encoding="utf-8")
    keyed = tmp_path / "keyed.json.gz"
    keyed.write_bytes(
        gzip.compress(json.dumps({r["InstanceType"]: r for r in records}).encode("utf-8"))
    )
    for source in (bare, keyed):
        output = tmp_path / f"{source.stem}.csv"
        result = run_build(source, output)
        assert result.returncode == 0, result.stderr
        assert split_output(output)[1][1:] == EXPECTED_SAMPLE_ROWS


def test_build_script_sums_cards_and_leaves_missing_bandwidth_empty(tmp_path):
    records = json.loads(SAMPLE_JSON.read_text(encoding="utf-8"))["InstanceTypes"]
    p4d = copy.deepcopy(next(r for r in records if r["InstanceType"] == "p4d.24xlarge"))
    p4d["InstanceType"] = "p4x.24xlarge"
    p4d["NetworkInfo"]["MaximumNetworkInterfaces"] = 15  # disagrees with the cards' sum
    for card in p4d["NetworkInfo"]["NetworkCards"]:
        del card["PeakBandwidthInGbps"]
    source = tmp_path / "edited.json"
    source.write_text(json.dumps({"InstanceTypes": [p4d]}), encoding="utf-8")
    output = tmp_path / "edited.csv"
    result = run_build(source, output)
    assert result.returncode == 0, result.stderr
    assert "p4x.24xlarge" in result.stderr  # the disagreement is reported
    rows = list(csv.DictReader(split_output(output)[1]))
    assert rows == [
        {
            "instance_type": "p4x.24xlarge",
            "vcpus": "96",
            "memory_mib": "1179648",
            "max_enis": "60",
            "network_cards": "4",
            "ipv4_per_eni": "50",
            "baseline_gbps": "400.0",
            "peak_gbps": "",
            "hypervisor": "nitro",
            "architectures": "x86_64",
            "bare_metal": "false",
            "burstable": "false",
            "gpus": "8",
        }
    ]


def test_build_script_rejects_bad_input(tmp_path):
    source = tmp_path / "bad.json"
    source.write_text('"not a catalog"', encoding="utf-8")
    result = run_build(source, tmp_path / "out.csv")
    assert result.returncode != 0
    assert "error" in result.stderr
    assert not (tmp_path / "out.csv").exists()


def test_shipped_catalog_has_the_build_script_layout():
    path = REPO_ROOT / "ecsnetsim" / "catalog" / "data" / "instance_types.csv"
    comments, body = split_output(path)
    assert comments[0].startswith("# Source: ")
    assert body[0] == EXPECTED_HEADER
    names = [line.split(",", 1)[0] for line in body[1:]]
    assert names == sorted(names)
