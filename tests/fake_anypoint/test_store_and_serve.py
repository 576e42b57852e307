"""SQLite persistence (``--state FILE``), HTTPS with the kit's test CA, and the serve command."""

from __future__ import annotations

import argparse
import asyncio
import copy
import io
import ssl
from pathlib import Path

import aiohttp
import pytest

from common.clock import ManualClock
from fake_anypoint import ControlPlaneState
from fake_anypoint.commands import add_serve_parser, run_serve, serve
from fake_anypoint.store import SqliteStore
from fake_anypoint.tls import ensure_ca

from .conftest import SEED, login, running


def test_sqlite_store_survives_a_restart(tmp_path: Path):
    path = tmp_path / "cp.sqlite"
    clock = ManualClock()
    state = ControlPlaneState(clock=clock, seed=5)
    store = SqliteStore(path)
    assert store.attach(state) is False
    r = state.seed(copy.deepcopy(SEED))
    orders = r.apis["orders"]
    state.set_contract_status(orders, r.contracts["mobile/orders"], "REVOKED")
    pid = state.apply_policy(orders, "cors", {"publicResource": True})
    token = state.issue_token(state.connected_app.client_id, state.connected_app.client_secret)
    state.ingest("b-1", [{"event_id": "1"}], 10)
    state.ingest("b-1", [{"event_id": "1"}], 10)
    snap = state.snapshot()
    store.close()

    again = ControlPlaneState(clock=clock, seed=5)
    store2 = SqliteStore(path)
    assert store2.attach(again) is True
    assert again.snapshot() == snap
    assert again.policy(orders, pid).configuration == {"publicResource": True}
    assert (
        again.records.check_token(f"Bearer {token.value}").subject == state.connected_app.client_id
    )
    assert again.analytics_batches()[0].duplicates == 1
    # ids keep counting from where they were
    assert again.create_application("late").id == state.create_application("late").id
    again.reset()
    store2.close()
    third = ControlPlaneState(clock=clock, seed=5)
    store3 = SqliteStore(path)
    store3.attach(third)
    assert third.apis == {} and third.analytics_batches() == []
    store3.close()


def test_bad_state_file_is_a_clear_error(tmp_path: Path):
    path = tmp_path / "junk.sqlite"
    path.write_bytes(b"not a database at all, definitely not" * 100)
    with pytest.raises(ValueError, match="not a usable SQLite file"):
        SqliteStore(path).attach(ControlPlaneState(clock=ManualClock()))


def test_journal_persists_through_the_server(tmp_path: Path):
    path = tmp_path / "cp.sqlite"
    state = ControlPlaneState(clock=ManualClock())
    store = SqliteStore(path)
    store.attach(state)

    async def main() -> None:
        async with running(state) as server, aiohttp.ClientSession() as s:
            await login(s, server.base_url, state)

    asyncio.run(main())
    store.close()
    again = ControlPlaneState(clock=ManualClock())
    SqliteStore(path).attach(again)
    assert [(e.path, e.status) for e in again.journal()] == [("/accounts/api/v2/oauth2/token", 200)]


def test_https_with_the_test_ca(tmp_path: Path):
    state = ControlPlaneState(clock=ManualClock())
    files = ensure_ca(tmp_path / "ca")
    again = ensure_ca(tmp_path / "ca")
    assert again == files and files.ca_cert.read_bytes() == again.ca_cert.read_bytes()
    ctx = ssl.create_default_context(cafile=str(files.ca_cert))

    async def main() -> None:
        async with running(state, https=True, ca_dir=tmp_path / "ca") as server:
            assert server.base_url.startswith("https://127.0.0.1:")
            assert server.ingest_url.startswith("https://")
            assert server.ca_path == files.ca_cert
            conn = aiohttp.TCPConnector(ssl=ctx)
            async with aiohttp.ClientSession(connector=conn) as s:
                await login(s, server.base_url, state)
                async with s.get(server.base_url.replace("127.0.0.1", "localhost") + "/x") as resp:
                    assert resp.status == 404
            async with aiohttp.ClientSession() as plain:  # system trust store: refused
                with pytest.raises(aiohttp.ClientConnectorCertificateError):
                    await plain.get(server.base_url + "/x")

    asyncio.run(main())


def _args(tmp_path: Path, *extra: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_serve_parser(parser.add_subparsers(dest="what"))
    return parser.parse_args(["control-plane", "--ca-dir", str(tmp_path / "ca"), *extra])


def test_serve_command_prints_what_clients_need(tmp_path: Path):
    args = _args(tmp_path, "--https", "--state", str(tmp_path / "s.sqlite"))
    assert args.func is run_serve and args.serve_handler is run_serve and args.port == 0
    out = io.StringIO()

    async def main() -> dict[str, str]:
        stop = asyncio.Event()
        task = asyncio.create_task(serve(args, out, stop))
        for _ in range(100):
            if "state:" in out.getvalue():
                break
            await asyncio.sleep(0.02)
        fields = dict(
            (line.split(":", 1)[0], line.split(":", 1)[1].strip())
            for line in out.getvalue().splitlines()
        )
        ctx = ssl.create_default_context(cafile=fields["ca"])
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx)) as s:
            creds = {"client_id": fields["client_id"], "client_secret": fields["client_secret"]}
            async with s.post(
                fields["base_url"] + "/accounts/api/v2/oauth2/token", json=creds
            ) as resp:
                assert resp.status == 200
        stop.set()
        assert await asyncio.wait_for(task, 5) == 0
        return fields

    fields = asyncio.run(main())
    assert fields["base_url"].startswith("https://127.0.0.1:")
    assert fields["ingest_url"].startswith("https://127.0.0.1:")
    assert fields["state"].endswith("(new)")
    assert (tmp_path / "s.sqlite").exists()


def test_serve_command_rejects_bad_ports(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert run_serve(_args(tmp_path, "--port", "70000")) == 2
    assert "--port: 70000 is not a TCP port" in capsys.readouterr().err
