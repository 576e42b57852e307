"""What the mutation run mutates: the reference adapter's files whose behaviour the contract
specifies (policies, decision engine and gatekeeper, sync and its schedule, the state cache, the
analytics batcher and events, the data-plane faces), and the code left out, with the reason."""

from __future__ import annotations

from benchmarks.mutation.operators import Mutant, mutants_of

CORE: tuple[str, ...] = (
    "reference_adapter/adapter.py",
    "reference_adapter/batcher.py",
    "reference_adapter/cache.py",
    "reference_adapter/contracts.py",
    "reference_adapter/control_plane.py",
    "reference_adapter/engine.py",
    "reference_adapter/events.py",
    "reference_adapter/grpc_face.py",
    "reference_adapter/http_face.py",
    "reference_adapter/model.py",
    "reference_adapter/schedule.py",
    "reference_adapter/sync.py",
    "reference_adapter/windows.py",
    "reference_adapter/policies/client_id_enforcement.py",
    "reference_adapter/policies/credentials.py",
    "reference_adapter/policies/http_basic_authentication.py",
    "reference_adapter/policies/rate_limiting.py",
    "reference_adapter/policies/rate_limiting_sla.py",
    "reference_adapter/policies/registry.py",
)
"""The decision engine and gatekeeper, sync and its schedule, the analytics batcher and
events, both faces, and the ASM core policies without JWT and LDAP."""

EXTENDED: tuple[str, ...] = (
    "reference_adapter/jwks.py",
    "reference_adapter/policies/base.py",
    "reference_adapter/policies/cors.py",
    "reference_adapter/policies/headers.py",
    "reference_adapter/policies/bounded_regex.py",
    "reference_adapter/policies/ip_filter.py",
    "reference_adapter/policies/json_threat_protection.py",
    "reference_adapter/policies/jwt_validation.py",
    "reference_adapter/policies/ldap_authentication.py",
    "reference_adapter/policies/spike_control.py",
)
"""JWT (and its JWKS registry), LDAP, the configuration reader and the extended profile."""

FILES: tuple[str, ...] = CORE + EXTENDED
SCOPES: dict[str, tuple[str, ...]] = {"core": CORE, "extended": EXTENDED, "all": FILES}

OPERATORS = frozenset(
    {
        "compare", "off-by-one", "status", "constant", "if-false", "if-true", "bool-op",
        "drop-not", "drop-minus", "arith", "min-max", "return-none", "drop-call", "drop-update",
    }
)  # fmt: skip
"""The default operators. ``string`` (names, keys and message texts) is opt-in: most of its
mutants rename a configuration key or change a message the contract leaves free."""

LEFT_OUT_FILES: dict[str, str] = {
    "reference_adapter/__init__.py": "re-exports only",
    "reference_adapter/__main__.py": "the command line; the library starts the adapter in-process",
    "reference_adapter/commands.py": "the command line; the library starts the adapter in-process",
    "reference_adapter/launch.py": "the in-process factory the harness itself calls",
    "reference_adapter/settings.py": "settings validation (pydantic); tested by its unit tests",
    "reference_adapter/bench.py": "the adapter benchmark",
    "reference_adapter/redis_windows.py": "the Redis counters: behind redis_url, which no scenario"
    " sets (in-process replicas share counters in memory)",
    "reference_adapter/policies/__init__.py": "re-exports only",
    "reference_adapter/sync_apply.py": "came with a later main, after the measurement in"
    " docs/mutation.md: to add to the core scope at the next full run",
    "reference_adapter/metrics.py": "came with a later main, after the measurement in"
    " docs/mutation.md: to add to the core scope at the next full run",
}

LEFT_OUT_SCOPES: dict[tuple[str, str], str] = {
    ("reference_adapter/contracts.py", "ContractStore.put"): "what-if engines only",
    ("reference_adapter/contracts.py", "ContractStore.api_ids"): "what-if engines only",
    ("reference_adapter/engine.py", "DecisionEngine.put_contracts"): "what-if engines only",
    ("reference_adapter/engine.py", "DecisionEngine.add_api"): "what-if engines only",
    ("reference_adapter/engine.py", "DecisionEngine.status"): "a health summary no face serves",
    ("reference_adapter/windows.py", "InMemoryWindows.forget"): "what-if engines only",
    ("reference_adapter/windows.py", "InMemoryWindows.__len__"): "what-if engines only",
    ("reference_adapter/schedule.py", "SyncSchedule.ever_succeeded"): "what-if engines only",
    ("reference_adapter/batcher.py", "AnalyticsBatcher.is_due"): "what-if engines only",
    ("reference_adapter/batcher.py", "AnalyticsBatcher.pending"): "what-if engines only",
    ("reference_adapter/policies/rate_limiting.py", "RateLimiting.check_async"): "the Redis"
    " counters (redis_url)",
    ("reference_adapter/policies/rate_limiting_sla.py", "RateLimitingSla.check_async"): "the"
    " Redis counters (redis_url)",
    ("reference_adapter/engine.py", "DecisionEngine.ready"): "only the readiness hook below"
    " and the what-if engines ask it",
    ("reference_adapter/policies/registry.py", "register"): "the extension hook for adding a"
    " policy implementation; the adapter never calls it",
    ("reference_adapter/adapter.py", "ReferenceAdapter.wait_ready"): "the kit's readiness hook for"
    " in-process adapters, not adapter behaviour (a command adapter is polled instead)",
}
"""Functions of in-scope files that no scenario can reach, with the reason."""


def left_out(mutant: Mutant) -> str | None:
    """Why a mutant is out of scope, or None."""
    for (path, scope), reason in LEFT_OUT_SCOPES.items():
        if mutant.path == path and (mutant.scope == scope or mutant.scope.startswith(scope + ".")):
            return reason
    return None


def all_mutants(
    files: tuple[str, ...] = FILES, operators: frozenset[str] = OPERATORS
) -> list[Mutant]:
    """Every in-scope mutant of ``operators``, in file order."""
    found: list[Mutant] = []
    for path in files:
        found.extend(m for m in mutants_of(path) if m.operator in operators and left_out(m) is None)
    return found
