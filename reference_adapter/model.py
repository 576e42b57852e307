"""The values that cross the decision core: the request to decide (`CheckInput`), the answer
(`Decision`), a deny template (`Denial`) and the name of a violated policy (`PolicyRef`).
Plain slotted classes, no validation: they sit on the hot path."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

Header = tuple[str, str]
NO_HEADERS: tuple[Header, ...] = ()
NO_NAMES: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CheckInput:
    """One request as the data-plane faces saw it. ``headers`` keys are lowercased; ``path``
    includes the query string; ``body`` is only set when Envoy buffered one."""

    api_id: str
    method: str
    path: str
    headers: Mapping[str, str]
    source_ip: str = ""
    body: bytes | None = None
    host: str = ""
    scheme: str = "http"
    request_id: str = ""
    size: int = 0
    service: str = ""


@dataclass(frozen=True, slots=True)
class PolicyRef:
    """The applied policy that made a decision (for analytics and traces)."""

    policy_id: int
    name: str


def json_error_body(message: str) -> bytes:
    """The deny body every policy uses: ``{"error": "<message>"}``."""
    return json.dumps({"error": message}).encode()


JSON_CONTENT_TYPE: Header = ("content-type", "application/json")


@dataclass(frozen=True, slots=True)
class Denial:
    """What a policy answers to refuse a request: HTTP status, extra headers, error message.
    Build the constant ones once per policy (``Denial.of``): the body is precomputed."""

    status: int
    message: str
    headers: tuple[Header, ...] = NO_HEADERS
    body: bytes = field(default=b"")

    @classmethod
    def of(cls, status: int, message: str, *headers: Header) -> Denial:
        return cls(status, message, (*headers, JSON_CONTENT_TYPE), json_error_body(message))


class Decision:
    """The engine's answer. Starts allowed; policies add upstream mutations and the client id;
    the engine turns it into a deny with `deny`. Header names are lowercase.

    - ``upstream_set``: headers set (overwritten) on the upstream request;
    - ``upstream_append``: headers appended (comma-joined, dropped if absent: Envoy semantics);
    - ``upstream_remove``: headers removed from the upstream request;
    - ``response_headers``: headers set on the client's response (allowed or denied), in place
      of the upstream's;
    - ``response_append``: headers added to the client's response beside the upstream's;
    - ``headers``/``body``: the deny response (empty when allowed);
    - ``delay_s``: how long the face holds its answer (spike control's queued retries).
    """

    __slots__ = (
        "allowed",
        "api_id",
        "body",
        "client_id",
        "client_name",
        "delay_s",
        "headers",
        "message",
        "response_append",
        "response_headers",
        "status",
        "upstream_append",
        "upstream_remove",
        "upstream_set",
        "violation",
    )

    def __init__(self, api_id: str) -> None:
        self.allowed = True
        self.status = 200
        self.api_id = api_id
        self.client_id: str | None = None
        self.client_name: str | None = None
        self.violation: PolicyRef | None = None
        self.message = ""
        self.headers: tuple[Header, ...] = NO_HEADERS
        self.body = b""
        self.upstream_set: tuple[Header, ...] = NO_HEADERS
        self.upstream_append: tuple[Header, ...] = NO_HEADERS
        self.upstream_remove: tuple[str, ...] = NO_NAMES
        self.response_headers: tuple[Header, ...] = NO_HEADERS
        self.response_append: tuple[Header, ...] = NO_HEADERS
        self.delay_s = 0.0

    def deny(self, denial: Denial, violation: PolicyRef | None) -> Decision:
        """Turn this decision into a deny (returns self for chaining)."""
        self.allowed = False
        self.status = denial.status
        self.message = denial.message
        self.headers = denial.headers + self.response_headers + self.response_append
        self.body = denial.body
        self.violation = violation
        return self

    def set_upstream(self, name: str, value: str) -> None:
        self.upstream_set = (*self.upstream_set, (name, value))

    def append_upstream(self, name: str, value: str) -> None:
        self.upstream_append = (*self.upstream_append, (name, value))

    def remove_upstream(self, name: str) -> None:
        self.upstream_remove = (*self.upstream_remove, name)

    def add_response_header(self, name: str, value: str) -> None:
        self.response_headers = (*self.response_headers, (name, value))

    def append_response_header(self, name: str, value: str) -> None:
        self.response_append = (*self.response_append, (name, value))

    def __repr__(self) -> str:
        verdict = "allowed" if self.allowed else f"denied {self.status} {self.message!r}"
        return f"Decision(api={self.api_id}, {verdict}, client={self.client_id!r})"
