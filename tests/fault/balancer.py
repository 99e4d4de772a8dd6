"""A round-robin TCP balancer over replicas that skips dead ones (like a k8s Service)."""

from __future__ import annotations

import contextlib
import itertools
import socket
import threading


class RoundRobinBalancer:
    """Listen on 127.0.0.1:<port>; hand each connection to the next replica that accepts it."""

    def __init__(self, targets: list[tuple[str, int]]) -> None:
        self.targets = targets
        self._next = itertools.cycle(range(len(targets)))
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._listener.listen(256)
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        """http URL of the balancer."""
        return f"http://127.0.0.1:{self.port}"

    def _connect(self) -> socket.socket | None:
        for _ in range(len(self.targets)):
            target = self.targets[next(self._next)]
            try:
                return socket.create_connection(target, timeout=1)
            except OSError:
                continue
        return None

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = self._connect()
            if upstream is None:
                client.close()
                continue
            upstream.settimeout(None)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(a, b), daemon=True).start()

    def close(self) -> None:
        """Stop accepting."""
        self._listener.close()


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()
