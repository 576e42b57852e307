"""Differential cases for the authz call and local replies: retry_policy (incl. the per-try
timeout), local_reply_config, and the HTTP async client's buffer limit (research §6.21-25)."""

from __future__ import annotations

from dataclasses import replace

import grpc

from simulator import HttpAnswer, LocalReplyConfig, LocalReplyMapper, RetryPolicy
from tests.simulator.diff_model import GRPC, HTTP, Case, req
from tests.simulator.helpers import deny, hvo, ok

JSON_REPLY = LocalReplyConfig(
    json_format={"code": "%RESPONSE_CODE%", "message": "%LOCAL_REPLY_BODY%"}
)


def retry_cases() -> list[Case]:
    # The per-try timeout is the back-off max interval (10 x base): 500 ms for the answers that
    # must arrive, 100 ms for the per-try timeout cases (the adapter waits 300 ms there).
    retry = replace(GRPC, retry_policy=RetryPolicy("unavailable,5xx", 1, base_interval_ms=50))
    http_retry = replace(HTTP, retry_policy=RetryPolicy("5xx", num_retries=1, base_interval_ms=50))
    short = RetryPolicy("unavailable,5xx", num_retries=1, base_interval_ms=10)
    return [
        Case(
            "retry_policy: UNAVAILABLE is retried, then allowed",
            retry,
            req(),
            abort=grpc.StatusCode.UNAVAILABLE,
            abort_calls=1,
            grpc_answer=ok(),
            source="§6.21",
        ),
        Case(
            "retry_policy: retries exhausted give status_on_error",
            retry,
            req(),
            abort=grpc.StatusCode.UNAVAILABLE,
            expect_status=403,
            expect_decision="error",
            source="§6.21",
        ),
        Case(
            "retry_policy: a status not in retry_on is not retried",
            retry,
            req(),
            abort=grpc.StatusCode.INTERNAL,
            abort_calls=1,
            grpc_answer=ok(),
            expect_status=403,
            expect_decision="error",
            source="§6.21",
        ),
        Case(
            "retry_policy: per-try timeout is the back-off max interval",
            replace(retry, retry_policy=short),
            req(),
            delay_s=0.3,
            grpc_answer=ok(),
            expect_status=403,
            expect_decision="error",
            source="§6.21",
        ),
        Case(
            "retry_policy: per-try timeout is the back-off max interval",
            replace(http_retry, retry_policy=short),
            req(),
            http_answer=HttpAnswer(200, delay_s=0.3),
            expect_status=403,
            expect_decision="error",
            source="§6.21",
        ),
        Case(
            "retry_policy 5xx: a 503 is retried, then allowed",
            http_retry,
            req(),
            http_script=(HttpAnswer(503),),
            http_answer=HttpAnswer(200),
            source="§6.21",
        ),
    ]


def local_reply_cases() -> list[Case]:
    mapped = LocalReplyConfig(
        mappers=(LocalReplyMapper(403, status_code=401, body="mapped"),),
        text_format="[%RESPONSE_CODE%] %LOCAL_REPLY_BODY% %REQ(x-tenant)% %REQ(x-none)%",
    )
    return [
        Case(
            "local_reply_config json_format re-formats a deny",
            replace(HTTP, local_reply_config=JSON_REPLY),
            req(),
            http_answer=HttpAnswer(401, [("content-type", "fake-type"), ("x-deny-reason", "r")]),
            expect_status=401,
            expect_decision="denied",
            source="§6.25",
        ),
        Case(
            "local_reply_config json_format re-formats a deny",
            replace(GRPC, local_reply_config=JSON_REPLY),
            req(),
            grpc_answer=deny(
                7, 401, [hvo("content-type", "application/x-adapter"), hvo("x-deny", "1")], "no"
            ),
            expect_status=401,
            expect_decision="denied",
            source="§6.25",
        ),
        Case(
            "local_reply_config mapper: 403 becomes 401 with a text body",
            replace(GRPC, local_reply_config=mapped),
            req(headers=[("x-tenant", "t1")]),
            grpc_answer=deny(),
            expect_status=401,
            expect_decision="denied",
            source="§6.25",
        ),
        Case(
            "local_reply_config leaves upstream answers alone",
            replace(GRPC, local_reply_config=JSON_REPLY),
            req(),
            grpc_answer=ok(),
            source="§6.25",
        ),
    ]


def buffer_limit_cases() -> list[Case]:
    limited = replace(HTTP, async_response_buffer_limit=1024)
    return [
        Case(
            "HTTP: auth answer over the async buffer limit: error",
            limited,
            req(),
            http_answer=HttpAnswer(200, [("x-a", "1")], b"x" * 2048),
            expect_status=403,
            expect_decision="error",
            source="§6.23",
        ),
        Case(
            "HTTP: auth answer within the async buffer limit",
            limited,
            req(),
            http_answer=HttpAnswer(403, [], b"y" * 1000),
            expect_status=403,
            expect_decision="denied",
            source="§6.23",
        ),
    ]


def call_and_reply_cases() -> list[Case]:
    return retry_cases() + local_reply_cases() + buffer_limit_cases()
