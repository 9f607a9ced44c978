"""``GET /api/order/schemas``: each Kafka topic's JSON Schema, under the names this
process's settings give the topics (``shared.schemas.topic_schemas``). Public, as the
OpenAPI document is: a producer checks its messages against them before sending."""

from __future__ import annotations

import json
from functools import lru_cache

from aiohttp import web

from http_api import keys
from http_api.problems import Problem
from http_api.served_kinds import BASE
from shared.schemas.topic_schemas import Schema, topic_schemas
from shared.topics import Topics

ROUTE = f"{BASE}/schemas"


@lru_cache(maxsize=4)
def _made(topics: Topics) -> dict[str, Schema]:
    return topic_schemas(topics)


def schemas_of(app: web.Application) -> dict[str, Schema]:
    return _made(app[keys.TOPICS])


async def index(request: web.Request) -> web.Response:
    """Every topic with a schema, and where its schema is."""
    return web.json_response({name: f"{ROUTE}/{name}" for name in schemas_of(request.app)})


async def schema(request: web.Request) -> web.Response:
    name = request.match_info["topic"]
    found = schemas_of(request.app).get(name)
    if found is None:
        raise Problem(404, f"no topic {name!r} has a schema here (GET {ROUTE} lists them)")
    return web.Response(text=json.dumps(found), content_type="application/schema+json")
