"""Request pools: for each client of the mix, ``variants`` ready-made `CheckInput`s with its
credentials and seeded Faker attributes (source address, user agent, path). Requests reuse
them, so building a request costs nothing on the hot path."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Protocol

from faker import Faker

from reference_adapter import CheckInput
from simulator.whatif.spec import ClientSpec, TrafficSpec

Request = CheckInput
"""One pooled request as the adapter sees it (the reference adapter's `CheckInput`)."""


class Directory(Protocol):
    """Where the pools get API ids and credentials: the virtual control plane, or the ids a
    live stack's fake control plane was seeded with."""

    def api_id(self, key: str) -> str: ...

    def credentials(self, application: str) -> tuple[str, str]: ...


@dataclass(frozen=True, slots=True)
class ClientPool:
    """One client of the mix and its request variants."""

    label: str
    api_key: str
    application: str | None
    requests: tuple[CheckInput, ...]


def _headers(client: ClientSpec, cp: Directory, rng: random.Random) -> dict[str, str]:
    if client.credentials == "missing":
        return {}
    if client.credentials == "unknown":
        return {"client_id": f"{rng.getrandbits(128):032x}", "client_secret": "unknown"}
    assert client.application is not None
    client_id, secret = cp.credentials(client.application)
    if client.credentials == "wrong_secret":
        secret = f"{rng.getrandbits(128):032x}"
    return {"client_id": client_id, "client_secret": secret}


def build_pools(traffic: TrafficSpec, cp: Directory, seed: int) -> list[ClientPool]:
    """The pools for one run (same seed, same requests)."""
    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    pools = []
    for client in traffic.clients:
        api_id = cp.api_id(client.api)
        host = f"{client.api}.default.svc.cluster.local"
        base = _headers(client, cp, rng)
        requests = []
        for _ in range(traffic.variants):
            path = rng.choice(client.paths).replace("{n}", str(rng.randint(1, 99_999)))
            headers = {
                ":authority": host,
                ":method": client.method,
                ":path": path,
                ":scheme": "http",
                "user-agent": fake.user_agent(),
                **base,
            }
            requests.append(
                CheckInput(
                    api_id=api_id,
                    method=client.method,
                    path=path,
                    headers=headers,
                    source_ip=fake.ipv4_public(),
                    host=host,
                    service=client.api,
                )
            )
        pools.append(ClientPool(client.label, client.api, client.application, tuple(requests)))
    return pools
