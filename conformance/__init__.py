"""The conformance suite: adapter profiles, features and profiles, the runner that executes one
scenario against a live stack, and the pytest plugin that runs the library against any adapter."""

from conformance.features import ASM_CORE, EXTENDED, PROFILES, ConformanceProfile, Feature
from live.profile import BUNDLED_PROFILE, AdapterProfile, load_profile

__all__ = [
    "ASM_CORE",
    "BUNDLED_PROFILE",
    "EXTENDED",
    "PROFILES",
    "AdapterProfile",
    "ConformanceProfile",
    "Feature",
    "load_profile",
]
