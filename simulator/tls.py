"""TLS for the listener: a throwaway test PKI (CA, Envoy's server cert, a client cert with mesh
SPIFFE ids) and the identity facts Envoy puts into a CheckRequest (principal, URL-encoded PEM).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from urllib.parse import quote

from cryptography import x509

from common import test_ca

SERVER_SPIFFE = "spiffe://cluster.local/ns/default/sa/envoy"
CLIENT_SPIFFE = "spiffe://cluster.local/ns/default/sa/client"


@dataclass(frozen=True)
class ListenerTls:
    """A TLS listener: Envoy's certificate and key, and the CA that client certificates must
    chain to (`require_client_certificate` makes it mutual TLS)."""

    server_cert_pem: str
    server_key_pem: str
    ca_pem: str
    require_client_certificate: bool = True


@dataclass(frozen=True)
class TestPki:
    ca_pem: str
    server_cert_pem: str
    server_key_pem: str
    client_cert_pem: str
    client_key_pem: str

    def listener(self, require_client_certificate: bool = True) -> ListenerTls:
        return ListenerTls(
            self.server_cert_pem, self.server_key_pem, self.ca_pem, require_client_certificate
        )


def make_test_pki(server_dns: str = "localhost", now: datetime.datetime | None = None) -> TestPki:
    """A CA plus server and client certificates (EC P-256, valid two days from `now`)."""
    ca_key, server_key, client_key = test_ca.new_key(), test_ca.new_key(), test_ca.new_key()
    ca = test_ca.make_ca(ca_key, days=2, now=now)
    server = test_ca.issue(
        server_key,
        ca_key,
        ca,
        subject="envoy",
        names=[x509.UniformResourceIdentifier(SERVER_SPIFFE), x509.DNSName(server_dns)],
        days=2,
        usage=(),
        now=now,
    )
    client = test_ca.issue(
        client_key,
        ca_key,
        ca,
        subject="client",
        names=[x509.UniformResourceIdentifier(CLIENT_SPIFFE)],
        days=2,
        usage=(),
        now=now,
    )
    return TestPki(
        ca_pem=test_ca.cert_pem(ca).decode(),
        server_cert_pem=test_ca.cert_pem(server).decode(),
        server_key_pem=test_ca.key_pem(server_key).decode(),
        client_cert_pem=test_ca.cert_pem(client).decode(),
        client_key_pem=test_ca.key_pem(client_key).decode(),
    )


def principal_of(cert_pem: str) -> str:
    """Envoy's principal of a certificate: the first URI SAN, else the first DNS SAN, else the
    subject."""
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        sans = None
    if sans is not None:
        uris = sans.get_values_for_type(x509.UniformResourceIdentifier)
        if uris:
            return str(uris[0])
        dns = sans.get_values_for_type(x509.DNSName)
        if dns:
            return str(dns[0])
    return cert.subject.rfc4514_string()


def url_encoded_pem(cert_pem: str) -> str:
    """`source.certificate` as Envoy sends it: the PEM, URL-encoded."""
    return quote(cert_pem, safe="")
