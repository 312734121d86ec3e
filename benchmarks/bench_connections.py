"""Connection-level flows at scale: up to 10^6 connections through a bridge NAT path, CPU
time and peak memory, and whether memory stays flat in connections that have closed.

Workload: one bridge task on an m5.large in a private subnet opens connections to the
internet through a NAT gateway (task stack, veth, docker0, host forward, iptables NAT,
ENI, fabric, NAT gateway, internet gateway, internet: 10 devices a packet), constant
arrivals at ``--rate`` connections/s, one request each, held ``--hold`` seconds: each
connection takes a host conntrack entry, the instance's tracked connection and a NAT
gateway port, and gives them back when it closes. ``duration`` is set so that ``N``
connections open. Each count runs in a fresh interpreter, so that its peak memory is its
own.

Reported per count: CPU seconds of the run (``time.process_time``: loading, placement,
the data plane, the results), connections per CPU second, packet-hops per CPU second,
peak resident memory, and the growth of peak memory from the smallest count to each
(memory flat in closed connections means the growth stays small while the count grows
tenfold: at most ``rate x (hold + 1 ms)`` connections are open at once, whatever N).

``--packets`` also runs the same packets as a packet-only flow, which takes no state: the
difference is what the connection bookkeeping costs.

Usage::

    python benchmarks/bench_connections.py --connections 100000 1000000 --packets
    ECSNETSIM_PURE_PYTHON=1 python benchmarks/bench_connections.py --connections 100000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time
n, rate, hold = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
packets = sys.argv[4] == "1"
import ecsnetsim
from ecsnetsim.net import engine
sc = {
  "version": 1, "name": "bench-connections", "seed": 1, "duration": n / rate,
  "vpc": {"subnets": [
    {"name": "public-a", "cidr": "10.0.0.0/24", "az": "us-east-1a", "route": "igw"},
    {"name": "private-a", "cidr": "10.0.1.0/24", "az": "us-east-1a", "route": "nat:nat-a"}],
    "nat_gateways": [{"name": "nat-a", "subnet": "public-a"}]},
  "cluster": {"instance_groups": [{"name": "g", "type": "m5.large", "count": 1,
                                   "subnet": "private-a"}]},
  "services": [{"name": "app", "desired_count": 1, "network_mode": "bridge", "cpu": 256,
                "memory": 256}],
  "traffic": [{"name": "api", "from": "app", "to": "internet", "port": 443, "size": 200,
               "arrival": "constant",
               "connections": {"rate": rate, "requests": 1, "hold": hold}}],
}
if packets:  # the same packets as a packet flow: what the connections add
    sc["traffic"][0].pop("connections")
    sc["traffic"][0]["rate"] = rate
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.process_time()
res = ecsnetsim.simulate(sc, workers=1)
cpu = time.process_time() - t0
v = res.document["variants"][0]
f = v["flows"][0]
print(json.dumps({
  "connections": f["connections"]["opened"] if not packets else f["sent"],
  "failed": {} if packets else f["connections"]["failed"],
  "peak_open": 0 if packets else f["connections"]["peak_open"], "delivered": f["delivered"],
  "hops": f["hops"]["mean"], "cpu_s": cpu,
  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
  "rss_before_mib": before / 1024, "compiled": engine.COMPILED}))
"""


def run(n: int, rate: float, hold: float, packets: bool = False) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(n), str(rate), str(hold),
                          "1" if packets else "0"],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--connections", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--rate", type=float, default=20_000.0, help="connections per second")
    ap.add_argument("--hold", type=float, default=0.05, help="seconds each is held")
    ap.add_argument("--packets", action="store_true",
                    help="also run the same packets as a packet-only flow (no connections)")
    args = ap.parse_args(argv)
    rows = [{"n": n, **run(n, args.rate, args.hold)} for n in sorted(args.connections)]
    base = rows[0]["peak_rss_mib"]
    print(f"{'connections':>12}{'cpu s':>9}{'conn/cpu s':>12}{'hop/cpu s':>12}"
          f"{'peak open':>11}{'peak MiB':>10}{'growth MiB':>12}  compiled")
    for r in rows:
        hops = r["delivered"] * (r["hops"] or 0)
        print(f"{r['connections']:>12,}{r['cpu_s']:>9.2f}{r['connections'] / r['cpu_s']:>12,.0f}"
              f"{hops / r['cpu_s']:>12,.0f}{r['peak_open']:>11,}{r['peak_rss_mib']:>10.1f}"
              f"{r['peak_rss_mib'] - base:>12.1f}  {r['compiled']}")
        if r["failed"]:
            print(f"  refused: {r['failed']}")
    if args.packets:
        print("same packets, packet-only flow (no connection state):")
        for n in sorted(args.connections):
            r = run(n, args.rate, args.hold, packets=True)
            hops = r["delivered"] * (r["hops"] or 0)
            print(f"{r['connections']:>12,}{r['cpu_s']:>9.2f}{'':>12}{hops / r['cpu_s']:>12,.0f}"
                  f"{'':>11}{r['peak_rss_mib']:>10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
