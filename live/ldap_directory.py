"""A scenario's LDAP directory on loopback (what OpenLDAP is to a real ldap-authentication
policy; NOT an Anypoint endpoint): an asyncio LDAPv3 server on 127.0.0.1 and a free port, with
every frame, connection count and read bounded and timed, its operations journaled for the
trace, and the ``${directory.*}`` values the seed and steps use."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from common.clock import Clock, MonotonicClock
from fake_anypoint import ControlPlaneSpec
from live import ber
from live.ber import BerError
from live.ldap_messages import (
    BIND_RESPONSE,
    SEARCH_DONE,
    STARTTLS,
    WHOAMI,
    Bind,
    Extended,
    Other,
    Result,
    Search,
    decode_message,
    disconnection,
    entry_message,
    extended_message,
    result_message,
)
from live.ldap_tree import DirectoryTree, Session, selected
from live.seed_references import fill_seed
from scenarios.directory import DirectorySpec

LOG = logging.getLogger("asmkit.directory")
DIRECTORY_VARIABLES = ("url", "base", "service_dn", "service_password")
"""What ``${directory.<name>}`` names."""
MAX_MESSAGE = 64 * 1024
"""Bytes of one LDAPMessage (a bind or search is a few hundred)."""
MAX_CONNECTIONS = 32
"""Open connections at once; more are told ``busy`` and closed."""
READ_TIMEOUT = 5.0
"""Seconds a started message may take to arrive in full."""
IDLE_TIMEOUT = 30.0
"""Seconds a connection may wait between messages before it is closed."""
MAX_EVENTS = 10_000
"""Journaled operations kept (the oldest dropped beyond)."""


@dataclass(frozen=True, slots=True)
class DirectoryEvent:
    """One operation the directory answered: when (its clock), what, and the result code."""

    at: float
    summary: str
    result: str


class LdapDirectory:
    """One directory for one run; ``start`` binds 127.0.0.1 on a free port."""

    def __init__(
        self,
        spec: DirectorySpec,
        clock: Clock | None = None,
        *,
        read_timeout: float = READ_TIMEOUT,
        idle_timeout: float = IDLE_TIMEOUT,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.spec = spec
        self.tree = DirectoryTree(spec)
        self.read_timeout = read_timeout
        self.idle_timeout = idle_timeout
        self.max_connections = max_connections
        self.events: list[DirectoryEvent] = []
        self.port = 0
        self.clock = clock or MonotonicClock()
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    def variables(self) -> dict[str, str]:
        """``${directory.*}`` (the names in ``DIRECTORY_VARIABLES``)."""
        values = (self.url, self.spec.base, self.spec.service.dn, self.spec.service.password)
        return dict(zip(DIRECTORY_VARIABLES, values, strict=True))

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        for task in list(self._connections):
            with contextlib.suppress(BaseException):
                await task
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    def _journal(self, summary: str, code: Result) -> None:
        if len(self.events) >= MAX_EVENTS:
            del self.events[0]
        self.events.append(DirectoryEvent(self.clock.now(), summary, code.name.lower()))

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        peer = writer.get_extra_info("peername")
        if len(self._connections) >= self.max_connections:
            LOG.warning("directory: %s refused: %d connections open", peer, len(self._connections))
            await _close(writer, disconnection(Result.BUSY, "too many connections"))
            return
        self._connections.add(task)
        try:
            await self._serve(reader, writer)
        except BerError as exc:
            LOG.warning("directory: closing the connection from %s: %s", peer, exc)
            self._journal(f"closed a connection: {exc}"[:200], Result.PROTOCOL_ERROR)
            await _close(writer, disconnection(Result.PROTOCOL_ERROR, str(exc)[:200]))
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError) as exc:
            LOG.info("directory: the connection from %s ended: %s", peer, type(exc).__name__)
            await _close(writer)
        except asyncio.CancelledError:  # stop(): the task ends here, quietly (no re-raise, which
            await _close(writer)  # asyncio would log as an error in its stream callback)
        except Exception:  # a bug here must end one connection, never the server
            LOG.exception("directory: closing the connection from %s", peer)
            await _close(writer, disconnection(Result.PROTOCOL_ERROR, "internal error"))
        finally:
            self._connections.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = Session()
        while True:
            frame = await self._frame(reader)
            if frame is None:
                await _close(writer)
                return
            message_id, request = decode_message(frame)
            for answer in self._answer(session, message_id, request):
                writer.write(answer)
            await asyncio.wait_for(writer.drain(), self.read_timeout)
            if isinstance(request, Other) and request.tag == 0x42:  # unbind
                await _close(writer)
                return

    async def _frame(self, reader: asyncio.StreamReader) -> bytes | None:
        """One whole LDAPMessage, or None at a clean end of stream between messages."""
        try:
            head = await asyncio.wait_for(reader.read(1), self.idle_timeout)
        except TimeoutError:
            raise TimeoutError("idle") from None
        if not head:
            return None
        if head[0] != ber.SEQUENCE:
            raise BerError(f"a message starts with 0x{head[0]:02x}, not a SEQUENCE")
        async with asyncio.timeout(self.read_timeout):
            head += await reader.readexactly(1)
            extra = head[1] & 0x7F if head[1] > 0x80 else 0
            head += await reader.readexactly(min(extra, ber.MAX_LENGTH_OCTETS + 1))
            parsed = ber.header_length(head, MAX_MESSAGE)
            if parsed is None:  # pragma: no cover - the header was read whole above
                raise BerError("truncated message header")
            return head + await reader.readexactly(parsed[1])

    def _answer(self, session: Session, message_id: int, request: object) -> list[bytes]:
        if isinstance(request, Bind):
            answer = self.tree.bind(session, request)
            self._journal(answer.event, answer.code)
            return [result_message(message_id, BIND_RESPONSE, answer.code, answer.message)]
        if isinstance(request, Search):
            answer = self.tree.search(session, request)
            self._journal(answer.event, answer.code)
            found = [
                entry_message(
                    message_id, node.dn, selected(node, request.attributes, request.types_only)
                )
                for node in answer.entries
            ]
            return [*found, result_message(message_id, SEARCH_DONE, answer.code, answer.message)]
        if isinstance(request, Extended):
            return [self._extended(session, message_id, request)]
        assert isinstance(request, Other)
        if request.response is None:  # unbind, abandon: no answer
            return []
        self._journal(f"operation 0x{request.tag:02x}", Result.UNWILLING_TO_PERFORM)
        return [
            result_message(
                message_id,
                request.response,
                Result.UNWILLING_TO_PERFORM,
                "the directory is read-only",
            )
        ]

    def _extended(self, session: Session, message_id: int, request: Extended) -> bytes:
        if request.name == WHOAMI:
            self._journal("whoami", Result.SUCCESS)
            return extended_message(message_id, Result.SUCCESS, value=self.tree.whoami(session))
        why = (
            "StartTLS is not supported: the directory speaks plain ldap:// on loopback"
            if request.name == STARTTLS
            else f"extended operation {request.name[:80]} is not supported"
        )
        self._journal(f"extended {request.name[:80]}", Result.PROTOCOL_ERROR)
        return extended_message(message_id, Result.PROTOCOL_ERROR, why)


async def _close(writer: asyncio.StreamWriter, last: bytes = b"") -> None:
    """Send ``last`` if the peer still reads, then close, within a second at most."""
    with contextlib.suppress(Exception):
        if last:
            writer.write(last)
            await asyncio.wait_for(writer.drain(), 1.0)
    writer.close()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(writer.wait_closed(), 1.0)


async def start_directory(spec: DirectorySpec, clock: Clock | None = None) -> LdapDirectory:
    """Start serving ``spec`` (stopped again if starting fails)."""
    directory = LdapDirectory(spec, clock)
    try:
        await directory.start()
    except BaseException:
        with contextlib.suppress(Exception):
            await directory.stop()
        raise
    LOG.info("directory at %s (base %s, %d entries)", directory.url, spec.base, len(spec.entries))
    return directory


class DirectoryMissing(ValueError):
    """The control-plane seed names ``${directory.*}`` the run cannot fill."""


def fill_directory(spec: ControlPlaneSpec, directory: LdapDirectory | None) -> ControlPlaneSpec:
    """``spec`` with every ``${directory.<name>}`` filled in."""
    values = directory.variables() if directory is not None else None
    return fill_seed(spec, "directory", values, DirectoryMissing, "directory")
