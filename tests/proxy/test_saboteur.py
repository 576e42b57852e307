"""The saboteur on its own: it forwards a ticketed request to the real upstream, then holds the
body back, resets part-way or trickles it; over TLS it answers HTTP/2 with GOAWAY."""

from __future__ import annotations

import asyncio
import ssl
import struct
import time
from pathlib import Path

from proxy.mitm.certs import CertMaker
from proxy.mitm.chaos import NetFault
from proxy.mitm.saboteur import H2_PREFACE, TICKET_HEADER, Saboteur, frame
from tests.proxy.helpers import kit_ca, upstream


async def _ask(saboteur: Saboteur, fault: NetFault, origin: str) -> tuple[bytes, bool, float]:
    """Send one ticketed GET; returns (bytes received, ended by a reset, seconds)."""
    ticket = saboteur.ticket(fault, origin, "anypoint.mulesoft.com", "GET", "/x")
    reader, writer = await asyncio.open_connection("127.0.0.1", saboteur.http_port)
    started = time.monotonic()
    writer.write(f"GET /x HTTP/1.1\r\nhost: a\r\n{TICKET_HEADER}: {ticket}\r\n\r\n".encode())
    received, reset = b"", False
    try:
        while chunk := await asyncio.wait_for(reader.read(65536), 5):
            received += chunk
    except ConnectionResetError:
        reset = True
    writer.close()
    return received, reset, time.monotonic() - started


def test_stall_reset_and_bandwidth() -> None:
    events: list[str] = []

    async def main() -> None:
        async with upstream() as origin:
            saboteur = Saboteur(on_event=lambda f, h, m, p, d: events.append(f"{f.kind}: {d}"))
            await saboteur.start()
            try:
                got, _, took = await _ask(saboteur, NetFault("stall", hold_s=0.4), origin)
                head, _, body = got.partition(b"\r\n\r\n")
                assert head.startswith(b"HTTP/1.1 200") and body == b"" and took >= 0.4
                got, reset, _ = await _ask(saboteur, NetFault("reset", cut_after=7), origin)
                assert reset and len(got.partition(b"\r\n\r\n")[2]) == 7
                got, _, took = await _ask(saboteur, NetFault("bandwidth", rate_bps=400), origin)
                body = got.partition(b"\r\n\r\n")[2]
                assert b'"path": "/x"' in body and took >= len(body) / 400 * 0.9
            finally:
                await saboteur.stop()

    asyncio.run(main())
    assert [e.split(":")[0] for e in events] == ["stall", "reset", "bandwidth"]


def test_unknown_ticket_is_misdirected() -> None:
    async def main() -> bytes:
        saboteur = Saboteur()
        await saboteur.start()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", saboteur.http_port)
            writer.write(b"GET / HTTP/1.1\r\nhost: a\r\n\r\n")
            answer = await asyncio.wait_for(reader.read(1000), 5)
            writer.close()
            return answer
        finally:
            await saboteur.stop()

    assert asyncio.run(main()).startswith(b"HTTP/1.1 421")


def test_goaway_over_tls_with_a_certificate_from_the_kit_ca(tmp_path: Path) -> None:
    ca = kit_ca(tmp_path / "ca")
    certs = CertMaker(ca.cert, ca.key)
    events: list[str] = []

    async def main() -> bytes:
        saboteur = Saboteur(certs, on_event=lambda f, h, m, p, d: events.append(f"{h}: {d}"))
        saboteur.goaway_faults["anypoint.mulesoft.com"] = NetFault("goaway")
        await saboteur.start()
        try:
            context = ssl.create_default_context(cafile=str(ca.cert))
            context.set_alpn_protocols(["h2"])
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", saboteur.tls_port, ssl=context, server_hostname="anypoint.mulesoft.com"
            )
            writer.write(H2_PREFACE + frame(0x4, 0, 0) + frame(0x1, 0x5, 1, b"\x82"))
            received = b""
            while chunk := await asyncio.wait_for(reader.read(65536), 5):
                received += chunk
            writer.close()
            return received
        finally:
            await saboteur.stop()
            certs.close()

    frames, received = [], asyncio.run(main())
    while received:
        length = int.from_bytes(received[:3], "big")
        frames.append((received[3], received[9 : 9 + length]))
        received = received[9 + length :]
    assert [kind for kind, _ in frames] == [0x4, 0x4, 0x7]  # SETTINGS, its ACK, GOAWAY
    assert struct.unpack(">II", frames[-1][1]) == (0, 0)  # last stream 0, NO_ERROR
    assert events == ["anypoint.mulesoft.com: HTTP/2 GOAWAY (last stream 0) before stream 1"]
