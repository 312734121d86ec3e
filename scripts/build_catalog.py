#!/usr/bin/env python3
"""Regenerate ``ecsnetsim/catalog/data/instance_types.csv``.

The input is the JSON that ``aws ec2 describe-instance-types`` prints, given with
``--from-json PATH``. Accepted shapes: ``{"InstanceTypes": [...]}``, a bare list of
instance-type objects, or a dict keyed by type name (the layout of the snapshot that
the ``moto`` package ships). The file may be gzip-compressed.

Without ``--from-json`` the script reads the snapshot bundled with ``moto``
(``moto/ec2/resources/instance_types.json.gz``), located with importlib without
importing moto. moto is only a build-time data source; the ``ecsnetsim`` package never
imports it.

Output columns:

``instance_type, vcpus, memory_mib, max_enis, network_cards, ipv4_per_eni,
baseline_gbps, peak_gbps, hypervisor, architectures, bare_metal, burstable, gpus``

* ``max_enis`` is the sum of ``NetworkCards[*].MaximumNetworkInterfaces``, i.e. the
  total over all network cards (checked against ``NetworkInfo.MaximumNetworkInterfaces``;
  a disagreement is reported on stderr and the sum wins).
* ``baseline_gbps`` / ``peak_gbps`` are sums of the per-card
  ``BaselineBandwidthInGbps`` / ``PeakBandwidthInGbps``; empty when not every card
  reports the value.
* ``hypervisor`` is ``nitro``, ``xen`` or empty (bare metal).
* ``architectures`` is ``ProcessorInfo.SupportedArchitectures`` joined with ``;``.
* ``gpus`` is the sum of ``GpuInfo.Gpus[*].Count`` (whole GPUs; 0 without ``GpuInfo``).
  Types that offer a fraction of a GPU (``GpuPartitionSize`` below 1, such as g6f) have a
  count of 0 there, and so 0 here.

The first line is a ``# Source: ...`` comment naming the input and the generation date.
Rows are sorted by type name, so the output only depends on the input and the date
(``--date`` or ``SOURCE_DATE_EPOCH`` pin the date for reproducible builds).

Examples::

    python3 scripts/build_catalog.py
    aws ec2 describe-instance-types --output json > types.json
    python3 scripts/build_catalog.py --from-json types.json
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gzip
import importlib.metadata
import importlib.util
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = REPO_ROOT / "ecsnetsim" / "catalog" / "data" / "instance_types.csv"
MOTO_RESOURCE = ("ec2", "resources", "instance_types.json.gz")

COLUMNS = (
    "instance_type",
    "vcpus",
    "memory_mib",
    "max_enis",
    "network_cards",
    "ipv4_per_eni",
    "baseline_gbps",
    "peak_gbps",
    "hypervisor",
    "architectures",
    "bare_metal",
    "burstable",
    "gpus",
)


class CatalogBuildError(Exception):
    """The input could not be turned into a catalog."""


def read_json(path: Path) -> Any:
    """Load JSON from ``path``, transparently gunzipping it when compressed."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return json.loads(raw.decode("utf-8"))


def extract_records(document: Any) -> list[dict[str, Any]]:
    """Return the list of instance-type objects from any accepted JSON shape."""
    if isinstance(document, dict) and "InstanceTypes" in document:
        records = document["InstanceTypes"]
    elif isinstance(document, list):
        records = document
    elif isinstance(document, dict):
        records = []
        for key, value in document.items():
            if not isinstance(value, dict):
                raise CatalogBuildError(f"entry {key!r} is not an object")
            records.append({"InstanceType": key, **value})
    else:
        raise CatalogBuildError("expected a JSON object or list of instance types")
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise CatalogBuildError("InstanceTypes must be a list of objects")
    return records


def locate_moto_snapshot() -> tuple[Path, str]:
    """Find moto's bundled DescribeInstanceTypes snapshot and moto's version."""
    spec = importlib.util.find_spec("moto")
    if spec is None or not spec.submodule_search_locations:
        raise CatalogBuildError(
            "moto is not importable by this interpreter; run the script with a Python "
            "that has moto installed, or pass --from-json PATH"
        )
    for location in spec.submodule_search_locations:
        candidate = Path(location).joinpath(*MOTO_RESOURCE)
        if candidate.is_file():
            try:
                version = importlib.metadata.version("moto")
            except importlib.metadata.PackageNotFoundError:
                version = "unknown"
            return candidate, version
    raise CatalogBuildError(f"moto is installed but has no {'/'.join(MOTO_RESOURCE)}")


def format_float(value: float) -> str:
    """Render a Gbps figure compactly and deterministically."""
    return repr(round(value, 6))


def _sum_card_field(cards: list[dict[str, Any]], field: str) -> str:
    values = [card.get(field) for card in cards]
    if not cards or any(v is None for v in values):
        return ""
    return format_float(sum(float(v) for v in values))


def _gpu_count(record: dict[str, Any]) -> int:
    """Whole GPUs of the type: the sum of ``GpuInfo.Gpus[*].Count`` (0 without GPUs)."""
    gpus = (record.get("GpuInfo") or {}).get("Gpus") or []
    return sum(int(g.get("Count") or 0) for g in gpus if isinstance(g, dict))


def convert(record: dict[str, Any], warn=None) -> dict[str, str]:
    """Turn one DescribeInstanceTypes object into a CSV row."""
    name = record.get("InstanceType")
    if not name:
        raise CatalogBuildError("an instance-type object has no InstanceType")
    try:
        vcpus = int(record["VCpuInfo"]["DefaultVCpus"])
        memory = int(record["MemoryInfo"]["SizeInMiB"])
        network = record["NetworkInfo"]
    except (KeyError, TypeError) as exc:
        raise CatalogBuildError(f"{name}: missing field {exc}") from exc

    cards = list(network.get("NetworkCards") or [])
    declared_enis = network.get("MaximumNetworkInterfaces")
    if cards:
        max_enis = sum(int(card.get("MaximumNetworkInterfaces", 0)) for card in cards)
        if declared_enis is not None and int(declared_enis) != max_enis and warn:
            warn(
                f"{name}: NetworkInfo.MaximumNetworkInterfaces={declared_enis} but the "
                f"network cards sum to {max_enis}; using {max_enis}"
            )
    elif declared_enis is not None:
        max_enis = int(declared_enis)
    else:
        raise CatalogBuildError(f"{name}: no network-interface limit")
    network_cards = len(cards) or int(network.get("MaximumNetworkCards", 1))

    hypervisor = record.get("Hypervisor") or ""
    architectures = record.get("ProcessorInfo", {}).get("SupportedArchitectures") or []
    return {
        "instance_type": name,
        "vcpus": str(vcpus),
        "memory_mib": str(memory),
        "max_enis": str(max_enis),
        "network_cards": str(network_cards),
        "ipv4_per_eni": str(int(network.get("Ipv4AddressesPerInterface", 0))),
        "baseline_gbps": _sum_card_field(cards, "BaselineBandwidthInGbps"),
        "peak_gbps": _sum_card_field(cards, "PeakBandwidthInGbps"),
        "hypervisor": hypervisor.lower(),
        "architectures": ";".join(architectures),
        "bare_metal": "true" if record.get("BareMetal") else "false",
        "burstable": "true" if record.get("BurstablePerformanceSupported") else "false",
        "gpus": str(_gpu_count(record)),
    }


def build_rows(records: list[dict[str, Any]], warn=None) -> list[dict[str, str]]:
    """Convert and sort all records; duplicate type names are an error."""
    rows: dict[str, dict[str, str]] = {}
    for record in records:
        row = convert(record, warn=warn)
        name = row["instance_type"]
        if name in rows and rows[name] != row:
            raise CatalogBuildError(f"{name} appears twice with different data")
        rows[name] = row
    return [rows[name] for name in sorted(rows)]


def render_csv(rows: list[dict[str, str]], source: str, date: str) -> str:
    """Render the catalog, header comments first."""
    buffer = io.StringIO()
    buffer.write(f"# Source: {source}; generated {date} by scripts/build_catalog.py\n")
    buffer.write(
        f"# {len(rows)} instance types. max_enis and baseline_gbps/peak_gbps are totals "
        "over all network cards; gpus is the sum of GpuInfo.Gpus[].Count.\n"
    )
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def default_date() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        moment = dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC)
    else:
        moment = dt.datetime.now(tz=dt.UTC)
    return moment.date().isoformat()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Regenerate the EC2 instance-type catalog used by ecsnetsim.",
    )
    parser.add_argument(
        "--from-json",
        type=Path,
        metavar="PATH",
        help="output of 'aws ec2 describe-instance-types' (JSON, optionally .gz); "
        "default: the snapshot bundled with moto",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        metavar="PATH",
        help=f"CSV to write (default: {DEFAULT_OUTPUT.relative_to(REPO_ROOT)})",
    )
    parser.add_argument(
        "--date",
        default=None,
        metavar="YYYY-MM-DD",
        help="date recorded in the header (default: SOURCE_DATE_EPOCH or today, UTC)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def warn(message: str) -> None:
        print(f"warning: {message}", file=sys.stderr)

    try:
        if args.from_json is not None:
            path = args.from_json
            source = f"EC2 DescribeInstanceTypes output, file {path.name}"
        else:
            path, version = locate_moto_snapshot()
            source = (
                f"EC2 DescribeInstanceTypes snapshot bundled with moto {version} "
                f"(moto/{'/'.join(MOTO_RESOURCE)})"
            )
        date = args.date or default_date()
        dt.date.fromisoformat(date)
        rows = build_rows(extract_records(read_json(path)), warn=warn)
    except (CatalogBuildError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not rows:
        print("error: the input holds no instance types", file=sys.stderr)
        return 1

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render_csv(rows, source, date), encoding="utf-8")
    print(f"wrote {len(rows)} instance types to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
