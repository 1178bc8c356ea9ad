"""A TCP forwarder on loopback whose connections the test can cut: a real network drop between
the browser and the app (both sides see the connection closed), and an outage during which new
connections are refused."""

from __future__ import annotations

import socket
import threading

__all__ = ["DropProxy"]


class DropProxy:
    """Forwards ``127.0.0.1:port`` to ``127.0.0.1:target_port``; :meth:`cut` closes every open
    connection and refuses new ones until :meth:`restore`."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.lock = threading.Lock()
        self.open: set[socket.socket] = set()
        self.down = threading.Event()
        self.stopped = threading.Event()
        self.accepted = 0
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> DropProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)
        self.listener.close()
        self._close_all()

    def cut(self) -> None:
        self.down.set()
        self._close_all()

    def restore(self) -> None:
        self.down.clear()

    def _close_all(self) -> None:
        with self.lock:
            sockets, self.open = list(self.open), set()
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self.down.is_set():
                client.close()  # the network is down
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=10)
            upstream.settimeout(None)
            client.settimeout(None)
            with self.lock:
                self.open.update((client, upstream))
                self.accepted += 1
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            with self.lock:
                self.open.discard(src)
            src.close()  # its twin pump closes dst
