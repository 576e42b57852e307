"""Input models shared by the state's Python API and the HTTP request models: non-empty text,
tier limits and policy pointcuts (snake_case or the wire's camelCase), normalised to wire form.

Every check raises pydantic's ``ValidationError`` (a ``ValueError``) naming the field.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
)

Text = Annotated[StrictStr, Field(min_length=1, max_length=10_000, pattern=r"\S")]
"""A non-empty, non-blank string."""

MAX_INT = 10**15


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WireLimit(_Strict):
    """One SLA-tier limit as API Manager writes it (snake_case accepted)."""

    maximumRequests: StrictInt = Field(
        ge=1, le=MAX_INT, validation_alias=AliasChoices("maximumRequests", "maximum_requests")
    )
    timePeriodInMilliseconds: StrictInt = Field(
        ge=1,
        le=MAX_INT,
        validation_alias=AliasChoices(
            "timePeriodInMilliseconds", "time_period_ms", "time_period_in_milliseconds"
        ),
    )
    visible: StrictBool = True


class WirePointcut(_Strict):
    """One pointcut: the policy applies to requests matching both regexes."""

    methodRegex: Text = Field(".*", validation_alias=AliasChoices("methodRegex", "method_regex"))
    uriTemplateRegex: Text = Field(
        ".*", validation_alias=AliasChoices("uriTemplateRegex", "uri_template_regex")
    )


class _Limits(_Strict):
    limits: list[WireLimit] = Field(min_length=1, max_length=100)


class _Pointcut(_Strict):
    pointcut: list[WirePointcut] | None = Field(max_length=100)


_TEXT = TypeAdapter(Text)
_CONFIG = TypeAdapter(dict[str, Any])


def limits(value: Any) -> list[dict[str, Any]]:
    """Tier limits in wire form; ``ValidationError`` at ``limits[i].field``."""
    return [x.model_dump() for x in _Limits.model_validate({"limits": value}).limits]


def pointcut(value: Any) -> list[dict[str, str]] | None:
    """``None`` or ``[{methodRegex, uriTemplateRegex}]``; ``ValidationError`` at ``pointcut[i]``."""
    cut = _Pointcut.model_validate({"pointcut": value}).pointcut
    return None if cut is None else [x.model_dump() for x in cut]


def text(field: str, value: Any) -> str:
    """A non-empty string; ``ValueError`` naming ``field`` otherwise."""
    try:
        return _TEXT.validate_python(value)
    except ValidationError:
        raise ValueError(f"{field}: {value!r} must be a non-empty string") from None


def configuration(value: Any) -> dict[str, Any]:
    """A policy configuration: a JSON object; ``ValueError`` otherwise."""
    try:
        return dict(_CONFIG.validate_python(value, strict=True))
    except ValidationError:
        raise ValueError(f"configuration: {value!r} must be a JSON object") from None
