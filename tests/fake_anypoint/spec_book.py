"""The vendored Anypoint OpenAPI specs as a book of operations: which operation a request is,
and whether a response is what the spec of that operation says (status documented, body valid
against its schema with OpenAPI 3.0 semantics: ``nullable``, formats, enums).

Which operations the fake serves, and why it leaves some out, is decided here (``NOT_SERVED``);
``python -m tests.fake_anypoint.spec_book`` prints the table of ``docs/control-plane.md`` §10.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from openapi_schema_validator import OAS30Validator

SPECS = Path(__file__).resolve().parent / "specs"
IN_SCOPE = (
    "authenticate",
    "authorization",
    "org",
    "env",
    "connected_app",
    "apim",
    "apim_policy",
    "apim_contract",
    "apim_tier",
    "exchange_client_apps",
)
ALL_APIS = (*IN_SCOPE, "exchange_assets")
METHODS = ("get", "post", "put", "patch", "delete")

NOT_SERVED: dict[tuple[str, str, str], str] = {
    ("org", "POST", "/accounts/api/organizations"): (
        "creating business groups: the fake is one organization, the one an adapter syncs from"
    ),
    ("org", "DELETE", "/accounts/api/organizations/{orgId}"): (
        "deleting the organization would leave the fake without the org every path names"
    ),
    ("exchange_assets", "POST", "/exchange/api/v2/assets"): (
        "out of scope (Exchange assets spec): the fake publishes with the CLI's "
        "`POST /exchange/api/v2/organizations/{org}/assets/{group}/{asset}/{version}`"
    ),
    ("exchange_assets", "GET", "/exchange/api/v2/assets/search"): (
        "out of scope (Exchange assets spec): the fake serves the CLI's "
        "`GET /exchange/api/v2/assets`"
    ),
    ("exchange_assets", "GET", "/exchange/api/v2/assets/{orgId}/{assetId}/asset"): (
        "out of scope (Exchange assets spec)"
    ),
    ("exchange_assets", "GET", "/exchange/api/v2/assets/{orgId}/{assetId}/{version}/asset"): (
        "out of scope (Exchange assets spec); `GET /exchange/api/v2/assets/{group}/{asset}/"
        "{version}` is served (410 once deleted)"
    ),
    ("exchange_assets", "PATCH", "/exchange/api/v2/assets/{orgId}/{assetId}"): (
        "out of scope (Exchange assets spec)"
    ),
    ("exchange_assets", "DELETE", "/exchange/api/v2/assets/{orgId}/{assetId}/{version}"): (
        "out of scope (Exchange assets spec); the CLI's `DELETE /exchange/api/v1/...` is served"
    ),
}

STATUS_OVERRIDES: dict[tuple[str, str, str], tuple[int, int, str]] = {
    (
        "exchange_client_apps",
        "GET",
        "/exchange/api/v2/organizations/{orgId}/applications/{appId}",
    ): (
        200,
        204,
        "the spec's 204 carries a body, which HTTP forbids (a 204 has no content): the fake "
        "answers 200 with that body",
    ),
    (
        "exchange_client_apps",
        "GET",
        "/exchange/api/v2/organizations/{orgId}/applications/{appId}/contracts",
    ): (
        200,
        204,
        "the spec's 204 carries a body, which HTTP forbids: the fake answers 200 with that body",
    ),
}
"""Where the spec cannot be followed literally: (status served, status of the spec whose schema
the body is checked against, why)."""


class _Loader(yaml.SafeLoader):
    """YAML without timestamps: dates in examples stay strings, as they are on the wire."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_spec(api: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.load((SPECS / api / "openapi.yaml").read_text(), Loader=_Loader)
    return data


@dataclass
class Operation:
    api: str
    method: str
    path: str
    operation_id: str
    responses: dict[str, Any]
    spec: dict[str, Any] = field(repr=False)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.api, self.method, self.path)

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        parts = re.split(r"(\{[^}]+\})", self.path)
        regex = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
        return re.compile(f"^{regex}$")

    @property
    def served(self) -> bool:
        return self.key not in NOT_SERVED

    def check(self, status: int, content_type: str, body: bytes) -> list[str]:
        """What is wrong with this response for this operation (empty: it is what the spec says)."""
        override = STATUS_OVERRIDES.get(self.key)
        documented = str(status)
        if override is not None and status == override[0]:
            documented = str(override[1])
        response = self.responses.get(documented) or self.responses.get("default")
        if response is None:
            return [f"{self.api} {self.label}: status {status} is not documented"]
        content = response.get("content") or {}
        if not content or status == 204:
            return []
        media = content.get("application/json") or next(iter(content.values()))
        schema = media.get("schema")
        if schema is None:
            return []
        if not content_type.startswith("application/json") and "application/json" in content:
            return [f"{self.api} {self.label}: {status} answered {content_type!r}, not JSON"]
        try:
            data = json.loads(body)
        except ValueError as exc:
            return [f"{self.api} {self.label}: {status} body is not JSON ({exc})"]
        root = {**schema, "components": self.spec.get("components", {})}
        errors = sorted(OAS30Validator(root).iter_errors(data), key=lambda e: list(e.path))
        return [
            f"{self.api} {self.label} {status}: {'.'.join(map(str, e.path)) or '(body)'}: "
            f"{e.message[:200]}"
            for e in errors[:10]
        ]


def _base(spec: dict[str, Any]) -> str:
    url = str(spec["servers"][0]["url"])
    return (
        "/" + url.split("://", 1)[1].split("/", 1)[1].strip("/")
        if "/" in url.split("://", 1)[1]
        else ""
    )


class Book:
    """Every operation of the vendored specs."""

    def __init__(self, apis: tuple[str, ...] = ALL_APIS) -> None:
        self.operations: list[Operation] = []
        for api in apis:
            spec = load_spec(api)
            base = _base(spec).rstrip("/")
            for path, item in spec["paths"].items():
                for method in METHODS:
                    op = item.get(method)
                    if op is None:
                        continue
                    self.operations.append(
                        Operation(
                            api,
                            method.upper(),
                            base + path,
                            op.get("operationId") or f"{method} {path}",
                            op.get("responses", {}),
                            spec,
                        )
                    )

    def find(self, method: str, path: str) -> list[Operation]:
        """The operations (of every spec) a request is; literal segments win over parameters."""
        found = [o for o in self.operations if o.method == method and o.pattern.match(path)]
        if not found:
            return []
        literal = max(o.path.count("/") - o.path.count("{") for o in found)
        return [o for o in found if o.path.count("/") - o.path.count("{") == literal]

    def served(self) -> list[Operation]:
        return [o for o in self.operations if o.served]


def table(book: Book, tested: set[tuple[str, str, str]] | None = None) -> str:
    """The markdown table of ``docs/control-plane.md`` §10."""
    lines = ["| spec | operation | served | why not / note |", "| --- | --- | --- | --- |"]
    for op in book.operations:
        note = NOT_SERVED.get(op.key) or (STATUS_OVERRIDES.get(op.key) or (0, 0, ""))[2]
        mark = (
            "no"
            if not op.served
            else "yes, tested"
            if tested is None or op.key in tested
            else "yes"
        )
        lines.append(f"| {op.api} | `{op.label}` | {mark} | {note} |")
    return "\n".join(lines)


if __name__ == "__main__":
    book = Book()
    print(table(book))
    served = len(book.served())
    print(f"\n{served} of {len(book.operations)} operations served", file=sys.stderr)
