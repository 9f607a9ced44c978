"""Every setting is parsed with its bounds: a bad value stops a process at start, with
exit code 2 and a line naming the variable, the value and what is expected. Secrets stay
out of reprs; files holding tokens or URIs are the owner's alone."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devkit.run import dev_tokens
from ops.private_files import write_private
from shared.config import BadSetting, declared, load_settings
from shared.kafka_config import KafkaConnection, check_access

ROOT = Path(__file__).resolve().parents[2]
# A value each setting must refuse: a new setting in the table needs one here.
BAD_VALUES = {
    "KAFKA_URI": "no port here",
    "MONGO_URI": "mysql://user:hunter2@db/orders",
    "ORDER_SERVICE_HOST": None,  # any text is a host name to try
    "ORDER_SERVICE_PORT": "abc",
    "JWT_SEC": None,  # checked apart, with its own message (config.jwt_secret_problem)
    "TOPIC_PARTITIONS": "-3",
    "TOPIC_REPLICATION_FACTOR": "0",
    "PAYMENT_SERVICE_URL": "payments.local",
    "PAYMENT_FETCH_TIMEOUT": "0",
    "ORDER_STATE_IDLE_SECONDS": "-1",
    "REFUND_WINDOW_DAYS": "nan",
    "KAFKA_BATCH_SIZE": "1e3",
    "KAFKA_FETCH_WAIT_MS": "70000",
    "KAFKA_IDLE_POLL_MS": "fast",
    "KAFKA_IDLE_POLL_MAX_MS": "-5",
    "ORDER_DATA_DIR": "a\0b",
    "RECOVERY_DIR": "a\0b",
    "FLOW_METRICS_HOST": None,  # any text is a host name to try
    "FLOW_METRICS_PORT": "70000",
    "FLOW_LIVENESS_S": "inf",
    "ALLOWED_ORIGINS": "shop.example",
    "RATE_LIMIT_MUTATIONS": "lots",
    "RATE_LIMIT_MUTATIONS_ADMIN": "10/fortnight",
    "RATE_LIMIT_ANONYMOUS": "-1/s",
    "RATE_LIMIT_PROCESSES": "0",
    "IDEMPOTENCY_KEYS_PER_DAY": "0",
    "KAFKA_MESSAGE_TIMEOUT_MS": "2 minutes",
    "MONGO_TIMEOUT_MS": "0",
    "API_MAX_IN_FLIGHT": "-1",
    "API_BODY_TIMEOUT_S": "0",
    "LOG_FORMAT": "jsn",
    "LOG_LEVEL": "LOUD",
    "KAFKA_GROUP_ID": "order flow",
    "API_METRICS_PORT": "70000",
    "COMPAT_TOPICS": "flase",
    "PAYMENT_TOPICS_EXTRA": None,  # any names are topics to read
}
CHECKED = sorted(v for v, bad in BAD_VALUES.items() if bad is not None)


def test_every_declared_setting_has_a_bad_value_here():
    assert {d.variable for _, d in declared()} == set(BAD_VALUES)


@pytest.mark.parametrize("variable", CHECKED)
def test_a_bad_value_is_refused_naming_the_variable_and_what_it_expects(variable):
    with pytest.raises(BadSetting) as refused:
        load_settings({variable: BAD_VALUES[variable]}, dotenv=None)
    message = str(refused.value)
    assert message.startswith(f"{variable}="), message
    assert "expected" in message, message
    assert "hunter2" not in message


def test_a_good_value_of_each_kind_is_taken():
    settings = load_settings(
        {"ORDER_SERVICE_PORT": " 8081 ", "TOPIC_PARTITIONS": "12", "LOG_FORMAT": "JSON", "API_BODY_TIMEOUT_S": "2.5"},
        dotenv=None,
    )
    assert (settings.port, settings.partitions, settings.log_format, settings.api_body_timeout_s) == (
        8081,
        12,
        "json",
        2.5,
    )


@pytest.mark.parametrize("module", ["http_api", "devkit.run", "ops.produce"])
def test_a_process_given_a_bad_setting_ends_at_once_with_code_2_naming_it(module, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ORDER_SERVICE_PORT": "abc", "JWT_SEC": "s" * 40}
    env.pop("KAFKA_URI", None)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", module], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    took = time.monotonic() - started
    assert done.returncode == 2, done.stderr[-2000:]
    assert "ORDER_SERVICE_PORT='abc': expected an integer from 1 to 65535" in done.stderr
    assert "Traceback" not in done.stderr
    assert took < 2, f"took {took:.1f} s"  # measured 0.1-0.5 s here


def test_the_settings_repr_hides_every_secret():
    settings = load_settings(
        {"MONGO_URI": "mongodb://u:hunter2@db/orders", "JWT_SEC": "j" * 40, "KAFKA_SASL_PASSWORD": "sasl-pw-9"},
        dotenv=None,
    )
    shown = repr(settings) + repr(settings.kafka)
    assert "hunter2" not in shown
    assert "j" * 40 not in shown
    assert "sasl-pw-9" not in shown
    assert "mongodb://u:***@db/orders" in shown


def test_a_private_file_is_the_owners_alone_even_when_it_was_readable_before(tmp_path):
    path = tmp_path / "run.env"
    path.write_text("old")
    path.chmod(0o644)
    write_private(path, "MONGO_URI=mongodb://u:pw@db\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == "MONGO_URI=mongodb://u:pw@db\n"


def test_the_dev_tokens_are_written_0600(tmp_path):
    dev_tokens("t" * 40, tmp_path, 8080)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    assert modes == {"user-token": 0o600, "admin-token": 0o600}


def test_turning_off_certificate_verification_is_warned_of_at_start(caplog):
    kafka = KafkaConnection(
        ("127.0.0.1:1",), {"security.protocol": "SSL", "enable.ssl.certificate.verification": "false"}
    )
    with caplog.at_level(logging.WARNING, logger="shared.kafka_config"):
        check_access(kafka, timeout_s=0.2)
    assert any("ENABLE_SSL_CERTIFICATE_VERIFICATION=false" in r.getMessage() for r in caplog.records)
