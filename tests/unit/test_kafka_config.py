"""Kafka security settings: read from the environment once, given to every client."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.config import load_settings
from shared.kafka_config import KafkaConnection, property_name, security_from_env, without_secrets

SCRAM = {
    "KAFKA_URI": "b1:9093,b2:9093",
    "KAFKA_SECURITY_PROTOCOL": "sasl_ssl",
    "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
    "KAFKA_SASL_USERNAME": "orders",
    "KAFKA_SASL_PASSWORD": "s3cret",
}


def test_the_named_settings_become_librdkafka_settings():
    assert security_from_env(SCRAM) == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "orders",
        "sasl.password": "s3cret",
    }


def test_other_librdkafka_settings_pass_through_by_confluents_naming():
    assert property_name("SSL_ENDPOINT_IDENTIFICATION_ALGORITHM") == "ssl.endpoint.identification.algorithm"
    assert property_name("SASL_OAUTHBEARER_CLIENT__ID") == "sasl.oauthbearer.client_id"
    assert property_name("CLIENT___RACK") == "client-rack"
    assert security_from_env({"KAFKA_CONFIG_CLIENT_RACK": "use1-az1"}) == {"client.rack": "use1-az1"}


def test_every_client_config_carries_the_brokers_and_the_security():
    kafka = load_settings(SCRAM, dotenv=None).kafka
    consumer = kafka.client(**{"group.id": "g"})
    producer = kafka.producer(linger_ms=1)
    for config in (consumer, producer):
        assert config["bootstrap.servers"] == "b1:9093,b2:9093"
        assert config["sasl.password"] == "s3cret"
    assert producer["acks"] == "all" and producer["enable.idempotence"] is True


def test_plaintext_needs_no_settings():
    assert KafkaConnection(("b:9092",)).problem() is None
    config = KafkaConnection(("b:9092",)).client()
    assert {k: v for k, v in config.items() if k != "logger"} == {"bootstrap.servers": "b:9092"}


def test_an_unknown_protocol_is_a_problem():
    problem = KafkaConnection(("b:9092",), {"security.protocol": "SASL_TLS"}).problem()
    assert problem is not None and "KAFKA_SECURITY_PROTOCOL" in problem


def test_sasl_without_a_password_is_a_problem():
    security = security_from_env({k: v for k, v in SCRAM.items() if k != "KAFKA_SASL_PASSWORD"})
    problem = KafkaConnection(("b:9093",), security).problem()
    assert problem is not None and "KAFKA_SASL_PASSWORD" in problem


def test_sasl_without_a_mechanism_is_a_problem():
    security = security_from_env({k: v for k, v in SCRAM.items() if k != "KAFKA_SASL_MECHANISM"})
    problem = KafkaConnection(("b:9093",), security).problem()
    assert problem is not None and "KAFKA_SASL_MECHANISM" in problem


def test_credentials_over_plaintext_are_a_problem():
    problem = KafkaConnection(("b:9092",), {"sasl.username": "orders"}).problem()
    assert problem is not None and "sends no credentials" in problem


def test_a_missing_ca_file_is_a_problem(tmp_path: Path):
    missing = tmp_path / "ca.pem"
    problem = KafkaConnection(("b:9093",), {"security.protocol": "SSL", "ssl.ca.location": str(missing)}).problem()
    assert problem is not None and str(missing) in problem


def test_the_security_settings_for_logs_hide_the_password():
    described = repr(without_secrets(load_settings(SCRAM, dotenv=None).kafka.security))
    assert "s3cret" not in described
    assert "orders" in described


@pytest.mark.parametrize(
    "name", ["ssl.key.pem", "sasl.oauthbearer.config", "sasl.password", "sasl.oauthbearer.client.secret"]
)
def test_every_property_that_holds_a_secret_is_starred_for_logs(name):
    assert without_secrets({name: "the-secret", "security.protocol": "SSL"}) == {
        name: "***",
        "security.protocol": "SSL",
    }
