"""Scenario format v1: schema, loading with located errors, overrides and variants."""

from .loader import Source, VariantSpec, load_scenario, question, source_of, variants_of
from .schema import NETWORK_MODES, Scenario

__all__ = ["NETWORK_MODES", "Scenario", "Source", "VariantSpec", "load_scenario", "question",
           "source_of", "variants_of"]
