"""A respx-backed stand-in for the control plane's sync API (docs/adapter-contract.md §2), just
enough to drive the live adapter in unit tests. The real fake control plane is another room."""

from __future__ import annotations

import gzip
import json
import re
from typing import Any

import httpx
import respx

PLATFORM = "http://platform.test"
INGEST = "http://ingest.test"
ORG, ENV = "org-1", "env-1"
BASE = f"/apigateway/ccs/v3/organizations/{ORG}/environments/{ENV}"


class FakePlatform:
    def __init__(self, page_limit: int = 2) -> None:
        self.apis: dict[str, dict[str, Any]] = {}
        self.policies: dict[str, list[dict[str, Any]]] = {}
        self.versions: dict[str, int] = {}
        self.contracts: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        self.seq = 0
        self.page_limit = page_limit
        self.down = False
        self.ingest_down = False
        self.ingest_refuses: int | None = None
        """A status the ingest answers every post with (e.g. 400: refused for good)."""
        self.keepalives: list[dict[str, Any]] = []
        self.batches: list[tuple[str, list[dict[str, Any]]]] = []
        self.batch_ids: set[str] = set()
        self.duplicates = 0
        self.requests: list[httpx.Request] = []
        self.logins = 0
        self.jwks: dict[str, Any] | None = None

    # ---- state ----

    def add_api(self, api_id: str, policies: list[dict[str, Any]]) -> None:
        self.apis[api_id] = {"apiId": int(api_id), "assetId": "orders", "versionId": int(api_id)}
        self.set_policies(api_id, policies)
        self.contracts.setdefault(api_id, [])

    def set_policies(self, api_id: str, policies: list[dict[str, Any]]) -> None:
        self.policies[api_id] = policies
        self.versions[api_id] = self.versions.get(api_id, 0) + 1

    def put_contract(self, api_id: str, item: dict[str, Any]) -> None:
        self.seq += 1
        self.contracts[api_id] = [
            (s, c) for s, c in self.contracts[api_id] if c["contractId"] != item["contractId"]
        ] + [(self.seq, item)]

    @property
    def events(self) -> list[dict[str, Any]]:
        return [e for _, batch in self.batches for e in batch]

    # ---- routing ----

    def install(self, router: respx.MockRouter) -> None:
        router.route(host="platform.test").mock(side_effect=self._platform)
        router.route(host="ingest.test").mock(side_effect=self._ingest)

    def _platform(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.down:
            raise httpx.ConnectError("platform down")
        path = request.url.path
        if path == "/jwks.json":
            if self.jwks is None:
                return httpx.Response(503, json={"message": "jwks not ready"})
            return httpx.Response(200, json=self.jwks)
        if path == "/accounts/api/v2/oauth2/token":
            self.logins += 1
            return httpx.Response(
                200,
                json={
                    "access_token": f"tok{self.logins}",
                    "token_type": "bearer",
                    "expires_in": 3600,
                },
            )
        if not request.headers.get("authorization", "").startswith("Bearer tok"):
            return httpx.Response(401, json={"message": "missing token"})
        if path == f"{BASE}/apis":
            return httpx.Response(200, json={"data": list(self.apis.values())})
        if path == f"{BASE}/keepalive":
            self.keepalives.append(json.loads(request.content))
            return httpx.Response(204)
        match = re.fullmatch(rf"{BASE}/apis/(\d+)/(policies|contracts)", path)
        if not match or match.group(1) not in self.apis:
            return httpx.Response(404, json={"message": "not found"})
        api_id, kind = match.groups()
        if kind == "policies":
            version = str(self.versions[api_id])
            if request.headers.get("if-none-match") == f'"{version}"':
                return httpx.Response(304)
            return httpx.Response(
                200,
                json={"apiId": int(api_id), "version": version, "policies": self.policies[api_id]},
                headers={"ETag": f'"{version}"'},
            )
        since = request.url.params.get("updatedSince")
        rows = self.contracts[api_id]
        if since is None:
            rows = [
                (s, c) for s, c in rows if c.get("status") == "APPROVED" and not c.get("removed")
            ]
        else:
            rows = [(s, c) for s, c in rows if s > int(since)]
        offset = int(request.url.params.get("offset", 0))
        page = rows[offset : offset + self.page_limit]
        body: dict[str, Any] = {
            "links": {"self": str(request.url)},
            "cursor": str(self.seq),
            "data": [c for _, c in page],
        }
        if offset + self.page_limit < len(rows):
            query = f"offset={offset + self.page_limit}" + (
                f"&updatedSince={since}" if since else ""
            )
            body["links"]["next"] = f"{BASE}/apis/{api_id}/contracts?{query}"
        return httpx.Response(200, json=body)

    def _ingest(self, request: httpx.Request) -> httpx.Response:
        if self.ingest_down:
            raise httpx.ConnectError("ingest down")
        if self.ingest_refuses is not None:
            return httpx.Response(self.ingest_refuses, json={"message": "refused"})
        assert request.url.path == "/v2/analytics/events"
        assert request.headers["content-encoding"] == "gzip"
        batch_id = request.headers["x-batch-id"]
        events = json.loads(gzip.decompress(request.content))
        if batch_id in self.batch_ids:
            self.duplicates += 1
            return httpx.Response(202, json={"accepted": len(events), "duplicate": True})
        self.batch_ids.add(batch_id)
        self.batches.append((batch_id, events))
        return httpx.Response(202, json={"accepted": len(events)})
