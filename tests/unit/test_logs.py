"""Log lines: JSON one object a line, the request's fields on each, cards masked."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from http_api.request_log import fresh_id
from shared.logs import JsonFormatter, TextFormatter, bind, bound, configure_logging

CARD = "4111111111111111"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    before = (root.handlers[:], root.level)
    configure_logging("api", "json")
    out = io.StringIO()
    root.handlers[0].setStream(out)  # type: ignore[attr-defined]
    yield out
    root.handlers[:], root.level = before


def lines(out: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_a_line_is_one_json_object_with_time_level_service_logger_and_message(captured):
    logging.getLogger("some.module").warning("disk %s%% full", 93)
    [line] = lines(captured)
    assert line["level"] == "WARNING"
    assert line["service"] == "api"
    assert line["logger"] == "some.module"
    assert line["message"] == "disk 93% full"
    assert line["time"].endswith("+00:00")


def test_bound_fields_are_on_every_line_inside_the_block_only(captured):
    log = logging.getLogger("t")
    with bound(requestId="r-1", orderId="o-1"):
        log.info("inside")
        bind(requestId="r-2")
        log.info("renamed")
    log.info("outside")
    inside, renamed, outside = lines(captured)
    assert (inside["requestId"], inside["orderId"]) == ("r-1", "o-1")
    assert renamed["requestId"] == "r-2"
    assert "requestId" not in outside


def test_extra_fields_win_over_bound_ones(captured):
    with bound(requestId="bound"):
        logging.getLogger("t").info("x", extra={"requestId": "given", "revision": 3})
    [line] = lines(captured)
    assert line["requestId"] == "given"
    assert line["revision"] == 3


def test_an_exception_is_one_field_of_the_same_line(captured):
    try:
        raise ValueError("broken")
    except ValueError:
        logging.getLogger("t").exception("failed")
    [line] = lines(captured)
    assert "ValueError: broken" in line["error"]


def test_card_numbers_are_masked_in_json_lines(captured):
    logging.getLogger("t").info("paid with %s", CARD)
    assert CARD not in captured.getvalue()


def test_text_lines_end_with_the_fields():
    record = logging.makeLogRecord({"name": "t", "levelname": "INFO", "msg": "refund applied", "requestId": "r-1"})
    assert TextFormatter().format(record).endswith("t: refund applied requestId=r-1")


def test_json_keeps_non_ascii_text_readable():
    record = logging.makeLogRecord({"name": "t", "levelname": "INFO", "msg": "café"})
    assert json.loads(JsonFormatter("flow").format(record))["message"] == "café"


def test_fresh_request_ids_do_not_repeat():
    assert len({fresh_id() for _ in range(1000)}) == 1000
