from __future__ import annotations

import pytest

from server.streaming.sse import HEADERS, Event, comment


def test_full_event_bytes():
    event = Event(data='{"a":1}', event="reading", id="1763792750000-0", retry=3000)
    assert event.encode() == (
        b'id: 1763792750000-0\nevent: reading\nretry: 3000\ndata: {"a":1}\n\n'
    )


def test_data_only_and_retry_only():
    assert Event(data="x").encode() == b"data: x\n\n"
    assert Event(retry=3000).encode() == b"retry: 3000\n\n"
    assert Event(data="").encode() == b"data: \n\n"


def test_multiline_data_becomes_several_data_lines():
    assert Event(data="a\nb\r\nc\rd").encode() == b"data: a\ndata: b\ndata: c\ndata: d\n\n"


def test_newlines_in_event_and_id_cannot_inject_fields():
    encoded = Event(data="x", event="reading\ndata: evil", id="1\n\nid: 2\x00").encode()
    assert encoded == b"id: 1  id: 2\nevent: reading data: evil\ndata: x\n\n"
    assert encoded.count(b"\n\n") == 1


def test_unicode_is_utf8():
    assert Event(data="é ⚡").encode() == "data: é ⚡\n\n".encode()


@pytest.mark.parametrize("retry", [-1, 1.5, True, "3000"])
def test_bad_retry(retry):
    with pytest.raises(ValueError, match="retry must be a non-negative integer"):
        Event(retry=retry).encode()


def test_comment():
    assert comment("ping") == b": ping\n\n"
    assert comment("a\nb") == b": a\n: b\n\n"


def test_headers():
    assert HEADERS["Cache-Control"] == "no-cache"
    assert HEADERS["X-Accel-Buffering"] == "no"
    assert HEADERS["Content-Type"].startswith("text/event-stream")
