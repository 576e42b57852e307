"""Redaction: secrets become <redacted> wherever they appear; client, organization and
environment ids become stable, shape-keeping pseudonyms."""

from __future__ import annotations

import json
import re

from live.proxy_link import pseudonyms
from proxy.mitm.redact import REDACTED, Redactor, pseudonym

UUID = "e3e70682-c209-4cac-a29f-6fbed82c07cd"
CLIENT = "f7c1bd874da5e709d4713d60c8a70639"


def test_pseudonyms_keep_shape_and_depend_on_the_salt() -> None:
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}", pseudonym("s", UUID)
    )
    assert re.fullmatch(r"[0-9a-f]{32}", pseudonym("s", CLIENT))
    assert pseudonym("s", "plain-name").startswith("id-")
    assert pseudonym("s", CLIENT) == pseudonym("s", CLIENT) != pseudonym("t", CLIENT)
    assert pseudonym("s", CLIENT) != CLIENT


def test_replay_reidentifies_with_the_same_function() -> None:
    mapping = pseudonyms("salt", [UUID, CLIENT])
    assert mapping == {pseudonym("salt", UUID): UUID, pseudonym("salt", CLIENT): CLIENT}


def test_secrets_and_ids_are_replaced_everywhere() -> None:
    redactor = Redactor("salt")
    token_body = json.dumps({"client_id": CLIENT, "client_secret": "s3cr3t-value"})
    redactor.learn_body(token_body, "application/json")
    redactor.learn_path(f"/apigateway/ccs/v3/organizations/{UUID}/environments/x-env/apis")
    answer = json.dumps({"access_token": "tok-123456", "note": f"for {CLIENT}"})
    redactor.learn_body(answer, "application/json")

    scrubbed = redactor.scrub_body(token_body, "application/json")
    assert CLIENT not in scrubbed and "s3cr3t-value" not in scrubbed
    assert json.loads(scrubbed) == {
        "client_id": pseudonym("salt", CLIENT),
        "client_secret": REDACTED,
    }
    # a learnt secret is redacted even where it is not under a secret key
    assert redactor.scrub("echo s3cr3t-value and tok-123456") == f"echo {REDACTED} and {REDACTED}"
    assert UUID not in redactor.scrub(f"/organizations/{UUID}/environments/x-env")
    assert redactor.counts == {"secrets": 2, "client_ids": 1, "org_ids": 1, "env_ids": 1}


def test_headers_form_bodies_queries_and_jwts() -> None:
    redactor = Redactor("salt")
    headers = redactor.scrub_headers(
        [("Authorization", "Bearer abc"), ("Cookie", "a=b"), ("X-Api-Key", "k"), ("Accept", "*/*")]
    )
    assert headers == [
        ("Authorization", REDACTED),
        ("Cookie", REDACTED),
        ("X-Api-Key", REDACTED),
        ("Accept", "*/*"),
    ]
    form = "grant_type=client_credentials&client_secret=abcd1234&client_id=x"
    assert "abcd1234" not in redactor.scrub_body(form, "application/x-www-form-urlencoded")
    assert redactor.scrub_pairs([("access_token", "zzzz"), ("limit", "10")]) == [
        ("access_token", REDACTED),
        ("limit", "10"),
    ]
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
    assert redactor.scrub(f'{{"jwt": "{jwt}"}}') == f'{{"jwt": "{REDACTED}"}}'


def test_deep_json_is_bounded() -> None:
    redactor = Redactor("salt")
    deep: object = "leaf"
    for _ in range(200):
        deep = [deep]
    text = json.dumps(deep)
    redactor.learn_body(text, "application/json")  # no RecursionError
    assert REDACTED in redactor.scrub_body(text, "application/json")
