"""What each mutating route accepts, parsed by its table (``http_api.served_kinds``):
the handlers parse by it and the OpenAPI document states it, so the two cannot drift apart.

A field that is missing, null, of the wrong type or misspelt is a 400 naming it; so is
an unknown query parameter. A request that does not say exactly what it wants never
falls back to a default that moves money.
"""

from __future__ import annotations

import re
from typing import Any

from multidict import MultiMapping

from http_api.problems import Problem
from http_api.served_fields import Field, RouteFields
from http_api.wire import JsonObject

DIGITS = re.compile(r"^[0-9]{1,12}$", re.ASCII)


def _bad(name: str, reason: str) -> Problem:
    return Problem(400, f"{name}: {reason}", invalidParams=[{"name": name, "reason": reason}])


def _unknown(names: list[str], where: str) -> None:
    if names:
        raise Problem(
            400,
            f"unknown {where}: {', '.join(names)}",
            invalidParams=[{"name": n, "reason": "unknown"} for n in names],
        )


def _checked(field: Field, value: Any) -> Any:
    """``value`` if it fits the field's schema; a 400 naming the field otherwise."""
    schema = field.schema
    if value is None:
        raise _bad(field.name, "required" if field.required else "may not be null")
    if schema["type"] == "string":
        if not isinstance(value, str):
            raise _bad(field.name, "must be a string")
        if not schema["minLength"] <= len(value) <= schema["maxLength"]:
            raise _bad(field.name, f"must be {schema['minLength']} to {schema['maxLength']} characters")
        return value
    if schema["type"] == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise _bad(field.name, "must be an integer")
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad(field.name, "must be a number")
    if not schema["minimum"] <= value <= schema["maximum"]:  # NaN fails this too
        raise _bad(field.name, f"must be from {schema['minimum']} to {schema['maximum']}")
    return value


def _from_query(field: Field, raw: str) -> Any:
    """A query value as its schema's type: integers as ASCII digits, numbers as decimals."""
    kind = field.schema["type"]
    if kind == "integer":
        if not DIGITS.match(raw):
            raise _bad(field.name, "must be an integer written in digits")
        return int(raw)
    if kind == "number":
        try:
            if raw.isascii() and raw.strip() == raw:
                return float(raw)
        except ValueError:
            pass
        raise _bad(field.name, "must be a number")
    return raw


def parse_query(route: RouteFields, query: MultiMapping[str]) -> JsonObject:
    """The route's query parameters, checked; absent optional ones are left out."""
    known = {f.name for f in route.query}
    _unknown(sorted(set(query) - known), "query parameters")
    repeated = sorted(name for name in known if len(query.getall(name, [])) > 1)
    if repeated:
        raise _bad(repeated[0], "given more than once")
    values: JsonObject = {}
    for field in route.query:
        raw = query.get(field.name)
        if raw is None:
            if field.required:
                raise _bad(field.name, "required")
            continue
        values[field.name] = _checked(field, _from_query(field, raw))
    return values


def parse_body(route: RouteFields, body: JsonObject) -> JsonObject:
    """The route's body fields, checked: every required one present, nothing else."""
    fields = route.body or ()
    _unknown(sorted(set(body) - {f.name for f in fields}), "fields")
    values: JsonObject = {}
    for field in fields:
        if field.name not in body and not field.required:
            continue
        values[field.name] = _checked(field, body.get(field.name))
    return values


def query_parameters(route: RouteFields) -> list[JsonObject]:
    """The route's query parameters as OpenAPI parameter objects."""
    params = []
    for field in route.query:
        param: JsonObject = {"name": field.name, "in": "query", "schema": field.schema}
        if field.required:
            param["required"] = True
        if field.description:
            param["description"] = field.description
        params.append(param)
    return params


def body_schema(route: RouteFields) -> JsonObject:
    """The route's JSON body as an OpenAPI schema."""
    fields = route.body or ()
    return {
        "type": "object",
        "required": [f.name for f in fields if f.required],
        "additionalProperties": False,
        "properties": {f.name: f.schema for f in fields},
    }
