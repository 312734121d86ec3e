"""The control plane: instances, placement, task lifecycles, services and deployments.

Its hot modules may run compiled (:mod:`ecsnetsim.compiled`); this decides, before any
of them is imported, whether they load from their source instead.
"""

from ..compiled import run_from_source

run_from_source(__path__)
