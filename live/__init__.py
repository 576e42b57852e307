"""The live stack on loopback: an adapter under test started (or reached) as its profile says,
a fresh fake control plane, the echo upstream and a data plane (simulated or real Envoy) in front
of each adapter replica. Used by the conformance runner and by live what-ifs."""

from live.launch import AdapterError, RunningAdapter, start_adapter
from live.profile import BUNDLED_PROFILE, AdapterProfile, load_profile
from live.stack import Stack, StackError, bring_up

__all__ = [
    "BUNDLED_PROFILE",
    "AdapterError",
    "AdapterProfile",
    "RunningAdapter",
    "Stack",
    "StackError",
    "bring_up",
    "load_profile",
    "start_adapter",
]
