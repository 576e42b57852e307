"""Hand-written sections of docs/envoy-fidelity.md: where Envoy 1.40 behaved differently from the
research notes, and what the simulator does not model (kept here so regenerating keeps them)."""

from __future__ import annotations

NOTES = """
## Envoy 1.40 compared with the research notes

Observed in the cases above; the simulator follows Envoy.

- **`retry_policy` (§6.21).** Envoy turns the core `RetryPolicy` into a route retry policy whose
  `per_try_timeout` is the back-off `max_interval` (10 x `base_interval` unless set; without
  `retry_back_off`, 1 s and 10 s). Each attempt is cut there. The check call then announces
  `x-envoy-expected-rq-timeout-ms` = min(timeout, max_interval), while `grpc-timeout` still
  carries the whole timeout. A per-try timeout is retried when `retry_on` covers it (`5xx`).
  In gRPC mode `5xx` does not retry an error status: a trailers-only gRPC error has HTTP
  status 200. Use the gRPC conditions instead (`unavailable`, `internal`, ...). The Envoy
  integration test answers with an HTTP 503, which a grpc.aio adapter cannot send, so the
  differential cases use UNAVAILABLE.
- **`deny_at_disable` (§6.11).** Answers `status_on_error` (503 here), as the notes say. Envoy
  counts the request as `disabled` while its response details say `ext_authz_error`. The kit
  reports `decision="skipped"`, because no check was sent.
- **`decoder_header_mutation_rules` (§6.14, §6.22).** Once rules are configured, the defaults
  also protect `host`, `:authority`, `:method`, `:scheme` and every `x-envoy-*` header
  (`allow_envoy` is false). `disallow_all` also blocks removals. In HTTP mode the rules apply to
  `allowed_upstream_headers`, `allowed_upstream_headers_to_append` and
  `x-envoy-auth-headers-to-remove`. With `disallow_is_error`, a blocked mutation gives 500 in
  both modes (the `invalid` stat).
- **`local_reply_config` (§6.25).** The adapter's other deny headers stay (`x-deny-reason`,
  `x-deny`). `content-type` and `content-length` come from `body_format`. In JSON formats,
  `%RESPONSE_CODE%` is a number. In text formats, a missing `%REQ()%` prints `-`.
- **Direct-response and redirect routes (§6.24).** `response_headers_to_add` of the OK answer
  are also added to a direct response. A `path_redirect` keeps the request's query string.
- **`clear_route_cache` (§2.5).** Only set, appended or removed headers and query changes
  trigger it. A header added through HTTP mode's `allowed_upstream_headers_to_append` alone
  does not: the first route stays.
- **Dynamic metadata (§2.4, §3.2).** The `dynamic_metadata` of an OK answer is visible to later
  filters, for example in a route's `request_headers_to_add` through
  `%DYNAMIC_METADATA(envoy.filters.http.ext_authz:key)%`. Numbers print without `.0`. In HTTP
  mode, `dynamic_metadata_from_headers` uses the header name as the key.

## Not modelled, or only partly

- **`filter_enabled` between 1 and 99 %.** The simulator samples it with its injected random
  generator. Real Envoy uses its own random source, so only 0 % and 100 % are compared.
- **Typed metadata namespaces.** `typed_metadata_context_namespaces` and
  `route_typed_metadata_context_namespaces` need `Any`-packed metadata, which neither
  `header_to_metadata` nor the kit's routes produce. Connection-level dynamic metadata (set by
  network filters) is not modelled either: the kit's listener has none.
- **Dynamic metadata on a deny or an error.** Envoy emits it, but no later filter runs, so only
  an access log could show it. The kit compares no access logs. `ext_authz_duration`, which
  Envoy adds on OK, depends on timing and is not modelled.
- **Stats, logging and limits that are not visible to a client.**
  `enable_dynamic_metadata_ingestion`, `filter_metadata`, `emit_filter_state_stats`,
  `stat_prefix`, `charge_cluster_response_stats` and `enforce_response_header_limits` are not
  modelled.
- **`http.async_response_buffer_limit`.** This runtime limit is modelled for HTTP mode only. A
  gRPC Check is an async stream that this limit does not cover.
- **Retries.** The simulator retries on the conditions `5xx`, `gateway-error`, `reset` and
  `connect-failure`, and on the gRPC status names. It uses Envoy's jittered back-off, but not the
  exact jitter. It does not model `retry_host_predicate`, `retry_priority` or rate-limited
  back-off: there is one authz endpoint.
- **`local_reply_config`.** Supported: mappers with an `EQ` `status_code_filter` (new status and
  body), `text_format` or `json_format`, and the commands `%RESPONSE_CODE%`,
  `%LOCAL_REPLY_BODY%` and `%REQ(h)%`. Other access-log filters, other commands and
  `body_format_override` are not. The codec's own 426 for HTTP/1.0 is not re-formatted.
- **Routes.** Supported: `direct_response {status, body}`, `redirect {path_redirect}` (301),
  exact header matchers, and `request_headers_to_add` values that are literal or
  `%DYNAMIC_METADATA()%`.
"""
