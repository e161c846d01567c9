"""WebSocket compression stays off: the push channel carries small JSON.

Browsers offer permessage-deflate on every WebSocket. Accepted, it keeps a
zlib compressor and decompressor alive per connection (bench/ measured about
100 KiB of resident memory per connection, on eventlet, gevent and
threading alike) and compresses every broadcast once per subscriber, to save
a few dozen bytes on messages of 100 to 300. Taking the offer out of the
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
