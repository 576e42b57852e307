"""The simulated Envoy (ext_authz gRPC and HTTP callers with Envoy 1.40's semantics), the echo
upstream, and a scripted adapter for tests and benchmarks.
"""

from simulator.echo import EchoUpstream
from simulator.envoy import SimulatedEnvoy
from simulator.features import (
    HeaderMutationRules,
    HeaderToMetadata,
    LocalReplyConfig,
    LocalReplyMapper,
    MetadataMatcher,
    RetryPolicy,
)
from simulator.model import (
    ClientRequest,
    ClientResponse,
    DataPlane,
    DirectResponse,
    Route,
    UpstreamRequest,
)
from simulator.real_envoy import EnvoyNotAvailable, RealEnvoy
from simulator.scripted_adapter import HttpAnswer, ScriptedAdapter
from simulator.settings import (
    ASM_API_ID_HEADER,
    BufferSettings,
    EnvoySettings,
    HeaderToAdd,
    HttpServiceSettings,
    StringMatcher,
)
from simulator.tls import ListenerTls, make_test_pki

__all__ = [
    "ASM_API_ID_HEADER",
    "BufferSettings",
    "ClientRequest",
    "ClientResponse",
    "DataPlane",
    "DirectResponse",
    "EchoUpstream",
    "EnvoyNotAvailable",
    "EnvoySettings",
    "HeaderMutationRules",
    "HeaderToAdd",
    "HeaderToMetadata",
    "HttpAnswer",
    "HttpServiceSettings",
    "ListenerTls",
    "LocalReplyConfig",
    "LocalReplyMapper",
    "MetadataMatcher",
    "RealEnvoy",
    "RetryPolicy",
    "Route",
    "ScriptedAdapter",
    "SimulatedEnvoy",
    "StringMatcher",
    "UpstreamRequest",
    "make_test_pki",
]
