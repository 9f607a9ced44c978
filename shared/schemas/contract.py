"""The fields of the input topics' messages, declared once: each declaration reads its
field of a message for the parser (``shared.schemas.inputs``) and states itself as JSON
Schema (``shared.schemas.topic_schemas``: docs/schemas/, the API's ``/schemas``), so the
contract a producer checks against is the one the flow applies.

A schema here is never stricter than its reader: whatever the reader accepts, the
schema accepts (tests/unit/test_topic_schemas.py holds that against the fuzz tests'
messages). Two rules it cannot state are in a field's description instead: money
has at most 2 decimals, and a text must hold more than blanks by Python's rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.money import MAX_AMOUNT, MoneyError, to_cents
from shared.timefmt import parse_time

JSON_SCHEMA = "https://json-schema.org/draft/2020-12/schema"
Body = dict[str, Any]


class Invalid(ValueError):
    """Why a message cannot be accepted."""


def _label(name: str, where: str) -> str:
    return f"{where}.{name}" if where else name


@dataclass(frozen=True)
class Text:
    """A string with more than blanks in it, at most ``limit`` characters."""

    limit: int | None
    description: str = ""
    nullable: bool = False

    def read(self, body: Body, name: str, where: str = "") -> Any:
        value = body.get(name)
        if value is None and self.nullable:
            return None
        label = _label(name, where)
        if not isinstance(value, str) or not value.strip():
            raise Invalid(f"{label}: required, a non-empty string")
        if self.limit is not None and len(value) > self.limit:
            raise Invalid(f"{label}: at most {self.limit} characters")
        return value

    def schema(self) -> dict[str, Any]:
        text: dict[str, Any] = {"type": "string", "minLength": 1, "pattern": r"\S"}
        if self.limit is not None:
            text["maxLength"] = self.limit
        return _described(_or_null(text) if self.nullable else text, self.description)


@dataclass(frozen=True)
class AnyString:
    """A string of any content, or null."""

    description: str = ""

    def read(self, body: Body, name: str, where: str = "") -> str | None:
        value = body.get(name)
        if value is not None and not isinstance(value, str):
            raise Invalid(f"{_label(name, where)}: must be a string")
        return value

    def schema(self) -> dict[str, Any]:
        return _described({"type": ["string", "null"]}, self.description)


@dataclass(frozen=True)
class Lenient:
    """A field that takes any value: ``reader`` makes what the parser keeps of it."""

    reader: Any  # the value -> what the parser keeps
    description: str

    def read(self, body: Body, name: str, where: str = "") -> Any:
        return self.reader(body.get(name))

    def schema(self) -> dict[str, Any]:
        return {"description": self.description}


@dataclass(frozen=True)
class Flag:
    """true or false; absent means ``default`` (required when there is none)."""

    default: bool | None = None
    description: str = ""

    def read(self, body: Body, name: str, where: str = "") -> bool:
        value = body.get(name, self.default)
        if not isinstance(value, bool):
            raise Invalid(f"{where + '.' if where else ''}{name}: must be true or false")
        return value

    def schema(self) -> dict[str, Any]:
        flag: dict[str, Any] = {"type": "boolean"}
        if self.default is not None:
            flag["default"] = self.default
        return _described(flag, self.description)


@dataclass(frozen=True)
class Count:
    """An integer from 1 to ``maximum``."""

    maximum: int
    description: str = ""
    nullable: bool = False
    refusal: str = "{label}: must be an integer from 1 to {maximum}"

    def read(self, body: Body, name: str, where: str = "") -> Any:
        value = body.get(name)
        if value is None and self.nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= self.maximum:
            raise Invalid(self.refusal.format(label=_label(name, where), maximum=self.maximum))
        return value

    def schema(self) -> dict[str, Any]:
        count = {"type": "integer", "minimum": 1, "maximum": self.maximum}
        return _described(_or_null(count) if self.nullable else count, self.description)


@dataclass(frozen=True)
class Money:
    """A JSON number from 0 to MAX_AMOUNT, at most 2 decimals: its cents."""

    description: str = ""

    def read(self, body: Body, name: str, where: str = "") -> int:
        label = _label(name, where)
        try:
            cents = to_cents(body.get(name))
        except MoneyError as exc:
            raise Invalid(f"{label}: {exc}") from exc
        if cents < 0:
            raise Invalid(f"{label}: must be >= 0")
        return cents

    def schema(self) -> dict[str, Any]:
        money = {"type": "number", "minimum": 0, "maximum": int(MAX_AMOUNT)}
        return _described(money, f"{self.description} At most 2 decimals.".strip())


@dataclass(frozen=True)
class Time:
    """An ISO-8601 time; absent or null: the message's Kafka timestamp."""

    description: str = ""

    def read(self, body: Body, name: str, where: str = "") -> datetime | None:
        value = body.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise Invalid(f"{name}: must be an ISO-8601 string")
        try:
            return parse_time(value)
        except ValueError as exc:
            raise Invalid(f"{name}: not an ISO-8601 time") from exc

    def schema(self) -> dict[str, Any]:
        # No "format": Python's ISO-8601 reader takes more than RFC 3339's date-time.
        return _described({"type": ["string", "null"]}, f"ISO-8601. {self.description}".strip())


@dataclass(frozen=True)
class Choice:
    """One of ``values``."""

    values: tuple[str, ...]
    refusal: str  # with {label} and {value}
    description: str = ""

    def read(self, body: Body, name: str, where: str = "") -> str:
        value = body.get(name)
        if value not in self.values:
            raise Invalid(self.refusal.format(label=_label(name, where), value=value))
        return str(value)

    def schema(self) -> dict[str, Any]:
        return _described({"enum": list(self.values)}, self.description)


@dataclass(frozen=True)
class Card:
    """A card number: 12 to 19 digits, as a string (spaces and dashes allowed) or a number."""

    description: str = ""

    def read(self, body: Body, name: str, where: str = "") -> str:
        value = body.get(name)
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise Invalid(f"{name}: must be a string or number of 12 to 19 digits")
        digits = str(value).replace(" ", "").replace("-", "")
        if not digits.isascii() or not digits.isdigit() or not 12 <= len(digits) <= 19:
            raise Invalid(f"{name}: must have 12 to 19 digits")
        return digits

    def schema(self) -> dict[str, Any]:
        string = {"type": "string", "pattern": r"^[0-9 -]+$"}
        number = {"type": "integer", "minimum": 10**11, "maximum": 10**19 - 1}
        return _described({"anyOf": [string, number]}, self.description)


@dataclass(frozen=True)
class Strings:
    """An array of strings; absent: empty."""

    description: str = ""

    def read(self, body: Body, name: str, where: str = "") -> tuple[str, ...]:
        value = body.get(name, [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise Invalid(f"{_label(name, where)}: must be an array of strings")
        return tuple(value)

    def schema(self) -> dict[str, Any]:
        return _described({"type": "array", "items": {"type": "string"}}, self.description)


@dataclass(frozen=True)
class Shape:
    """An object's fields, each read by its declaration; others are ignored."""

    fields: dict[str, Any]
    description: str = ""
    optional: frozenset[str] = frozenset()  # may be absent (a nullable field may be null)
    # (field, value) -> the fields that value requires (a refund of one product)
    required_when: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    closed: bool = False  # no field but these (an update's changes)
    min_fields: int = 0

    def read(self, body: Body, name: str, where: str = "") -> Any:
        return self.fields[name].read(body, name, where)

    def schema(self) -> dict[str, Any]:
        shape: dict[str, Any] = {
            "type": "object",
            "properties": {name: spec.schema() for name, spec in self.fields.items()},
        }
        conditional = {name for needs in self.required_when.values() for name in needs}
        required = [name for name in self.fields if name not in self.optional | conditional]
        if required:
            shape["required"] = required
        if self.closed:
            shape["additionalProperties"] = False
        if self.min_fields:
            shape["minProperties"] = self.min_fields
        conditions = [
            {"if": {"properties": {f: {"const": v}}, "required": [f]}, "then": {"required": list(needs)}}
            for (f, v), needs in self.required_when.items()
        ]
        if conditions:
            shape["allOf"] = conditions
        return _described(shape, self.description)


@dataclass(frozen=True)
class Nested:
    """A field holding an object of ``shape``, read by ``reader`` (null when optional)."""

    shape: Shape
    reader: Any  # (the value, its label) -> what the parser keeps
    description: str = ""
    nullable: bool = False

    def read(self, body: Body, name: str, where: str = "") -> Any:
        value = body.get(name)
        if value is None and self.nullable:
            return None
        return self.reader(value, _label(name, where))

    def schema(self) -> dict[str, Any]:
        nested = self.shape.schema()
        return _described(_or_null(nested) if self.nullable else nested, self.description)


@dataclass(frozen=True)
class Items:
    """A field holding an array of 1 to ``limit`` objects of ``shape``."""

    shape: Shape
    reader: Any  # (the array, its label) -> what the parser keeps
    limit: int
    description: str = ""

    def read(self, body: Body, name: str, where: str = "") -> Any:
        return self.reader(body.get(name), _label(name, where))

    def schema(self) -> dict[str, Any]:
        items = {"type": "array", "minItems": 1, "maxItems": self.limit, "items": self.shape.schema()}
        return _described(items, self.description)


def message_schema(title: str, shape: Shape | dict[str, Any], description: str) -> dict[str, Any]:
    """A topic's schema document: ``shape`` (or a schema already made) with its header."""
    body = shape.schema() if isinstance(shape, Shape) else shape
    return {"$schema": JSON_SCHEMA, "title": title, **body, "description": description}


def _or_null(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _described(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {**schema, "description": description} if description else schema


# --- what the service writes ----------------------------------------------------


@dataclass(frozen=True)
class Emitted:
    """An output message's fields, each with its JSON Schema: the encoder's payload goes
    through ``checked``, so it holds every field declared (``optional`` aside) and no
    other, and the topic's schema is made from the same declaration."""

    fields: dict[str, dict[str, Any]]
    description: str = ""
    optional: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        # Sets made once: checked runs for every message the flow writes.
        object.__setattr__(self, "_names", frozenset(self.fields))
        object.__setattr__(self, "_required", frozenset(self.fields) - self.optional)

    def checked(self, payload: dict[str, Any]) -> dict[str, Any]:
        keys = payload.keys()
        if not (keys <= self._names and self._required <= keys):  # type: ignore[attr-defined]
            raise TypeError(f"a payload's fields {sorted(keys)} are not its declaration's {sorted(self.fields)}")
        return payload

    def schema(self) -> dict[str, Any]:
        required = [name for name in self.fields if name not in self.optional]
        shape = {"type": "object", "properties": dict(self.fields), "required": required}
        return _described({**shape, "additionalProperties": False}, self.description)

    def extended(
        self,
        fields: dict[str, dict[str, Any]],
        description: str,
        optional: frozenset[str] = frozenset(),
        required: frozenset[str] = frozenset(),
    ) -> Emitted:
        """These fields besides its own; ``required`` makes optional ones of its own required."""
        return Emitted({**self.fields, **fields}, description, (self.optional | optional) - required)


STRING: dict[str, Any] = {"type": "string"}
NAME: dict[str, Any] = {"type": "string", "minLength": 1}
STRING_OR_NULL: dict[str, Any] = {"type": ["string", "null"]}
INTEGER: dict[str, Any] = {"type": "integer"}
BOOLEAN: dict[str, Any] = {"type": "boolean"}
AMOUNT: dict[str, Any] = {"type": "number", "minimum": 0, "description": "Currency units, at most 2 decimals."}
WHEN: dict[str, Any] = {"type": "string", "format": "date-time"}


def const(value: object) -> dict[str, Any]:
    return {"const": value}


def array_of(items: Emitted | dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items.schema() if isinstance(items, Emitted) else items}
