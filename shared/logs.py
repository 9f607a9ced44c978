"""Logging for every process of the service: text for a terminal, or one JSON
object per line (``LOG_FORMAT=json``) for a log store to search.

A line about a request carries its ``requestId`` and ``orderId``: given as
``extra`` on the call, or bound for the current task with ``bind`` (the API binds
them for each HTTP request). Card numbers are masked on every line, in its message,
its error and every field (``MaskCards``, with ``shared.redact``)."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from shared.redact import mask_cards, mask_value

_bound: ContextVar[Mapping[str, str]] = ContextVar("log_fields", default=MappingProxyType({}))
# A LogRecord's own attributes: anything else on a record came as ``extra``.
_RECORD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def bind(**fields: str | None) -> None:
    """Add ``fields`` to every line logged from here on in this task (or thread)."""
    _bound.set({**_bound.get(), **{k: v for k, v in fields.items() if v is not None}})


@contextmanager
def bound(**fields: str | None) -> Iterator[None]:
    """``fields`` on every line logged inside the block."""
    token = _bound.set({**_bound.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _bound.reset(token)


class _BoundFields(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _bound.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _RECORD_ATTRS and not k.startswith("_")}


class MaskCards(logging.Filter):
    """Masks card numbers in each record's final message, its exception text and every
    field it carries, before any handler's formatter writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_cards(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            masked_text = mask_cards(text)
            if masked_text != text:
                record.exc_text, record.exc_info = masked_text, None
        for key, value in _extras(record).items():
            setattr(record, key, mask_value(value))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, service, logger, message, then the fields."""

    def __init__(self, service: str):
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self._service,
            "logger": record.name,
            "message": record.getMessage(),
            **_extras(record),
        }
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = record.exc_text or self.formatException(record.exc_info)
        if record.exc_text:
            line["error"] = record.exc_text
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message key=value ...``"""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extras = _extras(record)
        if not extras:
            return text
        head, sep, trace = text.partition("\n")
        return f"{head} {' '.join(f'{k}={v}' for k, v in extras.items())}{sep}{trace}"


def configure_logging(service: str, log_format: str = "text", level: str = "INFO") -> None:
    """Every line of this process to stderr in ``log_format``, at ``level`` and above."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service) if log_format == "json" else TextFormatter())
    handler.addFilter(_BoundFields())
    handler.addFilter(MaskCards())  # after the bound fields, so that they are masked too
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
