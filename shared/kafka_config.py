"""How the service's producers write: acknowledged by every in-sync replica,
idempotent (a retried send is not written twice), compressed."""

from __future__ import annotations

from typing import Any

PRODUCER_DEFAULTS: dict[str, Any] = {
    "acks": "all",
    "enable.idempotence": True,
    "compression.type": "lz4",
    "message.timeout.ms": 120_000,
}


def producer_config(brokers: list[str], linger_ms: int, timeout_ms: int | None = None) -> dict[str, Any]:
    """``linger_ms``: how long a send waits for others to share its batch (latency against
    throughput: the API lingers 1 ms, the flow 5). ``timeout_ms``: how long a message may
    wait for delivery before it fails (default 120 s)."""
    config = {"bootstrap.servers": ",".join(brokers), **PRODUCER_DEFAULTS, "linger.ms": linger_ms}
    if timeout_ms is not None:
        config["message.timeout.ms"] = timeout_ms
    return config
