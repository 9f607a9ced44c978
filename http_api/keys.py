"""Typed application keys: every resource the handlers reach through the app.

The types are for the type checker only, so importing the keys imports none of the
modules that hold them (the keys are imported by nearly every handler)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from http_api.admission import Admission
    from http_api.metrics import Metrics
    from http_api.outcomes import OutcomeFeed, OutcomeWatcher
    from http_api.ports import OrderStore, Publisher
    from http_api.readiness import Readiness
    from http_api.views import RenderedOrders
    from shared.config import Settings
    from shared.faults import FaultPoints
    from shared.topics import Topics

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
TOPICS: web.AppKey[Topics] = web.AppKey("topics")
STORE: web.AppKey[OrderStore] = web.AppKey("store")
PUBLISHER: web.AppKey[Publisher] = web.AppKey("publisher")
OUTCOMES: web.AppKey[OutcomeWatcher] = web.AppKey("outcomes")
FEED: web.AppKey[OutcomeFeed] = web.AppKey("feed")
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")
RENDERED: web.AppKey[RenderedOrders] = web.AppKey("rendered")
ADMISSION: web.AppKey[Admission] = web.AppKey("admission")
READINESS: web.AppKey[Readiness] = web.AppKey("readiness")
FAULTS: web.AppKey[FaultPoints] = web.AppKey("faults")  # the fault tests' points (shared.faults)
