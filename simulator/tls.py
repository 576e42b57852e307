"""TLS for the listener: a throwaway test PKI (CA, Envoy's server cert, a client cert with mesh
SPIFFE ids) and the identity facts Envoy puts into a CheckRequest (principal, URL-encoded PEM).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from urllib.parse import quote

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

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


def _pem_key(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name | None,
    issuer_key: ec.EllipticCurvePrivateKey,
    sans: list[x509.GeneralName],
    now: datetime.datetime,
    ca: bool = False,
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def make_test_pki(server_dns: str = "localhost", now: datetime.datetime | None = None) -> TestPki:
    """A CA plus server and client certificates (EC P-256, valid two days from `now`)."""
    at = now or datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("asmkit test CA", ca_key, None, ca_key, [], at, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = _cert(
        "envoy",
        server_key,
        ca.subject,
        ca_key,
        [x509.UniformResourceIdentifier(SERVER_SPIFFE), x509.DNSName(server_dns)],
        at,
    )
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = _cert(
        "client",
        client_key,
        ca.subject,
        ca_key,
        [x509.UniformResourceIdentifier(CLIENT_SPIFFE)],
        at,
    )
    pem = serialization.Encoding.PEM
    return TestPki(
        ca_pem=ca.public_bytes(pem).decode(),
        server_cert_pem=server.public_bytes(pem).decode(),
        server_key_pem=_pem_key(server_key),
        client_cert_pem=client.public_bytes(pem).decode(),
        client_key_pem=_pem_key(client_key),
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
