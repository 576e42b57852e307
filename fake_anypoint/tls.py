"""The fake control plane's CA files and server certificate, made with the kit's one test-CA
builder (``common.test_ca``).

``ensure_ca(dir)`` writes ``ca.pem``/``ca-key.pem`` and ``server.pem``/``server-key.pem`` once
and reuses them; trust ``ca.pem`` in clients (``NODE_EXTRA_CA_CERTS``, ``verify=``).
"""

from __future__ import annotations

import datetime
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from common import test_ca

DEFAULT_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class CaFiles:
    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path


def _write_key(path: Path, key: test_ca.Key) -> None:
    path.write_bytes(test_ca.key_pem(key))
    path.chmod(0o600)


def _covers(cert_path: Path, hosts: list[str]) -> bool:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    if cert.not_valid_after_utc < datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1):
        return False
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    have = {str(v) for v in san.get_values_for_type(x509.IPAddress)}
    have |= set(san.get_values_for_type(x509.DNSName))
    return all(h in have for h in hosts)


def ensure_ca(directory: str | Path, hosts: list[str] | None = None) -> CaFiles:
    """Create (or reuse) the CA and a server certificate for ``hosts`` under ``directory``."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    wanted = sorted(set(DEFAULT_HOSTS) | set(hosts or []) - {"0.0.0.0", "::"})
    files = CaFiles(
        folder / "ca.pem", folder / "ca-key.pem", folder / "server.pem", folder / "server-key.pem"
    )
    ca_key, ca_cert = _ca(files, folder)
    if (
        files.server_cert.exists()
        and files.server_key.exists()
        and _covers(files.server_cert, wanted)
    ):
        return files
    _issue_server_cert(files, ca_key, ca_cert, wanted)
    return files


def _issue_server_cert(
    files: CaFiles, ca_key: test_ca.Key, ca_cert: x509.Certificate, hosts: list[str]
) -> None:
    key = test_ca.new_key()
    cert = test_ca.issue(
        key,
        ca_key,
        ca_cert,
        subject="asmkit fake anypoint",
        names=test_ca.host_names(hosts),
        days=825,
    )
    _write_key(files.server_key, key)
    files.server_cert.write_bytes(test_ca.cert_pem(cert))


def _ca(files: CaFiles, folder: Path) -> tuple[test_ca.Key, x509.Certificate]:
    """The CA under ``folder``: loaded when present, else made and written."""
    if files.ca_cert.exists() and files.ca_key.exists():
        ca_cert = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
        loaded = serialization.load_pem_private_key(files.ca_key.read_bytes(), password=None)
        if not isinstance(loaded, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{files.ca_key}: not an EC key; delete {folder} to regenerate")
        return loaded, ca_cert
    ca_key = test_ca.new_key()
    ca_cert = test_ca.make_ca(ca_key, days=3650)
    _write_key(files.ca_key, ca_key)
    files.ca_cert.write_bytes(test_ca.cert_pem(ca_cert))
    return ca_key, ca_cert


def server_ssl_context(files: CaFiles) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(files.server_cert, files.server_key)
    return ctx


def client_ssl_context(files: CaFiles) -> ssl.SSLContext:
    """A client context that trusts the test CA (for aiohttp/httpx callers)."""
    return ssl.create_default_context(cafile=str(files.ca_cert))
