"""A real mitmdump with the asmkit addon: routing, the control API, and each network fault seen
by real clients (httpx over HTTP/1.1, curl over HTTP/2 for GOAWAY, raw TLS for a host name
checked after the handshake and for session resumption under a certificate fault)."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from proxy.control import ProxyControl
from proxy.mitmdump import MitmProxy, ProxyError
from proxy.netfaults import NetworkFault
from tests.conftest import require_tool
from tests.proxy.helpers import HOSTS, INGEST, PLATFORM, kit_ca, require_mitm, start_proxy, upstream


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return kit_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def proxy(ca) -> Iterator[MitmProxy]:  # type: ignore[no-untyped-def]
    require_mitm()
    running = start_proxy(ca, {})
    yield running
    running.stop()


def _client(
    proxy: MitmProxy, ca, *, verify: bool = True, timeout: float = 5.0
) -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    context = ssl.create_default_context(cafile=str(ca.cert)) if verify else False
    return httpx.AsyncClient(proxy=proxy.proxy_url, verify=context, timeout=timeout)


class Control(ProxyControl):
    """The control API, reading the fault log from where this test began."""

    since = 0


async def _with_faults(proxy: MitmProxy, origin: str, *faults: NetworkFault) -> Control:
    control = Control(proxy)
    await control.set_routes(dict.fromkeys(HOSTS, origin), HOSTS)
    await control.clear_faults()
    _, control.since = await control.events()
    if faults:
        await control.set_faults(list(faults))
    return control


async def _details(control: Control, kind: str) -> list[str]:
    events, _ = await control.events(control.since)
    return [e["detail"] for e in events if e["kind"] == kind]


def test_routes_keep_the_host_and_refuse_the_rest(proxy: MitmProxy, ca) -> None:  # type: ignore[no-untyped-def]
    async def main() -> None:
        async with upstream() as origin, _client(proxy, ca) as client:
            await _with_faults(proxy, origin)
            answer = (await client.get(f"https://{INGEST}/v2/analytics/events?x=1")).json()
            assert (answer["host"], answer["path"], answer["query"]) == (
                INGEST,
                "/v2/analytics/events",
                "x=1",
            )
            with pytest.raises(httpx.ProxyError, match="502"):
                await client.get("https://example.com/")

    asyncio.run(main())


def test_the_control_api_needs_its_token(proxy: MitmProxy) -> None:
    async def main() -> None:
        impostor = ProxyControl(proxy)
        impostor.proxy = type(
            "P",
            (),
            {"token": "wrong", "control_url": proxy.control_url, "log_tail": lambda self: ""},
        )()  # type: ignore[assignment]
        with pytest.raises(ProxyError, match="403"):
            await impostor.health()

    asyncio.run(main())


def test_latency_and_bandwidth(proxy: MitmProxy, ca) -> None:  # type: ignore[no-untyped-def]
    async def main() -> None:
        async with upstream() as origin, _client(proxy, ca) as client:
            control = await _with_faults(
                proxy, origin, NetworkFault(kind="latency", latency=0.3, path="/slow*")
            )
            started = time.monotonic()
            await client.get(f"https://{PLATFORM}/fast")
            fast = time.monotonic() - started
            started = time.monotonic()
            await client.get(f"https://{PLATFORM}/slow")
            assert time.monotonic() - started >= 0.3 > fast
            await control.set_faults([NetworkFault(kind="bandwidth", bytes_per_second=500)])
            started = time.monotonic()
            answer = await client.post(f"https://{INGEST}/v2/analytics/events", content=b"x" * 250)
            # the 250-byte upload is held 0.5s, the answer trickles at 500 B/s
            assert time.monotonic() - started >= 0.5 + len(answer.content) / 500 * 0.9
            assert await _details(control, "latency") == ["delayed 300ms"]

    asyncio.run(main())


def test_stall_reset_and_truncated_gzip(proxy: MitmProxy, ca) -> None:  # type: ignore[no-untyped-def]
    async def main() -> None:
        async with upstream() as origin, _client(proxy, ca, timeout=1.0) as client:
            control = await _with_faults(proxy, origin, NetworkFault(kind="stall", hold=3))
            with pytest.raises(httpx.ReadTimeout):
                await client.get(f"https://{PLATFORM}/contracts")
            await control.set_faults([NetworkFault(kind="reset", cut_after=10)])
            with pytest.raises(httpx.RemoteProtocolError, match="received 10 bytes"):
                await client.get(f"https://{PLATFORM}/contracts")
            await control.set_faults([NetworkFault(kind="truncated_gzip")])
            answer = await client.get(f"https://{PLATFORM}/policies")
            assert answer.headers["content-encoding"] == "gzip"
            with pytest.raises(json.JSONDecodeError):
                json.loads(answer.text)
            assert len(await _details(control, "stall")) == 1
            assert (await _details(control, "reset"))[0].startswith("connection reset after 10 of")

    asyncio.run(main())


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("tls_handshake_failure", "HANDSHAKE_FAILURE"),
        ("wrong_host_certificate", "Hostname mismatch"),
        ("expired_certificate", "certificate has expired"),
    ],
)
def test_tls_faults_are_refused_by_a_verifying_client(
    proxy: MitmProxy, ca, kind: str, error: str
) -> None:  # type: ignore[no-untyped-def]
    async def main() -> None:
        async with upstream() as origin, _client(proxy, ca) as client:
            control = await _with_faults(proxy, origin, NetworkFault(kind=kind, host="platform"))  # type: ignore[arg-type]
            with pytest.raises(httpx.ConnectError, match=error):
                await client.get(f"https://{PLATFORM}/apis")
            await client.get(f"https://{INGEST}/v2/analytics/events")  # other host unaffected
            details = await _details(control, kind)
            assert any(
                d.startswith(("the client refused", "answered the ClientHello")) for d in details
            )

    asyncio.run(main())


def test_a_client_that_accepts_a_bad_certificate_is_caught(proxy: MitmProxy, ca) -> None:  # type: ignore[no-untyped-def]
    async def main() -> None:
        async with upstream() as origin, _client(proxy, ca, verify=False) as client:
            control = await _with_faults(proxy, origin, NetworkFault(kind="wrong_host_certificate"))
            answer = await client.get(f"https://{PLATFORM}/apis")
            assert answer.status_code == 502  # never forwarded to the platform
            assert any(
                d.startswith("ACCEPTED") for d in await _details(control, "wrong_host_certificate")
            )
            assert (await control.stats())["accepted_bad_certificate"] >= 1

    asyncio.run(main())


def _tunnel(proxy: MitmProxy, context: ssl.SSLContext, session: object = None) -> ssl.SSLSocket:
    """A TLS connection to the platform host through the proxy's CONNECT."""
    address = urlsplit(proxy.proxy_url)
    raw = socket.create_connection((address.hostname, address.port), timeout=5)
    raw.sendall(f"CONNECT {PLATFORM}:443 HTTP/1.1\r\nhost: {PLATFORM}:443\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += raw.recv(4096)
    assert head.startswith(b"HTTP/1.1 200"), head
    return context.wrap_socket(raw, server_hostname=PLATFORM, session=session)  # type: ignore[arg-type]


def _get(tls: ssl.SSLSocket) -> bytes:
    tls.sendall(f"GET /apis HTTP/1.1\r\nhost: {PLATFORM}\r\nconnection: close\r\n\r\n".encode())
    data = b""
    while chunk := tls.recv(65536):
        data += chunk
    return data


def test_a_host_name_checked_after_the_handshake_is_a_refusal(proxy: MitmProxy, ca) -> None:  # type: ignore[no-untyped-def]
    """Node.js completes the handshake, checks the host name, then closes: not acceptance."""

    async def main() -> None:
        async with upstream() as origin:
            control = await _with_faults(proxy, origin, NetworkFault(kind="wrong_host_certificate"))
            accepted = (await control.stats()).get("accepted_bad_certificate", 0)
            context = ssl.create_default_context(cafile=str(ca.cert))
            context.check_hostname = False  # the chain is checked in the handshake, the name later
            tls = await asyncio.to_thread(_tunnel, proxy, context)
            tls.close()
            await asyncio.sleep(0.3)
            details = await _details(control, "wrong_host_certificate")
            assert any(d.startswith("the client refused after the handshake") for d in details)
            assert not any(d.startswith("ACCEPTED") for d in details)
            assert (await control.stats()).get("accepted_bad_certificate", 0) == accepted

    asyncio.run(main())


def test_no_session_is_resumed_under_a_certificate_fault(proxy: MitmProxy, ca) -> None:  # type: ignore[no-untyped-def]
    """A TLS 1.3 ticket from a good connection would let a client skip the certificate."""

    async def main() -> None:
        async with upstream() as origin:
            control = await _with_faults(proxy, origin)
            context = ssl.create_default_context(cafile=str(ca.cert))
            good = await asyncio.to_thread(_tunnel, proxy, context)
            await asyncio.to_thread(_get, good)  # reads the session tickets too
            session = good.session
            good.close()
            await control.set_faults([NetworkFault(kind="wrong_host_certificate")])
            with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
                await asyncio.to_thread(_tunnel, proxy, context, session)

    asyncio.run(main())


def test_dns_failure_refuses_the_tunnel(proxy: MitmProxy, ca) -> None:  # type: ignore[no-untyped-def]
    async def main() -> None:
        async with upstream() as origin, _client(proxy, ca) as client:
            control = await _with_faults(
                proxy, origin, NetworkFault(kind="dns_failure", host="ingest")
            )
            with pytest.raises(httpx.ProxyError, match="502"):
                await client.get(f"https://{INGEST}/v2/analytics/events")
            assert (await client.get(f"https://{PLATFORM}/apis")).status_code == 200
            assert await _details(control, "dns_failure") == ["name not resolved: 502 to CONNECT"]

    asyncio.run(main())


def test_goaway_for_http2_and_a_closed_connection_for_http1(proxy: MitmProxy, ca) -> None:  # type: ignore[no-untyped-def]
    curl = require_tool("curl", "apt-get install curl")

    async def main() -> None:
        async with upstream() as origin:
            control = await _with_faults(proxy, origin, NetworkFault(kind="goaway"))
            results = []
            for version in ("--http2", "--http1.1"):
                process = await asyncio.create_subprocess_exec(
                    curl,
                    "-sS",
                    "-v",
                    "--max-time",
                    "5",
                    version,
                    "--proxy",
                    proxy.proxy_url,
                    "--cacert",
                    str(ca.cert),
                    f"https://{PLATFORM}/apis",
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                )
                _, err = await asyncio.wait_for(process.communicate(), 20)
                results.append((process.returncode, err.decode()))
            (h2_code, h2_log), (h1_code, h1_log) = results
            assert h2_code == 16 and "GOAWAY" in h2_log  # HTTP/2 framing layer: GOAWAY
            assert h1_code == 52 and "Empty reply" in h1_log
            assert await _details(control, "goaway") == [
                "HTTP/2 GOAWAY (last stream 0) before stream 1",
                "HTTP/1.1 connection closed without an answer",
            ]

    asyncio.run(main())


def test_connections_opened_before_a_connection_fault_are_closed(proxy: MitmProxy, ca) -> None:  # type: ignore[no-untyped-def]
    async def main() -> None:
        async with upstream() as origin, _client(proxy, ca) as client:
            control = await _with_faults(proxy, origin)
            assert (await client.get(f"https://{PLATFORM}/apis")).status_code == 200
            await control.set_faults([NetworkFault(kind="expired_certificate")])
            with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError, httpx.ConnectError)):
                await client.get(f"https://{PLATFORM}/apis")  # the kept connection is closed
            with pytest.raises(httpx.ConnectError, match="expired"):
                await client.get(f"https://{PLATFORM}/apis")  # and the new one meets the fault
            details = await _details(control, "expired_certificate")
            assert details[0].startswith("closed a connection opened before the fault"), details

    asyncio.run(main())


def test_recording_through_the_proxy(proxy: MitmProxy, ca, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from fake_anypoint.cassette import parse_cassette

    async def main() -> None:
        async with upstream() as origin, _client(proxy, ca) as client:
            control = await _with_faults(proxy, origin)
            await control.recording(True)
            await client.post(
                f"https://{PLATFORM}/accounts/api/v2/oauth2/token",
                json={"client_id": "0123456789abcdef0123456789abcdef", "client_secret": "s3cr3t!!"},
            )
            refused = await client.get("http://example.com/")  # answered by the proxy itself
            assert refused.status_code == 502 and "no route" in refused.text
            cassette = parse_cassette(await control.take())  # which is not the platform's
            await control.recording(False)
            text = cassette.model_dump_json()
            assert "s3cr3t!!" not in text and "a-secret-token-value" not in text
            assert "0123456789abcdef0123456789abcdef" not in text
            (item,) = cassette.interactions
            assert (item.host, item.request.method, item.response.status) == (PLATFORM, "POST", 200)  # type: ignore[union-attr]

    asyncio.run(main())
