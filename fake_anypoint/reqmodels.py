"""Request models shared by the routes: ids in paths and bodies, list queries, and the helpers
that validate a request's path, query and JSON body against a pydantic model (400 naming the
field and the value when they do not fit).
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from .bounded import read_json

M = TypeVar("M", bound=BaseModel)
MAX_ID = 10**15


def _int_id(value: Any) -> Any:
    """Ids arrive as integers or decimal strings (the CLI sends strings)."""
    if isinstance(value, bool):
        raise ValueError("must be an integer id")
    if isinstance(value, str):
        if not value.strip().isdigit():
            raise ValueError("must be an integer id")
        return int(value.strip())
    return value


IntId = Annotated[int, BeforeValidator(_int_id), Field(ge=0, le=MAX_ID)]
"""An id given as an integer or a decimal string."""

PositiveInt = Annotated[int, Field(ge=1, le=MAX_ID, strict=True)]


class Body(BaseModel):
    """A request body: fields the fake does not use are ignored, as the platform does."""

    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)


class Query(BaseModel):
    """Query parameters (strings converted: ``limit=10`` is an int, ``ascending=false`` a bool)."""

    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)


class Paging(Query):
    """``offset``, ``limit``, ``sort``, ``ascending`` and ``query`` of a list."""

    offset: int = Field(0, ge=0, le=MAX_ID)
    limit: int | None = Field(None, ge=0, le=MAX_ID)
    sort: str | None = None
    ascending: bool | None = None
    query: str = ""


class ApiPath(Query):
    api_id: IntId


class PolicyPath(ApiPath):
    policy_id: IntId


class ContractPath(ApiPath):
    contract_id: IntId


class TierPath(ApiPath):
    tier_id: IntId


class AppPath(Query):
    app_id: IntId


def path(request: web.Request, model: type[M]) -> M:
    """The path's variables as ``model``."""
    return model.model_validate(dict(request.match_info))


def query(request: web.Request, model: type[M]) -> M:
    """The query string as ``model`` (an empty value counts as absent)."""
    return model.model_validate({k: v for k, v in request.query.items() if v != ""})


async def body(request: web.Request, model: type[M]) -> M:
    """The JSON object body as ``model``."""
    data = await read_json(request)
    if not isinstance(data, dict):
        raise ValueError(f"body: expected a JSON object, got {type(data).__name__}")
    return model.model_validate(data)


async def form_fields(request: web.Request) -> dict[str, str]:
    """A urlencoded or multipart form's text fields; a broken form is a 400, not a 500."""
    try:
        form = await request.post()
    except web.HTTPException:
        raise
    except (ValueError, LookupError, AssertionError, RuntimeError, HttpProcessingError) as exc:
        raise ValueError(f"body: not a well-formed {request.content_type} form ({exc})") from None
    return {k: v for k, v in form.items() if isinstance(v, str)}
