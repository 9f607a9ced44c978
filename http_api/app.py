"""The aiohttp application factory: one cleanup context per resource."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from http_api import keys
from http_api.admission import Admission, admission_middleware
from http_api.caller import caller_middleware
from http_api.health import probe
from http_api.in_flight import in_flight_limit
from http_api.metrics import Metrics, metrics_middleware
from http_api.outcomes import OutcomeFeed, OutcomeWatcher
from http_api.ports import OrderStore, Publisher
from http_api.problems import problems_middleware
from http_api.readiness import Readiness
from http_api.request_log import request_fields
from http_api.routes import setup_routes
from http_api.traces import traced
from http_api.views import RenderedOrders
from shared import tracing
from shared.config import Settings
from shared.faults import NO_FAULTS, FaultPoints
from shared.kafka_config import KafkaConnection, fetch_wait_for

MAX_BODY_BYTES = 64 * 1024
# aiohttp's HTTP parser answers a request line or header over its limit (8 KiB by
# default) itself, in text/plain; raised so such requests reach the API and get
# its problem documents (a query of repeated parameters, say). Beyond these: text/plain 400.
MAX_LINE_BYTES = 64 * 1024


def create_app(
    settings: Settings,
    *,
    store: OrderStore | None = None,
    publisher: Publisher | None = None,
    feed: OutcomeFeed | None = None,
    faults: FaultPoints = NO_FAULTS,
) -> web.Application:
    """The API; ``store``, ``publisher`` and the outcome ``feed`` default to Mongo and
    Kafka from ``settings``; ``faults``: the fault tests' points, none by default."""
    metrics = Metrics()
    app = web.Application(
        client_max_size=MAX_BODY_BYTES,
        middlewares=[
            request_fields,
            metrics_middleware(metrics),
            problems_middleware,
            caller_middleware(settings.jwt_secret),  # the token read once: everything after reads the Caller
            in_flight_limit(settings.api_max_in_flight, metrics, settings.api_body_timeout_s),
            admission_middleware,
            # Only what is admitted is traced: a flood of refused requests exports nothing.
            *([traced] if tracing.on() else []),
        ],
        handler_args={"max_line_size": MAX_LINE_BYTES, "max_field_size": MAX_LINE_BYTES},
    )
    app[keys.SETTINGS] = settings
    app[keys.FAULTS] = faults
    app[keys.TOPICS] = settings.topics
    app[keys.METRICS] = metrics
    app[keys.RENDERED] = RenderedOrders()
    app[keys.ADMISSION] = Admission(settings, metrics)
    app[keys.READINESS] = Readiness(lambda: probe(app))
    app.cleanup_ctx.append(_store_ctx(store))
    app.cleanup_ctx.append(_outcomes_ctx(feed))
    app.cleanup_ctx.append(_publisher_ctx(publisher))
    if settings.api_metrics_port is not None:
        app.cleanup_ctx.append(_metrics_site_ctx(settings.host, settings.api_metrics_port))
    setup_routes(app, metrics_here=settings.api_metrics_port is None)
    return app


def _metrics_site_ctx(host: str, port: int):
    """``/metrics`` on a port of its own, which a Kubernetes Service need not publish:
    Prometheus scrapes the pod, clients reach only the API's port."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        metrics = app[keys.METRICS]

        async def scrape(_request: web.Request) -> web.Response:
            return metrics.render()

        site_app = web.Application()
        site_app.router.add_get("/metrics", scrape)
        runner = web.AppRunner(site_app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        yield
        await runner.cleanup()

    return ctx


def _store_ctx(given: OrderStore | None):
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        store = given
        if store is None:
            from http_api.mongo_store import MongoOrderStore

            settings = app[keys.SETTINGS]
            store = MongoOrderStore(_required(settings.mongo_uri, "MONGO_URI"), timeout_ms=settings.mongo_timeout_ms)
            await store.ensure_indexes()
        app[keys.STORE] = store
        yield
        if given is None:
            await store.close()  # type: ignore[attr-defined]

    return ctx


def _outcomes_ctx(given: OutcomeFeed | None):
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        watcher = OutcomeWatcher(app[keys.STORE])
        feed = given
        if feed is None:
            from http_api.outcome_feed import KafkaOutcomeFeed

            settings = app[keys.SETTINGS]
            kafka = _kafka(settings)
            wait = await asyncio.to_thread(fetch_wait_for, kafka, settings.fetch_wait_ms)
            feed = KafkaOutcomeFeed(kafka, app[keys.TOPICS].order_events.name, wait)
        await feed.start(watcher.wanted(), watcher.decided)
        app[keys.OUTCOMES] = watcher
        app[keys.FEED] = feed
        yield
        await feed.close()
        await watcher.close()

    return ctx


def _publisher_ctx(given: Publisher | None):
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        publisher = given
        if publisher is None:
            from http_api.kafka_publisher import KafkaPublisher

            publisher = KafkaPublisher(_kafka(app[keys.SETTINGS]))
        app[keys.PUBLISHER] = publisher
        yield
        if given is None:
            await publisher.close()  # type: ignore[attr-defined]

    return ctx


def _kafka(settings: Settings) -> KafkaConnection:
    _required(settings.kafka_uri, "KAFKA_URI")
    return settings.kafka


def _required(value: str | None, name: str) -> str:
    if not value:
        raise RuntimeError(f"{name} must be set")
    return value
