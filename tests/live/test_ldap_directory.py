"""The scenario LDAP directory, over a real socket: simple binds (anonymous, unauthenticated,
wrong password), searches (scopes, filters, size limit, missing base, anonymous refused),
refused operations, hostile frames (each closes its connection with a notice, never the server,
never a hang), the connection bound, the journal, and interoperability with the reference
adapter's ldap3 client and the OpenLDAP client tools."""

from __future__ import annotations

import asyncio
import logging
import subprocess
from collections.abc import Awaitable, Callable

import pytest

from common.clock import MonotonicClock
from fake_anypoint import ControlPlaneSpec
from live import ber
from live.ldap_directory import (
    DIRECTORY_VARIABLES,
    DirectoryMissing,
    LdapDirectory,
    fill_directory,
    start_directory,
)
from live.ldap_messages import Result
from reference_adapter.policies.ldap_authentication import LdapAuthentication, LdapUnavailable
from scenarios.directory import DirectorySpec
from tests.conftest import require_tool

BASE = "dc=asmkit,dc=test"
SERVICE_DN, SERVICE_PASSWORD = f"cn=reader,{BASE}", "Reader-Secret-7"
ALICE = f"uid=alice,ou=people,{BASE}"
BOB = f"uid=bob,ou=staff,ou=people,{BASE}"
SPEC = DirectorySpec.model_validate(
    {
        "base": BASE,
        "service": {"dn": SERVICE_DN, "password": SERVICE_PASSWORD},
        "entries": [
            {"dn": ALICE, "password": "Wonderland-42", "attributes": {"cn": "Alice Liddell"}},
            {"dn": BOB, "password": "Builder-1234", "attributes": {"mail": "bob@asmkit.test"}},
            {"dn": f"cn=printer,ou=devices,{BASE}", "attributes": {"objectClass": "device"}},
        ],
    }
)
INSTALL = "apt-get install ldap-utils"


def served(test: Callable[[LdapDirectory], Awaitable[None]], **options: float | int) -> None:
    async def main() -> None:
        directory = LdapDirectory(SPEC, MonotonicClock(), **options)  # type: ignore[arg-type]
        await directory.start()
        try:
            await asyncio.wait_for(test(directory), 30)
        finally:
            for client in OPEN:
                client.writer.close()
            OPEN.clear()
            await directory.stop()

    asyncio.run(main())


def message(message_id: int, op: bytes) -> bytes:
    return ber.sequence(ber.integer(message_id), op)


def bind(dn: str, password: str, message_id: int = 1) -> bytes:
    auth = ber.octets(password, tag=0x80)
    return message(message_id, ber.sequence(ber.integer(3), ber.octets(dn), auth, tag=0x60))


def search(base: str, scope: int, flt: bytes, size: int = 0, message_id: int = 2) -> bytes:
    fields = (
        ber.octets(base),
        ber.enumerated(scope),
        ber.enumerated(0),
        ber.integer(size),
        ber.integer(0),
        ber.boolean(False),
        flt,
        ber.sequence(ber.octets("1.1")),
    )
    return message(message_id, ber.sequence(*fields, tag=0x63))


def equals(attribute: str, value: str) -> bytes:
    return ber.sequence(ber.octets(attribute), ber.octets(value), tag=0xA3)


PRESENT = ber.octets("objectClass", tag=0x87)
OPEN: list[Client] = []
"""The clients of the running test, closed when it ends."""


class Client:
    """Raw LDAP over a socket: send frames, read whole answers."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, directory: LdapDirectory) -> Client:
        client = cls(*await asyncio.open_connection("127.0.0.1", directory.port))
        OPEN.append(client)
        return client

    async def send(self, frame: bytes) -> None:
        self.writer.write(frame)
        await self.writer.drain()

    async def answer(self) -> ber.Element | None:
        head = await self.reader.read(2)
        if not head:
            return None
        extra = head[1] & 0x7F if head[1] > 0x80 else 0
        head += await self.reader.readexactly(extra)
        parsed = ber.header_length(head, 1 << 20)
        assert parsed is not None
        return ber.decode(head + await self.reader.readexactly(parsed[1]))

    async def result(self, frame: bytes) -> tuple[int, list[str]]:
        """Send ``frame``; the result code and the DNs of the entries before it."""
        await self.send(frame)
        dns: list[str] = []
        while True:
            answer = await self.answer()
            assert answer is not None, "the connection closed"
            op = answer.children[1]
            if op.tag == 0x64:
                dns.append(op.children[0].text())
                continue
            return op.children[0].integer(), dns

    async def closed_with_notice(self) -> str:
        """The connection ends with a Notice of Disconnection: its diagnostic message."""
        answer = await self.answer()
        assert answer is not None and answer.children[0].integer() == 0
        op = answer.children[1]
        assert op.tag == 0x78 and op.children[3].text() == "1.3.6.1.4.1.1466.20036"
        assert await self.reader.read(1) == b""
        return op.children[2].text()


def test_binds_follow_rfc_4513() -> None:
    async def check(directory: LdapDirectory) -> None:
        client = await Client.open(directory)
        assert await client.result(bind(ALICE, "Wonderland-42")) == (Result.SUCCESS, [])
        spelled = bind("UID=Alice, OU=People,dc=asmkit,dc=test", "Wonderland-42")
        assert (await client.result(spelled))[0] == Result.SUCCESS
        assert (await client.result(bind(ALICE, "wonderland-42")))[0] == Result.INVALID_CREDENTIALS
        assert (await client.result(bind(f"uid=nobody,{BASE}", "x")))[0] == 49
        assert (await client.result(bind(ALICE, "")))[0] == Result.UNWILLING_TO_PERFORM
        assert (await client.result(bind(f"cn=printer,ou=devices,{BASE}", "x")))[0] == 49
        assert (await client.result(bind("not a dn", "x")))[0] == Result.INVALID_DN_SYNTAX
        assert (await client.result(bind(SERVICE_DN, SERVICE_PASSWORD)))[0] == Result.SUCCESS
        assert (await client.result(bind("", "")))[0] == Result.SUCCESS  # anonymous: no identity
        refused, found = await client.result(search(BASE, 2, PRESENT))
        assert (refused, found) == (Result.INSUFFICIENT_ACCESS_RIGHTS, [])
        sasl = ber.sequence(ber.octets("PLAIN"), tag=0xA3)
        frame = message(9, ber.sequence(ber.integer(3), ber.octets(""), sasl, tag=0x60))
        assert (await client.result(frame))[0] == Result.AUTH_METHOD_NOT_SUPPORTED
        v2 = message(
            10, ber.sequence(ber.integer(2), ber.octets(""), ber.octets("", tag=0x80), tag=0x60)
        )
        assert (await client.result(v2))[0] == Result.PROTOCOL_ERROR
        journal = [(e.summary, e.result) for e in directory.events]
        assert (f"bind {ALICE}", "invalid_credentials") in journal
        assert all("Wonderland" not in summary for summary, _ in journal)

    served(check)


def test_a_failed_bind_leaves_the_connection_anonymous() -> None:
    async def check(directory: LdapDirectory) -> None:
        client = await Client.open(directory)
        await client.result(bind(SERVICE_DN, SERVICE_PASSWORD))
        assert (await client.result(search(BASE, 0, PRESENT)))[0] == Result.SUCCESS
        await client.result(bind(SERVICE_DN, "wrong-password"))
        assert (await client.result(search(BASE, 0, PRESENT)))[0] == 50

    served(check)


def test_searches_by_scope_filter_and_size() -> None:
    people = f"ou=people,{BASE}"

    async def check(directory: LdapDirectory) -> None:
        client = await Client.open(directory)
        await client.result(bind(SERVICE_DN, SERVICE_PASSWORD))

        async def dns(base: str, scope: int, flt: bytes, size: int = 0) -> tuple[int, set[str]]:
            code, found = await client.result(search(base, scope, flt, size))
            return code, set(found)

        assert await dns(people, 2, equals("UID", "BOB")) == (0, {BOB})
        assert await dns(people, 1, equals("uid", "bob")) == (0, set())
        assert await dns(people, 1, equals("uid", "alice")) == (0, {ALICE})
        assert await dns(people, 0, PRESENT) == (0, {people})
        assert await dns(people, 2, PRESENT) == (0, {people, f"ou=staff,{people}", ALICE, BOB})
        person = equals("objectClass", "person")
        both = ber.sequence(person, ber.sequence(equals("uid", "bob"), tag=0xA2), tag=0xA0)
        assert await dns(BASE, 2, both) == (0, {ALICE})
        either = ber.sequence(
            equals("cn", "alice liddell"), equals("mail", "BOB@asmkit.test"), tag=0xA1
        )
        assert await dns(BASE, 2, either) == (0, {ALICE, BOB})
        substrings = ber.sequence(
            ber.octets("cn"),
            ber.sequence(ber.octets("ali", tag=0x80), ber.octets("dell", tag=0x82)),
            tag=0xA4,
        )
        assert await dns(BASE, 2, substrings) == (0, {ALICE})
        ordering = ber.sequence(ber.octets("uid"), ber.octets("a"), tag=0xA5)  # Undefined
        assert await dns(BASE, 2, ordering) == (0, set())
        assert await dns(BASE, 2, ber.sequence(ordering, tag=0xA2)) == (0, set())  # not Undefined
        code, found = await dns(people, 2, person, size=1)
        assert code == Result.SIZE_LIMIT_EXCEEDED and len(found) == 1
        assert (await dns(f"ou=nowhere,{BASE}", 2, PRESENT))[0] == Result.NO_SUCH_OBJECT
        assert (await dns("no dn", 2, PRESENT))[0] == Result.INVALID_DN_SYNTAX
        assert await dns("", 0, PRESENT) == (0, {""})  # the root DSE

    served(check)


def test_other_operations_are_refused_with_their_own_response() -> None:
    async def check(directory: LdapDirectory) -> None:
        client = await Client.open(directory)
        delete = message(3, ber.octets(ALICE, tag=0x4A))
        await client.send(delete)
        answer = await client.answer()
        assert answer is not None and answer.children[1].tag == 0x6B
        assert answer.children[1].children[0].integer() == Result.UNWILLING_TO_PERFORM
        starttls = message(
            4, ber.sequence(ber.octets("1.3.6.1.4.1.1466.20037", tag=0x80), tag=0x77)
        )
        code, _ = await client.result(starttls)
        assert code == Result.PROTOCOL_ERROR
        await client.send(message(5, ber.tlv(0x50, b"\x01")))  # abandon: no answer
        await client.send(message(6, ber.tlv(0x42, b"")))  # unbind: the server closes
        assert await client.answer() is None

    served(check)


@pytest.mark.parametrize(
    ("frame", "why"),
    [
        (b"\x30\x84\x7f\xff\xff\xff", "at most 65536"),
        (b"\x30\x80", "indefinite"),
        (b"\x04\x01a", "not a SEQUENCE"),
        (b"\x30\x03\x02\x01\x01", "expected an id, an operation"),
        (message(1, ber.tlv(0x7F - 0x40, b"")), "unknown protocol operation"),
        (message(0, ber.tlv(0x42, b"")), "messageID 0"),
        (ber.sequence(ber.integer(1), b"".join([b"\x30\x82\x01\x00"] + [b"\x00"] * 256)), "tag"),
    ],
)
def test_a_hostile_frame_closes_its_connection_only(
    frame: bytes, why: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "asmkit.directory")

    async def check(directory: LdapDirectory) -> None:
        client = await Client.open(directory)
        await client.send(frame)
        await client.closed_with_notice()
        other = await Client.open(directory)  # the server still answers
        assert (await other.result(bind(ALICE, "Wonderland-42")))[0] == 0

    served(check)
    assert any("closing the connection" in r.getMessage() for r in caplog.records)
    assert not any(r.exc_info for r in caplog.records)


def test_a_deep_filter_is_refused() -> None:
    flt = PRESENT
    for _ in range(30):
        flt = ber.sequence(flt, tag=0xA2)

    async def check(directory: LdapDirectory) -> None:
        client = await Client.open(directory)
        await client.result(bind(SERVICE_DN, SERVICE_PASSWORD))
        await client.send(search(BASE, 2, flt))
        assert "nested deeper" in await client.closed_with_notice()

    served(check)


def test_a_truncated_or_idle_connection_is_closed_in_time() -> None:
    async def check(directory: LdapDirectory) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        truncated = await Client.open(directory)
        await truncated.send(bind(ALICE, "Wonderland-42")[:-3])
        idle = await Client.open(directory)
        assert await truncated.reader.read() == b""
        assert await idle.reader.read() == b""
        assert loop.time() - started < 5

    served(check, read_timeout=0.3, idle_timeout=0.5)


def test_connections_beyond_the_bound_are_told_busy() -> None:
    async def check(directory: LdapDirectory) -> None:
        held = [await Client.open(directory) for _ in range(2)]
        for client in held:  # both are being served
            assert (await client.result(bind("", "")))[0] == 0
        extra = await Client.open(directory)
        assert await extra.closed_with_notice() == "too many connections"
        held[0].writer.close()
        await asyncio.sleep(0.2)
        again = await Client.open(directory)
        assert (await again.result(bind("", "")))[0] == 0

    served(check, max_connections=2)


def test_the_seed_takes_directory_values() -> None:
    seed = ControlPlaneSpec.model_validate(
        {
            "apis": [
                {
                    "key": "orders",
                    "policies": [
                        {
                            "asset_id": "ldap-authentication",
                            "configuration": {
                                "ldapServerURL": "${directory.url}",
                                "ldapSearchBase": "ou=people,${directory.base}",
                            },
                        }
                    ],
                }
            ]
        }
    )

    async def check(directory: LdapDirectory) -> None:
        assert tuple(directory.variables()) == DIRECTORY_VARIABLES
        filled = fill_directory(seed, directory).apis[0].policies[0].configuration
        assert filled == {"ldapServerURL": directory.url, "ldapSearchBase": f"ou=people,{BASE}"}
        with pytest.raises(DirectoryMissing, match="has no directory"):
            fill_directory(seed, None)

    served(check)


def _policy(directory: LdapDirectory, **config: object) -> LdapAuthentication:
    return LdapAuthentication.from_configuration(
        {
            "ldapServerURL": directory.url,
            "ldapServerUserDn": SERVICE_DN,
            "ldapServerUserPassword": SERVICE_PASSWORD,
            "ldapSearchBase": f"ou=people,{BASE}",
            **config,
        }
    )


def test_the_reference_adapters_ldap3_client_authenticates_against_it() -> None:
    async def check(directory: LdapDirectory) -> None:
        policy = _policy(directory)
        for user, password, ok in [
            ("alice", "Wonderland-42", True),
            ("bob", "Builder-1234", True),
            ("alice", "Builder-1234", False),
            ("mallory", "Wonderland-42", False),
            ("ali*", "Wonderland-42", False),
        ]:
            assert await asyncio.to_thread(policy.authenticate, user, password) is ok, user
        level = _policy(directory, ldapSearchInSubtree=False)
        assert await asyncio.to_thread(level.authenticate, "bob", "Builder-1234") is False
        wrong = _policy(directory, ldapServerUserPassword="not-the-secret")
        with pytest.raises(LdapUnavailable, match="cannot bind"):
            await asyncio.to_thread(wrong.authenticate, "alice", "Wonderland-42")
        missing = _policy(directory, ldapSearchBase=f"ou=gone,{BASE}")
        with pytest.raises(LdapUnavailable, match="noSuchObject"):
            await asyncio.to_thread(missing.authenticate, "alice", "Wonderland-42")

    served(check)


def _tool(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=20, check=False)


def test_the_openldap_client_tools_talk_to_it() -> None:
    whoami = require_tool("ldapwhoami", INSTALL)
    ldapsearch = require_tool("ldapsearch", INSTALL)

    async def check(directory: LdapDirectory) -> None:
        url = directory.url

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            return _tool(*args)

        me = await asyncio.to_thread(
            run, whoami, "-x", "-H", url, "-D", ALICE, "-w", "Wonderland-42"
        )
        assert (me.returncode, me.stdout.strip()) == (0, f"dn:{ALICE}")
        anonymous = await asyncio.to_thread(run, whoami, "-x", "-H", url)
        assert (anonymous.returncode, anonymous.stdout.strip()) == (0, "anonymous")
        wrong = await asyncio.to_thread(run, whoami, "-x", "-H", url, "-D", ALICE, "-w", "nope")
        assert wrong.returncode == 49 and "Invalid credentials (49)" in wrong.stderr
        found = await asyncio.to_thread(
            run, ldapsearch, "-x", "-LLL", "-H", url, "-D", SERVICE_DN, "-w", SERVICE_PASSWORD,
            "-b", BASE, "(|(uid=BOB)(cn=alice*))", "cn", "mail",
        )  # fmt: skip
        assert found.returncode == 0, found.stderr
        assert f"dn: {ALICE}\ncn: Alice Liddell" in found.stdout
        assert f"dn: {BOB}\nmail: bob@asmkit.test" in found.stdout
        limited = await asyncio.to_thread(
            run, ldapsearch, "-x", "-LLL", "-H", url, "-D", SERVICE_DN, "-w", SERVICE_PASSWORD,
            "-b", BASE, "-z", "1", "(objectClass=inetOrgPerson)", "1.1",
        )  # fmt: skip
        assert limited.returncode == 4 and limited.stdout.count("dn: ") == 1
        anonymous_search = await asyncio.to_thread(run, ldapsearch, "-x", "-H", url, "-b", BASE)
        assert anonymous_search.returncode == 50
        tls = await asyncio.to_thread(run, ldapsearch, "-x", "-ZZ", "-H", url, "-b", BASE)
        assert tls.returncode != 0 and "StartTLS is not supported" in tls.stderr

    served(check)


def test_start_directory_uses_the_clock_for_its_journal() -> None:
    async def main() -> None:
        clock = MonotonicClock()
        directory = await start_directory(SPEC, clock)
        try:
            client = await Client.open(directory)
            before = clock.now()
            await client.result(bind(ALICE, "Wonderland-42"))
            assert directory.events[-1].at >= before
            assert directory.url == f"ldap://127.0.0.1:{directory.port}"
        finally:
            for client in OPEN:
                client.writer.close()
            OPEN.clear()
            await directory.stop()

    asyncio.run(main())
