"""Completes payment messages that carry only a paymentId (the original shop's shape)
from ``GET {PAYMENT_SERVICE_URL}/api/payment/find/:paymentId``: concurrently per batch,
with a timeout and retries."""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

from shared.domain.commands import AcceptPayment
from shared.schemas.contract import Invalid
from shared.schemas.inputs import PaymentReference, parse_payment

log = logging.getLogger(__name__)


MAX_ANSWER_BYTES = 1_048_576  # a payment is a few hundred bytes; more is not a payment


class PaymentLookup:
    """``timeout`` bounds each attempt as a whole (connecting and reading every byte), so
    a server that answers slowly, a byte at a time, costs no more than one that is down."""

    def __init__(self, base_url: str, timeout: float = 2.0, retries: int = 3, concurrency: int = 16):
        self._base = base_url.rstrip("/")
        self._timeout = timeout
        self._retries = retries
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="payment-lookup")

    def complete(self, refs: list[PaymentReference]) -> list[AcceptPayment | str]:
        """For each reference, the completed payment or why it could not be had."""
        return list(self._pool.map(self._complete_one, refs))

    def _complete_one(self, ref: PaymentReference) -> AcceptPayment | str:
        """Never raises: whatever the payment service answers, a payment or a reason."""
        try:
            return self._completed(ref)
        except Exception as exc:  # a bug met by this answer: the payment is dead-lettered, not the batch
            log.exception("completing payment %s failed", ref.payment_id)
            return f"payment {ref.payment_id}: completing it failed: {type(exc).__name__}: {str(exc)[:200]}"

    def _completed(self, ref: PaymentReference) -> AcceptPayment | str:
        try:
            body = self._fetch(ref.payment_id)
        except (OSError, ValueError, RecursionError) as exc:
            return f"payment {ref.payment_id} could not be fetched: {str(exc)[:300]}"
        payment = body.get("payment", body) if isinstance(body, dict) else None
        if not isinstance(payment, dict):
            return f"payment {ref.payment_id}: the payment service answered no object"
        payment = {**payment, "paymentId": ref.payment_id}
        try:
            parsed = parse_payment(payment, ref.at)
        except Invalid as exc:
            return f"payment {ref.payment_id} from the payment service is invalid: {exc}"
        if not isinstance(parsed, AcceptPayment):
            return f"payment {ref.payment_id}: the payment service answered only its id"
        return parsed

    def _fetch(self, payment_id: str) -> Any:
        url = f"{self._base}/api/payment/find/{urllib.parse.quote(payment_id, safe='')}"
        for attempt in range(self._retries):
            try:
                deadline = time.monotonic() + self._timeout
                with urllib.request.urlopen(url, timeout=self._timeout) as response:
                    return json.loads(_read_until(response, deadline), parse_float=Decimal)
            except urllib.error.HTTPError as exc:
                if exc.code < 500 or attempt == self._retries - 1:
                    raise
            except OSError:
                if attempt == self._retries - 1:
                    raise
            time.sleep(0.1 * 2**attempt)
        raise OSError("unreachable")


def _read_until(response: Any, deadline: float) -> bytes:
    """The whole answer, or OSError when it is larger than a payment or still coming at
    ``deadline``."""
    chunks: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise TimeoutError("the answer took longer than the timeout")
        chunk = response.read1(16_384)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise OSError(f"the answer is larger than {MAX_ANSWER_BYTES} bytes")
        chunks.append(chunk)
