"""The model: what the cluster is made of, as plain data with its invariants.

Container instances and their tasks (``instance``), a task's states (``states``), the
tally of a service's tasks (``tally``), Fargate micro-VMs (``fargate``), subnet address
pools (``ipam``), host port tables (``ports``) and the cluster query language that
selects instances (``query``). Nothing here imports the control plane, the network
modes, the scenario or the data plane: they all build on it, so it is the floor of the
package (with ``catalog``, ``units`` and ``errors``).

Its hot modules may run compiled (:mod:`ecsnetsim.compiled`); this decides, before any
of them is imported, whether they load from their source instead.
"""

from ..compiled import run_from_source

run_from_source(__path__)
