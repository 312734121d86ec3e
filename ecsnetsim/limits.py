"""The connection limits a run hit, named as Linux and AWS name them, with their counters:
what the text summary, the answer line and ``report.html`` say.

Read from a variant's block of ``results.json`` (instance rows through the declarations
of :mod:`ecsnetsim.model.resources`, NAT gateways, flows' refused connections), so that
the summary and the report print the same cells.

Examples
--------
>>> v = {"placement": {"instances": [{"id": "i-1", "conntrack":
...      {"peak": 500, "max": 500, "dropped": 919}}]}, "flows": [],
...      "nat_gateways": [{"name": "nat-a", "peak_connections_per_destination": 55000,
...                        "error_port_allocation": 12}]}
>>> for row in limit_rows(v):
...     print(row)
('i-1', 'nf_conntrack: table full, dropping packet', 919, 'peak 500 of 500 entries')
('nat-a', 'ErrorPortAllocation', 12, 'peak 55000 of 55000 connections to one destination')
>>> facts(v)
['conntrack table full on 1 instance', 'NAT gateway ErrorPortAllocation']
"""

from __future__ import annotations

from .model.conntrack import NAT_GATEWAY_PORTS_PER_DESTINATION
from .model.resources import limits_hit

#: What the answer line calls each refusal (short, as an operator would say it).
SHORT = {
    "nf_conntrack: table full, dropping packet": "conntrack table full",
    "conntrack_allowance_exceeded": "ENA conntrack allowance exceeded",
    "linklocal_allowance_exceeded": "link-local allowance exceeded (1024 packets/s per ENI)",
    "EADDRNOTAVAIL": "ephemeral ports exhausted (EADDRNOTAVAIL)",
    "pps_allowance_exceeded": "ENA PPS allowance exceeded",
    "bw_in_allowance_exceeded": "ENA inbound bandwidth allowance exceeded",
    "bw_out_allowance_exceeded": "ENA outbound bandwidth allowance exceeded",
}


def limit_rows(v: dict) -> list[tuple[str, str, int, str]]:
    """``(where, failure name, count, detail)`` for every limit a variant hit: each
    instance's declared resources that refused something, then each NAT gateway that
    refused connections."""
    rows = []
    for inst_id, resource, usage in limits_hit(v["placement"]["instances"]):
        if usage.used is not None and usage.limit is not None:
            detail = f"peak {_number(usage.used)} of {_amount(usage.limit, resource.unit)}"
        elif usage.limit is not None:
            detail = f"limit {_amount(usage.limit, resource.unit)}"
        else:  # a results file without the limit (written before it was kept)
            detail = resource.source
        rows.append((inst_id, resource.failure, usage.exceeded or 0, detail))
    for g in v.get("nat_gateways") or []:
        if g["error_port_allocation"]:
            rows.append((g["name"], "ErrorPortAllocation", g["error_port_allocation"],
                         f"peak {g['peak_connections_per_destination']} of "
                         f"{NAT_GATEWAY_PORTS_PER_DESTINATION} connections to one destination"))
    return rows


def _number(x: float) -> str:
    """A count or rate as a person reads it: whole numbers in full (1000000, not 1e+06).

    >>> _number(1e6), _number(65536), _number(0.5)
    ('1000000', '65536', '0.5')
    """
    return f"{x:.0f}" if float(x).is_integer() else f"{x:g}"


def _amount(x: float, unit: str) -> str:
    """``x`` in ``unit``, and in Gbps too for a bandwidth in bytes/s (as AWS states it).

    >>> _amount(64e6, "bytes/s")
    '64000000 bytes/s (0.512 Gbps)'
    """
    text = f"{_number(x)} {unit}"
    return f"{text} ({x * 8 / 1e9:g} Gbps)" if unit == "bytes/s" else text


def facts(v: dict) -> list[str]:
    """The limits hit, short, for the answer line (one phrase per kind of limit)."""
    count: dict[str, int] = {}
    for _where, name, _n, _detail in limit_rows(v):
        if name == "ErrorPortAllocation":
            continue
        count[name] = count.get(name, 0) + 1
    out = [f"{SHORT.get(name, name)} on {n} instance{'s' if n > 1 else ''}"
           for name, n in count.items()]
    if any(name == "ErrorPortAllocation" for _w, name, _n, _d in limit_rows(v)):
        out.append("NAT gateway ErrorPortAllocation")
    return out


def summary_lines(v: dict) -> list[str]:
    """The summary's lines for a variant: each limit hit with its counter, then each
    connection-level flow's refused connections by name."""
    out = [f"limit hit at {where}: {name} x{n} ({detail})"
           for where, name, n, detail in limit_rows(v)]
    for f in v["flows"]:
        conns = f.get("connections")
        if conns is None:
            continue
        failed = ", ".join(f"{k} x{n}" for k, n in conns["failed"].items()) or "none"
        out.append(f"{f['name']} connections: {conns['opened']} opened, {conns['completed']} "
                   f"completed, peak {conns['peak_open']} open; failed: {failed}")
    return out


def modelled(doc: dict) -> bool:
    """Whether a run modelled connections (so that its report has a table of limits)."""
    return any(v.get("nat_gateways") is not None or any(
        "conntrack" in i or "ena" in i for i in v["placement"]["instances"])
        for v in doc["variants"])
