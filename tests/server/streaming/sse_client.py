"""A small SSE client for tests: parses the event stream of a real HTTP response, bounded by a
deadline (never sleeping to wait)."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class SSE:
    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None
    comments: list[str] = field(default_factory=list)

    def json(self) -> dict:
        return json.loads(self.data)


def parse_blocks(lines: Iterator[str]) -> Iterator[SSE]:
    """Events (and comment-only blocks, with ``event == ""``) from decoded lines."""
    current = SSE()
    data: list[str] = []
    seen = named = False
    for line in lines:
        if line == "":
            if seen:
                current.data = "\n".join(data)
                if not named:  # blocks without data are not events: "retry" or "" (comments)
                    current.event = "message" if data else ("retry" if current.retry else "")
                yield current
            current, data, seen, named = SSE(), [], False, False
            continue
        seen = True
        if line.startswith(":"):
            current.comments.append(line[1:].strip())
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            data.append(value)
        elif name == "event":
            current.event, named = value, True
        elif name == "id":
            current.id = value
        elif name == "retry":
            current.retry = int(value)


class SSEClient:
    def __init__(self, url: str, headers: dict[str, str] | None = None, timeout_s: float = 10):
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout_s)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        self.conn.request("GET", path, headers={"Accept": "text/event-stream", **(headers or {})})
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.headers = self.response.headers
        self._events = parse_blocks(self._lines())
        self.last_id: str | None = None

    def _lines(self) -> Iterator[str]:
        while True:
            raw = self.response.readline()
            if not raw:
                return
            yield raw.decode("utf-8").rstrip("\r\n")

    def next(self, deadline: float) -> SSE | None:
        """The next block, or None at the end of the stream; TimeoutError past ``deadline``."""
        self.conn.sock.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            block = next(self._events, None)
        except TimeoutError as err:
            raise TimeoutError("no event before the deadline") from err
        if block is not None and block.id is not None:
            self.last_id = block.id
        return block

    def events(self, n: int, timeout_s: float, kind: str = "reading") -> list[SSE]:
        """The next ``n`` events named ``kind`` (others skipped) within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        out: list[SSE] = []
        while len(out) < n:
            block = self.next(deadline)
            if block is None:
                raise EOFError(f"stream ended after {len(out)} of {n} events")
            if block.event == kind:
                out.append(block)
        return out

    def read_to_end(self, timeout_s: float) -> list[SSE]:
        """Every block until the server ends the response; http.client raises
        ``IncompleteRead`` if the chunked body is cut off instead of ending."""
        deadline = time.monotonic() + timeout_s
        out: list[SSE] = []
        while (block := self.next(deadline)) is not None:
            out.append(block)
        return out

    def close(self) -> None:
        self.conn.close()
