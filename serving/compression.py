"""WebSocket compression stays off: the push channel carries small JSON.

Browsers offer permessage-deflate on every WebSocket. Accepted, it keeps a
zlib compressor and decompressor alive per connection (bench/README.md has
what that costs in memory, on every async mode) and compresses every
broadcast once per subscriber, to save a few dozen bytes on small messages. Taking the offer out of the
handshake request makes every server the shop runs on (eventlet's WebSocket,
simple-websocket) answer without the extension; clients then send and
receive plain frames, as the protocol allows.
"""

from collections.abc import Callable, Iterable

OFFER = "HTTP_SEC_WEBSOCKET_EXTENSIONS"


def without_websocket_compression(wsgi_app: Callable) -> Callable:
    def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
        environ.pop(OFFER, None)
        return wsgi_app(environ, start_response)

    return app
