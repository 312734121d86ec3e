"""Comparison figures drawn from a run's results alone.

Every figure function takes a :class:`~ecsnetsim.results.Results` (or its
``results.json`` document as a dict) and returns a :class:`matplotlib.figure.Figure`,
or ``None`` when the results say nothing that figure would show (no traffic, no sweep,
nothing happening after start-up, ...):

==========================  ==============================================================
``hops_by_mode``            devices a packet crosses, one stacked bar per variant
``latency_by_mode``         each variant's one-way latency spread (box p25-p75, whiskers
                            p1-p99, p99.9 and max), the mean marked beside its value
``latency_cdf``             the distribution of one-way latency per variant, log x axis
``overhead_by_device``      latency each device kind adds against the baseline variant
``overhead_vs_load``        mean and p99 latency (and drops) against the swept value
``tasks_per_instance``      running tasks per instance, by AZ, with the awsvpc task limit
``placement_outcome``       running tasks, tasks not running by reason, surge, failed starts
``packet_fate``             where packets stop: arrived, dropped, unreachable and why
``device_utilization``      the busiest devices and shared resources, drops annotated
``deployment_timeline``     tasks over time, zoomed to the action, the whole run beside it
``over_time``               per window: each flow's packets and latency, device queues
==========================  ==============================================================

``compare_modes(res)`` is the network-mode comparison (hops, or latency, or overhead by
device). ``write_all`` writes every applicable figure as ``<name>.png`` (and ``.svg``
when asked); ``save`` writes one figure. The same results give byte-identical files.
Whether a figure applies is decided without matplotlib (:mod:`.figdata`, which also
holds the numbers of the latency and time-series figures as plain dataclasses).
Figures are drawn on the Agg canvas without pyplot, so they need no screen and leave
pyplot's state alone; in a notebook the returned figure displays as usual.

The package is laid out as one module per figure, :mod:`.style` (rc settings, colours,
the helpers that build and lay out a figure) and :mod:`.data` (what the figures read
from a results document). Importing it is cheap: matplotlib is imported when a figure
is first asked for.

>>> from ecsnetsim import plots
>>> plots.FIGURE_NAMES[:3]
('hops_by_mode', 'latency_by_mode', 'latency_cdf')
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what __getattr__ hands out, for readers and type checkers
    from .cdf import latency_cdf
    from .data import RESOLUTION_US
    from .fate import packet_fate
    from .files import applicable, write_all
    from .hops import hops_by_mode
    from .latency import latency_by_mode
    from .load import overhead_vs_load
    from .output import FIGURES, compare_modes
    from .overhead import overhead_by_device
    from .overtime import over_time
    from .placement import placement_outcome
    from .saving import save
    from .style import KIND_COLORS, MODE_COLORS, REASON_COLORS, STYLE
    from .tasks import tasks_per_instance
    from .timeline import deployment_timeline
    from .utilization import device_utilization

#: Figure name (its file name and function) -> the module that draws it, in the order
#: ``write_all`` writes them.
_MODULES = {
    "hops_by_mode": "hops",
    "latency_by_mode": "latency",
    "latency_cdf": "cdf",
    "overhead_by_device": "overhead",
    "overhead_vs_load": "load",
    "tasks_per_instance": "tasks",
    "placement_outcome": "placement",
    "packet_fate": "fate",
    "device_utilization": "utilization",
    "deployment_timeline": "timeline",
    "over_time": "overtime",
}
#: Every figure's name, without importing matplotlib.
FIGURE_NAMES: tuple[str, ...] = tuple(_MODULES)

_OTHERS = {
    "FIGURES": "output", "compare_modes": "output", "save": "saving", "write_all": "files",
    "applicable": "files",
    "STYLE": "style", "MODE_COLORS": "style", "KIND_COLORS": "style",
    "REASON_COLORS": "style", "RESOLUTION_US": "data",
}

__all__ = [
    "FIGURES", "FIGURE_NAMES", "KIND_COLORS", "MODE_COLORS", "REASON_COLORS", "RESOLUTION_US",
    "STYLE", "applicable", "compare_modes", "deployment_timeline", "device_utilization",
    "hops_by_mode", "latency_by_mode", "latency_cdf", "over_time", "overhead_by_device",
    "overhead_vs_load", "packet_fate", "placement_outcome", "save", "tasks_per_instance",
    "write_all",
]


def __getattr__(name: str) -> Any:
    """Import a figure's module (and with it matplotlib) when it is first used."""
    module = _MODULES.get(name) or _OTHERS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
