"""Access Management, client applications (Exchange / API Platform), the analytics query API,
CLI telemetry and the admin API."""

from __future__ import annotations

import asyncio
import copy
import csv
import gzip
import io
import json

import aiohttp

from .conftest import SEED, client, new_state, running


def test_login_me_and_environments():
    state, _ = new_state()

    async def main() -> None:
        async with running(state) as server, aiohttp.ClientSession() as s:
            base = server.base_url
            creds = {"username": state.user["username"], "password": state.user["password"]}
            async with s.post(base + "/accounts/login", json=creds) as resp:
                body = await resp.json()
            assert resp.status == 200 and body["access_token"]
            assert "url" not in body and "body" not in body
            async with s.post(base + "/accounts/login", data=creds) as resp:
                assert resp.status == 200
            async with s.post(
                base + "/accounts/login", json={"username": "x", "password": "y"}
            ) as resp:
                assert resp.status == 401
            user_h = {"Authorization": f"Bearer {body['access_token']}"}
            async with s.get(base + "/accounts/api/me", headers=user_h) as resp:
                me = await resp.json()
            assert me["user"]["organization"]["id"] == state.org_id and "client" not in me

            app = state.connected_app
            async with s.post(
                base + "/accounts/api/v2/oauth2/token",
                json={"client_id": app.client_id, "client_secret": app.client_secret},
            ) as resp:
                token = (await resp.json())["access_token"]
            h = {"Authorization": f"Bearer {token}"}
            async with s.get(base + "/accounts/api/me", headers=h) as resp:
                assert (await resp.json())["client"]["org_id"] == state.org_id
            async with s.get(base + "/accounts/api/users/me", headers=h) as resp:
                flat = await resp.json()
            assert flat["memberOfOrganizations"][0] == {
                "id": state.org_id,
                "name": state.org_name,
                "isRoot": True,
                "isMaster": True,
                "domain": state.org_name,
            }
            assert (
                flat["organizationPreferences"][state.org_id]["defaultEnvironment"] == state.env_id
            )
            org = f"{base}/accounts/api/organizations/{state.org_id}"
            async with s.get(org, headers=h) as resp:
                o = await resp.json()
            assert o["isRoot"] is True and o["subscription"]["category"]
            async with s.post(
                org + "/environments",
                headers=h,
                json={"name": "Production", "type": "production", "organizationId": state.org_id},
            ) as resp:
                assert resp.status == 201
                prod = await resp.json()
            assert prod["isProduction"] is True
            async with s.post(
                org + "/environments", headers=h, json={"name": "Production"}
            ) as resp:
                assert resp.status == 400 and "already exists" in (await resp.json())["message"]
            async with s.get(org + "/environments?name=Production", headers=h) as resp:
                envs = await resp.json()
            assert envs["total"] == 1 and envs["data"][0]["id"] == prod["id"]
            async with s.get(f"{org}/environments/{prod['id']}", headers=h) as resp:
                assert (await resp.json())["name"] == "Production"
            async with s.get(f"{org}/environments/nope", headers=h) as resp:
                assert resp.status == 404
            for path in ("/cli/api/v1/analytics/event", "/cli/api/v1/analytics/error"):
                async with s.post(base + path, json={"x": 1}) as resp:
                    assert resp.status == 200

    asyncio.run(main())


def test_client_applications_and_exchange_contracts():
    state, _ = new_state()
    r = state.seed(copy.deepcopy(SEED))
    orders = r.apis["orders"]

    async def main() -> None:
        async with client(state) as (server, s):
            org = state.org_id
            repo = f"{server.base_url}/apiplatform/repository/v2/organizations/{org}/applications"
            ex = f"{server.base_url}/exchange/api/v2/organizations/{state.org_id}/applications"
            async with s.get(repo + "?targetAdminSite=true&offset=0&limit=1") as resp:
                listed = await resp.json()
            assert listed["total"] == 2 and listed["applications"][0]["clientId"] == "mobile-id"
            async with s.post(ex, json={"name": "kiosk", "description": "d"}) as resp:
                assert resp.status == 201
                kiosk = await resp.json()
            assert kiosk["coreServicesId"] == kiosk["clientId"]
            async with s.post(
                f"{ex}/{kiosk['id']}/contracts",
                json={
                    "apiId": orders,
                    "environmentId": state.env_id,
                    "acceptedTerms": True,
                    "requestedTierId": r.tiers["orders/manual"],
                },
            ) as resp:
                assert resp.status == 201
                assert (await resp.json())["status"] == "PENDING"
            async with s.get(f"{ex}/{kiosk['id']}/contracts") as resp:
                assert len(await resp.json()) == 1
            old = kiosk["clientSecret"]
            async with s.post(f"{ex}/{kiosk['id']}/secret/reset") as resp:
                assert (await resp.json())["clientSecret"] != old
            async with s.patch(f"{ex}/{kiosk['id']}", json={"name": "kiosk-2"}) as resp:
                assert (await resp.json())["name"] == "kiosk-2"
            async with s.post(ex, json={"name": ""}) as resp:
                assert resp.status == 400 and "name" in (await resp.json())["message"]
            async with s.delete(f"{ex}/{kiosk['id']}") as resp:
                assert resp.status == 204
            async with s.get(f"{repo}/{kiosk['id']}") as resp:
                assert resp.status == 404

    asyncio.run(main())


def test_analytics_query_json_and_csv():
    state, _ = new_state()
    r = state.seed(copy.deepcopy(SEED))
    orders = r.apis["orders"]
    ev = {
        "event_id": "e1",
        "api_id": str(orders),
        "api_version_id": str(orders),
        "client_id": "mobile-id",
        "received_ts": "2026-09-21T10:00:00.000Z",
        "replied_ts": "2026-09-21T10:00:00.250Z",
        "client_ip": "10.0.0.1",
        "verb": "GET",
        "path": "/orders",
        "status_code": 429,
        "user_agent": "curl/8.1",
        "request_bytes": 0,
        "response_bytes": 12,
        "request_disposition": "blocked",
        "policy_violation": {"policy_id": 502, "policy_name": "rate-limiting"},
    }
    other = dict(ev, event_id="e2", received_ts="2026-09-01T00:00:00Z", api_id="10002")
    state.ingest("b1", [ev, other], 100)

    async def main() -> None:
        async with client(state) as (server, s):
            url = (
                f"{server.base_url}/analytics/1.0/{state.org_id}/environments/{state.env_id}/events"
            )
            q = "?format=json&startDate=2026-09-20T00:00:00Z&endDate=2026-09-22T00:00:00Z"
            async with s.get(url + q) as resp:
                rows = await resp.json()
            assert len(rows) == 1
            row = rows[0]
            assert row["API ID"] == str(orders) and row["API Name"] == "orders"
            assert row["Application Name"] == "mobile" and row["Request Outcome"] == "BLOCKED"
            assert row["Violated Policy Name"] == "rate-limiting" and row["Response Time"] == 250
            assert row["User Agent Name"] == "curl" and row["Message ID"] == "e1"
            async with s.get(
                url + f"?format=json&apiIds={orders}&fields=Verb.Status%20Code"
            ) as resp:
                rows = await resp.json()
            assert set(rows[0]) == {
                "Timestamp",
                "API ID",
                "API Name",
                "API Version ID",
                "API Version Name",
                "Verb",
                "Status Code",
            }
            async with s.get(url + "?format=csv&fields=Verb,Status Code&maxResults=1") as resp:
                text = await resp.text()
            parsed = list(csv.DictReader(io.StringIO(text)))
            assert len(parsed) == 1 and parsed[0]["Verb"] == "GET"
            for query, message in (
                ("?format=xml", "format"),
                ("?format=csv", "fields: required"),
                ("?format=json&fields=Colour", "'Colour'"),
                ("?format=json&duration=3 weeks", "duration"),
                ("?format=json&startDate=yesterday", "startDate"),
            ):
                async with s.get(url + query) as resp:
                    assert resp.status == 400 and message in (await resp.json())["message"]

    asyncio.run(main())


def test_admin_api_mirrors_the_python_api():
    state, _ = new_state()

    async def main() -> None:
        async with running(state) as server, aiohttp.ClientSession() as s:
            admin = server.base_url + "/_admin"
            async with s.post(admin + "/seed", json=copy.deepcopy(SEED)) as resp:
                seeded = await resp.json()
            assert seeded["applications"]["mobile"]["client_id"] == "mobile-id"
            assert seeded["apis"]["orders"] == state.apis[seeded["apis"]["orders"]].id
            async with s.post(admin + "/seed", json={"apis": [{"key": "x", "colour": 1}]}) as resp:
                assert resp.status == 400
                assert (
                    "apis[0].colour: 1 is not valid: Extra inputs are not permitted"
                    in (await resp.json())["message"]
                )
            async with s.post(admin + "/faults", json=[{"data": "apis", "status": 503}]) as resp:
                assert resp.status == 201
            async with s.post(admin + "/faults", json={"data": "nope"}) as resp:
                assert resp.status == 400
            async with s.get(admin + "/faults") as resp:
                assert [f["spec"]["status"] for f in await resp.json()] == [503]
            async with s.get(admin + "/info") as resp:
                info = await resp.json()
            app = {"client_id": info["client_id"], "client_secret": info["client_secret"]}
            async with s.post(server.base_url + "/accounts/api/v2/oauth2/token", json=app) as resp:
                token = (await resp.json())["access_token"]
            h = {"Authorization": f"Bearer {token}"}
            apis = (
                f"{server.base_url}/apigateway/ccs/v3/organizations/{state.org_id}"
                f"/environments/{state.env_id}/apis"
            )
            async with s.get(apis, headers=h) as resp:
                assert resp.status == 503
            async with s.delete(admin + "/faults") as resp:
                assert resp.status == 204
            async with s.get(apis, headers=h) as resp:
                assert resp.status == 200
            events = gzip.compress(json.dumps([{"event_id": "1"}]).encode())
            async with s.post(
                server.ingest_url + "/v2/analytics/events",
                data=events,
                headers={**h, "X-Batch-Id": "b-1", "Content-Encoding": "gzip"},
            ) as resp:
                assert resp.status == 202
            async with s.get(admin + "/analytics") as resp:
                got = await resp.json()
            assert got["events"] == [{"event_id": "1"}] and got["batches"][0]["batch_id"] == "b-1"
            async with s.get(admin + "/journal?data=apis") as resp:
                journal = await resp.json()
            assert [(e["status"], e["fault"]) for e in journal] == [
                (503, "apis-status-503"),
                (200, None),
            ]
            async with s.get(admin + "/snapshot") as resp:
                snap = await resp.json()
            async with s.post(admin + "/expire-tokens") as resp:
                assert resp.status == 204
            async with s.get(apis, headers=h) as resp:
                assert resp.status == 401
            async with s.post(admin + "/reset") as resp:
                assert resp.status == 204
            assert state.apis == {}
            async with s.put(admin + "/snapshot", json=snap) as resp:
                assert resp.status == 204
            assert len(state.apis) == 2
            async with s.put(admin + "/snapshot", json={"format": 1}) as resp:
                assert resp.status == 400 and "snapshot" in (await resp.json())["message"]
            assert len(state.apis) == 2
        assert all(not e.path.startswith("/_admin") for e in state.journal())

    asyncio.run(main())


def test_exchange_assets_publish_search_delete():
    state, _ = new_state()
    state.seed(copy.deepcopy(SEED))

    async def main() -> None:
        async with client(state) as (server, s):
            org = state.org_id
            url = f"{server.base_url}/exchange/api/v2/organizations/{org}/assets/{org}/pay/1.0.0"
            form = aiohttp.FormData()
            form.add_field("name", "Payments")
            form.add_field("type", "rest-api")
            form.add_field("files.oas.json", b"{}", filename="api.json")
            async with s.post(url, data=form) as resp:
                assert resp.status == 202
                link = (await resp.json())["publicationStatusLink"]
            async with s.get(link) as resp:
                assert (await resp.json())["status"] == "completed"
            async with s.post(url, json={"name": "again"}) as resp:
                assert resp.status == 400 and "already exists" in (await resp.json())["message"]
            bad = url.replace("1.0.0", "v1")
            async with s.post(bad, json={}) as resp:
                assert resp.status == 400 and "semver" in (await resp.json())["message"]
            search = f"{server.base_url}/exchange/api/v2/assets?organizationIds={org}"
            async with s.get(search + "&search=pay") as resp:
                found = await resp.json()
            assert [(a["assetId"], a["name"]) for a in found] == [("pay", "Payments")]
            async with s.get(search) as resp:  # assets named by API instances are listed too
                assert {a["assetId"] for a in await resp.json()} == {"pay", "orders", "billing"}
            one = f"{server.base_url}/exchange/api/v2/assets/{org}/pay/1.0.0"
            async with s.get(one) as resp:
                assert (await resp.json())["version"] == "1.0.0"
            v1 = f"{server.base_url}/exchange/api/v1/organizations/{org}/assets/{org}"
            async with s.delete(f"{v1}/orders/1.0.0") as resp:
                assert resp.status == 400 and "used by an API" in (await resp.json())["message"]
            async with s.delete(f"{v1}/pay/1.0.0") as resp:
                assert resp.status == 204
            async with s.get(one) as resp:  # Exchange answers 410 Gone for a deleted version
                assert resp.status == 410 and "deleted" in (await resp.json())["message"]
            async with s.get(one.replace("/pay/", "/never/")) as resp:
                assert resp.status == 404

    asyncio.run(main())
