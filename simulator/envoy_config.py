"""Turn `EnvoySettings` + routes into a real Envoy 1.40 bootstrap config (JSON-able dict):
listener with ext_authz → router, the upstream cluster, the authz cluster, admin on loopback.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from simulator.model import Route
from simulator.settings import EnvoySettings, StringMatcher

EXT_AUTHZ = "envoy.filters.http.ext_authz"
ROUTE_METADATA = "asmkit"  # route metadata namespace holding a route's context_extensions
_T = "type.googleapis.com/"


def _duration(ms: int) -> str:
    return f"{ms / 1000:.3f}s"


def _list(matchers: tuple[StringMatcher, ...]) -> dict[str, Any]:
    return {"patterns": [m.to_envoy() for m in matchers]}


def _cluster(name: str, host: str, port: int, http2: bool) -> dict[str, Any]:
    cluster: dict[str, Any] = {
        "name": name,
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [
                {
                    "lb_endpoints": [
                        {
                            "endpoint": {
                                "address": {"socket_address": {"address": host, "port_value": port}}
                            }
                        }
                    ]
                }
            ],
        },
    }
    if http2:
        cluster["typed_extension_protocol_options"] = {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": _T + "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http2_protocol_options": {}},
            }
        }
    return cluster


def ext_authz_filter(settings: EnvoySettings) -> dict[str, Any]:
    """The ext_authz filter's Envoy config. Long because it is one declarative dict, kept whole so
    it reads like the YAML Envoy loads."""
    s = settings
    cfg: dict[str, Any] = {
        "@type": _T + "envoy.extensions.filters.http.ext_authz.v3.ExtAuthz",
        "transport_api_version": "V3",
        "failure_mode_allow": s.failure_mode_allow,
        "failure_mode_allow_header_add": s.failure_mode_allow_header_add,
        "status_on_error": {"code": s.status_on_error},
        "include_peer_certificate": s.include_peer_certificate,
        "include_tls_session": s.include_tls_session,
        "validate_mutations": s.validate_mutations,
    }
    if s.transport == "grpc":
        grpc: dict[str, Any] = {"cluster_name": "ext_authz"}
        if s.grpc_authority != "ext_authz":
            grpc["authority"] = s.grpc_authority
        cfg["grpc_service"] = {"envoy_grpc": grpc, "timeout": _duration(s.timeout_ms)}
        if s.retry_policy is not None:
            cfg["grpc_service"]["retry_policy"] = s.retry_policy.to_envoy()
    else:
        h = s.http_service
        response: dict[str, Any] = {}
        if h.allowed_upstream_headers:
            response["allowed_upstream_headers"] = _list(h.allowed_upstream_headers)
        if h.allowed_upstream_headers_to_append:
            response["allowed_upstream_headers_to_append"] = _list(
                h.allowed_upstream_headers_to_append
            )
        if h.allowed_client_headers is not None:
            response["allowed_client_headers"] = _list(h.allowed_client_headers)
        if h.allowed_client_headers_on_success:
            response["allowed_client_headers_on_success"] = _list(
                h.allowed_client_headers_on_success
            )
        if h.dynamic_metadata_from_headers:
            response["dynamic_metadata_from_headers"] = _list(h.dynamic_metadata_from_headers)
        http: dict[str, Any] = {
            "server_uri": {
                "uri": f"http://{s.authz_host}:{s.authz_port}",
                "cluster": "ext_authz",
                "timeout": _duration(s.timeout_ms),
            },
            "path_prefix": h.path_prefix,
        }
        if h.headers_to_add:
            http["authorization_request"] = {
                "headers_to_add": [{"key": a.key, "value": a.value} for a in h.headers_to_add]
            }
        if response:
            http["authorization_response"] = response
        if s.retry_policy is not None:
            http["retry_policy"] = s.retry_policy.to_envoy()
        cfg["http_service"] = http
    if s.with_request_body is not None:
        b = s.with_request_body
        cfg["with_request_body"] = {
            "max_request_bytes": b.max_request_bytes,
            "allow_partial_message": b.allow_partial_message,
            "pack_as_bytes": b.pack_as_bytes,
        }
    if s.encode_raw_headers:
        cfg["encode_raw_headers"] = True
    if s.max_denied_response_body_bytes:
        cfg["max_denied_response_body_bytes"] = s.max_denied_response_body_bytes
    if s.allowed_headers is not None:
        cfg["allowed_headers"] = _list(s.allowed_headers)
    if s.disallowed_headers:
        cfg["disallowed_headers"] = _list(s.disallowed_headers)
    _optional_features(s, cfg)
    return {"name": EXT_AUTHZ, "typed_config": cfg}


def _optional_features(s: EnvoySettings, cfg: dict[str, Any]) -> None:
    if s.clear_route_cache:
        cfg["clear_route_cache"] = True
    if s.metadata_context_namespaces:
        cfg["metadata_context_namespaces"] = list(s.metadata_context_namespaces)
    if s.route_metadata_context_namespaces:
        cfg["route_metadata_context_namespaces"] = list(s.route_metadata_context_namespaces)
    if s.filter_enabled != 100:
        cfg["filter_enabled"] = {
            "default_value": {"numerator": s.filter_enabled, "denominator": "HUNDRED"},
            "runtime_key": "asmkit.ext_authz.filter_enabled",
        }
    if s.filter_enabled_metadata is not None:
        cfg["filter_enabled_metadata"] = s.filter_enabled_metadata.to_envoy()
    if s.deny_at_disable:
        cfg["deny_at_disable"] = {
            "default_value": True,
            "runtime_key": "asmkit.ext_authz.deny_at_disable",
        }
    if s.bootstrap_metadata_labels_key:
        cfg["bootstrap_metadata_labels_key"] = s.bootstrap_metadata_labels_key
    if s.decoder_header_mutation_rules is not None:
        cfg["decoder_header_mutation_rules"] = s.decoder_header_mutation_rules.to_envoy()


def _header_to_metadata(settings: EnvoySettings) -> list[dict[str, Any]]:
    if not settings.header_to_metadata:
        return []
    return [
        {
            "name": "envoy.filters.http.header_to_metadata",
            "typed_config": {
                "@type": _T + "envoy.extensions.filters.http.header_to_metadata.v3.Config",
                "request_rules": [r.to_envoy() for r in settings.header_to_metadata],
            },
        }
    ]


def _transport_socket(settings: EnvoySettings) -> dict[str, Any]:
    """The listener's DownstreamTlsContext (inline PEMs), or nothing for plaintext."""
    tls = settings.listener_tls
    if tls is None:
        return {}
    context: dict[str, Any] = {
        "@type": _T + "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
        "require_client_certificate": tls.require_client_certificate,
        "common_tls_context": {
            "tls_certificates": [
                {
                    "certificate_chain": {"inline_string": tls.server_cert_pem},
                    "private_key": {"inline_string": tls.server_key_pem},
                }
            ],
            "validation_context": {"trusted_ca": {"inline_string": tls.ca_pem}},
        },
    }
    return {"transport_socket": {"name": "envoy.transport_sockets.tls", "typed_config": context}}


def route_metadata(route: Route) -> dict[str, dict[str, Any]]:
    """The route's `filter_metadata`: its own namespaces plus `asmkit` (context_extensions, so
    HTTP-mode headers_to_add can carry them with %METADATA(ROUTE:asmkit:key)%)."""
    metadata: dict[str, dict[str, Any]] = {k: dict(v) for k, v in route.metadata.items()}
    if route.context_extensions:
        metadata[ROUTE_METADATA] = dict(route.context_extensions)
    return metadata


def _route(route: Route, route_timeout_ms: int) -> dict[str, Any]:
    per_route: dict[str, Any] = {
        "@type": _T + "envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute"
    }
    if route.disabled:
        per_route["disabled"] = True
    else:
        per_route["check_settings"] = {"context_extensions": dict(route.context_extensions)}
    match: dict[str, Any] = {"prefix": route.prefix}
    if route.headers:
        match["headers"] = [{"name": k, "string_match": {"exact": v}} for k, v in route.headers]
    out: dict[str, Any] = {"match": match, "typed_per_filter_config": {EXT_AUTHZ: per_route}}
    if route.direct_response is not None:
        direct: dict[str, Any] = {"status": route.direct_response.status}
        if route.direct_response.body:
            direct["body"] = {"inline_string": route.direct_response.body}
        out["direct_response"] = direct
    elif route.path_redirect is not None:
        out["redirect"] = {"path_redirect": route.path_redirect}
    else:
        out["route"] = {"cluster": "upstream", "timeout": _duration(route_timeout_ms)}
    if route.request_headers_to_add:
        out["request_headers_to_add"] = [
            {"header": {"key": k, "value": v}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}
            for k, v in route.request_headers_to_add
        ]
    metadata = route_metadata(route)
    if metadata:
        out["metadata"] = {"filter_metadata": metadata}
    return out


def virtual_hosts(routes: list[Route], route_timeout_ms: int) -> list[dict[str, Any]]:
    """One virtual host per authority, in first-seen order, `*` last (Envoy prefers exact)."""
    by_host: dict[str, list[dict[str, Any]]] = {}
    for route in routes:
        by_host.setdefault(route.authority.lower(), []).append(_route(route, route_timeout_ms))
    order = [h for h in by_host if h != "*"] + (["*"] if "*" in by_host else [])
    return [
        {"name": f"vh{i}", "domains": [host], "routes": by_host[host]}
        for i, host in enumerate(order)
    ]


def bootstrap(
    settings: EnvoySettings,
    routes: list[Route],
    upstream_url: str,
    *,
    listener_port: int = 0,
    admin_port: int = 0,
) -> dict[str, Any]:
    """The whole Envoy bootstrap. Port 0 lets Envoy pick; read the real ones from admin. Long
    because it is one declarative dict, kept whole so it reads like the YAML Envoy loads."""
    up = urlsplit(upstream_url)
    if up.hostname is None or up.port is None:
        raise ValueError(
            f"upstream_url={upstream_url!r} is not valid: give host and port, "
            "e.g. http://127.0.0.1:8080"
        )
    hcm: dict[str, Any] = {
        "@type": _T
        + "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "ingress",
        "preserve_external_request_id": True,
        "route_config": {
            "name": "local",
            "virtual_hosts": virtual_hosts(routes, settings.route_timeout_ms),
        },
        "http_filters": [
            *_header_to_metadata(settings),
            ext_authz_filter(settings),
            {
                "name": "envoy.filters.http.router",
                "typed_config": {"@type": _T + "envoy.extensions.filters.http.router.v3.Router"},
            },
        ],
    }
    if settings.use_remote_address:
        hcm["use_remote_address"] = True
    if settings.local_reply_config is not None:
        hcm["local_reply_config"] = settings.local_reply_config.to_envoy()
    out: dict[str, Any] = {
        "admin": {
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": admin_port}}
        },
        "static_resources": {
            "listeners": [
                {
                    "name": "main",
                    "address": {
                        "socket_address": {
                            "address": settings.listener_host,
                            "port_value": listener_port,
                        }
                    },
                    "filter_chains": [
                        {
                            **_transport_socket(settings),
                            "filters": [
                                {
                                    "name": "envoy.filters.network.http_connection_manager",
                                    "typed_config": hcm,
                                }
                            ],
                        }
                    ],
                }
            ],
            "clusters": [
                _cluster("upstream", up.hostname, up.port, http2=False),
                _cluster(
                    "ext_authz",
                    settings.authz_host,
                    settings.authz_port,
                    http2=settings.transport == "grpc",
                ),
            ],
        },
    }
    if settings.node_metadata:
        out["node"] = {"id": "asmkit", "cluster": "asmkit", "metadata": settings.node_metadata}
    if settings.async_response_buffer_limit is not None:
        layer = {"http.async_response_buffer_limit": settings.async_response_buffer_limit}
        out["layered_runtime"] = {"layers": [{"name": "static", "static_layer": layer}]}
    return out
