"""The OpenAPI 3.1 description of every route, body, response and error."""

from __future__ import annotations

from collections.abc import Iterable

from http_api.reads import MAX_LIMIT
from http_api.route_fields import body_schema, query_parameters
from http_api.served_kinds import BASE, BodyForm, Route, routes_of
from http_api.views import HISTORY_FIELDS
from http_api.wire import JsonObject
from shared.domain.model import Status
from shared.schemas.inputs import MAX_ADDRESS
from shared.schemas.request_kinds import INVALID_LABEL, REQUEST_KINDS
from shared.schemas.requests import MAX_IDEMPOTENCY_KEY
from shared.schemas.requests import ORDER_ID as ORDER_ID_PATTERN

ORDER_ID = {"type": "string", "pattern": ORDER_ID_PATTERN.pattern}
PROBLEM = {"$ref": "#/components/responses/Problem"}


def _problems(*codes: int) -> JsonObject:
    return {str(code): PROBLEM for code in codes}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: JsonObject, description: str) -> JsonObject:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ETAG = {"description": "the order's version, quoted: the If-Match of PATCH", "schema": {"type": "string"}}
ORDER_PARAM = {"name": "orderId", "in": "path", "required": True, "schema": ORDER_ID}
IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "description": "the same key from the same user is the same request; with another body it is 422",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_IDEMPOTENCY_KEY},
}
UNAVAILABLE = {"$ref": "#/components/responses/Unavailable"}
LIMIT_PARAM = {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}}
MUTATION_RESPONSES = {
    "200": _json(_ref("Order"), "applied: the updated order"),
    "202": {
        "description": "no outcome yet; poll the Location",
        "headers": {"Location": {"schema": {"type": "string"}}},
        "content": {"application/json": {"schema": _ref("RequestPending")}},
    },
    **_problems(400, 401, 403, 404, 408, 409),
    "429": {"$ref": "#/components/responses/TooManyRequests"},
    "503": UNAVAILABLE,
}

MONEY = {"type": "number", "minimum": 0}


def _schemas() -> JsonObject:
    """The components' schemas; the request kinds' bodies among them."""
    return {
        "HistoryEntry": {
            "type": "object",
            "description": "one command that reached the order: its payment, or a request",
            "required": list(HISTORY_FIELDS),
            "properties": {
                "requestId": {"type": "string", "description": "the request's id; the paymentId for the payment"},
                "kind": {
                    "type": "string",
                    "enum": ["payment", *(k.label for k in REQUEST_KINDS.values()), INVALID_LABEL],
                },
                "requestedBy": {
                    "type": ["object", "null"],
                    "description": "who asked; null for a trusted service",
                    "properties": {
                        "userId": {"type": "string"},
                        "roles": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "requestedAt": {"type": "string"},
                "status": {"type": "string", "enum": ["applied", "rejected"]},
                "reason": {"type": "string"},
                "detail": {"type": "string"},
                "type": {"type": "string", "description": "the event it was decided as"},
                "eventId": {"type": "string"},
                "version": {"type": "integer", "minimum": 0},
                "revision": {"type": "integer", "minimum": 1, "description": "the order's revision it left"},
                "charged": {**MONEY, "description": "money the customer paid with it"},
                "refunded": {**MONEY, "description": "money given back with it"},
                "stock": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["productId", "delta"],
                        "properties": {"productId": {"type": "string"}, "delta": {"type": "integer"}},
                    },
                },
            },
        },
        "Product": {
            "type": "object",
            "required": ["productId", "quantity", "price", "isRefunded", "refundedQuantity"],
            "properties": {
                "productId": {"type": "string"},
                "quantity": {"type": "integer", "minimum": 1},
                "price": {"type": "number", "minimum": 0},
                "isRefunded": {"type": "boolean"},
                "refundedQuantity": {"type": "integer", "minimum": 0},
                "sellerId": {"type": ["string", "null"]},
            },
        },
        "Order": {
            "type": "object",
            "required": ["_id", "userId", "paymentId", "products", "status", "totalPrice", "refunded", "version"],
            "properties": {
                "_id": ORDER_ID,
                "userId": {"type": "string"},
                "checkoutId": {"type": "string"},
                "basketId": {"type": "string"},
                "paymentId": {"type": "string"},
                "products": {"type": "array", "items": _ref("Product")},
                "address": {"type": "string"},
                "isGift": {"type": "boolean"},
                "status": {"type": "string", "enum": list(Status)},
                "totalPrice": {"type": "number", "minimum": 0},
                "refunded": {"type": "boolean"},
                "refundedAmount": {"type": "number", "minimum": 0},
                "cardNumber": {"type": "string", "pattern": "^\\*+[0-9]{4}$"},
                "version": {"type": "integer", "minimum": 1},
                "createdAt": {"type": "string"},
                "updatedAt": {"type": "string"},
            },
        },
        "RequestPending": {
            "type": "object",
            "required": ["requestId", "orderId", "status"],
            "properties": {"requestId": {"type": "string"}, "orderId": ORDER_ID, "status": {"const": "pending"}},
        },
        "RequestStatus": {
            "type": "object",
            "required": ["requestId", "orderId", "status"],
            "properties": {
                "requestId": {"type": "string"},
                "orderId": ORDER_ID,
                "status": {"enum": ["pending", "applied", "rejected"]},
                "reason": {"type": "string"},
                "detail": {"type": "string"},
                "order": _ref("Order"),
            },
        },
        "Problem": {
            "type": "object",
            "required": ["type", "title", "status", "detail"],
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "instance": {"type": "string"},
                "reason": {"type": "string"},
                "requestId": {"type": "string"},
                "invalidParams": {"type": "array", "items": {"type": "object"}},
            },
        },
        "OrderChanges": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": False,
            "properties": {
                "address": {"type": "string", "minLength": 1, "maxLength": MAX_ADDRESS},
                "isGift": {"type": "boolean"},
                "status": {"type": "string", "enum": list(Status)},
            },
        },
        **{
            route.body_schema: body_schema(route.fields)
            for kind in REQUEST_KINDS.values()
            for route in routes_of(kind)
            if route.body == BodyForm.FIELDS and route.body_schema
        },
        "Health": {
            "type": "object",
            "required": ["status"],
            "properties": {"status": {"type": "string"}, "checks": {"type": "object"}},
        },
    }


IF_MATCH = {"name": "If-Match", "in": "header", "schema": {"type": "string", "pattern": '^"[0-9]+"$'}}


def _mutation(route: Route) -> JsonObject:
    """A request kind's route as an OpenAPI operation."""
    parameters = [ORDER_PARAM, *query_parameters(route.fields)]
    if route.body == BodyForm.CHANGES:
        parameters.append(IF_MATCH)
    if route.documents_idempotency_key:
        parameters.append(IDEMPOTENCY)
    operation: JsonObject = {"summary": route.summary, "parameters": parameters}
    if route.body_schema:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(route.body_schema)}},
        }
    operation["responses"] = {**MUTATION_RESPONSES, **_problems(*route.more_problems)}
    return operation


def _mutations() -> dict[str, JsonObject]:
    paths: dict[str, JsonObject] = {}
    for kind in REQUEST_KINDS.values():
        for route in routes_of(kind):
            paths.setdefault(BASE + route.path, {})[route.method.lower()] = _mutation(route)
    return paths


def spec(served: Iterable[tuple[str, str, JsonObject]]) -> JsonObject:
    """The document: ``served``, the routes' own table (method, path, operation; the
    routes module's), with each request kind's routes, as they are registered when asked."""
    paths: dict[str, JsonObject] = {}
    for method, path, operation in served:
        paths.setdefault(path, {})[method.lower()] = operation
    for path, operations in _mutations().items():
        paths.setdefault(path, {}).update(operations)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Order Service",
            "version": "1.0.0",
            "description": "Reads from MongoDB; refunds and updates become request events whose outcome is awaited.",
        },
        "security": [{"bearer": []}, {"cookie": []}],
        "paths": paths,
        "components": {
            "schemas": _schemas(),
            "responses": {
                "Problem": {
                    "description": "an RFC 9457 problem document",
                    "content": {"application/problem+json": {"schema": _ref("Problem")}},
                },
                "Unavailable": {
                    "description": "(reason unavailable) the database or the broker did not answer in time, or "
                    "(reason overloaded) this process is at API_MAX_IN_FLIGHT requests; try again after Retry-After",
                    "headers": {"Retry-After": {"description": "seconds", "schema": {"type": "integer", "minimum": 1}}},
                    "content": {"application/problem+json": {"schema": _ref("Problem")}},
                },
                "TooManyRequests": {
                    "description": "over a rate limit or the day's new Idempotency-Keys (docs/http-api.md)",
                    "headers": {"Retry-After": {"description": "seconds", "schema": {"type": "integer", "minimum": 1}}},
                    "content": {"application/problem+json": {"schema": _ref("Problem")}},
                },
            },
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (HS256, exp required)"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "token"},
            },
        },
    }


# --- the fixed routes' operations (http_api.routes pairs each with its path) ------------

FIND_USER_ORDERS: JsonObject = {
    "summary": "A user's orders, newest first (owner or admin)",
    "parameters": [
        {"name": "userId", "in": "path", "required": True, "schema": {"type": "string"}},
        LIMIT_PARAM,
        {"name": "cursor", "in": "query", "schema": {"type": "string"}},
        {"name": "status", "in": "query", "schema": {"type": "string", "enum": list(Status)}},
    ],
    "responses": {
        "200": {
            "description": "a page of orders; X-Next-Cursor and Link rel=next when there are more",
            "headers": {"X-Next-Cursor": {"schema": {"type": "string"}}},
            "content": {"application/json": {"schema": {"type": "array", "items": _ref("Order")}}},
        },
        **_problems(400, 401, 403),
        "503": UNAVAILABLE,
    },
}

ORDER_HISTORY: JsonObject = {
    "summary": "Every command that reached the order, oldest first (owner or admin)",
    "parameters": [
        ORDER_PARAM,
        LIMIT_PARAM,
        {"name": "cursor", "in": "query", "schema": {"type": "string"}},
    ],
    "responses": {
        "200": {
            "description": "a page of the history; X-Next-Cursor and Link rel=next when there is more",
            "headers": {"X-Next-Cursor": {"schema": {"type": "string"}}},
            "content": {"application/json": {"schema": {"type": "array", "items": _ref("HistoryEntry")}}},
        },
        **_problems(400, 401, 403, 404),
        "503": UNAVAILABLE,
    },
}

FIND_ORDER: JsonObject = {
    "summary": "One order (owner or admin)",
    "parameters": [
        ORDER_PARAM,
        {
            "name": "If-None-Match",
            "in": "header",
            "description": "an ETag from an earlier answer: 304 when the order is still at it",
            "schema": {"type": "string"},
        },
    ],
    "responses": {
        "200": {**_json(_ref("Order"), "the order"), "headers": {"ETag": ETAG}},
        "304": {"description": "not modified since that ETag", "headers": {"ETag": ETAG}},
        **_problems(400, 401, 403, 404),
        "503": UNAVAILABLE,
    },
}

REQUEST_STATUS: JsonObject = {
    "summary": "The outcome of a request: pending, applied (with the order) or rejected (with the reason)",
    "parameters": [{"name": "requestId", "in": "path", "required": True, "schema": {"type": "string"}}],
    "responses": {
        "200": _json(_ref("RequestStatus"), "its status"),
        **_problems(400, 401, 403, 404),
        "503": UNAVAILABLE,
    },
}

THIS_DOCUMENT: JsonObject = {
    "summary": "This document",
    "security": [],
    "responses": {"200": {"description": "OpenAPI 3.1"}},
}

SCHEMAS_INDEX: JsonObject = {
    "summary": "Every Kafka topic with a JSON Schema, and where it is",
    "security": [],
    "responses": {"200": {"description": "topic name: the path of its schema"}},
}

TOPIC_SCHEMA: JsonObject = {
    "summary": "A Kafka topic's JSON Schema (draft 2020-12), made from the code that parses or writes its messages",
    "security": [],
    "parameters": [{"name": "topic", "in": "path", "required": True, "schema": {"type": "string"}}],
    "responses": {
        "200": {
            "description": "the schema",
            "content": {"application/schema+json": {"schema": {"type": "object"}}},
        },
        **_problems(404),
    },
}

DOCS_PAGE: JsonObject = {
    "summary": "This document in Swagger UI (an HTML page)",
    "security": [],
    "responses": {"200": {"description": "the page", "content": {"text/html": {"schema": {"type": "string"}}}}},
}

DOCS_ASSET: JsonObject = {
    "summary": "A file the docs page loads (Swagger UI's script and style, served from here)",
    "security": [],
    "parameters": [{"name": "asset", "in": "path", "required": True, "schema": {"type": "string"}}],
    "responses": {"200": {"description": "the file"}, **_problems(404)},
}

LIVE: JsonObject = {
    "summary": "The process serves",
    "security": [],
    "responses": {"200": _json(_ref("Health"), "live")},
}

READY: JsonObject = {
    "summary": "Kafka and Mongo are reachable",
    "security": [],
    "responses": {"200": _json(_ref("Health"), "ready"), "503": _json(_ref("Health"), "not ready")},
}

METRICS: JsonObject = {
    "summary": "Prometheus metrics",
    "security": [],
    "responses": {"200": {"description": "text format", "content": {"text/plain": {"schema": {"type": "string"}}}}},
}
