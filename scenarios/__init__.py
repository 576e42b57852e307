"""The scenario format (pydantic models that also emit the JSON Schema), its loader with
``file:line`` errors, and the scenario library itself (the ``*.scenario.yaml`` files here)."""

from pathlib import Path

from scenarios.loader import SUFFIX, ScenarioFile, load_scenario
from scenarios.model import Scenario
from scenarios.problems import Problem, ScenarioError

LIBRARY = Path(__file__).parent
"""The folder of the bundled scenario library."""

__all__ = [
    "LIBRARY",
    "SUFFIX",
    "Problem",
    "Scenario",
    "ScenarioError",
    "ScenarioFile",
    "load_scenario",
]
