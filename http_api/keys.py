"""Typed application keys: every resource the handlers reach through the app."""

from __future__ import annotations

from aiohttp import web

from http_api.admission import Admission
from http_api.metrics import Metrics
from http_api.outcomes import OutcomeFeed, OutcomeWatcher
from http_api.ports import OrderStore, Publisher
from http_api.readiness import Readiness
from http_api.views import RenderedOrders
from shared.config import Settings
from shared.topics import Topics

SETTINGS = web.AppKey("settings", Settings)
TOPICS = web.AppKey("topics", Topics)
STORE = web.AppKey("store", OrderStore)
PUBLISHER = web.AppKey("publisher", Publisher)
OUTCOMES = web.AppKey("outcomes", OutcomeWatcher)
FEED = web.AppKey("feed", OutcomeFeed)
METRICS = web.AppKey("metrics", Metrics)
RENDERED = web.AppKey("rendered", RenderedOrders)
ADMISSION = web.AppKey("admission", Admission)
READINESS = web.AppKey("readiness", Readiness)
