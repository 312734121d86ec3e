"""ecsnetsim: a discrete-event simulator of Amazon ECS task network modes on EC2.

>>> import ecsnetsim
>>> sc = ecsnetsim.load_scenario("scenarios/compare-modes.yaml")
>>> res = ecsnetsim.simulate(sc, seed=1)
"""

__version__ = "0.1.0"

from . import modes  # noqa: E402
from .errors import InputError, ScenarioError  # noqa: E402
from .results import Results, Table  # noqa: E402
from .scenario import Scenario, load_scenario, question  # noqa: E402
from .simulate import simulate  # noqa: E402

__all__ = ["InputError", "Results", "Scenario", "ScenarioError", "Table", "__version__",
           "load_scenario", "modes", "question", "simulate"]
