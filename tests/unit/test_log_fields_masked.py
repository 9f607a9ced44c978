"""Card numbers are masked in every field of a log line, not only its message."""

from __future__ import annotations

import json
import logging

import pytest

from shared.logs import JsonFormatter, MaskCards, TextFormatter
from tests.card_scan import cards_in

CARD = "4111111111111111"


def record_with_fields(**fields: object) -> logging.LogRecord:
    """A record with ``fields`` as a handler of the service has it: through ``MaskCards``."""
    record = logging.LogRecord("http_api.access", logging.INFO, __file__, 1, "GET answered 400", (), None)
    record.__dict__.update(fields)
    MaskCards().filter(record)
    return record


@pytest.mark.parametrize("formatter", [JsonFormatter("api"), TextFormatter()], ids=["json", "text"])
def test_the_path_and_request_id_fields_are_masked(formatter):
    record = record_with_fields(path=f"/api/order/requests/{CARD}", requestId=CARD)
    line = formatter.format(record)
    assert cards_in(line) == [], line


def test_a_number_field_holding_a_card_becomes_its_masked_text():
    line = json.loads(JsonFormatter("api").format(record_with_fields(cardish=int(CARD), count=3)))
    assert line["count"] == 3
    assert cards_in(str(line["cardish"])) == []


def test_a_nested_field_is_masked_throughout():
    line = JsonFormatter("api").format(record_with_fields(body={"cards": [CARD, {"n": f"x{CARD}"}]}))
    assert cards_in(line) == [], line
