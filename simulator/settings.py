"""The ext_authz filter settings the simulated (and real) Envoy runs with.

Field names follow Envoy's `envoy.extensions.filters.http.ext_authz.v3.ExtAuthz` config, so a
setting reads the same here, in the generated real-Envoy config and in Envoy's docs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from simulator.tls import ListenerTls

if TYPE_CHECKING:
    from simulator.features import (
        HeaderMutationRules,
        HeaderToMetadata,
        LocalReplyConfig,
        MetadataMatcher,
        RetryPolicy,
    )

Transport = Literal["grpc", "http"]


def _fail(name: str, value: object, fix: str) -> ValueError:
    return ValueError(f"EnvoySettings.{name}={value!r} is not valid: {fix}")


@dataclass(frozen=True)
class StringMatcher:
    """One `envoy.type.matcher.v3.StringMatcher`: exactly one of the match fields is set."""

    exact: str | None = None
    prefix: str | None = None
    suffix: str | None = None
    contains: str | None = None
    safe_regex: str | None = None
    ignore_case: bool = False

    def __post_init__(self) -> None:
        set_fields = [
            n
            for n in ("exact", "prefix", "suffix", "contains", "safe_regex")
            if getattr(self, n) is not None
        ]
        if len(set_fields) != 1:
            raise ValueError(
                f"StringMatcher needs exactly one of exact/prefix/suffix/contains/safe_regex, "
                f"got {set_fields or 'none'}: set one, e.g. StringMatcher(exact='client_id')"
            )

    def matches(self, value: str) -> bool:
        if self.safe_regex is not None:
            flags = re.IGNORECASE if self.ignore_case else 0
            return re.fullmatch(self.safe_regex, value, flags) is not None
        v = value.lower() if self.ignore_case else value

        def norm(s: str) -> str:
            return s.lower() if self.ignore_case else s

        if self.exact is not None:
            return v == norm(self.exact)
        if self.prefix is not None:
            return v.startswith(norm(self.prefix))
        if self.suffix is not None:
            return v.endswith(norm(self.suffix))
        assert self.contains is not None
        return norm(self.contains) in v

    def to_envoy(self) -> dict[str, object]:
        """The matcher as Envoy JSON config."""
        out: dict[str, object] = {}
        for name in ("exact", "prefix", "suffix", "contains"):
            val = getattr(self, name)
            if val is not None:
                out[name] = val
        if self.safe_regex is not None:
            out["safe_regex"] = {"regex": self.safe_regex}
        if self.ignore_case:
            out["ignore_case"] = True
        return out


def any_match(matchers: Sequence[StringMatcher], value: str) -> bool:
    return any(m.matches(value) for m in matchers)


def exact(*names: str) -> list[StringMatcher]:
    """Shorthand: exact matchers for the given header names."""
    return [StringMatcher(exact=n) for n in names]


@dataclass(frozen=True)
class BufferSettings:
    """`with_request_body`: buffer the client body and send it with the check."""

    max_request_bytes: int
    allow_partial_message: bool = False
    pack_as_bytes: bool = False

    def __post_init__(self) -> None:
        if self.max_request_bytes <= 0:
            raise ValueError(
                f"BufferSettings.max_request_bytes={self.max_request_bytes!r} is not valid: "
                "Envoy requires a positive byte count, e.g. 8192"
            )


@dataclass(frozen=True)
class HeaderToAdd:
    """One `authorization_request.headers_to_add` entry (HTTP mode): a fixed header."""

    key: str
    value: str


# Kit convention (docs/adapter-contract.md §1.2): in HTTP mode the API id travels in this header,
# filled from the route's context_extensions (emitted as route metadata namespace "asmkit").
ASM_API_ID_HEADER = HeaderToAdd("x-asm-api-id", "%METADATA(ROUTE:asmkit:api_id)%")


@dataclass(frozen=True)
class HttpServiceSettings:
    """`http_service`: only used when `transport == "http"`."""

    path_prefix: str = ""
    headers_to_add: tuple[HeaderToAdd, ...] = ()
    allowed_upstream_headers: tuple[StringMatcher, ...] = ()
    allowed_upstream_headers_to_append: tuple[StringMatcher, ...] = ()
    # None = Envoy's default: every auth-response header except Host goes to the client on deny.
    allowed_client_headers: tuple[StringMatcher, ...] | None = None
    allowed_client_headers_on_success: tuple[StringMatcher, ...] = ()
    # Auth-answer headers emitted as dynamic metadata (namespace envoy.filters.http.ext_authz).
    dynamic_metadata_from_headers: tuple[StringMatcher, ...] = ()

    def __post_init__(self) -> None:
        if self.path_prefix and not self.path_prefix.startswith("/"):
            raise ValueError(
                f"HttpServiceSettings.path_prefix={self.path_prefix!r} is not valid: "
                "it must start with '/', e.g. '/authz'"
            )


@dataclass(frozen=True)
class EnvoySettings:
    """The ext_authz filter configuration (plus the few listener facts a CheckRequest shows)."""

    transport: Transport = "grpc"
    authz_host: str = "127.0.0.1"
    authz_port: int = 9001
    timeout_ms: int = 200
    failure_mode_allow: bool = False
    failure_mode_allow_header_add: bool = False
    status_on_error: int = 403
    with_request_body: BufferSettings | None = None
    # gRPC and HTTP: header allow/deny lists for the check (None = Envoy's mode default).
    allowed_headers: tuple[StringMatcher, ...] | None = None
    disallowed_headers: tuple[StringMatcher, ...] = ()
    include_peer_certificate: bool = False
    include_tls_session: bool = False
    validate_mutations: bool = False
    # Send headers as `header_map` (one entry per line, raw bytes) instead of the merged map.
    encode_raw_headers: bool = False
    # Cut the body of a deny to this many bytes (0 = no limit).
    max_denied_response_body_bytes: int = 0
    http_service: HttpServiceSettings = field(default_factory=HttpServiceSettings)
    # The gRPC `:authority` Envoy uses for the Check call: the authz cluster name.
    grpc_authority: str = "ext_authz"
    # Listener facts shown in `attributes.destination` (the real Envoy listens here too).
    listener_host: str = "127.0.0.1"
    listener_port: int = 10000
    # TLS on the listener (None = plaintext); see simulator.tls.make_test_pki.
    listener_tls: ListenerTls | None = None
    # The route timeout Envoy's router announces upstream (x-envoy-expected-rq-timeout-ms).
    route_timeout_ms: int = 15000
    # Re-pick the route after an OK answer changed headers or the query.
    clear_route_cache: bool = False
    # The connection manager's `use_remote_address`: before any filter, append the client's
    # address to x-forwarded-for (the host's own address for a client at 127.0.0.1) and set
    # x-envoy-external-address to it; how an HTTP-mode auth server learns the client address.
    use_remote_address: bool = False
    # Dynamic metadata namespaces copied into `metadata_context`, and route metadata namespaces
    # copied into `route_metadata_context`.
    metadata_context_namespaces: tuple[str, ...] = ()
    route_metadata_context_namespaces: tuple[str, ...] = ()
    # `filter_enabled` (percent of requests checked), `filter_enabled_metadata` (check only
    # when the dynamic metadata matches) and `deny_at_disable` (status_on_error when not).
    filter_enabled: int = 100
    filter_enabled_metadata: MetadataMatcher | None = None
    deny_at_disable: bool = False
    # `destination.labels` = the bootstrap node metadata under this key (gRPC).
    bootstrap_metadata_labels_key: str = ""
    node_metadata: Mapping[str, Any] = field(default_factory=dict)
    decoder_header_mutation_rules: HeaderMutationRules | None = None
    # The authz service's retry policy (grpc_service/http_service `retry_policy`).
    retry_policy: RetryPolicy | None = None
    # The connection manager's `local_reply_config` (rewrites every local reply).
    local_reply_config: LocalReplyConfig | None = None
    # A header_to_metadata filter before ext_authz: how requests get dynamic metadata here.
    header_to_metadata: tuple[HeaderToMetadata, ...] = ()
    # Runtime `http.async_response_buffer_limit`: a bigger HTTP auth answer is an error.
    async_response_buffer_limit: int | None = None

    def __post_init__(self) -> None:
        if self.transport not in ("grpc", "http"):
            raise _fail("transport", self.transport, "use 'grpc' or 'http'")
        if not 0 < self.authz_port < 65536:
            raise _fail("authz_port", self.authz_port, "use the adapter's port, 1-65535")
        if self.timeout_ms <= 0:
            raise _fail("timeout_ms", self.timeout_ms, "use a positive number of milliseconds")
        if not 200 <= self.status_on_error <= 599:
            raise _fail("status_on_error", self.status_on_error, "use an HTTP status, 200-599")
        if self.with_request_body is not None and not isinstance(
            self.with_request_body, BufferSettings
        ):
            raise _fail("with_request_body", self.with_request_body, "pass BufferSettings(...)")
        if self.max_denied_response_body_bytes < 0:
            raise _fail(
                "max_denied_response_body_bytes",
                self.max_denied_response_body_bytes,
                "use 0 (no limit) or a positive byte count",
            )
        if not 0 <= self.filter_enabled <= 100:
            raise _fail("filter_enabled", self.filter_enabled, "use a percentage, 0-100")
        if self.async_response_buffer_limit is not None and self.async_response_buffer_limit <= 0:
            raise _fail(
                "async_response_buffer_limit",
                self.async_response_buffer_limit,
                "use None (Envoy's default) or a positive byte count",
            )
        if self.allowed_headers is not None:
            object.__setattr__(self, "allowed_headers", tuple(self.allowed_headers))
        for name in (
            "disallowed_headers",
            "metadata_context_namespaces",
            "route_metadata_context_namespaces",
            "header_to_metadata",
        ):
            value = getattr(self, name)
            if isinstance(value, str):
                raise _fail(name, value, "give a tuple, e.g. ('lab.dyn',)")
            object.__setattr__(self, name, tuple(value))
        object.__setattr__(self, "node_metadata", dict(self.node_metadata))

    @property
    def expected_timeout_ms(self) -> int:
        """What the authz call announces in x-envoy-expected-rq-timeout-ms: the timeout, or
        the retry policy's per-try timeout when that is shorter."""
        if self.retry_policy is None:
            return self.timeout_ms
        return min(self.timeout_ms, self.retry_policy.per_try_timeout_ms)

    @classmethod
    def istio_custom(
        cls,
        transport: Transport = "grpc",
        authz_host: str = "127.0.0.1",
        authz_port: int = 9001,
        *,
        include_request_headers_in_check: Sequence[str] = (),
        headers_to_upstream_on_allow: Sequence[str] = (),
        headers_to_downstream_on_deny: Sequence[str] | None = None,
        headers_to_downstream_on_allow: Sequence[str] = (),
        include_additional_headers_in_check: dict[str, str] | None = None,
        path_prefix: str = "",
        fail_open: bool = False,
        status_on_error: int = 403,
        timeout_ms: int = 600_000,
        with_request_body: BufferSettings | None = None,
    ) -> EnvoySettings:
        """What Istio generates for an `AuthorizationPolicy action: CUSTOM` provider.

        Timeout 600 s (Istio's default), no `allowed_headers` in gRPC mode, case-insensitive
        header patterns (`abc*` prefix, `*abc` suffix) in HTTP mode. Long because it is one
        declarative settings value.
        """

        def istio_matchers(patterns: Sequence[str]) -> tuple[StringMatcher, ...]:
            out: list[StringMatcher] = []
            for p in patterns:
                if p == "*":
                    raise ValueError(
                        "istio_custom: a lone '*' header pattern is rejected by Istio; "
                        "name the headers or use a prefix such as 'x-*'"
                    )
                if p.endswith("*"):
                    out.append(StringMatcher(prefix=p[:-1], ignore_case=True))
                elif p.startswith("*"):
                    out.append(StringMatcher(suffix=p[1:], ignore_case=True))
                else:
                    out.append(StringMatcher(exact=p, ignore_case=True))
            return tuple(out)

        check_headers = istio_matchers(include_request_headers_in_check)
        cluster = f"outbound|{authz_port}||{authz_host}"
        http = HttpServiceSettings(
            path_prefix=path_prefix,
            headers_to_add=tuple(
                HeaderToAdd(k, v)
                for k, v in sorted((include_additional_headers_in_check or {}).items())
            ),
            allowed_upstream_headers=istio_matchers(headers_to_upstream_on_allow),
            allowed_client_headers=(
                None
                if headers_to_downstream_on_deny is None
                else istio_matchers(headers_to_downstream_on_deny)
            ),
            allowed_client_headers_on_success=istio_matchers(headers_to_downstream_on_allow),
        )
        return cls(
            transport=transport,
            authz_host=authz_host,
            authz_port=authz_port,
            timeout_ms=timeout_ms,
            failure_mode_allow=fail_open,
            status_on_error=status_on_error,
            with_request_body=with_request_body,
            # Istio sets no allowed_headers in gRPC mode: every header is sent.
            allowed_headers=check_headers if transport == "http" and check_headers else None,
            http_service=http,
            grpc_authority=cluster.replace("|", "_."),
        )
