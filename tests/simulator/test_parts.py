"""The simulator's parts: settings validation, header and query helpers, the echo upstream,
the generated Envoy config, and the real-Envoy launcher's errors."""

from __future__ import annotations

import aiohttp
import pytest

from simulator import (
    BufferSettings,
    EchoUpstream,
    EnvoySettings,
    HttpServiceSettings,
    Route,
    StringMatcher,
)
from simulator import headers as hdr
from simulator.envoy_config import bootstrap
from simulator.real_envoy import EnvoyNotAvailable, RealEnvoy
from tests.simulator.helpers import run


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"transport": "soap"}, "transport"),
        ({"authz_port": 0}, "authz_port"),
        ({"timeout_ms": 0}, "timeout_ms"),
        ({"status_on_error": 99}, "status_on_error"),
    ],
)
def test_settings_errors_name_field_and_fix(kwargs, field) -> None:
    with pytest.raises(ValueError, match=rf"EnvoySettings\.{field}=.*: "):
        EnvoySettings(**kwargs)


def test_other_bad_input_errors() -> None:
    with pytest.raises(ValueError, match="exactly one of"):
        StringMatcher()
    with pytest.raises(ValueError, match="max_request_bytes=0"):
        BufferSettings(0)
    with pytest.raises(ValueError, match="path_prefix='authz'"):
        HttpServiceSettings(path_prefix="authz")
    with pytest.raises(ValueError, match=r"Route\.prefix='x'"):
        Route(prefix="x")
    with pytest.raises(ValueError, match="lone"):
        EnvoySettings.istio_custom(include_request_headers_in_check=["*"])


def test_string_matchers() -> None:
    assert StringMatcher(exact="a").matches("a") and not StringMatcher(exact="A").matches("a")
    assert StringMatcher(exact="A", ignore_case=True).matches("a")
    assert StringMatcher(prefix="x-").matches("x-a") and not StringMatcher(prefix="x-").matches("y")
    assert StringMatcher(suffix="-id").matches("client-id")
    assert StringMatcher(contains="lab").matches("x-lab-1")
    assert StringMatcher(safe_regex="x-[0-9]+").matches("x-12")
    assert not StringMatcher(safe_regex="x-[0-9]+").matches("x-12a")
    assert StringMatcher(safe_regex="x", ignore_case=True).to_envoy() == {
        "safe_regex": {"regex": "x"},
        "ignore_case": True,
    }


def test_istio_custom_preset() -> None:
    grpc_preset = EnvoySettings.istio_custom(authz_host="10.0.0.1", authz_port=9000)
    assert grpc_preset.timeout_ms == 600_000
    assert grpc_preset.allowed_headers is None  # Istio sends every header in gRPC mode
    assert grpc_preset.grpc_authority == "outbound_.9000_._.10.0.0.1"
    http_preset = EnvoySettings.istio_custom(
        "http",
        include_request_headers_in_check=["client_id", "x-lab-*", "*-token"],
        headers_to_upstream_on_allow=["x-current-user"],
        include_additional_headers_in_check={"x-b": "2", "x-a": "1"},
        path_prefix="/check",
        fail_open=True,
        status_on_error=503,
    )
    allowed = http_preset.allowed_headers
    assert allowed is not None
    assert [m.to_envoy() for m in allowed] == [
        {"exact": "client_id", "ignore_case": True},
        {"prefix": "x-lab-", "ignore_case": True},
        {"suffix": "-token", "ignore_case": True},
    ]
    assert [a.key for a in http_preset.http_service.headers_to_add] == ["x-a", "x-b"]
    assert http_preset.http_service.allowed_client_headers is None
    assert http_preset.failure_mode_allow and http_preset.status_on_error == 503


def test_header_helpers() -> None:
    h = [("A", "1"), ("a", "2"), ("b", "3")]
    assert hdr.merged(h) == {"a": "1,2", "b": "3"}
    assert hdr.set_header(h, "a", "9") == [("a", "9"), ("b", "3")]
    assert hdr.append_existing(h, "a", "x") == [("A", "1,x"), ("a", "2"), ("b", "3")]
    assert hdr.append_existing(h, "c", "x") == h
    assert hdr.add(h, "C", "4")[-1] == ("c", "4")
    assert not hdr.is_removable(":path") and not hdr.is_removable("Host")
    assert hdr.is_removable("authorization")
    assert hdr.valid_name("x-ok") and not hdr.valid_name("bad header") and not hdr.valid_name("")
    assert hdr.valid_value("v") and not hdr.valid_value("a\r\nb")
    assert hdr.sanitize_utf8(b"caf\xe9\xff") == "caf!!"
    assert hdr.sanitize_utf8("café".encode()) == "café"
    assert hdr.wire_bytes("caf\xe9") == b"caf\xe9" and hdr.wire_bytes("€") == "€".encode()
    assert hdr.sanitize_utf8(hdr.wire_bytes("caf\xe9")) == "caf!"


def test_query_mutation() -> None:
    path = "/p?keep=1&qdrop=2&x=%20y"
    assert hdr.mutate_query(path, [], []) == path
    assert hdr.mutate_query(path, [("qset", "s1"), ("keep", "over")], ["qdrop"]) == (
        "/p?keep=over&qset=s1&x=%20y"
    )
    assert hdr.mutate_query("/p?a=1", [], ["a"]) == "/p"
    assert hdr.mutate_query("/p", [("a", "1")], []) == "/p?a=1"
    assert hdr.mutate_query("/p?a=1&a=2&flag", [], ["b"]) == "/p?a=1&a=2&flag="


def test_echo_upstream_records_and_answers() -> None:
    async def main() -> None:
        echo = EchoUpstream()
        await echo.start()
        try:
            assert EchoUpstream.running_at(echo.url) is echo
            echo.answer("/teapot", 418, [("x-t", "1")], b"short and stout")
            async with aiohttp.ClientSession() as session:
                async with session.post(
                    echo.url + "/a%20b?q=1", data=b"hi", headers={"X-Request-Id": "r1"}
                ) as r:
                    data = await r.json()
                    assert r.status == 200
                async with session.get(echo.url + "/teapot/x") as r:
                    assert (r.status, await r.read(), r.headers["x-t"]) == (
                        418,
                        b"short and stout",
                        "1",
                    )
            assert data["path"] == "/a%20b?q=1" and data["body"] == "hi"
            rec = echo.find("r1")
            assert rec is not None and rec.method == "POST" and rec.body == b"hi"
            assert ("X-Request-Id", "r1") in rec.headers
            assert len(echo.received) == 2
            echo.clear()
            assert echo.received == [] and echo.find("r1") is None
        finally:
            await echo.stop()
        assert EchoUpstream.running_at(echo.url) is None

    run(main())


def test_echo_port_before_start_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="not started"):
        _ = EchoUpstream().port


def test_bootstrap_config_shape() -> None:
    settings = EnvoySettings(
        transport="http",
        authz_port=9002,
        timeout_ms=250,
        allowed_headers=(StringMatcher(exact="client_id"),),
        http_service=HttpServiceSettings(path_prefix="/authz", allowed_client_headers=()),
        with_request_body=BufferSettings(16, allow_partial_message=True),
    )
    routes = [Route("a.example", {"api_id": "1"}), Route("*", prefix="/static", disabled=True)]
    cfg = bootstrap(settings, routes, "http://127.0.0.1:8080")
    hcm = cfg["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
    vhosts = hcm["typed_config"]["route_config"]["virtual_hosts"]
    assert [v["domains"] for v in vhosts] == [["a.example"], ["*"]]
    per_route = vhosts[0]["routes"][0]["typed_per_filter_config"]["envoy.filters.http.ext_authz"]
    assert per_route["check_settings"]["context_extensions"] == {"api_id": "1"}
    assert (
        vhosts[1]["routes"][0]["typed_per_filter_config"]["envoy.filters.http.ext_authz"][
            "disabled"
        ]
        is True
    )
    authz = hcm["typed_config"]["http_filters"][0]["typed_config"]
    assert authz["http_service"]["server_uri"]["timeout"] == "0.250s"
    assert authz["http_service"]["path_prefix"] == "/authz"
    assert authz["http_service"]["authorization_response"] == {
        "allowed_client_headers": {"patterns": []}
    }
    assert authz["allowed_headers"] == {"patterns": [{"exact": "client_id"}]}
    assert authz["with_request_body"]["max_request_bytes"] == 16
    with pytest.raises(ValueError, match="upstream_url="):
        bootstrap(settings, routes, "http://nohost")


def test_real_envoy_without_binary_is_a_clear_error() -> None:
    async def main() -> None:
        envoy = RealEnvoy(EnvoySettings(), "http://127.0.0.1:1", envoy_path="/nonexistent/envoy")
        with pytest.raises(EnvoyNotAvailable, match="cannot run Envoy binary"):
            await envoy.start()
        await envoy.close()

    run(main())


def test_serve_exposes_the_simulated_envoy_over_http() -> None:
    from tests.simulator.helpers import stack

    async def main() -> None:
        async with stack() as st:
            port = await st.envoy.serve()
            url = f"http://127.0.0.1:{port}/orders?x=1"
            headers = {"Host": "orders.default.svc.cluster.local", "client_id": "a"}
            async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as r:
                assert r.status == 200 and r.headers["server"] == "envoy"
                data = await r.json()
            assert data["path"] == "/orders?x=1"
            http = st.adapter.checks[0].attributes.request.http
            assert http.headers["client_id"] == "a"
            assert http.host == "orders.default.svc.cluster.local"

    run(main())


def test_use_remote_address_headers() -> None:
    """Envoy 1.40's `use_remote_address` (the differential suite compares it with a real
    Envoy): the client address appended to x-forwarded-for without a space, Envoy's own
    address for 127.0.0.1, and x-envoy-external-address replaced by the client address."""
    from simulator.downstream import host_address, remote_address_headers

    assert remote_address_headers([("a", "1")], "127.10.0.5") == [
        ("a", "1"),
        ("x-forwarded-for", "127.10.0.5"),
        ("x-envoy-external-address", "127.10.0.5"),
    ]
    spoofed = [("x-forwarded-for", "203.0.113.9"), ("x-envoy-external-address", "203.0.113.9")]
    assert remote_address_headers(spoofed, "127.0.0.1") == [
        ("x-forwarded-for", f"203.0.113.9,{host_address()}"),
        ("x-envoy-external-address", "127.0.0.1"),
    ]
    assert not host_address().startswith("127.") or host_address() == "127.0.0.1"
