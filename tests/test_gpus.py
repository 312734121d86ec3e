"""GPUs: instance GPUs from the catalog, a task definition's GPU resourceRequirements, and
placement that refuses an instance without enough free GPUs with ECS's reason.

Sources: EC2 DescribeInstanceTypes ``GpuInfo.Gpus[].Count`` (the catalog's ``gpus``);
ECS API reference, ResourceRequirement ("When the type is GPU, the value is the number of
physical GPUs the Amazon ECS container agent reserves for the container. The number of
GPUs that's reserved for all containers in a task can't exceed the number of available
GPUs on the container instance that the task is launched on"); ECS Developer Guide,
"Specifying GPUs in an Amazon ECS task definition" (``{"type": "GPU", "value": "2"}``);
ECS Developer Guide, task placement (instances are filtered by "CPU, GPU, memory and
port requirements"); ECS API reference, Failure reasons (``RESOURCE:GPU``).
"""

from __future__ import annotations

import json

import pytest
from conftest import make_scenario, run_cli

import ecsnetsim
from ecsnetsim import catalog
from ecsnetsim.errors import ScenarioError
from ecsnetsim.model import resources
from ecsnetsim.scenario import load_scenario


def _gpu_taskdef(*values: str) -> dict:
    return {"family": "train", "containerDefinitions": [
        {"name": f"c{i}", "image": "nvidia/cuda", "memory": 256,
         "resourceRequirements": [{"type": "GPU", "value": v}]}
        for i, v in enumerate(values)]}


def _write(tmp_path, doc: dict, name: str = "td.json"):
    path = tmp_path / name
    path.write_text(json.dumps(doc, indent=2))
    return path


def _cluster(*groups: tuple[str, int]) -> dict:
    return {"instance_groups": [{"name": f"g{i}", "type": t, "count": n, "subnet": "a"}
                                for i, (t, n) in enumerate(groups)]}


def _run(doc: dict) -> dict:
    (variant,) = ecsnetsim.simulate(doc, seed=1, workers=1).variants
    return variant


@pytest.mark.parametrize("name, gpus", [
    ("g4dn.xlarge", 1), ("g4dn.12xlarge", 4), ("g4dn.metal", 8), ("g5.48xlarge", 8),
    ("g6.xlarge", 1), ("p4d.24xlarge", 8), ("p5.48xlarge", 8), ("c5.large", 0),
    ("m5.large", 0),
])
def test_catalog_gpus_are_describe_instance_types_counts(name, gpus):
    """DescribeInstanceTypes: g4dn.xlarge 1 T4, g4dn.12xlarge 4, p4d.24xlarge 8 A100, ..."""
    assert catalog.get(name).gpus == gpus


def test_gpu_resource_requirements_sum_over_containers(tmp_path):
    doc = make_scenario(services=[{"name": "s", "task_definition": str(
        _write(tmp_path, _gpu_taskdef("1", "2")))}])
    assert load_scenario(doc).services[0].gpu == 3
    plain = _gpu_taskdef("1")
    del plain["containerDefinitions"][0]["resourceRequirements"]
    doc["services"][0]["task_definition"] = str(_write(tmp_path, plain, "plain.json"))
    assert load_scenario(doc).services[0].gpu == 0


@pytest.mark.parametrize("value", ["0", "ALL", "0.25", "one", True])
def test_gpu_value_that_is_not_whole_gpus_is_refused(tmp_path, value):
    path = _write(tmp_path, _gpu_taskdef(value))
    doc = make_scenario(services=[{"name": "s", "task_definition": str(path)}])
    with pytest.raises(ScenarioError) as err:
        load_scenario(doc)
    assert "containerDefinitions[0].resourceRequirements[0].value: expected a whole number " \
        "of GPUs" in str(err.value)
    assert err.value.file == str(path)


def test_gpu_task_places_only_where_gpus_are_free():
    """A GPU task never lands on an instance without GPUs; one task per GPU of each
    g4dn.xlarge (1 GPU); the rest wait with ECS's RESOURCE:GPU."""
    doc = make_scenario(cluster=_cluster(("c5.xlarge", 2), ("g4dn.xlarge", 2)))
    doc["services"][0].update(desired_count=5, gpu=1, memory=256)
    v = _run(doc)
    (svc,) = v["placement"]["services"]
    assert svc["running"] == 2 and svc["failures"] == {"RESOURCE:GPU": 3}
    rows = {i["type"]: [] for i in v["placement"]["instances"]}
    for inst in v["placement"]["instances"]:
        rows[inst["type"]].append((inst["tasks"], inst["gpu"]))
    assert rows["g4dn.xlarge"] == [(1, {"used": 1, "limit": 1})] * 2
    assert rows["c5.xlarge"] == [(0, {"used": 0, "limit": 0})] * 2
    closest = v["placement"]["unplaced"][0]
    assert closest["reason"] == "RESOURCE:GPU"
    assert all(why.startswith("RESOURCE:GPU") for why in closest["why_not"].values())


@pytest.mark.parametrize("itype, per_task, placed", [
    ("g4dn.xlarge", 1, 1), ("g4dn.12xlarge", 1, 4), ("g4dn.12xlarge", 2, 2),
    ("g4dn.12xlarge", 3, 1), ("p4d.24xlarge", 1, 8),
])
def test_tasks_per_instance_are_its_gpus_over_the_tasks(itype, per_task, placed):
    doc = make_scenario(cluster=_cluster((itype, 1)))
    doc["services"][0].update(desired_count=10, gpu=per_task, memory=64)
    v = _run(doc)
    assert v["placement"]["services"][0]["running"] == placed
    assert v["placement"]["instances"][0]["gpu"] == {
        "used": placed * per_task, "limit": catalog.get(itype).gpus}


def test_runs_without_gpus_report_none():
    """An instance row has ``gpu`` only where the instance has GPUs or a task asked for
    some, so that results without GPUs are what they were."""
    v = _run(make_scenario())
    assert "gpu" not in v["placement"]["instances"][0]
    v = _run(make_scenario(cluster=_cluster(("g4dn.xlarge", 1))))
    assert v["placement"]["instances"][0]["gpu"] == {"used": 0, "limit": 1}


def test_gpu_is_a_declared_instance_resource():
    gpu = resources.by_name("gpu")
    assert gpu.failure == "RESOURCE:GPU"
    assert gpu.from_row({"gpu": {"used": 1, "limit": 1}}).bound
    assert gpu.from_row({"cpu": {"used": 1, "limit": 2}}) is None


def test_gpus_are_refused_on_fargate():
    doc = make_scenario()
    doc["services"][0].update(launch_type="FARGATE", network_mode="awsvpc", cpu=1024,
                              memory=2048, gpu=1)
    with pytest.raises(ScenarioError) as err:
        load_scenario(doc)
    assert err.value.path == "services[0].gpu"
    assert "GPUs are not available on Fargate" in str(err.value)


def test_managed_scaling_counts_gpus_per_new_instance():
    """Managed scaling's estimate of tasks per new instance is bound by its GPUs."""
    doc = make_scenario(cluster={"instance_groups": [
        {"name": "gpu", "type": "g4dn.12xlarge", "count": 0, "subnet": "a",
         "scaling": {"max": 3, "launch_delay": "10s"}}]})
    doc["services"][0].update(desired_count=6, gpu=2, memory=64)
    v = _run(doc)
    assert v["placement"]["services"][0]["running"] == 6
    assert [i["gpu"] for i in v["placement"]["instances"]] == [{"used": 4, "limit": 4}] * 3


def test_cli_run_of_a_gpu_task_definition(capsys, tmp_path):
    """Through the command line: a task definition as AWS spells its GPUs, its tasks on
    the GPU instances only, RESOURCE:GPU for the rest."""
    td = _write(tmp_path, _gpu_taskdef("1"))
    doc = make_scenario(cluster=_cluster(("m5.large", 1), ("g4dn.xlarge", 1)))
    doc["services"] = [{"name": "train", "desired_count": 2, "task_definition": td.name}]
    path = tmp_path / "s.yaml"
    path.write_text(json.dumps(doc))
    rc, _, err = run_cli(capsys, "run", path, "-o", tmp_path / "out", "--no-plots", "--quiet")
    assert rc == 0, err
    v = json.loads((tmp_path / "out" / "results.json").read_text())["variants"][0]
    (svc,) = v["placement"]["services"]
    assert (svc["running"], svc["failures"]) == (1, {"RESOURCE:GPU": 1})
    on = {i["type"]: i["tasks"] for i in v["placement"]["instances"]}
    assert on == {"m5.large": 0, "g4dn.xlarge": 1}


def test_the_answer_says_which_types_hold_none():
    """Instances without GPUs hold no GPU task: the answer says "none on" them rather than
    "at most 0 per"."""
    from ecsnetsim.report import answer

    doc = make_scenario(cluster=_cluster(("c5.xlarge", 2), ("g4dn.xlarge", 2)))
    doc["services"][0].update(desired_count=5, gpu=1, memory=256)
    res = ecsnetsim.simulate(doc, seed=1, workers=1, progress=False)
    assert answer(res) == ("2/5 running, bound by RESOURCE:GPU, at most 1 per g4dn.xlarge, "
                           "none on c5.xlarge")
