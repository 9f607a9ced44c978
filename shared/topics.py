"""The topic registry: every topic the service reads or writes, in one place
(their payloads: docs/topics.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.config import TOPIC_DEFAULTS, Settings


@dataclass(frozen=True)
class Topics:
    """Topic names by role; the roles and defaults are ``shared.config.TOPIC_DEFAULTS``."""

    names: dict[str, str] = field(default_factory=lambda: dict(TOPIC_DEFAULTS))
    extra_payment_topics: tuple[str, ...] = ()
    compat: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> Topics:
        return cls(dict(settings.topics), settings.extra_payment_topics, settings.compat_topics)

    def __getattr__(self, role: str) -> str:
        try:
            return self.__dict__["names"][role]
        except KeyError:
            raise AttributeError(role) from None

    @property
    def payment_accepted(self) -> tuple[str, ...]:
        return (self.names["payment_accepted"], *self.extra_payment_topics)

    @property
    def inputs(self) -> tuple[str, ...]:
        return (*self.payment_accepted, self.names["refund_request"], self.names["order_update_request"])

    @property
    def outputs(self) -> tuple[str, ...]:
        base = (self.names["quantity_update"], self.names["order_events"], self.names["order_dlq"])
        compat = tuple(name for role, name in self.names.items() if role.startswith("compat_"))
        return base + compat if self.compat else base

    @property
    def all(self) -> tuple[str, ...]:
        return self.inputs + self.outputs

    def input_kind(self, topic: str) -> str:
        if topic in self.payment_accepted:
            return "payment"
        if topic == self.names["refund_request"]:
            return "refund"
        if topic == self.names["order_update_request"]:
            return "update"
        raise KeyError(topic)
