"""Server-Sent Events on the wire: an :class:`Event` value and its exact bytes.

``Event(data, event=None, id=None, retry=None).encode()`` gives one event block ending in a blank
line. Field values cannot smuggle extra fields or events: in ``event`` and ``id`` any CR/LF is
replaced by a space (and NUL removed from ``id``, which the spec says makes browsers ignore it);
``data`` is split on any line break into several ``data:`` lines, which the client joins with
``\\n`` again. A comment (``: ping``) is :func:`comment`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["HEADERS", "Event", "comment"]

#: Response headers of every stream.
HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _one_line(value: str) -> str:
    return _LINE_BREAK.sub(" ", value)


@dataclass(frozen=True, slots=True)
class Event:
    """One SSE event. ``retry`` is in milliseconds."""

    data: str | None = None
    event: str | None = None
    id: str | None = None
    retry: int | None = None

    def encode(self) -> bytes:
        lines: list[str] = []
        if self.id is not None:
            lines.append(f"id: {_one_line(self.id).replace(chr(0), '')}")
        if self.event is not None:
            lines.append(f"event: {_one_line(self.event)}")
        if self.retry is not None:
            if isinstance(self.retry, bool) or not isinstance(self.retry, int) or self.retry < 0:
                raise ValueError(f"retry must be a non-negative integer [ms], got {self.retry!r}")
            lines.append(f"retry: {self.retry}")
        if self.data is not None:
            lines.extend(f"data: {line}" for line in _LINE_BREAK.split(self.data))
        return ("\n".join(lines) + "\n\n").encode("utf-8")


def comment(text: str) -> bytes:
    """A comment line (ignored by clients; keeps idle connections open)."""
    return "".join(f": {line}\n" for line in _LINE_BREAK.split(text)).encode("utf-8") + b"\n"
