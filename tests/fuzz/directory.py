"""Fuzz target for a scenario's LDAP directory (`live.ldap_directory`), the one input surface an
adapter under test writes to the kit over a socket: LDAP messages built from random fields
(binds with any DN and password, searches with random scopes, limits and filter trees, unknown
operations), the same with bytes flipped or cut short, and plain garbage. Every input must end
in answers that are well-formed LDAP messages, or in the connection closed, within the time
limit; none may reach the server's internal-error path, and the directory must still answer a
fresh bind afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator

from hypothesis import strategies as st

from common.clock import MonotonicClock
from live import ber
from live.ldap_directory import LdapDirectory
from scenarios.directory import DirectorySpec
from tests.fuzz.harness import INPUT_TIME_LIMIT_S, Hang, Target, background_loop

BASE = "dc=asmkit,dc=test"
SPEC = DirectorySpec.model_validate(
    {
        "base": BASE,
        "service": {"dn": f"cn=reader,{BASE}", "password": "Reader-Secret-7"},
        "entries": [
            {"dn": f"uid=alice,ou=people,{BASE}", "password": "Wonderland-42"},
            {"dn": f"uid=bob,ou=staff,ou=people,{BASE}", "password": "Builder-1234"},
        ],
    }
)
DNS = st.sampled_from(["", BASE, f"cn=reader,{BASE}", f"uid=alice,ou=people,{BASE}"]) | st.text(
    max_size=40
)
WORDS = st.sampled_from(["uid", "cn", "objectClass", "mail", "alice", "*", ""]) | st.text(
    max_size=12
)


class FuzzedDirectory:
    """The directory under fuzz, on an event loop in a background thread, with a count of the
    errors it logged (its internal-error path)."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.directory: LdapDirectory | None = None
        self.errors = 0

    @contextlib.contextmanager
    def running(self) -> Iterator[FuzzedDirectory]:
        owner = self

        class CountErrors(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                owner.errors += 1

        handler = CountErrors(logging.ERROR)
        logging.getLogger("asmkit.directory").addHandler(handler)
        directory = self.directory = LdapDirectory(SPEC, MonotonicClock(), read_timeout=2.0)
        try:
            with background_loop(directory.start, directory.stop) as loop:
                self.loop = loop
                yield self
        finally:
            logging.getLogger("asmkit.directory").removeHandler(handler)


DIRECTORY = FuzzedDirectory()


@contextlib.contextmanager
def fresh_directory() -> Iterator[FuzzedDirectory]:
    global DIRECTORY
    DIRECTORY = FuzzedDirectory()
    with DIRECTORY.running() as directory:
        yield directory


def _message(message_id: int, op: bytes) -> bytes:
    return ber.sequence(ber.integer(message_id), op)


filters: st.SearchStrategy[bytes] = st.recursive(
    st.one_of(
        st.builds(lambda a: ber.octets(a, tag=0x87), WORDS),  # present
        st.builds(  # equalityMatch, greaterOrEqual, lessOrEqual, approxMatch
            lambda tag, a, v: ber.sequence(ber.octets(a), ber.octets(v), tag=tag),
            st.sampled_from([0xA3, 0xA5, 0xA6, 0xA8]),
            WORDS,
            WORDS,
        ),
        st.builds(  # substrings
            lambda a, parts: ber.sequence(
                ber.octets(a),
                ber.sequence(*(ber.octets(v, tag=t) for t, v in parts)),
                tag=0xA4,
            ),
            WORDS,
            st.lists(st.tuples(st.sampled_from([0x80, 0x81, 0x82]), WORDS), max_size=3),
        ),
    ),
    lambda inner: st.one_of(
        st.builds(lambda fs: ber.sequence(*fs, tag=0xA0), st.lists(inner, max_size=4)),  # and
        st.builds(lambda fs: ber.sequence(*fs, tag=0xA1), st.lists(inner, max_size=4)),  # or
        st.builds(lambda f: ber.sequence(f, tag=0xA2), inner),  # not
    ),
    max_leaves=12,
)

binds = st.builds(
    lambda mid, version, dn, password, sasl: _message(
        mid,
        ber.sequence(
            ber.integer(version),
            ber.octets(dn),
            ber.sequence(ber.octets("PLAIN"), tag=0xA3) if sasl else ber.octets(password, tag=0x80),
            tag=0x60,
        ),
    ),
    st.integers(-1, 2**31),
    st.sampled_from([3, 2, 0, 99]),
    DNS,
    st.sampled_from(["", "Wonderland-42", "Reader-Secret-7"]) | st.text(max_size=20),
    st.booleans(),
)

searches = st.builds(
    lambda mid, base, scope, size, types, flt, attrs: _message(
        mid,
        ber.sequence(
            ber.octets(base),
            ber.enumerated(scope),
            ber.enumerated(0),
            ber.integer(size),
            ber.integer(0),
            ber.boolean(types),
            flt,
            ber.sequence(*(ber.octets(a) for a in attrs)),
            tag=0x63,
        ),
    ),
    st.integers(0, 2**31),
    DNS,
    st.integers(-1, 5),
    st.integers(-1, 3),
    st.booleans(),
    filters,
    st.lists(WORDS, max_size=4),
)

others = st.builds(
    lambda mid, tag, body: _message(mid, ber.tlv(tag, body)),
    st.integers(0, 100),
    st.sampled_from([0x42, 0x50, 0x66, 0x68, 0x4A, 0x6C, 0x6E, 0x77, 0x7F]) | st.integers(0, 255),
    st.binary(max_size=40),
)

valid = st.one_of(binds, searches, others)


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    """A valid message with a few bytes changed, or cut short."""
    data = bytearray(draw(valid))
    for _ in range(draw(st.integers(1, 3))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        del data[draw(st.integers(1, len(data))) :]
    return bytes(data)


inputs = st.lists(valid, min_size=1, max_size=3).map(b"".join) | damaged() | st.binary(max_size=200)


def _split(data: bytes) -> list[bytes]:
    """The messages of an answer stream (each must be a whole LDAPMessage)."""
    frames: list[bytes] = []
    while data:
        parsed = ber.header_length(data, 1 << 24)
        assert parsed is not None, f"an answer cut short: {data[:40]!r}"
        size, length = parsed
        frame, data = data[: size + length], data[size + length :]
        assert len(frame) == size + length, f"an answer cut short: {frame[:40]!r}"
        ber.decode(frame)  # raises BerError for a malformed answer
        frames.append(frame)
    return frames


def _exchange(port: int, raw: bytes) -> bytes:
    """Send ``raw``, close the sending side, and read until the directory closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=INPUT_TIME_LIMIT_S - 1) as sock:
        with contextlib.suppress(OSError):  # the directory may close first on a bad frame
            sock.sendall(raw)
            sock.shutdown(socket.SHUT_WR)
        chunks: list[bytes] = []
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks)


def check_directory(raw: bytes) -> str:
    directory = DIRECTORY.directory
    assert directory is not None
    errors = DIRECTORY.errors
    try:
        answer = _exchange(directory.port, raw)
    except TimeoutError:
        raise Hang(
            f"the directory neither answered nor closed within {INPUT_TIME_LIMIT_S:g}s"
        ) from None
    frames = _split(answer)
    assert DIRECTORY.errors == errors, "the directory took its internal-error path"
    alive = _split(_exchange(directory.port, _message(1, ber.sequence(
        ber.integer(3), ber.octets(""), ber.octets("", tag=0x80), tag=0x60
    ))))  # fmt: skip
    assert alive and alive[0][:1] == b"\x30", "the directory no longer answers a bind"
    return f"{min(len(frames), 3)}{'+' if len(frames) > 3 else ''} answers"


LDAP_DIRECTORY = Target("ldap-directory", inputs, check_directory, setup=fresh_directory)

TARGETS = [LDAP_DIRECTORY]
