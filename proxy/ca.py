"""One CA for everything: the proxy signs its certificates with the kit's test CA (the one the
fake control plane's HTTPS uses), so an adapter trusts the proxy by trusting that one file.

``confdir`` turns the CA into mitmproxy's configuration folder; ``java_truststore`` makes a
PKCS#12 truststore for Java adapters with ``keytool``.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

TRUSTSTORE_PASSWORD = "changeit"
"""The password of the generated Java truststore (a test CA's public certificate: not a secret)."""


class CaError(RuntimeError):
    """The CA files are missing or unusable; the message says how to fix it."""


@dataclass(frozen=True)
class CaPaths:
    """The kit's test CA: ``cert`` is what adapters trust; ``key`` signs the proxy's
    certificates."""

    cert: Path
    key: Path

    def check(self) -> None:
        for path in (self.cert, self.key):
            if not path.is_file():
                raise CaError(
                    f"CA file {path} is missing: create the kit's CA with "
                    "`asmkit serve control-plane --https` once, or pass --ca-dir"
                )


def confdir(ca: CaPaths, folder: Path) -> Path:
    """mitmproxy's confdir holding the kit CA as ``mitmproxy-ca.pem`` (key, then certificate).

    The folder holds the CA's private key: it is created readable by its owner only.
    """
    ca.check()
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    combined = ca.key.read_bytes().rstrip(b"\n") + b"\n" + ca.cert.read_bytes()
    target = folder / "mitmproxy-ca.pem"
    if not target.exists() or target.read_bytes() != combined:
        target.write_bytes(combined)
        target.chmod(0o600)
        (folder / "mitmproxy-ca-cert.pem").write_bytes(ca.cert.read_bytes())
    return folder


def java_truststore(ca: CaPaths, path: Path | None = None) -> Path:
    """A PKCS#12 truststore (password ``changeit``) with the kit CA as a trusted entry, made with
    ``keytool`` next to the CA unless ``path`` says where. Reused while the CA is unchanged."""
    ca.check()
    target = path or ca.cert.with_name("truststore.p12")
    stamp = target.with_suffix(".source.pem")
    if target.exists() and stamp.exists() and stamp.read_bytes() == ca.cert.read_bytes():
        return target
    keytool = shutil.which("keytool")
    if keytool is None:
        raise CaError(
            "a Java truststore needs keytool (from a JDK: apt-get install default-jdk-headless);"
            f" or import {ca.cert} into your own truststore"
        )
    target.unlink(missing_ok=True)
    command = [
        keytool,
        "-importcert",
        "-noprompt",
        "-alias",
        "asmkit-test-ca",
        "-file",
        str(ca.cert),
        "-keystore",
        str(target),
        "-storetype",
        "PKCS12",
        "-storepass",
        TRUSTSTORE_PASSWORD,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise CaError(f"keytool could not write {target}: {done.stderr.strip() or done.stdout}")
    stamp.write_bytes(ca.cert.read_bytes())
    return target
