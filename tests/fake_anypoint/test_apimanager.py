"""API Manager v1 over HTTP: shapes the public clients read, and bad input (400/404, state
unchanged)."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import aiohttp
import pytest

from .conftest import SEED, client, new_state


def am(state: Any, tail: str = "") -> str:
    return f"/apimanager/api/v1/organizations/{state.org_id}/environments/{state.env_id}{tail}"


def test_api_list_get_create_patch_delete():
    state, _ = new_state()
    r = state.seed(copy.deepcopy(SEED))
    orders = r.apis["orders"]

    async def main() -> None:
        async with client(state) as (server, s):
            base = server.base_url
            async with s.get(base + am(state, "/apis?sort=createdDate&ascending=false")) as resp:
                body = await resp.json()
            assert body["total"] == 2
            assert {a["assetId"] for a in body["assets"]} == {"orders", "billing"}
            group = next(a for a in body["assets"] if a["assetId"] == "orders")
            assert group["exchangeAssetName"] == "orders" and group["totalApis"] == 1
            api = group["apis"][0]
            for key in (
                "id",
                "assetId",
                "assetVersion",
                "productVersion",
                "deprecated",
                "isPublic",
                "environmentId",
                "technology",
            ):
                assert key in api
            assert api["audit"]["created"]["date"].endswith("Z")
            assert "instanceLabel" not in api  # not nullable in the spec: absent, not null
            async with s.get(base + am(state, "/apis?assetId=billing")) as resp:
                assert [a["assetId"] for a in (await resp.json())["assets"]] == ["billing"]

            async with s.get(base + am(state, f"/apis/{orders}?includeTlsContexts=true")) as resp:
                got = await resp.json()
            assert got["id"] == orders and "tlsContexts" in got["endpoint"]
            assert got["activeContractsCount"] == 1

            create = {
                "spec": {"groupId": state.org_id, "assetId": "pay", "version": "1.2.3"},
                "endpoint": {"type": "http-api", "uri": "http://up", "deploymentType": "HY"},
                "instanceLabel": "pay-1",
                "technology": "flexGateway",
            }
            async with s.post(base + am(state, "/apis"), json=create) as resp:
                assert resp.status == 201
                new = await resp.json()
            assert new["assetVersion"] == "1.2.3" and new["endpoint"]["uri"] == "http://up"
            async with s.patch(
                base + am(state, f"/apis/{new['id']}"), json={"deprecated": True, "id": 1}
            ) as resp:
                assert resp.status == 200 and (await resp.json())["deprecated"] is True
            async with s.delete(base + am(state, f"/apis/{new['id']}")) as resp:
                assert resp.status == 204
            async with s.get(base + am(state, f"/apis/{new['id']}")) as resp:
                assert resp.status == 404
                assert f"API with ID {new['id']} not found" in (await resp.json())["message"]

    asyncio.run(main())


def test_policies_two_shapes_apply_patch_order_delete():
    state, _ = new_state()
    r = state.seed(copy.deepcopy(SEED))
    orders = r.apis["orders"]
    cid, rl = r.policies["orders/cid"], r.policies["orders/rl"]

    async def main() -> None:
        async with client(state) as (server, s):
            url = server.base_url + am(state, f"/apis/{orders}/policies")
            async with s.get(url + "?fullInfo=false") as resp:
                legacy = await resp.json()
            assert isinstance(legacy, list) and [p["id"] for p in legacy] == [cid, rl]
            assert legacy[0]["policyTemplateId"] == "client-id-enforcement"
            assert legacy[0]["configurationData"]["clientIdExpression"]
            assert legacy[0]["audit"]["updated"]["date"]
            async with s.get(url) as resp:
                envelope = await resp.json()
            assert [p["policyId"] for p in envelope["policies"]] == [cid, rl]
            assert envelope["policies"][1]["template"]["assetId"] == "rate-limiting"

            cli_body = {
                "apiVersionId": str(orders),
                "configurationData": {"a": 1},
                "id": None,
                "pointcutData": None,
                "groupId": "68ef9520-24e9-4cf2-b2f5-620025690913",
                "assetId": "cors",
                "assetVersion": "1.3.2",
                "policyTemplateId": "cors",
            }
            async with s.post(url, json=cli_body) as resp:
                assert resp.status == 201
                new = (await resp.json())["id"]
            async with s.post(
                url, json={"policyTemplateId": 4, "configurationData": {}, "order": 9}
            ) as resp:
                assert resp.status == 201
                numeric = await resp.json()
            assert numeric["assetId"] == "jwt-validation" and numeric["order"] == 9
            async with s.patch(
                f"{url}/{new}",
                json={
                    "disabled": True,
                    "pointcutData": [{"methodRegex": "GET", "uriTemplateRegex": "/x"}],
                },
            ) as resp:
                assert resp.status == 200
            assert state.policy(orders, new).disabled is True
            assert state.policy(orders, new).pointcut == [
                {"methodRegex": "GET", "uriTemplateRegex": "/x"}
            ]
            async with s.patch(url, json=[{"id": rl, "order": 1}, {"id": cid, "order": 2}]) as resp:
                assert resp.status == 200
            assert [p.id for p in state.policies_of(orders)][:2] == [rl, cid]
            async with s.delete(f"{url}/{new}") as resp:
                assert resp.status == 204
            async with s.delete(f"{url}/{new}") as resp:
                assert resp.status == 404

    asyncio.run(main())


def test_contracts_and_tiers():
    state, _ = new_state()
    r = state.seed(copy.deepcopy(SEED))
    orders = r.apis["orders"]

    async def main() -> None:
        async with client(state) as (server, s):
            base = server.base_url + am(state, f"/apis/{orders}")
            async with s.get(
                base + "/contracts?limit=10&offset=0&sort=id&query=&ascending=true"
            ) as resp:
                body = await resp.json()
            assert body["total"] == 2
            first = body["contracts"][0]
            assert first["application"]["coreServicesId"] == "mobile-id"
            assert first["tier"]["name"] == "gold" and first["audit"]["created"]["date"]
            async with s.get(base + "/contracts?limit=1&coreServicesId=mobile-id") as resp:
                found = await resp.json()
            assert [c["id"] for c in found["contracts"]] == [r.contracts["mobile/orders"]]
            async with s.get(base + "/contracts?query=web") as resp:
                assert (await resp.json())["total"] == 1
            async with s.get(base + "/contracts?offset=1") as resp:
                page = await resp.json()
            assert page["total"] == 2 and len(page["contracts"]) == 1

            app = state.create_application("tablet")
            async with s.post(
                base + "/contracts",
                json={"applicationId": app.id, "tierId": r.tiers["orders/manual"]},
            ) as resp:
                assert resp.status == 200  # the spec's status for a created contract
                made = await resp.json()
            assert made["status"] == "PENDING" and made["requestedTier"]["name"] == "manual"
            async with s.patch(
                f"{base}/contracts/{made['id']}", json={"status": "APPROVED"}
            ) as resp:
                assert (await resp.json())["tier"]["name"] == "manual"
            async with s.patch(
                f"{base}/contracts/{made['id']}", json={"status": "REVOKED"}
            ) as resp:
                assert (await resp.json())["revokedDate"]
            async with s.delete(f"{base}/contracts/{made['id']}") as resp:
                assert resp.status == 204

            async with s.get(
                base + "/tiers?limit=10&offset=0&sort=id&query=&ascending=true"
            ) as resp:
                tiers = await resp.json()
            assert [t["name"] for t in tiers["tiers"]] == ["gold", "manual"]
            assert tiers["tiers"][0]["applicationCount"] == 1
            body = {
                "apiVersionId": orders,
                "status": "ACTIVE",
                "name": "bronze",
                "description": "",
                "autoApprove": True,
                "limits": [
                    {"visible": True, "maximumRequests": 5, "timePeriodInMilliseconds": 1000}
                ],
            }
            async with s.post(base + "/tiers", json=body) as resp:
                assert resp.status == 201
                tid = (await resp.json())["id"]
            async with s.patch(
                f"{base}/tiers/{tid}",
                json={"limits": [{"maximumRequests": 6, "timePeriodInMilliseconds": 1000}]},
            ) as resp:
                assert (await resp.json())["limits"][0]["maximumRequests"] == 6
            async with s.delete(f"{base}/tiers/{tid}") as resp:
                assert resp.status == 204
            tpl = (
                server.base_url
                + f"/apimanager/api/v1/organizations/{state.org_id}/policy-templates"
            )
            async with s.get(tpl) as resp:
                templates = await resp.json()
            assert {"id", "description", "category", "configuration"} <= set(templates[0])

    asyncio.run(main())


BAD: list[tuple[str, str, Any, int, str]] = [
    ("POST", "/apis/{orders}/policies", b"{nope", 400, "malformed JSON"),
    ("POST", "/apis/{orders}/policies", [1, 2], 400, "expected a JSON object"),
    ("POST", "/apis/{orders}/policies", {"configurationData": {}}, 400, "assetId: required"),
    (
        "POST",
        "/apis/{orders}/policies",
        {"assetId": "cors", "configurationData": "x"},
        400,
        "configurationData: 'x' is not valid",
    ),
    (
        "POST",
        "/apis/{orders}/policies",
        {"assetId": "cors", "apiVersionId": "77"},
        400,
        "apiVersionId: 77 does not match",
    ),
    ("POST", "/apis/{orders}/policies", {"policyTemplateId": 999}, 400, "policyTemplateId: 999"),
    (
        "POST",
        "/apis/{orders}/policies",
        {"assetId": "cors", "order": "first"},
        400,
        "order: 'first'",
    ),
    (
        "POST",
        "/apis/{orders}/policies",
        {"assetId": "cors", "pointcutData": "GET"},
        400,
        "pointcutData: 'GET'",
    ),
    ("POST", "/apis/424242/policies", {"assetId": "cors"}, 404, "API with ID 424242 not found"),
    ("PATCH", "/apis/{orders}/policies/{cid}", {"disabled": "yes"}, 400, "disabled: 'yes'"),
    ("PATCH", "/apis/{orders}/policies", [{"id": 424242, "order": 1}], 404, "policy 424242"),
    ("PATCH", "/apis/{orders}/policies", [{"id": "{cid}", "order": 0}], 400, "order"),
    ("POST", "/apis", {"spec": {"version": "1.0.0"}}, 400, "spec.assetId: required"),
    ("POST", "/apis", {"endpoint": {}}, 400, "spec: required"),
    ("PATCH", "/apis/{orders}", {"deprecated": "true"}, 400, "deprecated: 'true'"),
    ("POST", "/apis/{orders}/contracts", {}, 400, "applicationId: required"),
    ("POST", "/apis/{orders}/contracts", {"applicationId": "x"}, 400, "applicationId: 'x'"),
    ("POST", "/apis/{orders}/contracts", {"applicationId": 5}, 404, "application 5 not found"),
    ("PATCH", "/apis/{orders}/contracts/{contract}", {"status": "GONE"}, 400, "status: 'GONE'"),
    ("PATCH", "/apis/{orders}/contracts/1", {"status": "REVOKED"}, 404, "contract 1 not found"),
    ("POST", "/apis/{orders}/tiers", {"name": "t"}, 400, "limits: required"),
    (
        "POST",
        "/apis/{orders}/tiers",
        {"name": "t", "limits": [{"maximumRequests": -1, "timePeriodInMilliseconds": 1}]},
        400,
        "limits[0].maximumRequests: -1",
    ),
    ("DELETE", "/apis/{orders}/tiers/{gold}", None, 400, "used by contracts"),
    ("GET", "/apis/{orders}/contracts?sort=color", None, 400, "sort: 'color'"),
    ("GET", "/apis/{orders}/contracts?limit=many", None, 400, "limit: 'many'"),
    ("GET", "/apis/x", None, 400, "api_id: 'x'"),
]


@pytest.mark.parametrize(("method", "tail", "body", "status", "message"), BAD)
def test_bad_input_is_a_clear_4xx_and_changes_nothing(method, tail, body, status, message):
    state, _ = new_state()
    r = state.seed(copy.deepcopy(SEED))
    ids = {
        "orders": r.apis["orders"],
        "cid": r.policies["orders/cid"],
        "contract": r.contracts["mobile/orders"],
        "gold": r.tiers["orders/gold"],
    }
    tail = tail.format(**ids)
    if isinstance(body, list):
        body = [
            {
                k: (int(v.format(**ids)) if isinstance(v, str) and "{" in v else v)
                for k, v in item.items()
            }
            if isinstance(item, dict)
            else item
            for item in body
        ]
    before = state.snapshot()

    async def main() -> None:
        async with client(state) as (server, s):
            kwargs: dict[str, Any] = {}
            if isinstance(body, bytes):
                kwargs = {"data": body, "headers": {"Content-Type": "application/json"}}
            elif body is not None:
                kwargs = {"json": body}
            async with s.request(method, server.base_url + am(state, tail), **kwargs) as resp:
                data = await resp.json()
                assert resp.status == status, data
                assert message in data["message"]

    asyncio.run(main())
    after = state.snapshot()
    after["tokens"], before["tokens"] = [], []
    assert after == before


def test_unknown_org_and_env_are_404():
    state, _ = new_state()

    async def main() -> None:
        async with client(state) as (server, s):
            for path in (
                f"/apimanager/api/v1/organizations/nope/environments/{state.env_id}/apis",
                f"/apimanager/api/v1/organizations/{state.org_id}/environments/nope/apis",
            ):
                async with s.get(server.base_url + path) as resp:
                    assert resp.status == 404
                    assert "'nope' not found" in (await resp.json())["message"]
            async with s.put(server.base_url + am(state, "/apis")) as resp:
                assert resp.status == 405 and "not allowed" in (await resp.json())["message"]
            async with (
                aiohttp.ClientSession() as anon,
                anon.get(server.base_url + am(state, "/apis")) as resp,
            ):
                assert resp.status == 401

    asyncio.run(main())
