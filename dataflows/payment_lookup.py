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
from shared.schemas.inputs import Invalid, PaymentReference, parse_payment

log = logging.getLogger(__name__)


class PaymentLookup:
    def __init__(self, base_url: str, timeout: float = 2.0, retries: int = 3, concurrency: int = 16):
        self._base = base_url.rstrip("/")
        self._timeout = timeout
        self._retries = retries
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="payment-lookup")

    def complete(self, refs: list[PaymentReference]) -> list[AcceptPayment | str]:
        """For each reference, the completed payment or why it could not be had."""
        return list(self._pool.map(self._complete_one, refs))

    def _complete_one(self, ref: PaymentReference) -> AcceptPayment | str:
        try:
            body = self._fetch(ref.payment_id)
        except (OSError, ValueError) as exc:
            return f"payment {ref.payment_id} could not be fetched: {exc}"
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
                with urllib.request.urlopen(url, timeout=self._timeout) as response:
                    return json.loads(response.read(), parse_float=Decimal)
            except urllib.error.HTTPError as exc:
                if exc.code < 500 or attempt == self._retries - 1:
                    raise
            except OSError:
                if attempt == self._retries - 1:
                    raise
            time.sleep(0.1 * 2**attempt)
        raise OSError("unreachable")
