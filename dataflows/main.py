"""The flow's entry point: the order dataflow wired to the servers in the settings.

    python -m bytewax.run "dataflows.main:get_flow()"

It serves its /metrics and /live from the start, makes missing topics and indexes,
then builds the flow (``dataflows.order_flow.build_flow``) on Kafka and Mongo.
"""

from __future__ import annotations

from datetime import timedelta

from bytewax.dataflow import Dataflow

from dataflows.flow_metrics import serve_configured
from dataflows.kafka_io import kafka_source
from dataflows.mongo_io import MongoOrderLoader
from dataflows.order_flow import build_flow
from dataflows.payment_lookup import PaymentLookup
from dataflows.setup import prepare
from dataflows.store_then_publish import SinkSettings, StoreThenPublishSink
from shared import tracing
from shared.config import Settings, settings_or_exit
from shared.faults import FaultPoints
from shared.kafka_config import fetch_wait_for, refusals
from shared.logs import configure_logging
from shared.topics import names


def get_flow() -> Dataflow:
    """The flow wired to the servers in the environment (KAFKA_URI, MONGO_URI)."""
    settings = settings_or_exit()
    configure_logging("flow", settings.log_format, settings.log_level)
    tracing.start("order-flow")
    if not settings.brokers or not settings.mongo_uri:
        raise SystemExit("KAFKA_URI and MONGO_URI must be set (make run starts local servers for you)")
    serve_configured(settings)  # answering from the start, while the topics are made and the cluster forms
    with refusals():
        prepare(settings)
    return wired(settings, settings.mongo_uri)


def wired(settings: Settings, mongo_uri: str) -> Dataflow:
    topics = settings.topics
    faults = FaultPoints.from_environment()  # the fault tests' points (shared.faults), none unless armed
    lookup = (
        PaymentLookup(settings.payment_service_url, settings.payment_fetch_timeout)
        if settings.payment_service_url
        else None
    )
    source = kafka_source(
        settings.kafka,
        names(topics.inputs),
        settings.batch_size,
        fetch_wait_for(settings.kafka, settings.fetch_wait_ms),
        settings.idle_poll_ms,
        settings.idle_poll_most_ms,
        settings.kafka_group_id,
        faults,
    )
    sink = StoreThenPublishSink(SinkSettings(mongo_uri, settings.kafka, settings.kafka_message_timeout_ms, faults))
    return build_flow(
        source,
        sink,
        MongoOrderLoader(mongo_uri),
        topics,
        completer=lookup,
        idle=timedelta(seconds=settings.state_idle_seconds),
        policy=settings.policy,
    )
