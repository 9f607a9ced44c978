"""The API against the plain model of tests/order_model.py, on the fast fakes: many examples."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from hypothesis import HealthCheck, settings

from http_api.app import create_app
from shared.config import load_settings
from shared.domain.model import Order
from shared.storage import order_from_doc
from tests.api.conftest import SECRET, add_order
from tests.api.fakes import DecidingPublisher, FakeFeed, FakeStore
from tests.order_model import ApiModel, AppDriver

UNLIMITED = {"JWT_SEC": SECRET, "RATE_LIMIT_MUTATIONS": "off", "RATE_LIMIT_MUTATIONS_ADMIN": "off"}


class FakeDriver(AppDriver):
    can_stop_flow = True

    def __init__(self) -> None:
        config = load_settings(UNLIMITED, dotenv=None)
        self.store = FakeStore()
        self.feed = FakeFeed()
        self.publisher = DecidingPublisher(self.store, config.topics, self.feed)
        self.made = 0
        self.mark = 0
        super().__init__(create_app(config, store=self.store, publisher=self.publisher, feed=self.feed), SECRET)

    def new_order(self, owner: str) -> str:
        self.made += 1
        return add_order(self.store, f"pay-{self.made}", user=owner)

    def stored(self, order_id: str) -> Order:
        return order_from_doc(self.store.docs[order_id])

    def expire_keys(self) -> None:
        self.store.keys.clear()

    def stop_flow(self) -> None:
        self.publisher.deciding = False
        self.mark = len(self.publisher.published)

    def resume_flow(self, order: Callable[[list[str]], list[str]]) -> None:
        self.publisher.deciding = True
        published = {value["requestId"]: (topic, value) for topic, _, value in self.publisher.published[self.mark :]}

        async def decide() -> None:  # in the loop, where the feed tells its watchers
            for rid in order(list(published)):
                self.publisher.decide(*published[rid])
            await asyncio.sleep(0)

        self.loop.run_until_complete(decide())


class FakeApiModel(ApiModel):
    driver_factory = FakeDriver


TestApiAgainstTheModel = FakeApiModel.TestCase
TestApiAgainstTheModel.settings = settings(
    max_examples=200, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
