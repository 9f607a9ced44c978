"""Topics the service makes when missing (dataflows.setup, ops.topics): the partitions and
replication factor its settings give, and a clear refusal when the brokers cannot."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
from confluent_kafka.admin import AdminClient

from dataflows.setup import ensure_service_topics
from devkit.servers import ROOT
from shared.config import load_settings
from shared.topics import Topics


def env_of(servers, **more: str) -> dict[str, str]:
    suffix = uuid.uuid4().hex[:8]
    return {
        "KAFKA_URI": servers.kafka_uri,
        **{t.setting: f"{t.name}-{suffix}" for t in Topics().registered()},
        **more,
    }


def test_each_topic_is_made_with_the_partitions_and_replicas_the_settings_give(servers):
    settings = load_settings(env_of(servers, TOPIC_PARTITIONS="3", TOPIC_REPLICATION_FACTOR="1"), dotenv=None)
    made = ensure_service_topics(settings)
    metadata = AdminClient(settings.kafka.client()).list_topics(timeout=30).topics
    shapes = {name: (len(metadata[name].partitions), len(metadata[name].partitions[0].replicas)) for name in made}
    assert sorted(made) == sorted(t.name for t in settings.topics.all)
    assert set(shapes.values()) == {(3, 1)}


@pytest.mark.apache_only  # Tansu keeps one copy whatever it is asked for, and says yes
def test_a_replication_factor_the_brokers_cannot_give_ends_ops_topics_saying_so(servers):
    env = {**os.environ, **env_of(servers, TOPIC_REPLICATION_FACTOR="2"), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "ops.topics"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert "replication factor 2" in done.stderr.lower(), done.stderr[-2000:]
