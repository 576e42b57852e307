"""Stateful fuzzing of the fake control plane from the public Anypoint specs: schemathesis
generates requests (valid and invalid, ``GenerationMode.POSITIVE``/``NEGATIVE``) for every
operation the fake serves; path ids are mostly replaced by ids that exist now, so requests reach
real entities and the state evolves from request to request (nothing is reset between them).

Every answer is checked: no 5xx, a documented status answers its spec's schema, a 2xx is
documented, and a rejected request (4xx) changes nothing (the state's snapshot before and after
are equal). Bounded by a number of inputs; on loopback only.

``python -m tests.fake_anypoint.spec_fuzz --examples N`` (``python3 dev.py fuzz control-plane``)
prints the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import random
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from common.clock import ManualClock
from fake_anypoint import ControlPlaneServer, ControlPlaneState

from .spec_book import IN_SCOPE, Book, Operation, load_spec
from .spec_walk import SEED


@dataclass
class FuzzReport:
    inputs: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    outside_spec: list[str] = field(default_factory=list)
    undocumented: Counter[str] = field(default_factory=Counter)
    changed_on_reject: list[str] = field(default_factory=list)
    not_sent: int = 0
    operations: Counter[str] = field(default_factory=Counter)

    def summary(self) -> str:
        by_class = Counter(f"{s // 100}xx" for s in self.statuses.elements())
        return "\n".join(
            [
                f"inputs tried: {self.inputs} over {len(self.operations)} operations "
                f"({self.not_sent} not sendable by the HTTP client)",
                f"statuses: {dict(sorted(by_class.items()))} "
                f"({', '.join(f'{k}: {v}' for k, v in sorted(self.statuses.items()))})",
                f"server errors: {len(self.server_errors)}",
                f"responses outside the spec: {len(self.outside_spec)}",
                f"rejected requests that changed the state: {len(self.changed_on_reject)}",
                "client errors the spec does not list (kept apart): "
                f"{sum(self.undocumented.values())}",
            ]
        )


@contextmanager
def serving(state: ControlPlaneState) -> Iterator[ControlPlaneServer]:
    """The fake on 127.0.0.1 in a thread of its own (schemathesis calls are blocking)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fake-anypoint", daemon=True)
    thread.start()
    # The platform's own rate limit is checked elsewhere; here it would turn the run into 503s.
    server = ControlPlaneServer(state, platform_rate_limit=0)
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(30)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def _operations(book: Book) -> list[tuple[Operation, Any, str]]:
    """(book operation, schemathesis operation, base path) for every served operation."""
    served = {op.key: op for op in book.served()}
    out = []
    for api in IN_SCOPE:
        schema = schemathesis.openapi.from_dict(load_spec(api))
        for result in schema.get_all_operations():
            if not isinstance(result, Ok):
                raise AssertionError(f"{api}: schemathesis cannot read an operation: {result}")
            st_op = result.ok()
            full = st_op.full_path if st_op.full_path.startswith("/") else "/" + st_op.full_path
            key = (api, st_op.method.upper(), full.replace("//", "/"))
            if key in served:
                base = full[: len(full) - len(st_op.path)]
                out.append((served[key], st_op, base))
    return out


def _ids(state: ControlPlaneState) -> dict[str, list[str]]:
    """Values that exist now, by path parameter name."""
    apis = [str(i) for i in state.apis]
    return {
        "orgId": [state.org_id],
        "envId": [state.env_id, *state.environments],
        "environmentId": list(state.environments),
        "apiId": apis,
        "envApiId": apis,
        "apiPolicyId": [str(i) for i in state.policies],
        "contractId": [str(i) for i in state.contracts],
        "tierId": [str(i) for i in state.tiers],
        "appId": [str(i) for i in state.applications],
        "connAppId": [a.client_id for a in state.parts.org.all_connected_apps()],
        "clientId": [state.connected_app.client_id],
        "groupId": ["68ef9520-24e9-4cf2-b2f5-620025690913"],
        "assetId": ["cors", "rate-limiting"],
        "assetVersion": ["1.3.2", "1.4.1"],
    }


def _comparable(state: ControlPlaneState) -> dict[str, Any]:
    return state.snapshot()


def run(examples: int, seed: int = 0) -> FuzzReport:
    """Fuzz ``examples`` requests; the report holds every finding."""
    report = FuzzReport()
    state = ControlPlaneState(clock=ManualClock(), seed=seed)
    state.seed(copy.deepcopy(SEED))
    app = state.connected_app
    token = state.issue_token(app.client_id, app.client_secret).value
    book = Book(IN_SCOPE)
    operations = _operations(book)
    session = requests.Session()

    with serving(state) as server:

        @settings(
            max_examples=examples,
            database=None,
            deadline=None,
            derandomize=True,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @hypothesis.seed(seed)
        @hypothesis.given(data=st.data())
        def one(data: st.DataObject) -> None:
            book_op, st_op, base = data.draw(st.sampled_from(operations))
            mode = data.draw(st.sampled_from([GenerationMode.POSITIVE, GenerationMode.NEGATIVE]))
            case = data.draw(st_op.as_strategy(generation_mode=mode))
            # one draw of one shape whatever the state holds (Hypothesis replays draws), seeding
            # choices that small drawn integers would bias towards 0
            rng = random.Random(data.draw(st.integers(0, 2**32 - 1)))
            known = _ids(state)
            for name in sorted(case.path_parameters or {}):
                values = known.get(name) or []
                if values and rng.random() < 0.9:  # mostly an id that exists now
                    case.path_parameters[name] = rng.choice(values)
            # 1 in 20 keeps the credentials schemathesis made up (or none)
            auth = {"Authorization": f"Bearer {token}"} if rng.random() >= 0.05 else {}
            url = server.base_url + base.rstrip("/")
            _send(report, state, session, url, book_op, case, auth)

        one()
    session.close()
    return report


def _send(
    report: FuzzReport,
    state: ControlPlaneState,
    session: requests.Session,
    base_url: str,
    op: Operation,
    case: Any,
    auth: dict[str, str],
) -> None:
    before = _comparable(state)
    try:
        kwargs = case.as_transport_kwargs(base_url=base_url)
        headers = {k: v for k, v in (kwargs.pop("headers", None) or {}).items()}
        if auth:
            headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            headers.update(auth)
        kwargs.pop("timeout", None)
        response = session.request(**kwargs, headers=headers, timeout=10)
    except (requests.RequestException, ValueError, TypeError, UnicodeError):
        report.not_sent += 1
        return
    report.inputs += 1
    report.operations[op.label] += 1
    status = response.status_code
    report.statuses[status] += 1
    where = f"{case.method} {case.formatted_path}"
    if status >= 500:
        report.server_errors.append(f"{where}: {status} {response.text[:200]}")
        return
    ctype = response.headers.get("Content-Type", "")
    found = op.check(status, ctype, response.content)
    if 400 <= status < 500 and found and "is not documented" in found[0]:
        report.undocumented[f"{op.api} {op.label} {status}"] += 1
        found = found[1:]
    report.outside_spec += [f"{where}: {p}" for p in found]
    if status >= 400:
        after = _comparable(state)
        if after != before:
            changed = sorted(k for k in after if after[k] != before.get(k))
            report.changed_on_reject.append(f"{where} -> {status}: changed {changed}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=2000, help="inputs to try (2000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not 1 <= args.examples <= 1_000_000:
        parser.error("--examples must be between 1 and 1000000")
    report = run(args.examples, args.seed)
    print(report.summary())
    for title, items in (
        ("server errors", report.server_errors),
        ("outside the spec", report.outside_spec),
        ("state changed by a rejected request", report.changed_on_reject),
    ):
        for item in items[:20]:
            print(f"  {title}: {item}")
    for name, count in report.undocumented.most_common():
        print(f"  spec silent: {name} x{count}")
    bad = report.server_errors or report.outside_spec or report.changed_on_reject
    print(json.dumps({"inputs": report.inputs, "failures": len(bad)}))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
