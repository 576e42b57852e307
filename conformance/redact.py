"""Credentials never reach a report, the console or a published log: every scenario result is
redacted before anything renders it (``common.redaction``), with the secrets the control plane
knows by value: the connected app's and every application's client secret, and policy settings
under credential-like names (passwords, keys)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from common.redaction import Redactor, is_credential_name
from conformance.results import ScenarioResult, TraceEntry
from fake_anypoint import ControlPlaneState
from reports import Mismatch


def secrets_of(state: ControlPlaneState) -> list[str]:
    """Every secret value the control plane holds."""
    found = [state.connected_app.client_secret]
    found += [app.client_secret for app in state.applications.values()]
    for policy in state.policies.values():
        found += list(_under_credential_names(policy.configuration))
    return [s for s in found if s]


def _under_credential_names(value: Any, name: object = None) -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _under_credential_names(inner, key)
    elif isinstance(value, list):
        for inner in value:
            yield from _under_credential_names(inner, name)
    elif isinstance(value, str) and is_credential_name(name) and not value.startswith("#["):
        yield value


def redact_result(result: ScenarioResult, redactor: Redactor) -> None:
    """Redact, in place, everything of ``result`` that a report, the console or a log shows."""
    result.trace = [
        TraceEntry(t.at, t.kind, redactor.text(t.summary), redactor.data(t.detail))
        for t in result.trace
    ]
    if result.failure is not None:
        failure = result.failure
        result.failure = replace(
            failure,
            message=redactor.text(failure.message),
            mismatches=tuple(_mismatch(m, redactor) for m in failure.mismatches),
        )
    if result.error is not None:
        result.error = redactor.text(result.error)
    result.reason = redactor.text(result.reason)
    result.analytics = redactor.data(result.analytics)
    result.journal = redactor.data(result.journal)


def _mismatch(m: Mismatch, redactor: Redactor) -> Mismatch:
    name = m.field.rsplit(".", 1)[-1]
    return Mismatch(
        m.field,
        redactor.data(m.expected, name),
        redactor.data(m.actual, name),
        redactor.data(m.nearest),
    )


def redact_logs(paths: list[Path | None], redactor: Redactor) -> None:
    """Redact the adapters' log files the report folder keeps."""
    for path in paths:
        if path is not None and path.exists():
            redactor.file(path)
