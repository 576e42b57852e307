"""Leaf certificates signed by the kit's test CA, made on demand inside the proxy: a good one for
the saboteur's TLS server, and the deliberately bad ones of the certificate faults (a name that
is not the host's, or validity that ended)."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import tempfile
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CertKind = Literal["valid", "wrong_host", "expired"]
WRONG_HOST = "wrong-host.asmkit.invalid"
"""The only name in a ``wrong_host`` certificate: never one an adapter asks for."""


class CertMaker:
    """Makes and caches leaf certificates for host names, signed by the CA in ``ca_pem``."""

    def __init__(self, ca_cert: Path, ca_key: Path) -> None:
        self.ca_cert = x509.load_pem_x509_certificate(ca_cert.read_bytes())
        key = serialization.load_pem_private_key(ca_key.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise ValueError(f"{ca_key}: the CA key must be EC or RSA")
        self.ca_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey = key
        self._dir = tempfile.TemporaryDirectory(prefix="asmkit-certs-")
        self._cache: dict[
            tuple[str, CertKind], tuple[x509.Certificate, ec.EllipticCurvePrivateKey]
        ] = {}
        self._contexts: dict[str, ssl.SSLContext] = {}

    def close(self) -> None:
        self._dir.cleanup()

    def leaf(
        self, host: str, kind: CertKind = "valid"
    ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        cached = self._cache.get((host, kind))
        if cached is not None:
            return cached
        now = datetime.datetime.now(datetime.UTC)
        if kind == "expired":
            start, end = now - datetime.timedelta(days=30), now - datetime.timedelta(days=1)
        else:
            start, end = now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=30)
        name = WRONG_HOST if kind == "wrong_host" else host
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name[:64])]))
            .issuer_name(self.ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName([_general_name(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(self.ca_key, hashes.SHA256())
        )
        self._cache[(host, kind)] = (cert, key)
        return cert, key

    def server_context(self, host: str) -> ssl.SSLContext:
        """A TLS server context with a valid certificate for ``host`` (ALPN h2, http/1.1)."""
        context = self._contexts.get(host)
        if context is not None:
            return context
        cert, key = self.leaf(host or "localhost")
        folder = Path(self._dir.name)
        stem = f"{len(self._contexts)}"
        cert_path, key_path = folder / f"{stem}.pem", folder / f"{stem}-key.pem"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_path, key_path)
        context.set_alpn_protocols(["h2", "http/1.1"])
        self._contexts[host] = context
        return context


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)
