"""Werkzeug's development server, one OS thread per connection (development only)."""

from flask import Flask
from werkzeug.serving import WSGIRequestHandler


def serve(app: Flask, host: str, port: int) -> None:
    app.extensions["socketio"].run(
        app,
        host=host,
        port=port,
        allow_unsafe_werkzeug=True,
        log_output=False,
        request_handler=ClosingRequestHandler,
    )


def run_in_os_thread(fn, *args):
    """Every request has its own OS thread already."""
    return fn(*args)


class ClosingRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler, closing the connection after a WebSocket.

    simple-websocket ends a WebSocket by raising ConnectionError, which Werkzeug
    treats as a dropped client but then reads the next request off the socket.
    """

    def run_wsgi(self):
        websocket = self.headers.get("Upgrade", "").lower() == "websocket"
        try:
            super().run_wsgi()
        finally:
            # However the WebSocket ended, the bytes after it are not HTTP.
            if websocket:
                self.close_connection = True

    def connection_dropped(self, error, environ=None):
        self.close_connection = True
        super().connection_dropped(error, environ)
