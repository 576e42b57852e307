"""Policy implementations (one module per API Manager policy) and the registry that configures
them from applied-policy JSON."""

from reference_adapter.policies.base import ConfigReader, Policy, PolicyConfigError
from reference_adapter.policies.registry import (
    REGISTRY,
    AppliedPolicy,
    Pointcut,
    build_chain,
    build_policy,
    register,
)

__all__ = [
    "REGISTRY",
    "AppliedPolicy",
    "ConfigReader",
    "Pointcut",
    "Policy",
    "PolicyConfigError",
    "build_chain",
    "build_policy",
    "register",
]
