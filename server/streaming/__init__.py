"""Streaming: from the broker's raw readings to classified windows on every client.

* :mod:`server.streaming.aggregate` — averaging readings into epoch-aligned windows, event ids;
* :mod:`server.streaming.hub` — one reader per household and worker, one channel per
  (household, interval), fan-out to SSE clients and typed windows to in-process listeners;
* :mod:`server.streaming.direct` — caught-up clients' events written straight to their sockets;
* :mod:`server.streaming.sse` — the ``Event`` value and its wire encoding;
* :mod:`server.streaming.bodies` — the SSE response bodies (live with resume, replays).
"""
