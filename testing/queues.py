"""A TCP proxy in front of Redis that can make a worker's subscriber deaf.

The worker's Redis connections go through it. ``deafen()`` stops passing what
Redis sends on the connections that subscribed so far, while keeping them
open: the worker's subscriber then hears nothing and sees no error, as in
python-socketio #1581. Connections opened later (a new subscription) are
passed through again.
"""

import socket
import threading

from testing.processes import free_port


class DeafeningProxy:
    def __init__(self, target_port: int = 6379):
        self.target_port = target_port
        self.port = free_port()
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.subscribers: list[dict] = []
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def deafen(self) -> None:
        with self.lock:
            for connection in self.subscribers:
                connection["deaf"] = True

    def close(self) -> None:
        for sock in [self.listener, *self.sockets]:
            try:
                sock.close()
            except OSError:
                pass

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            connection = {"deaf": False}
            with self.lock:
                self.sockets += [client, upstream]
            threading.Thread(
                target=self._pump, args=(client, upstream, connection, True), daemon=True
            ).start()
            threading.Thread(
                target=self._pump, args=(upstream, client, connection, False), daemon=True
            ).start()

    def _pump(self, source: socket.socket, sink: socket.socket, connection: dict, from_client: bool) -> None:
        try:
            while data := source.recv(65536):
                if from_client and b"SUBSCRIBE" in data.upper():
                    with self.lock:
                        self.subscribers.append(connection)
                if not from_client and connection["deaf"]:
                    continue  # swallowed: the subscriber waits for ever
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
