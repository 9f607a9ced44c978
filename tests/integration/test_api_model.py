"""The API against the plain model of tests/order_model.py, through the real stack:
the API in this process, Kafka, the dataflow process and the Mongo-protocol server.
Fewer examples than on the fakes (each step is a round trip through the flow); the flow
is not stopped here, so a 202 is polled until decided."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from devkit.samples import payment
from devkit.sandbox import JWT_SECRET, Stack
from http_api.app import create_app
from http_api.mutations import REJECTION_STATUS
from shared.domain.model import Order
from shared.ids import order_id_for_payment
from shared.storage import KEYS_COLLECTION, order_from_doc
from tests.order_model import ADMIN, ApiModel, AppDriver, Reply

UNLIMITED = {"RATE_LIMIT_MUTATIONS": "off", "RATE_LIMIT_MUTATIONS_ADMIN": "off"}
POLL_S = 30.0


class StackDriver(AppDriver):
    """One API app and flow for every example: each example makes orders of its own."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        super().__init__(create_app(stack.settings), JWT_SECRET)

    def new_order(self, owner: str) -> str:
        payment_id = f"pay-{uuid.uuid4().hex[:12]}"
        self.stack.produce(self.stack.topics.payment_accepted.name, [(payment_id, payment(payment_id, user=owner))])
        order_id = order_id_for_payment(payment_id)
        self.stack.wait_for(lambda: self.stack.orders.find_one({"_id": order_id}) is not None, 60, "the order")
        return order_id

    def call(self, user: str, method: str, path: str, body: object, key: str | None, query: str = "") -> Reply:
        reply = super().call(user, method, path, body, key, query)
        if reply.status != 202:
            return reply
        return self._polled(reply.body["requestId"])

    def _polled(self, rid: str) -> Reply:
        """A 202's outcome, as its status: the flow was slower than the answer's wait."""
        deadline = time.monotonic() + POLL_S
        while time.monotonic() < deadline:
            polled = super().call(ADMIN, "GET", f"/requests/{rid}", None, None)
            if polled.body["status"] != "pending":
                status = 200 if polled.body["status"] == "applied" else REJECTION_STATUS[polled.body["reason"]]
                return Reply(status, polled.body, polled.headers)
            time.sleep(0.05)
        raise AssertionError(f"request {rid} was not decided in {POLL_S} s:\n{self.stack.flow_log()}")

    def stored(self, order_id: str) -> Order:
        return order_from_doc(self.stack.orders.find_one({"_id": order_id}))

    def expire_keys(self) -> None:
        self.stack.orders.database[KEYS_COLLECTION].delete_many({})

    def close(self) -> None:
        """Kept for the next example; ``shut`` ends it."""

    def shut(self) -> None:
        super().close()


@pytest.fixture
def driver(servers, tmp_path: Path) -> Iterator[StackDriver]:
    stack = Stack(servers.kafka_uri, servers.mongo_uri, tmp_path, env=UNLIMITED)
    stack.start_flow()
    made = StackDriver(stack)
    try:
        yield made
    finally:
        made.shut()
        stack.close()


def test_the_api_through_the_real_stack_answers_as_the_model_says(driver: StackDriver) -> None:
    class StackApiModel(ApiModel):
        driver_factory: Callable[[], StackDriver] = staticmethod(lambda: driver)  # type: ignore[assignment]

    run_state_machine_as_test(
        StackApiModel,
        settings=settings(
            max_examples=12,
            stateful_step_count=40,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
    assert {200, 400, 403, 409, 422} <= set(driver.answered), f"the run missed some answers: {driver.answered}"
