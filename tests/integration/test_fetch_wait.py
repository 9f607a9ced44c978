"""The fetch wait the service's consumers take when KAFKA_FETCH_WAIT_MS is unset
(shared.kafka_config.fetch_wait_for): short on a broker that holds every fetch for its
whole wait (Tansu), long on one that answers a fetch when data arrives."""

from __future__ import annotations

import logging

import pytest

from shared.kafka_config import LONG_FETCH_WAIT_MS, SHORT_FETCH_WAIT_MS, KafkaConnection, fetch_wait_for


def test_the_broker_chooses_the_wait_and_the_log_says_why(servers, caplog):
    if servers.broker not in ("tansu", "apache"):
        pytest.skip(f"which wait suits {servers.broker!r} is not known to this test")
    caplog.set_level(logging.INFO, logger="shared.kafka_config")
    wait = fetch_wait_for(KafkaConnection((servers.kafka_uri,)), None)
    expected = SHORT_FETCH_WAIT_MS if servers.broker == "tansu" else LONG_FETCH_WAIT_MS
    assert wait == expected
    assert f"fetch wait {expected} ms" in caplog.text


def test_a_wait_that_was_set_is_kept_on_any_broker(servers):
    assert fetch_wait_for(KafkaConnection((servers.kafka_uri,)), 123) == 123


def test_no_broker_answering_gets_the_long_wait():
    assert fetch_wait_for(KafkaConnection(("127.0.0.1:1",)), None, timeout_s=0.5) == LONG_FETCH_WAIT_MS
