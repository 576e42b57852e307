"""The scenario directory's entries and what a bind or a search against them answers: simple
binds (RFC 4513: anonymous allowed but no identity, an unauthenticated bind refused, a wrong
password or unknown DN ``invalidCredentials``), and searches by authenticated identities only
(but the root DSE), in base, one-level or subtree scope with a size limit."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

from live.ldap_messages import WHOAMI, Bind, Result, Search
from scenarios.directory import DirectorySpec, DnError, normalize_dn, parse_dn

_CONTAINER_CLASSES = {
    "ou": ("top", "organizationalUnit"),
    "dc": ("top", "dcObject", "organization"),
    "o": ("top", "organization"),
    "c": ("top", "country"),
}


@dataclass(frozen=True, slots=True)
class Node:
    """One entry: its DN as written, its attributes by lowercased name (with the name as
    written, for answers), and its password (None: it cannot bind)."""

    dn: str
    values: dict[str, tuple[str, ...]]
    names: dict[str, str]
    password: str | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """What one request gets: ``entries`` to send before the result, the result code and a
    diagnostic message, and ``event`` for the journal (never a password)."""

    code: Result
    message: str = ""
    entries: tuple[Node, ...] = ()
    event: str = ""


@dataclass
class Session:
    """A connection's authorization state: the DN it is bound as, or None (anonymous)."""

    identity: str | None = None
    history: list[str] = field(default_factory=list)


class DirectoryTree:
    """The entries of a `DirectorySpec`, the base and every DN between it and an entry made
    implicitly (an ``ou=`` as an organizationalUnit, a ``dc=`` as a dcObject, ...)."""

    def __init__(self, spec: DirectorySpec) -> None:
        self.spec = spec
        self.service = normalize_dn(spec.service.dn)
        self.nodes: dict[str, Node] = {}
        base_rdns = parse_dn(spec.base)
        for entry in spec.entries:
            rdns = parse_dn(entry.dn)
            for depth in range(len(base_rdns), len(rdns)):  # the base, then each container
                self._container(rdns[len(rdns) - depth :])
            values = entry.values()
            names = {name.lower(): name for name in entry.attributes}
            names.setdefault("objectclass", "objectClass")
            names.setdefault(rdns[0][0].lower(), rdns[0][0])
            self.nodes[normalize_dn(entry.dn)] = Node(entry.dn, values, names, entry.password)
        self._container(base_rdns)
        self.root = Node(
            "",
            {
                "objectclass": ("top",),
                "namingcontexts": (spec.base,),
                "supportedldapversion": ("3",),
                "supportedextension": (WHOAMI,),
            },
            {
                "objectclass": "objectClass",
                "namingcontexts": "namingContexts",
                "supportedldapversion": "supportedLDAPVersion",
                "supportedextension": "supportedExtension",
            },
        )
        """The root DSE (RFC 4512 §5.1): readable by anyone, in base scope."""

    def _container(self, rdns: tuple[tuple[str, str], ...]) -> None:
        dn = ",".join(f"{kind}={value}" for kind, value in rdns)
        key = normalize_dn(dn)
        if key in self.nodes:
            return
        kind, value = rdns[0]
        classes = _CONTAINER_CLASSES.get(kind.lower(), ("top",))
        values = {"objectclass": classes, kind.lower(): (value,)}
        self.nodes[key] = Node(dn, values, {"objectclass": "objectClass", kind.lower(): kind})

    def bind(self, session: Session, request: Bind) -> Answer:
        """A bind: on success the session takes the identity; on any failure it is anonymous."""
        session.identity = None
        name = request.name
        if request.version != 3:
            return Answer(Result.PROTOCOL_ERROR, "only LDAPv3", event=f"bind v{request.version}")
        if request.password is None:
            return Answer(
                Result.AUTH_METHOD_NOT_SUPPORTED,
                "SASL is not supported: use a simple bind",
                event=f"bind {name or '(anonymous)'} SASL",
            )
        if not name and not request.password:
            return Answer(Result.SUCCESS, event="bind (anonymous)")
        if not request.password:  # RFC 4513 §5.1.2: an unauthenticated bind authenticates no one
            return Answer(
                Result.UNWILLING_TO_PERFORM,
                "unauthenticated bind (DN with no password) disallowed",
                event=f"bind {name} with an empty password",
            )
        try:
            key = normalize_dn(name)
        except DnError as exc:
            return Answer(Result.INVALID_DN_SYNTAX, str(exc), event=f"bind {name[:80]!r}")
        password = self._password(key)
        if password is None or not hmac.compare_digest(password.encode("utf-8"), request.password):
            return Answer(Result.INVALID_CREDENTIALS, event=f"bind {name}")
        session.identity = key
        return Answer(Result.SUCCESS, event=f"bind {name}")

    def _password(self, key: str) -> str | None:
        if key == self.service:
            return self.spec.service.password
        node = self.nodes.get(key)
        return node.password if node is not None else None

    def search(self, session: Session, request: Search) -> Answer:
        """The entries in scope that the filter matches (True, never Undefined), at most
        ``size_limit`` of them (0: no limit) and then ``sizeLimitExceeded``."""
        scope = ("base", "one", "sub")[request.scope]
        what = f"search {request.base!r} {scope} {request.filter.text()}"
        if not request.base and request.scope == 0:
            root = (self.root,) if request.filter.matches(self.root.values) is True else ()
            return Answer(Result.SUCCESS, entries=root, event=f"{what} (root DSE)")
        if session.identity is None:
            return Answer(
                Result.INSUFFICIENT_ACCESS_RIGHTS,
                "anonymous searches are not allowed: bind first",
                event=what,
            )
        try:
            base = normalize_dn(request.base)
        except DnError as exc:
            return Answer(Result.INVALID_DN_SYNTAX, str(exc), event=what)
        if base not in self.nodes:
            return Answer(Result.NO_SUCH_OBJECT, f"no entry {request.base!r}", event=what)
        found = [
            node
            for key, node in self.nodes.items()
            if _in_scope(key, base, request.scope) and request.filter.matches(node.values) is True
        ]
        limit = request.size_limit
        if limit and len(found) > limit:
            return Answer(
                Result.SIZE_LIMIT_EXCEEDED,
                entries=tuple(found[:limit]),
                event=f"{what}: {limit} of {_entries(len(found))}",
            )
        return Answer(Result.SUCCESS, entries=tuple(found), event=f"{what}: {_entries(len(found))}")

    def whoami(self, session: Session) -> str:
        """The authorization identity (RFC 4532): ``dn:<DN>``, or empty for anonymous."""
        if session.identity is None:
            return ""
        node = self.nodes.get(session.identity)
        return f"dn:{node.dn if node is not None else self.spec.service.dn}"


def _entries(count: int) -> str:
    return f"{count} entr{'y' if count == 1 else 'ies'}"


def _in_scope(key: str, base: str, scope: int) -> bool:
    if scope == 0:
        return key == base
    if key == base:
        return scope == 2
    if not key.endswith("," + base):
        return False
    return scope == 2 or key.count(",") == base.count(",") + 1


def selected(
    node: Node, attributes: tuple[str, ...], types_only: bool
) -> list[tuple[str, tuple[str, ...]]]:
    """The attributes a search returns for ``node``: all user attributes for none or ``*``,
    none for ``1.1``, else the named ones it has; with ``types_only``, names without values."""
    wanted = {a.lower() for a in attributes}
    every = not wanted or "*" in wanted
    return [
        (node.names.get(name, name), () if types_only else values)
        for name, values in node.values.items()
        if every or name in wanted
    ]
