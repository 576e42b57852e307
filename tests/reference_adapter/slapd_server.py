"""A private OpenLDAP slapd for tests: generated slapd.conf (mdb backend) in a temporary
directory, listening on 127.0.0.1 and a free port, seeded with ldapadd. Never the system
service: each `SlapdServer` owns its process and directory and stops them itself."""

from __future__ import annotations

import base64
import hashlib
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

from tests.conftest import require_tool

SUFFIX = "dc=asmkit,dc=test"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PASSWORD = "admin-secret"
SERVICE_DN = f"cn=reader,{SUFFIX}"
SERVICE_PASSWORD = "reader-secret"
PEOPLE = f"ou=people,{SUFFIX}"
STAFF = f"ou=staff,{PEOPLE}"
ALICE_DN = f"uid=alice,{PEOPLE}"
BOB_DN = f"uid=bob,{STAFF}"
PASSWORDS = {"alice": "wonderland", "bob": "builder", "carol": "twice"}
INSTALL = "apt-get install slapd ldap-utils"
SCHEMAS = ("core", "cosine", "inetorgperson")


def ssha(password: str, salt: bytes) -> str:
    """An RFC 2307 ``{SSHA}`` userPassword value (what slappasswd writes by default)."""
    digest = hashlib.sha1(password.encode() + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def seed_ldif() -> str:
    """The directory: the suffix, a service account, ``ou=people`` with alice, ``ou=staff``
    under it with bob, and two entries with uid=carol (an ambiguous search)."""
    entries = [
        (SUFFIX, ["dcObject", "organization"], {"dc": "asmkit", "o": "asmkit"}),
        (
            SERVICE_DN,
            ["organizationalRole", "simpleSecurityObject"],
            {"cn": "reader", "userPassword": ssha(SERVICE_PASSWORD, b"svc-salt")},
        ),
        (PEOPLE, ["organizationalUnit"], {"ou": "people"}),
        (STAFF, ["organizationalUnit"], {"ou": "staff"}),
        (ALICE_DN, ["inetOrgPerson"], _person("alice", "Liddell", employee_type="api")),
        (BOB_DN, ["inetOrgPerson"], _person("bob", "Builder")),
        (f"uid=carol,{PEOPLE}", ["inetOrgPerson"], _person("carol", "One")),
        (f"uid=carol,{STAFF}", ["inetOrgPerson"], _person("carol", "Two")),
    ]
    blocks = []
    for dn, classes, attributes in entries:
        lines = [f"dn: {dn}", *(f"objectClass: {c}" for c in classes)]
        lines += [f"{key}: {value}" for key, value in attributes.items()]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def _person(uid: str, sn: str, employee_type: str | None = None) -> dict[str, str]:
    attributes = {
        "uid": uid,
        "cn": f"{uid.title()} {sn}",
        "sn": sn,
        "mail": f"{uid}@asmkit.test",
        "userPassword": ssha(PASSWORDS[uid], f"{uid}-{sn}".encode()),
    }
    if employee_type is not None:
        attributes["employeeType"] = employee_type
    return attributes


def slapd_conf(directory: Path) -> str:
    """slapd.conf for one mdb database; passwords readable by nobody, entries by bound users
    only (so the policy's service-account bind is what makes the search work)."""
    includes = "\n".join(f"include /etc/ldap/schema/{name}.schema" for name in SCHEMAS)
    return f"""{includes}
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {directory}/slapd.pid
argsfile {directory}/slapd.args
database mdb
maxsize 16777216
suffix "{SUFFIX}"
rootdn "{ROOT_DN}"
rootpw {ROOT_PASSWORD}
directory {directory}/data
access to attrs=userPassword by self write by anonymous auth by * none
access to * by users read by * none
"""


def find_slapd() -> str:
    """slapd's path; Debian puts it in /usr/sbin, which a non-root PATH may lack."""
    found = shutil.which("slapd") or shutil.which("slapd", path="/usr/sbin:/usr/local/sbin")
    return found or require_tool("slapd", INSTALL)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SlapdServer:
    """One slapd process. ``start()`` writes the config, starts slapd in the foreground
    (``-d 0``), waits for a root bind (ldapwhoami) and, the first time, seeds the directory
    with ldapadd; ``start(port)`` restarts on the old port with the same data. ``stop()``
    terminates it (kill after 5 s). ``pause``/``resume``: SIGSTOP/SIGCONT, a server that
    accepts TCP connections but never answers."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.slapd = find_slapd()
        self.ldapadd = require_tool("ldapadd", INSTALL)
        self.ldapwhoami = require_tool("ldapwhoami", INSTALL)
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.seeded = False

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    def start(self, port: int | None = None, timeout_s: float = 5.0) -> None:
        (self.directory / "data").mkdir(parents=True, exist_ok=True)
        conf = self.directory / "slapd.conf"
        conf.write_text(slapd_conf(self.directory))
        for _ in range(1 if port else 3):  # the free port may be taken before slapd binds it
            self.port = port or free_port()
            log = (self.directory / "slapd.log").open("wb")
            with log:
                self.process = subprocess.Popen(
                    [self.slapd, "-f", str(conf), "-h", f"{self.url}/", "-d", "0"],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            if self._wait_for_bind(timeout_s):
                if not self.seeded:
                    self._seed()
                    self.seeded = True
                return
            self.stop()
        log_text = (self.directory / "slapd.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"slapd did not accept a bind on {self.url}; its log:\n{log_text}")

    def _wait_for_bind(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        command = [self.ldapwhoami, "-x", "-H", self.url, "-D", ROOT_DN, "-w", ROOT_PASSWORD]
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False
            done = subprocess.run(command, capture_output=True, timeout=timeout_s, check=False)
            if done.returncode == 0:
                return True
            threading.Event().wait(0.02)
        return False

    def _seed(self) -> None:
        ldif = self.directory / "seed.ldif"
        ldif.write_text(seed_ldif())
        command = [self.ldapadd, "-x", "-H", self.url, "-D", ROOT_DN, "-w", ROOT_PASSWORD]
        done = subprocess.run([*command, "-f", str(ldif)], capture_output=True, timeout=10)
        if done.returncode != 0:
            self.stop()
            raise RuntimeError(f"ldapadd failed ({done.returncode}): {done.stderr.decode()}")

    def pause(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGCONT)  # a paused slapd cannot act on SIGTERM
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
