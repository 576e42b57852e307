"""`ControlPlaneClient`: the adapter's calls to the Anypoint sync API over httpx (log in, APIs,
policies with ETag, the contracts feed with paging, keep-alive, analytics batches). It only
moves JSON; the decision core interprets it."""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from common.redaction import Redactor

TOKEN_PATH = "/accounts/api/v2/oauth2/token"
MAX_FEED_PAGES = 10_000


_REDACT = Redactor()


def _snippet(response: httpx.Response) -> str:
    """The start of an answer for an error message, with credentials redacted (a contracts
    page carries client secrets, a login answer a token)."""
    return _REDACT.text(response.text[:4096])[:200]


class ControlPlaneError(Exception):
    """A sync call failed (network, timeout, unexpected status or body). ``retryable`` is False
    for answers retrying cannot fix (e.g. a 400 on an analytics batch)."""

    def __init__(self, message: str, status: int | None = None, retryable: bool = True):
        super().__init__(message)
        self.status = status
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class PoliciesResult:
    """``modified`` False means 304 (keep what you have)."""

    modified: bool
    version: str | None
    policies: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class ContractsResult:
    """All items of a feed read (every page), and the cursor to keep for the next read."""

    items: list[dict[str, Any]]
    cursor: str | None
    pages: int
    full: bool


class ControlPlaneClient:
    """One adapter's session with the platform. Logs in lazily and again after a 401."""

    def __init__(
        self,
        platform_url: str,
        ingest_url: str,
        client_id: str,
        client_secret: str,
        org_id: str,
        env_id: str,
        *,
        timeout_s: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.platform_url = platform_url.rstrip("/")
        self.ingest_url = ingest_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self.org_id = org_id
        self.env_id = env_id
        self._http = httpx.AsyncClient(timeout=timeout_s, transport=transport)
        self._token: str | None = None
        self.logins = 0

    @property
    def env_base(self) -> str:
        return (
            f"{self.platform_url}/apigateway/ccs/v3/organizations/{self.org_id}"
            f"/environments/{self.env_id}"
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    # ---- plumbing ----

    async def login(self) -> str:
        body = {
            "client_id": self._client_id,
            "client_secret": self._client_secret,
            "grant_type": "client_credentials",
        }
        response = await self._send("POST", self.platform_url + TOKEN_PATH, json=body, auth=False)
        if response.status_code != 200:
            raise ControlPlaneError(
                f"login failed: POST {TOKEN_PATH} answered {response.status_code}: "
                f"{_snippet(response)} (check client_id/client_secret)",
                response.status_code,
            )
        token = _json(response).get("access_token")
        if not isinstance(token, str) or not token:
            raise ControlPlaneError(f"login answer has no access_token: {_snippet(response)}")
        self._token = token
        self.logins += 1
        return token

    async def _send(
        self, method: str, url: str, *, auth: bool = True, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if auth:
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            return await self._http.request(method, url, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise ControlPlaneError(f"{method} {url}: {type(exc).__name__}: {exc}") from exc

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send with the bearer token, logging in first and once more after a 401."""
        if self._token is None:
            await self.login()
        response = await self._send(method, url, **kwargs)
        if response.status_code == 401:
            await self.login()
            response = await self._send(method, url, **kwargs)
        return response

    # ---- the sync API ----

    async def list_apis(self) -> list[dict[str, Any]]:
        url = f"{self.env_base}/apis"
        response = await self.request("GET", url)
        _expect(response, 200, "GET apis")
        data = _json(response).get("data")
        if not isinstance(data, list):
            raise ControlPlaneError(
                f"GET {url}: expected {{'data': [...]}}, got {_snippet(response)}"
            )
        return [item for item in data if isinstance(item, dict)]

    async def get_policies(self, api_id: str, etag: str | None) -> PoliciesResult:
        url = f"{self.env_base}/apis/{api_id}/policies"
        headers = {"If-None-Match": f'"{etag}"'} if etag is not None else {}
        response = await self.request("GET", url, headers=headers)
        if response.status_code == 304:
            return PoliciesResult(False, etag, [])
        _expect(response, 200, f"GET policies of API {api_id}")
        body = _json(response)
        policies = body.get("policies")
        if not isinstance(policies, list):
            raise ControlPlaneError(f"GET {url}: no 'policies' list in {_snippet(response)}")
        version = body.get("version")
        if version is None:
            version = response.headers.get("etag", "").strip('"') or None
        return PoliciesResult(True, str(version) if version is not None else None, policies)

    async def get_contracts(
        self, api_id: str, cursor: str | None, limit: int | None = None
    ) -> ContractsResult:
        """Read the feed from ``cursor`` (None: full snapshot), following ``links.next``."""
        params: dict[str, str] = {}
        if cursor is not None:
            params["updatedSince"] = cursor
        if limit is not None:
            params["limit"] = str(limit)
        url: str = f"{self.env_base}/apis/{api_id}/contracts"
        items: list[dict[str, Any]] = []
        last_cursor = cursor
        pages = 0
        while True:
            response = await self.request("GET", url, params=params or None)
            _expect(response, 200, f"GET contracts of API {api_id}")
            body = _json(response)
            data = body.get("data")
            if not isinstance(data, list):
                raise ControlPlaneError(f"GET {url}: no 'data' list in {_snippet(response)}")
            items.extend(item for item in data if isinstance(item, dict))
            pages += 1
            if body.get("cursor") is not None:
                last_cursor = str(body["cursor"])
            links = body.get("links")
            next_link = links.get("next") if isinstance(links, Mapping) else None
            if not next_link:
                break
            if pages >= MAX_FEED_PAGES:
                raise ControlPlaneError(f"contracts feed of API {api_id}: over {pages} pages")
            url = str(httpx.URL(self.platform_url + "/").join(str(next_link)))
            params = {}
        return ContractsResult(items, last_cursor, pages, cursor is None)

    async def get_jwks(self, url: str, timeout_s: float) -> dict[str, Any]:
        """Fetch a JWKS document (no platform token: JWKS endpoints are public)."""
        response = await self._send("GET", url, auth=False, timeout=timeout_s)
        _expect(response, 200, f"GET JWKS {url}")
        return _json(response)

    async def keepalive(self, adapter_id: str, api_ids: Sequence[str], version: str) -> None:
        ids: list[int | str] = [int(a) if a.isdigit() else a for a in api_ids]
        body = {"adapterId": adapter_id, "apiIds": ids, "version": version}
        response = await self.request("POST", f"{self.env_base}/keepalive", json=body)
        if response.status_code not in (200, 202, 204):
            raise ControlPlaneError(
                f"POST keepalive answered {response.status_code}: {_snippet(response)}",
                response.status_code,
            )

    async def post_analytics(self, batch_id: str, events: Sequence[Mapping[str, Any]]) -> int:
        """POST one gzip JSON batch; returns the status. Raises `ControlPlaneError` with
        ``retryable`` set for failures worth a retry."""
        payload = gzip.compress(json.dumps(list(events), separators=(",", ":")).encode())
        headers = {
            "Content-Encoding": "gzip",
            "Content-Type": "application/json",
            "X-Batch-Id": batch_id,
        }
        response = await self.request(
            "POST", f"{self.ingest_url}/v2/analytics/events", content=payload, headers=headers
        )
        status = response.status_code
        if 200 <= status < 300:
            return status
        retryable = status >= 500 or status in (401, 403, 408, 429)
        raise ControlPlaneError(
            f"POST analytics batch {batch_id} answered {status}: {_snippet(response)}",
            status,
            retryable,
        )


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise ControlPlaneError(
            f"{response.request.method} {response.request.url}: answer is not JSON: "
            f"{_snippet(response)}",
            response.status_code,
        ) from None
    if not isinstance(body, dict):
        raise ControlPlaneError(
            f"{response.request.method} {response.request.url}: expected a JSON object, "
            f"got {_snippet(response)}",
            response.status_code,
        )
    return body


def _expect(response: httpx.Response, status: int, what: str) -> None:
    if response.status_code != status:
        raise ControlPlaneError(
            f"{what} answered {response.status_code}: {_snippet(response)}",
            response.status_code,
        )
