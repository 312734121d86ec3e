"""One truth in every output: every shipped scenario is run once, and each quantity that
appears in more than one output (results.json, the CSV tables, the printed summary) must
be the same number everywhere.

Checks whose contradiction comes from the control plane are marked ``xfail`` with the
place it comes from, so that they turn into passes (strict) when it is fixed there.
"""

from __future__ import annotations

import csv
import functools
import io
import math
import re
from collections import Counter

import pytest
from conftest import SCENARIOS

from ecsnetsim import load_scenario, rows, simulate
from ecsnetsim.labels import variant_label
from ecsnetsim.report import _short, answer, summary
from ecsnetsim.results import (
    DEVICE_COLUMNS,
    FLOW_COLUMNS,
    FLOW_LOG_COLUMNS,
    PLACEMENT_COLUMNS,
    TIMELINE_COLUMNS,
    _csv,
)
from ecsnetsim.scenario import variants_of

PATHS = sorted(SCENARIOS.glob("*.yaml"))
#: Shorter runs where the packets alone would take most of the budget; the control plane
#: (placement, deployments, timeline) is untouched by ``duration``.
FAST = {"bridge-contention": ["duration=0.03s", "warmup=0.01s"],
        "compare-modes": ["duration=0.5s"], "fargate-vs-ec2": ["duration=0.5s"]}

#: Contradictions whose root is in the control plane (``ecsnetsim/control/``), by scenario.
SUBNET_LEAK = ("control/scaling.py: managed scale-out sizes a launch by attaching awsvpc "
               "tasks to a probe instance with the service's real subnet pools, so every "
               "probe task takes a subnet IP that is never released (2 per launch)")
DEPLOYMENT_COUNTS = ("control/deployments.py: Deployments.unplaced adds 1 per blocked "
                     "placement pass, not per blocked task, so a deployment's "
                     "count of a placement reason (RESOURCE:PORTS, RESOURCE:ENI) is below the "
                     "number of tasks blocked on it")
WHY_NOT_IP = ("control/service.py: after a launch failure (InsufficientFreeAddressesInSubnet, "
              "ELB:UNHEALTHY) "
              "a waiting task's why_not is the one instance where a task failed "
              "(last_launch_where) and closest is None, not an answer per instance")


@functools.cache
def _run(name: str):
    path = SCENARIOS / f"{name}.yaml"
    sc = load_scenario(path, overrides=FAST.get(name, []))
    return sc, simulate(sc, workers=1)


def _ids():
    return [p.stem for p in PATHS]


def test_every_shipped_scenario_is_covered():
    assert len(PATHS) >= 20
    assert set(FAST) <= {p.stem for p in PATHS}


def _rows(table, columns):
    """The rows of a table as its CSV file holds them (strings), read back."""
    return list(csv.DictReader(io.StringIO(_csv(table, columns))))


def _cell(value) -> str:
    return "" if value is None else str(value)


@pytest.mark.parametrize("name", _ids())
def test_csv_rows_are_results_json(name):
    _, res = _run(name)
    placement = _rows(res.placement, PLACEMENT_COLUMNS)
    insts = [(v["name"], i) for v in res.variants for i in v["placement"]["instances"]]
    assert len(placement) == len(insts)
    for row, (vname, inst) in zip(placement, insts, strict=True):
        assert row["variant"] == vname and row["instance"] == inst["id"]
        assert row["tasks"] == str(inst["tasks"])
        assert row["ips_used"] == str(inst["ips_used"])
        assert row["eni_used"] == str(inst["eni"]["used"])
        assert row["branch_used"] == str(inst["branch_eni"]["used"])
        assert row["static_ports"] == " ".join(inst["ports"]["static"])
        assert row["dynamic_ports_used"] == str(inst["ports"]["dynamic_used"])
        assert row["cpu_used"] == str(inst["cpu"]["used"])
        assert row["memory_used"] == str(inst["memory"]["used"])
    flows = _rows(res.flows, FLOW_COLUMNS)
    fl = [(v["name"], f) for v in res.variants for f in v["flows"]]
    assert len(flows) == len(fl)
    for row, (vname, f) in zip(flows, fl, strict=True):
        assert (row["variant"], row["name"]) == (vname, f["name"])
        for k in ("sent", "delivered", "dropped", "unreachable", "in_flight"):
            assert row[k] == str(f[k]), k
        assert row["latency_us_p99"] == _cell(f["latency_us"]["p99"])
        assert row["blocked_at"] == _cell((f.get("blocked") or {}).get("at"))
    timeline = _rows(res.timeline, TIMELINE_COLUMNS)
    tl = [(v["name"], r) for v in res.variants for r in v["timeline"]]
    assert len(timeline) == len(tl)
    for row, (vname, r) in zip(timeline, tl, strict=True):
        assert row["variant"] == vname
        for k in TIMELINE_COLUMNS[1:]:
            assert row[k] == str(r[k]), k
    devices = _rows(res.devices, DEVICE_COLUMNS)
    dv = [(v["name"], d) for v in res.variants for d in v["devices"]]
    assert len(devices) == len(dv)
    for row, (vname, d) in zip(devices, dv, strict=True):
        assert row["variant"] == vname
        for k in DEVICE_COLUMNS[1:]:
            assert row[k] == _cell(d[k]), k


#: Scenarios run again with flow logs on, for flow_logs.csv (no shipped scenario has them).
FLOW_LOGGED = ["security-groups", "compare-modes"]


@pytest.mark.parametrize("name", FLOW_LOGGED)
def test_flow_log_csv_rows_are_results_json(name):
    sc = load_scenario(SCENARIOS / f"{name}.yaml",
                       overrides=["flow_logs=true", "duration=0.2s", "warmup=0s"])
    res = simulate(sc, workers=1)
    logged = _rows(res.flow_logs, FLOW_LOG_COLUMNS)
    records = [(v["name"], r) for v in res.variants for r in v["flow_logs"]]
    assert records and len(logged) == len(records)
    for row, (vname, r) in zip(logged, records, strict=True):
        assert row["variant"] == vname
        for k in FLOW_LOG_COLUMNS[1:]:
            assert row[k] == str(r[k]), k


#: The CSV file of each row type, and the table that writes it.
CSV_FILES = {"placement.csv": (rows.PlacementRow, "placement"),
             "flows.csv": (rows.FlowTableRow, "flows"),
             "devices.csv": (rows.DeviceRow, "devices"),
             "timeline.csv": (rows.TimelinePoint, "timeline"),
             "timeseries.csv": (rows.TimeseriesRow, "timeseries")}


@pytest.mark.parametrize("name", _ids())
def test_csv_header_is_the_row_type(name, tmp_path):
    """Each CSV file's header is its row type's fields (``variant`` first), and each
    table's rows have exactly those keys: a field added to a row reaches its file."""
    _, res = _run(name)
    res.save(tmp_path)
    for file, (row_type, table) in CSV_FILES.items():
        header = (tmp_path / file).read_text(encoding="utf-8").splitlines()[0].split(",")
        fields = [k for k, *_ in rows.schema_fields(row_type)]
        assert header == rows.table_columns(row_type), file
        assert header[1:] == [k for k in fields if k != "variant"], file
        for row in getattr(res, table):
            assert list(row) == header, file


#: Fields of a results.json row that its CSV file leaves out: maps and prose.
#: A connection-level run's fields stay in results.json too, so that the CSV files of every
#: other run are what they were; so do an instance's GPUs (only in runs with GPUs).
NOT_IN_CSV = {rows.InstanceRow: {"status", "os", "trunk_reason", "tasks_by_mode", "task_limits",
                                 "conntrack", "ephemeral_ports", "ena", "ena_allowances",
                                 "gpu"},
              rows.FlowRow: {"breakdown_us", "drops", "connections"}}
#: Columns a field is written as where they are not its key (or ``key_sub`` per key of a
#: nested row).
CSV_NAMES = {"id": ["instance"], "branch_eni": ["branch_used", "branch_limit"],
             "ports": ["static_ports", "dynamic_ports_used"],
             # the scalars of a flow's latency; its histogram stays in results.json
             "latency_us": [f"latency_us_{k}" for k in rows.columns(rows.Latency)
                            if k != "hist"]}


def test_every_json_field_of_a_csv_row_is_a_column():
    """A field added to an instance or flow row of results.json is either a column of
    its CSV file or named above as left out."""
    for json_row, csv_row in ((rows.InstanceRow, rows.PlacementRow),
                              (rows.FlowRow, rows.FlowTableRow)):
        cols = rows.columns(csv_row)
        for key, tp, *_ in rows.schema_fields(json_row):
            if key in NOT_IN_CSV[json_row]:
                assert key not in cols
                continue
            inner = [a for a in getattr(tp, "__args__", (tp,)) if a is not type(None)][0]
            nested = isinstance(inner, type) and issubclass(inner, rows.Row)
            want = CSV_NAMES.get(key) or ([f"{key}_{k}" for k in rows.columns(inner)]
                                          if nested else [key])
            assert set(want) <= set(cols), (json_row.__name__, key, want)


@pytest.mark.parametrize("name", _ids())
def test_packets_add_up(name):
    _, res = _run(name)
    for v in res.variants:
        for f in v["flows"]:
            assert f["sent"] == (f["delivered"] + f["dropped"] + f["unreachable"]
                                 + f["in_flight"]), (v["name"], f["name"])
            assert min(f["sent"], f["delivered"], f["dropped"], f["unreachable"],
                       f["in_flight"]) >= 0


@pytest.mark.parametrize("name", _ids())
def test_service_counts_agree_with_timeline_and_unplaced(name):
    """One answer for the same tasks: the service row, the unplaced list and the
    timeline's last row per service (what timeline.csv ends with)."""
    _, res = _run(name)
    for v in res.variants:
        unplaced = Counter(u["service"] for u in v["placement"]["unplaced"])
        last = {r["service"]: r for r in v["timeline"]}
        for s in v["placement"]["services"]:
            where = (v["name"], s["name"])
            assert s["unplaced"] == unplaced[s["name"]], where
            reasons = Counter(u["reason"] for u in v["placement"]["unplaced"]
                              if u["service"] == s["name"] and u["reason"])
            assert s["failures"] == dict(reasons), where
            assert s["pending"] >= s["unplaced"], where
            if s["name"] in last:
                row = last[s["name"]]
                assert s["running"] == row["running_old"] + row["running_new"], where
                assert s["pending"] == row["pending"], where
            if s["steady_at"] is not None:
                assert s["steady_at"] <= v["steady_at"] or not v.get("steady", True), where


@pytest.mark.parametrize("name", _ids())
def test_instances_hold_the_services_tasks(name):
    """The tasks on the instances are the EC2 and EXTERNAL services' running and draining
    tasks (the service rows and the timeline's last row); each instance's tasks by mode add
    up to its tasks; Fargate's block counts the Fargate services' running tasks, one IP
    each."""
    _, res = _run(name)
    for v in res.variants:
        services = v["placement"]["services"]
        last = {r["service"]: r for r in v["timeline"]}
        ec2 = [s for s in services if s["launch_type"] in ("EC2", "EXTERNAL")]
        draining = sum(last[s["name"]]["draining"] for s in ec2 if s["name"] in last)
        on_instances = sum(i["tasks"] for i in v["placement"]["instances"])
        assert on_instances == sum(s["running"] for s in ec2) + draining, v["name"]
        for i in v["placement"]["instances"]:
            assert sum(i["tasks_by_mode"].values()) == i["tasks"], (v["name"], i["id"])
        fargate = v["placement"].get("fargate")
        on_fargate = [s for s in services if s["launch_type"] == "FARGATE"]
        assert (fargate is not None) == bool(on_fargate), v["name"]
        if fargate:
            assert fargate["tasks"] == sum(s["running"] for s in on_fargate), v["name"]
            assert sum(fargate["by_az"].values()) == fargate["tasks"]
            assert sum(fargate["by_subnet"].values()) == fargate["ips_used"]


@pytest.mark.parametrize("name", _ids())
def test_steady_times_agree_with_events_and_timeline(name):
    """A service's ``steady_at`` is when its event says it reached a steady state, and
    the timeline shows it there with every desired task of the current revision running
    and none pending; a service that never got there has no such event."""
    _, res = _run(name)
    for v in res.variants:
        for s in v["placement"]["services"]:
            where = (v["name"], s["name"])
            steady = [e["t"] for e in v["placement"]["events"] if e["service"] == s["name"]
                      and "has reached a steady state" in e["message"]]
            if s["steady_at"] is None:
                assert not steady, where
                continue
            assert round(s["steady_at"], 6) in steady, where
            before = [r for r in v["timeline"]
                      if r["service"] == s["name"] and r["t"] <= s["steady_at"]]
            if before:
                assert (before[-1]["running_new"], before[-1]["pending"]) == (s["desired"], 0), \
                    (where, before[-1])


@pytest.mark.parametrize("name", _ids())
def test_deployment_launch_failures_are_the_services(name):
    """Tasks that were placed and then failed (no free address: ``launch_failures``) or
    started and were stopped (ELB:UNHEALTHY: ``stopped``) during a deployment are counted
    on the service too, for each reason."""
    _, res = _run(name)
    for v in res.variants:
        for s in v["placement"]["services"]:
            counted = Counter()
            for d in v["deployments"]:
                if d["service"] == s["name"]:
                    counted.update({r: n for r, n in d["failures"].items()
                                    if not r.startswith("RESOURCE:")})
            for reason, n in counted.items():
                both = s["launch_failures"].get(reason, 0) + s["stopped"].get(reason, 0)
                assert both >= n, (v["name"], s["name"], reason)


def _placement_reasons(v):
    return {u["reason"] for u in v["placement"]["unplaced"]}


@pytest.mark.parametrize("name", _ids())
def test_deployment_failures_count_the_blocked_tasks(name):
    """A deployment that ends blocked counts at least the tasks blocked for each reason
    the service's unplaced tasks give."""
    _, res = _run(name)
    bad = []
    for v in res.variants:
        for d in v["deployments"]:
            if d["finished_at"] is not None:
                continue
            reasons = Counter(u["reason"] for u in v["placement"]["unplaced"]
                              if u["service"] == d["service"] and u["reason"])
            for reason, n in reasons.items():
                if d["failures"].get(reason, 0) < n:
                    bad.append((v["name"], d["service"], reason, d["failures"].get(reason), n))
    if bad:
        pytest.xfail(f"{DEPLOYMENT_COUNTS}: {bad}")


@pytest.mark.parametrize("name", _ids())
def test_every_unplaced_task_has_a_reason_per_instance(name):
    """As the README promises: why each ACTIVE instance did not take an EC2 task."""
    _, res = _run(name)
    bad = []
    for v in res.variants:
        active = {i["id"] for i in v["placement"]["instances"] if i["status"] == "ACTIVE"}
        ec2 = {s["name"] for s in v["placement"]["services"] if s["launch_type"] == "EC2"}
        for u in v["placement"]["unplaced"]:
            if u["service"] in ec2 and active and not active <= set(u["why_not"]):
                bad.append((v["name"], u["task"], u["reason"]))
    if bad:
        pytest.xfail(f"{WHY_NOT_IP}: {bad[:3]} ({len(bad)} tasks)")


@pytest.mark.parametrize("name", _ids())
def test_subnet_ips_are_the_instances_and_fargate_tasks(name):
    """A subnet's ``ips_used`` are the instances' (primary, trunk and task IPs) and
    Fargate's task IPs (external instances have their own network, not the VPC's);
    ``reserved_ips`` (load balancers, endpoints) are neither used nor free; and used + free
    + reserved = usable."""
    sc, res = _run(name)
    leaks = []
    for spec, v in zip(variants_of(sc), res.variants, strict=True):
        reserved = {sn.name: sn.reserved_ips for sn in spec.scenario.vpc.subnets}
        for sn in v["placement"]["subnets"]:
            assert sn["ips_used"] + sn["ips_free"] + reserved[sn["name"]] == sn["usable"], sn
            assert sn["usable"] == 2 ** (32 - int(sn["cidr"].split("/")[1])) - 5
        subnets = sum(sn["ips_used"] for sn in v["placement"]["subnets"])
        model = sum(i["ips_used"] for i in v["placement"]["instances"]
                    if i["subnet"] in reserved)
        model += (v["placement"].get("fargate") or {}).get("ips_used", 0)
        if subnets != model:
            leaks.append((v["name"], model, subnets))
    if leaks and any(e.get("kind") == "launch" for v in res.variants
                     for e in v["placement"]["events"]):
        pytest.xfail(f"{SUBNET_LEAK}: (variant, instances+fargate, subnets) {leaks}")
    assert not leaks


@pytest.mark.parametrize("name", _ids())
def test_summary_says_what_results_json_says(name):
    """The printed summary against results.json: each service's desired, running and
    pending counts and failure reasons, the steady time, IPs per subnet and instance
    type, the flow counts and each deployment's status."""
    _, res = _run(name)
    text = summary(res)
    blocks = re.split(r"\n(?=== variant )", text)[1:]
    assert len(blocks) == len(res.variants)
    for block, v in zip(blocks, res.variants, strict=True):
        head = block.splitlines()[0]
        assert head.startswith(f"== variant {v['name']}  (")
        assert f"{v['steady_at']:.1f}s" in head and f"ran to {v['end']:.1f}s" in head
        assert ("steady at" in head) == (v.get("steady", True) and all(
            s["steady_at"] is not None for s in v["placement"]["services"] if s["desired"]))
        lines = block.splitlines()
        below = head.split("below desired: ", 1)[1] if "below desired: " in head else ""
        for s in v["placement"]["services"]:
            listed = re.search(rf"(?:^|, ){re.escape(s['name'])} \(", below) is not None
            assert listed == (s["steady_at"] is None and s["desired"] > 0), (head, s["name"])
            row = next(x for x in lines if re.match(rf"  {re.escape(s['name'])}\s+"
                                                     rf"{s['network_mode']}\s+\d", x))
            nums = [int(n) for n in row.split()[2:5]]
            assert nums == [s["desired"], s["running"], s["pending"]], row
            for reason, n in {**s["failures"]}.items():
                assert f"{reason}×{n}" in row, row
            for reason, n in s["launch_failures"].items():
                assert f"failed to start {reason}×{n}" in row, row
            for reason, n in s["stopped"].items():
                assert f"stopped {reason}×{n}" in row, row
            old = s["running_old"]
            if old:
                assert f"running: {s['running'] - old} new + {old} old revision" in row, row
            elif not s["failures"] and not s["launch_failures"] and not s["stopped"]:
                assert row.rstrip().endswith("-"), row
        for sn in v["placement"]["subnets"]:
            assert (f"  subnet {sn['name']} {sn['cidr']}: {sn['ips_used']} IPs used, "
                    f"{sn['ips_free']} free") in lines
        spread = " ".join(str(i["tasks"]) for i in v["placement"]["instances"])
        assert f"  tasks per instance: {spread or '-'}" in lines
        fg = v["placement"].get("fargate")
        if fg:
            assert any(x.startswith(f"  fargate: {fg['tasks']} tasks in micro-VMs off the "
                                    f"cluster, {fg['enis']} task ENIs, {fg['ips_used']} "
                                    "subnet IPs") for x in lines)
        by_type = Counter()
        for i in v["placement"]["instances"]:
            by_type[i["type"]] += i["ips_used"]
        for itype, ips in by_type.items():
            row = next(x for x in lines if x.startswith(f"  {itype} "))
            assert int(row.split()[5]) == ips, row
        for f in v["flows"]:
            row = next(x for x in lines if re.match(rf"  {re.escape(f['name'])}\s+\d", x))
            nums = [int(n) for n in row.split()[1:6]]
            assert nums == [f["sent"], f["delivered"], f["dropped"], f["unreachable"],
                            f["in_flight"]], row
        for d in v["deployments"]:
            row = next(x for x in lines
                       if x.startswith(f"  deployment {d['service']}:{d['revision']} "))
            assert f" {d['status']}: " in row and f"{d['waves']} wave(s)" in row, row
    first = text.splitlines()
    assert first[0].startswith("scenario ")


@pytest.mark.parametrize("name", _ids())
def test_answer_is_computed_from_the_results(name):
    """The one-line answer names every variant's running/desired counts as results.json
    has them, and a blocked or reached flow as the flow rows have it."""
    _, res = _run(name)
    line = answer(res)
    assert line and "\n" not in line
    assert summary(res).splitlines()[1] == f"answer: {line}"
    for v in res.variants:
        services = v["placement"]["services"]
        running = sum(s["running"] for s in services)
        desired = sum(s["desired"] for s in services)
        if len(res.variants) > 1:
            assert variant_label(v["name"]) in line or variant_label(v["group"]) in line
        said = f"{running}/{desired}"
        if running > desired:  # never more running than desired: the old revision apart
            old = sum(s["running_old"] for s in services)
            said = f"{running - old}/{desired} running the new revision, +{old} old"
        assert said in line, (said, line)
        for f in v["flows"]:  # the mean, which a split between paths does not make jump
            if f["delivered"] and not f.get("blocked") and not v.get("sweep"):
                assert f"{_short(f['latency_us']['mean'])} us mean" in line, (f["name"], line)


@pytest.mark.parametrize("name", _ids())
def test_maximum_percent_caps_running_and_pending_tasks(name):
    """During a rolling update, the tasks RUNNING or PENDING (AWS's wording for
    maximumPercent; draining tasks are DEACTIVATING, as the README says) stay within
    floor(desired × maximum_percent / 100)."""
    sc, res = _run(name)
    over = []
    for spec, v in zip(variants_of(sc), res.variants, strict=True):
        svcs = {s.name: s for s in spec.scenario.services}
        scaled = {e.scale for e in spec.scenario.events if getattr(e, "scale", None)}
        for d in v["deployments"]:
            s = svcs[d["service"]]
            if s.name in scaled or s.scheduling != "replica":
                continue
            cap = math.floor(s.desired_count * s.deployment.maximum_percent / 100)
            end = d["finished_at"] if d["finished_at"] is not None else v["end"]
            for r in v["timeline"]:
                if r["service"] == s.name and d["started_at"] <= r["t"] < end:
                    total = r["running_old"] + r["running_new"]
                    if total > cap:
                        over.append((v["name"], r["t"], total, cap))
    assert not over, over[:3]


@pytest.mark.parametrize("name", _ids())
def test_reasons_the_header_promises_appear_in_the_run(name):
    """A failure reason a scenario's header comment names (``RESOURCE:IP``,
    ``InsufficientFreeAddressesInSubnet``, ...) is one its run reports somewhere."""
    from ecsnetsim import question  # noqa: PLC0415

    _, res = _run(name)
    header = question(SCENARIOS / f"{name}.yaml")
    named = set(re.findall(r"\b(?:RESOURCE:[A-Z]+|ELB:[A-Z]+|InsufficientFree\w+)", header))
    seen = set()
    for v in res.variants:
        for s in v["placement"]["services"]:
            seen |= set(s["failures"]) | set(s["launch_failures"]) | set(s["stopped"])
        for d in v["deployments"]:
            seen |= set(d["failures"])
        for e in v["placement"]["events"]:  # a reason that bound for a while
            seen |= {r for r in named if r in e["message"]}
    assert named <= seen, (named - seen)


def _row_types(cls, seen=None):
    """``cls`` and every row type nested in its fields."""
    seen = {} if seen is None else seen
    seen.setdefault(cls, None)
    for _, tp, *_ in rows.schema_fields(cls):
        args = [tp, *getattr(tp, "__args__", ())]
        args += [b for a in args[1:] for b in getattr(a, "__args__", ())]
        for a in args:
            if isinstance(a, type) and issubclass(a, rows.Row) and a not in seen:
                _row_types(a, seen)
    return list(seen)


def test_readme_schema_names_every_row_field():
    """The README's sketch of results.json names every key a row writes."""
    readme = (SCENARIOS.parent / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Result files", 1)[1].split("```")[1]
    words = set(re.findall(r"\w+", block))
    missing = [(t.__name__, key) for t in (_row_types(rows.VariantResult)
                                          + _row_types(rows.ComparisonRow))
               for key, *_ in rows.schema_fields(t) if key not in words]
    assert not missing
