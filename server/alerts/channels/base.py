"""What every delivery channel shares: the notice it sends and the error it raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["Channel", "DeliveryError", "Notice", "Target", "mask"]


@dataclass(frozen=True)
class Notice:
    """One alert as the channels send it."""

    alert_id: int
    household: str
    name: str  # the household's display name
    rule: str
    kind: str  # "alert" or "recovery"
    level: str
    ts_s: int
    title: str
    message: str
    values: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        from generator.times import format_ts

        return {
            "id": self.alert_id,
            "household": self.household,
            "rule": self.rule,
            "kind": self.kind,
            "level": self.level,
            "ts": format_ts(self.ts_s),
            "message": self.message,
            "values": self.values,
        }


@dataclass(frozen=True)
class Target:
    """Where one delivery goes: ``address`` for the channel, ``label`` (masked) for the log."""

    address: str
    label: str
    extra: str = ""  # e.g. a push token's platform, or a webhook's secret


class DeliveryError(Exception):
    """A delivery attempt failed; ``retry`` says whether another attempt may succeed."""

    def __init__(self, message: str, *, retry: bool = False) -> None:
        super().__init__(message)
        self.retry = retry


class Channel(Protocol):
    name: str
    max_attempts: int

    def send(self, notice: Notice, target: Target, timeout_s: float) -> None:
        """Deliver once; raise :class:`DeliveryError` on failure."""


def mask(address: str) -> str:
    """An address shown in the log without giving it away: ``o***@example.org``, ``+1***67``."""
    if "@" in address:
        local, _, domain = address.partition("@")
        return f"{local[:1]}***@{domain}"
    if address.startswith("+"):
        return f"{address[:3]}***{address[-2:]}"
    return address[:6] + "***"
