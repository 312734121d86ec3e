"""A 200-run sweep three ways: in one process, on the local process pool, on Dask.

The sweep is ``bridge-contention`` made small: bridge against awsvpc on one c5.large
(``compare`` over the network mode) at ``--points`` offered loads from 20,000 to
400,000 packets/s (``sweep`` over the rate), each variant ``--replications`` times:
2 x 20 x 5 = 200 runs of ``--duration`` simulated seconds, each a fraction of a second
of work. Every configuration runs the same command as a user would, as a whole process
(interpreter start, imports, for Dask the start of its cluster, the results written):

* ``serial``: ``ecsnetsim run SWEEP --workers 1``, every run in the one process;
* ``local pool``: ``--workers N``, the default executor's process pool;
* ``dask``: ``--executor dask --workers N``, a ``distributed.LocalCluster`` of N
  single-threaded worker processes started for the run.

Each configuration's ``results.json`` must be byte for byte the others' (every job
carries its own seed); the script says so, or exits 1. It prints a Markdown table of
wall seconds (the median over ``--repeat`` rounds, the configurations alternating within
a round) with the speedup over serial, then one JSON line with every figure.

Usage::

    python benchmarks/bench_sweep.py                       # 200 runs, 2 workers
    python benchmarks/bench_sweep.py --repeat 3 --workers 2
    python benchmarks/bench_sweep.py --write-scenario sweep.yaml   # the file only
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml


def scenario(points: int, replications: int, duration: str) -> dict:
    """Bridge against awsvpc on one c5.large at ``points`` loads, ``replications`` each."""
    lo, hi = 20_000, 400_000
    rates = [f"{round(lo + (hi - lo) * i / max(1, points - 1))}/s" for i in range(points)]
    return {
        "version": 1, "name": "bench-sweep", "seed": 3, "duration": duration,
        "warmup": "0s", "replications": replications,
        "account": {"awsvpc_trunking": True},
        "vpc": {"subnets": [{"name": "private-a", "cidr": "10.0.0.0/24",
                             "az": "us-east-1a"}]},
        "cluster": {"instance_groups": [{"name": "host", "type": "c5.large", "count": 1,
                                         "subnet": "private-a"}]},
        "services": [{"name": "web", "desired_count": 8, "network_mode": "bridge",
                      "cpu": 64, "memory": 128,
                      "containers": [{"name": "web", "port_mappings": [
                          {"container_port": 8080, "host_port": 0}]}]}],
        "traffic": [{"name": "load", "from": "client", "to": "web", "port": 8080,
                     "rate": rates[0], "size": 200}],
        "compare": {"network_mode": ["awsvpc", "bridge"]},
        "sweep": {"traffic[0].rate": rates},
    }


def configurations(workers: int) -> dict[str, list[str]]:
    """Each configuration's extra ``ecsnetsim run`` arguments."""
    return {"serial": ["--workers", "1"],
            "local pool": ["--workers", str(workers)],
            "dask": ["--executor", "dask", "--workers", str(workers)]}


def run_once(path: Path, args: list[str], out: Path) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system, its worker processes included: each
    is waited for by the process that started it) of one ``ecsnetsim run`` as a whole
    process. On a shared machine the CPU figure is the steadier of the two."""
    cmd = [sys.executable, "-m", "ecsnetsim", "run", str(path), "-o", str(out),
           "--no-plots", "--quiet", *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--points", type=int, default=20, help="loads swept (default 20)")
    ap.add_argument("--replications", type=int, default=5, help="per variant (default 5)")
    ap.add_argument("--duration", default="0.02s", help="simulated per run (default 0.02s)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2,
                    help="processes of the pool and of the Dask cluster (default: cores)")
    ap.add_argument("--repeat", type=int, default=1, help="rounds; the median is reported")
    ap.add_argument("--write-scenario", metavar="PATH",
                    help="write the sweep's scenario to PATH and exit")
    opts = ap.parse_args()
    doc = scenario(opts.points, opts.replications, opts.duration)
    runs = 2 * opts.points * opts.replications
    if opts.write_scenario:
        Path(opts.write_scenario).write_text(yaml.safe_dump(doc, sort_keys=False))
        print(f"wrote {opts.write_scenario}: {runs} runs")
        return 0
    configs = configurations(opts.workers)
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        path = Path(tmp) / "sweep.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        walls: dict[str, list[float]] = {name: [] for name in configs}
        cpus: dict[str, list[float]] = {name: [] for name in configs}
        texts: dict[str, str] = {}
        for r in range(opts.repeat):
            for name, args in configs.items():
                out = Path(tmp) / f"{name.replace(' ', '-')}-{r}"
                wall, cpu = run_once(path, args, out)
                walls[name].append(wall)
                cpus[name].append(cpu)
                texts[f"{name} {r}"] = (out / "results.json").read_text()
                print(f"round {r + 1}: {name:<10} {wall:7.2f} s wall {cpu:7.2f} s CPU",
                      flush=True)
    identical = len(set(texts.values())) == 1
    serial = statistics.median(walls["serial"])
    print(f"\n{runs} runs ({opts.points} loads x 2 modes x {opts.replications} "
          f"replications, {opts.duration} simulated each), {opts.workers} workers, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}\n")
    print("| executor | command flags | wall s (median) | range | speedup vs serial "
          "| CPU s (median) |")
    print("|---|---|---:|---:|---:|---:|")
    for name, args in configs.items():
        wall = statistics.median(walls[name])
        print(f"| {name} | `{' '.join(args)}` | {wall:.2f} | {min(walls[name]):.2f}–"
              f"{max(walls[name]):.2f} | {serial / wall:.2f}x | "
              f"{statistics.median(cpus[name]):.2f} |")
    print(f"\nresults.json byte-identical across the three and the rounds: "
          f"{'yes' if identical else 'NO'}")
    print(json.dumps({"runs": runs, "workers": opts.workers, "cores": os.cpu_count(),
                      "wall_s": walls, "cpu_s": cpus, "identical": identical}))
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
