"""TLS listeners: the test PKI, Envoy's principal rules, and what the CheckRequest shows."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from simulator import ClientRequest, EnvoySettings
from simulator.tls import (
    CLIENT_SPIFFE,
    SERVER_SPIFFE,
    make_test_pki,
    principal_of,
    url_encoded_pem,
)
from tests.simulator.helpers import AUTHORITY, run, stack

PKI = make_test_pki(AUTHORITY)


def test_principals_and_pem_encoding() -> None:
    assert principal_of(PKI.client_cert_pem) == CLIENT_SPIFFE
    assert principal_of(PKI.server_cert_pem) == SERVER_SPIFFE
    assert principal_of(PKI.ca_pem) == "CN=asmkit test CA"
    encoded = url_encoded_pem(PKI.client_cert_pem)
    assert encoded.startswith("-----BEGIN%20CERTIFICATE-----%0A")
    assert unquote(encoded) == PKI.client_cert_pem


def test_mtls_check_request() -> None:
    settings = EnvoySettings(
        listener_tls=PKI.listener(), include_peer_certificate=True, include_tls_session=True
    )

    async def main() -> None:
        async with stack(settings) as st:
            req = ClientRequest(
                path="/orders",
                authority=AUTHORITY,
                client_cert_pem=PKI.client_cert_pem,
                client_key_pem=PKI.client_key_pem,
                sni=AUTHORITY,
            )
            resp = await st.envoy.handle(req)
            assert resp.status == 200
            attrs = st.adapter.checks[0].attributes
            assert attrs.source.principal == CLIENT_SPIFFE
            assert unquote(attrs.source.certificate) == PKI.client_cert_pem
            assert attrs.destination.principal == SERVER_SPIFFE
            assert attrs.tls_session.sni == AUTHORITY
            assert attrs.request.http.scheme == "https"
            assert attrs.request.http.headers["x-forwarded-proto"] == "https"
            assert resp.upstream is not None
            assert resp.upstream.header("x-forwarded-proto") == "https"
            with pytest.raises(ConnectionError, match="client certificate"):
                await st.envoy.handle(ClientRequest(path="/orders", authority=AUTHORITY))

    run(main())


def test_peer_certificate_only_when_asked() -> None:
    async def main() -> None:
        async with stack(EnvoySettings(listener_tls=PKI.listener())) as st:
            await st.envoy.handle(
                ClientRequest(
                    authority=AUTHORITY,
                    client_cert_pem=PKI.client_cert_pem,
                    client_key_pem=PKI.client_key_pem,
                )
            )
            attrs = st.adapter.checks[0].attributes
            assert attrs.source.principal == CLIENT_SPIFFE
            assert attrs.source.certificate == ""
            assert not attrs.HasField("tls_session")

    run(main())
