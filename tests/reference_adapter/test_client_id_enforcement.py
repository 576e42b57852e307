"""client-id-enforcement through the engine: credential origins, approved contracts only,
the 401 challenge headers and JSON body, configuration errors."""

from __future__ import annotations

import json

import pytest

from reference_adapter.policies.base import PolicyConfigError
from reference_adapter.policies.client_id_enforcement import ClientIdConfig

from .helpers import API, basic, client_id_policy, contract, engine_with, req


def test_valid_headers_allow_and_name_the_client():
    engine = engine_with([client_id_policy()])
    d = engine.decide(req({"client_id": "app-1", "client_secret": "s3cret"}), 0.0)
    assert d.allowed and d.status == 200
    assert d.client_id == "app-1" and d.client_name == "mobile-app"
    assert d.violation is None


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "missing client credentials"),
        ({"client_id": "app-1"}, "invalid client credentials"),
        ({"client_id": "app-1", "client_secret": "wrong"}, "invalid client credentials"),
        ({"client_id": "nobody", "client_secret": "s3cret"}, "invalid client credentials"),
    ],
)
def test_bad_headers_get_401_with_client_id_challenge(headers, message):
    engine = engine_with([client_id_policy()])
    d = engine.decide(req(headers), 0.0)
    assert not d.allowed and d.status == 401
    assert ("www-authenticate", "Client-ID-Enforcement") in d.headers
    assert ("content-type", "application/json") in d.headers
    assert json.loads(d.body) == {"error": message}
    assert d.violation is not None
    assert (d.violation.policy_id, d.violation.name) == (501, "client-id-enforcement")
    assert d.client_id is None


def test_custom_headers():
    engine = engine_with(
        [
            client_id_policy(
                clientIdExpression="#[attributes.headers['X-App-Id']]",
                clientSecretExpression='#[attributes.headers["x-app-secret"]]',
            )
        ]
    )
    ok = engine.decide(req({"x-app-id": "app-1", "x-app-secret": "s3cret"}), 0.0)
    assert ok.allowed
    assert engine.decide(req({"client_id": "app-1", "client_secret": "s3cret"}), 0.0).status == 401


def test_secret_is_optional_when_no_secret_expression():
    engine = engine_with([client_id_policy(clientSecretExpression=None)])
    assert engine.decide(req({"client_id": "app-1"}), 0.0).allowed
    assert engine.decide(req({"client_id": "app-1", "client_secret": "x"}), 0.0).allowed
    assert engine.decide(req({"client_id": "app-2"}), 0.0).status == 401


def test_basic_mode():
    engine = engine_with(
        [
            client_id_policy(
                credentialsOriginHasHttpBasicAuthenticationHeader="httpBasicAuthenticationHeader"
            )
        ]
    )
    assert engine.decide(req({"authorization": basic("app-1", "s3cret")}), 0.0).allowed
    for headers in (
        {},
        {"authorization": basic("app-1", "nope")},
        {"authorization": "Basic !!!not-base64"},
        {"authorization": "Bearer abc"},
        {"client_id": "app-1", "client_secret": "s3cret"},
    ):
        d = engine.decide(req(headers), 0.0)
        assert d.status == 401, headers
        assert ("www-authenticate", 'Basic realm="mule-realm"') in d.headers


@pytest.mark.parametrize("status", ["REVOKED", "PENDING", "REJECTED"])
def test_only_approved_contracts_grant_access(status):
    engine = engine_with([client_id_policy()], [contract(status=status)])
    assert engine.decide(req({"client_id": "app-1", "client_secret": "s3cret"}), 0.0).status == 401


def test_removed_contract_stops_granting():
    engine = engine_with([client_id_policy()])
    creds = req({"client_id": "app-1", "client_secret": "s3cret"})
    assert engine.decide(creds, 0.0).allowed
    engine.apply_contract_changes(API, [contract(removed=True, status="REVOKED")], "c2")
    assert engine.decide(creds, 1.0).status == 401
    engine.apply_contract_changes(API, [contract(secret="new")], "c3")
    assert engine.decide(req({"client_id": "app-1", "client_secret": "new"}), 2.0).allowed


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ({"credentialsOriginHasHttpBasicAuthenticationHeader": "query"}, "one of"),
        ({"clientIdExpression": "#[payload.client_id]"}, "clientIdExpression"),
        ({"clientSecretExpression": 42}, "clientSecretExpression"),
    ],
)
def test_bad_configuration_names_the_field(config, fragment):
    with pytest.raises(PolicyConfigError, match=fragment):
        ClientIdConfig.parse(config)


def test_defaults_read_client_id_header_only():
    config = ClientIdConfig.parse({})
    assert (config.basic, config.id_header, config.secret_header) == (False, "client_id", None)
