"""Fuzz targets for the reference adapter's two faces, against a real adapter synced from the
real fake control plane seeded with every library scenario's APIs and policies (80-odd APIs,
every policy kind): gRPC CheckRequests with random headers (also as raw bytes), bodies, sizes,
paths, addresses and API ids, plus undecodable messages; raw HTTP/1.1 requests with random
methods, paths, header bytes and bodies. Every input must get an answer within the time limit
that is a decision (allowed, or denied with a 4xx or the gatekeeper's 503), never a 5xx from a
failure, an RPC error or a hang."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine, Iterator
from typing import Any

import grpc
from envoy.service.auth.v3 import external_auth_pb2
from hypothesis import strategies as st

from common.clock import MonotonicClock
from fake_anypoint import ControlPlaneServer, ControlPlaneState
from reference_adapter.adapter import ReferenceAdapter
from reference_adapter.settings import ReferenceAdapterConfig
from scenarios import LIBRARY, load_scenario
from tests.fuzz.harness import INPUT_TIME_LIMIT_S, Hang, Target, background_loop

CHECK = "/envoy.service.auth.v3.Authorization/Check"
HEADER_NAMES = [
    "client_id", "client_secret", "authorization", "jwt", "x-jwt", "x-app-id", "x-app-secret",
    "origin", "access-control-request-method", "access-control-request-headers", "content-type",
    "x-forwarded-for", "cookie", "user-agent", "x-request-id", "host", ":authority", ":path",
    ":method", "content-length", "transfer-encoding", "x-asm-api-id",
]  # fmt: skip
VALUES = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        [
            "Basic ",
            "Bearer ",
            "Basic Og==",
            "Basic YTpi",
            "Bearer a.b.c",
            "Bearer eyJhbGciOiJub25lIn0.e30.",
            "Bearer eyJhbGciOiJIUzI1NiJ9.e30.x",
            "application/json",
            "*",
            "null",
            "http://a",
            "1.2.3.4, 5.6.7.8",
            "::1",
            "999.1.1.1",
            "#[x]",
            "\x00",
            "\u202e",
            "x" * 9000,
        ]
    ),
    st.builds(lambda p, v: f"{p} {v}", st.sampled_from(["Basic", "Bearer"]), st.text(max_size=40)),
)
NAMES = st.sampled_from(HEADER_NAMES) | st.text(min_size=1, max_size=20)


class FuzzedAdapter:
    """The adapter under fuzz, running on an event loop in a background thread."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.api_ids: list[str] = []
        self.grpc_port = 0
        self.http_port = 0
        self._server: ControlPlaneServer | None = None
        self._adapter: ReferenceAdapter | None = None

    def call(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        assert self.loop is not None, "the adapter under fuzz is not running"
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result(INPUT_TIME_LIMIT_S)
        except TimeoutError:
            future.cancel()
            raise Hang(f"no answer within {INPUT_TIME_LIMIT_S:g}s") from None

    async def _start(self) -> None:
        state = ControlPlaneState(MonotonicClock(), seed=3)
        for path in sorted(LIBRARY.rglob("*.scenario.yaml")):
            with contextlib.suppress(ValueError):  # scenarios that reuse a fixed client id
                seeded = state.seed(load_scenario(path).scenario.control_plane)
                self.api_ids += [str(i) for i in seeded.apis.values()]
        self._server = ControlPlaneServer(state, host="127.0.0.1", port=0, ingest_port=0)
        await self._server.start()
        settings = ReferenceAdapterConfig(
            platform_url=self._server.base_url,
            ingest_url=self._server.ingest_url,
            client_id=state.connected_app.client_id,
            client_secret=state.connected_app.client_secret,
            org_id=state.org_id,
            env_id=state.env_id,
            http_port=0,
            seed=1,
            request_timeout=5.0,
        )
        self._adapter = ReferenceAdapter(settings)
        await self._adapter.start()
        await self._synced(self._adapter)
        self.grpc_port = self._adapter.grpc_port or 0
        self.http_port = self._adapter.http_port or 0

    async def _synced(self, adapter: ReferenceAdapter) -> None:
        """Until the number of APIs ready stops growing (some stay 503 on purpose: library
        policies with configuration errors)."""
        ready, steady = -1, 0.0
        for _ in range(1200):
            now = sum(adapter.engine.ready(i) for i in self.api_ids)
            steady = steady + 0.05 if now == ready and adapter.sync.apis_loaded else 0.0
            if steady >= 1.0 and now > 0:
                return
            ready = now
            await asyncio.sleep(0.05)
        raise RuntimeError(f"the adapter under fuzz never synced ({ready} APIs ready)")

    async def _stop(self) -> None:
        if self._adapter is not None:
            await self._adapter.stop()
        if self._server is not None:
            await self._server.stop()

    @contextlib.contextmanager
    def running(self) -> Iterator[FuzzedAdapter]:
        with background_loop(self._start, self._stop, start_timeout_s=90) as loop:
            self.loop = loop
            yield self


ADAPTER = FuzzedAdapter()
"""The adapter the current run talks to (a fresh one per run)."""


@contextlib.contextmanager
def fresh_adapter() -> Iterator[FuzzedAdapter]:
    global ADAPTER
    ADAPTER = FuzzedAdapter()
    with ADAPTER.running() as adapter:
        yield adapter


def _judge(status: int, what: str) -> str:
    """A decision is fine; a 5xx other than the gatekeeper's or a config error's 503 is not."""
    assert status < 500 or status == 503, f"{what} answered {status}"
    return f"{what} {status}"


# ---- gRPC ----


@st.composite
def check_requests(draw: st.DrawFn) -> bytes:
    """A serialized CheckRequest (Envoy's shape, random contents), or bytes that are not one."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=512))
    request = external_auth_pb2.CheckRequest()
    http = request.attributes.request.http
    http.method = draw(
        st.sampled_from(["GET", "POST", "OPTIONS", "DELETE", ""]) | st.text(max_size=8)
    )
    http.path = draw(st.sampled_from(["/", "/orders", "/orders?x=1"]) | st.text(max_size=80))
    http.host = draw(st.text(max_size=30))
    http.size = draw(st.integers(-(2**63), 2**63 - 1))
    if draw(st.booleans()):
        for name, value in draw(st.dictionaries(NAMES, VALUES, max_size=8)).items():
            http.headers[name] = value
    else:  # Envoy 1.40 can send header_map with raw values instead
        for name, raw in draw(st.lists(st.tuples(NAMES, st.binary(max_size=60)), max_size=8)):
            http.header_map.headers.add(key=name, raw_value=raw)
    if draw(st.booleans()):
        http.raw_body = draw(st.binary(max_size=2048))
    else:
        http.body = draw(st.text(max_size=512))
    request.attributes.source.address.socket_address.address = draw(
        st.sampled_from(["127.0.0.1", "10.0.0.1", "::1", ""]) | st.text(max_size=20)
    )
    api = draw(st.sampled_from(ADAPTER.api_ids) | st.text(max_size=12)) if ADAPTER.api_ids else ""
    request.attributes.context_extensions["api_id"] = api
    request.attributes.context_extensions["service"] = draw(st.text(max_size=12))
    return bytes(request.SerializeToString())


async def _grpc_check(raw: bytes) -> tuple[str, external_auth_pb2.CheckResponse | None]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{ADAPTER.grpc_port}") as channel:
        call = channel.unary_unary(
            CHECK,
            request_serializer=lambda b: b,
            response_deserializer=external_auth_pb2.CheckResponse.FromString,
        )
        try:
            return "answer", await call(raw, timeout=INPUT_TIME_LIMIT_S - 1)
        except grpc.aio.AioRpcError as exc:
            return f"{exc.code().name}: {exc.details()}", None


def check_grpc(raw: bytes) -> str:
    outcome, response = ADAPTER.call(_grpc_check(raw))
    if response is None:
        # bytes that are no CheckRequest never reach the adapter: grpcio refuses them
        refused = ("deserializ", "error parsing message")
        assert any(r in outcome.lower() for r in refused), f"RPC error: {outcome}"
        return "not a CheckRequest (refused by grpcio)"
    if response.status.code == 0:
        return "allowed"
    return _judge(int(response.denied_response.status.code), "denied")


GRPC_FACE = Target("grpc-face", check_requests(), check_grpc, setup=fresh_adapter)


# ---- HTTP service mode ----

TOKEN = st.binary(min_size=1, max_size=20).filter(lambda b: b"\r" not in b and b"\n" not in b)


@st.composite
def http_requests(draw: st.DrawFn) -> bytes:
    """One raw HTTP/1.1 request: random method, path, header names and values as bytes."""
    method = draw(st.sampled_from([b"GET", b"POST", b"PUT", b"OPTIONS", b"PATCH"]) | TOKEN)
    path = draw(st.sampled_from([b"/", b"/orders", b"/orders?client_id=x"]) | TOKEN.map(
        lambda b: b"/" + b.replace(b" ", b"")
    ))  # fmt: skip
    api = draw(st.sampled_from(ADAPTER.api_ids or ["1"])).encode()
    lines = [method + b" " + path + b" HTTP/1.1", b"host: orders.svc", b"x-asm-api-id: " + api]
    for name, value in draw(
        st.lists(st.tuples(NAMES.map(str.encode) | TOKEN, VALUES.map(_utf8) | TOKEN), max_size=8)
    ):
        lines.append(
            name.replace(b":", b"") + b": " + value.replace(b"\r", b"").replace(b"\n", b"")
        )
    body = draw(st.binary(max_size=1024))
    lines += [b"content-length: " + str(len(body)).encode(), b"connection: close"]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


async def _http(raw: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", ADAPTER.http_port)
    try:
        writer.write(raw)
        await writer.drain()
        return await reader.read(65536)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


def check_http(raw: bytes) -> str:
    answer = ADAPTER.call(_http(raw))
    if not answer:
        return "connection closed without an answer"
    head = answer.split(b"\r\n", 1)[0].split(b" ")
    assert len(head) >= 2 and head[1].isdigit(), f"not an HTTP answer: {answer[:80]!r}"
    return _judge(int(head[1]), "status")


HTTP_FACE = Target("http-face", http_requests(), check_http, setup=fresh_adapter)

TARGETS = [GRPC_FACE, HTTP_FACE]
