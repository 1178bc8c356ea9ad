"""The broker interface: one append-only stream of raw 1 Hz readings per household.

A reading is ``{"ts": "2026-11-22T06:25:50Z", "power_kw": {channel: value | None}}`` (plus
``"index"`` for a replayed household). Every entry gets an id ``"<ms>-<seq>"`` (Redis Streams'
format) that increases along the stream; stream ids become SSE ids. History is trimmed to about
:attr:`Broker.maxlen` entries per household.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

__all__ = ["Broker", "Entry", "Reading", "format_id", "parse_id"]

Reading = dict[str, Any]
Entry = tuple[str, Reading]


def parse_id(entry_id: str) -> tuple[int, int]:
    """``"<ms>-<seq>"`` → ``(ms, seq)``; ``ValueError`` naming the value otherwise."""
    ms, sep, seq = str(entry_id).partition("-")
    if not sep or not ms.isdigit() or not seq.isdigit():
        raise ValueError(f"invalid stream entry id {entry_id!r}: expected '<ms>-<seq>'")
    return int(ms), int(seq)


def format_id(ms: int, seq: int) -> str:
    return f"{ms}-{seq}"


class Broker(ABC):
    """Per-household streams of raw readings. Failures raise ``BrokerUnavailable``."""

    maxlen: int

    @abstractmethod
    def publish(self, household: str, reading: Reading) -> str:
        """Append ``reading`` to the household's stream; return its entry id."""

    @abstractmethod
    def range(self, household: str, after: str | None, count: int) -> list[Entry]:
        """Up to ``count`` entries with ids greater than ``after`` (all if ``None``), oldest first."""

    @abstractmethod
    def revrange(self, household: str, before: str | None, count: int) -> list[Entry]:
        """Up to ``count`` entries with ids less than ``before`` (the newest if ``None``),
        newest first."""

    @abstractmethod
    def read(self, household: str, after: str, timeout_s: float, count: int) -> list[Entry]:
        """Like :meth:`range`, but wait up to ``timeout_s`` for an entry if there is none."""

    @abstractmethod
    def get(self, household: str, entry_id: str) -> Reading | None:
        """The reading with exactly this id, or ``None`` if the history does not hold it."""

    @abstractmethod
    def last_id(self, household: str) -> str:
        """Id of the newest entry, ``"0-0"`` for an empty stream."""

    @abstractmethod
    def ping(self) -> None:
        """Raise ``BrokerUnavailable`` unless the broker answers."""

    def delete(self, household: str) -> bool:
        """Drop the household's stream and its history (an erasure); True if it had one."""
        raise NotImplementedError(f"{type(self).__name__} cannot delete a stream")

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
