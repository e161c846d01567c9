"""Floor 2 (the Python floor): a raw ``websockets`` server, compression off.

No Engine.IO, no Socket.IO, no Flask: a client joins the room named in the
query string (``/?room=owner``, default ``all``) and ``GET /emit/<room>/<event>``
sends one pre-encoded text, shaped like a Socket.IO event packet
(``42["stock",{...,"t":...}]``), to every member with ``websockets.broadcast``.
Same payload bytes as the shop and the minimal app, so the load client parses
all three alike.

Run: ``PORT=5002 python bench/floor_raw.py``
"""

import asyncio
import gc
import json
import os
import time
from datetime import UTC, datetime
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.http11 import Request

ROOMS: dict[str, set[ServerConnection]] = {}


def packet(event: str) -> str:
    if event == "order_status":
        data = {
            "order_id": 1234,
            "status": "processing",
            "previous_status": "placed",
            "updated_at": datetime.now(UTC).isoformat(),
        }
    else:
        data = {"product_id": 1, "stock": 41, "in_stock": True}
    data["t"] = time.time()
    return "42" + json.dumps([event, data], separators=(",", ":"))


def process_request(connection: ServerConnection, request: Request):
    """Answer plain HTTP (the emit trigger, health) before any WebSocket upgrade."""
    path = urlsplit(request.path).path
    if path.startswith("/emit/"):
        _, _, room, event = path.split("/", 3)
        broadcast(ROOMS.get(room, ()), packet(event))
        return connection.respond(HTTPStatus.OK, "ok\n")
    if path == "/healthz":
        return connection.respond(HTTPStatus.OK, "ok\n")
    return None


async def handler(connection: ServerConnection) -> None:
    query = parse_qs(urlsplit(connection.request.path).query)
    members = ROOMS.setdefault(query.get("room", ["all"])[0], set())
    members.add(connection)
    try:
        async for _message in connection:  # nothing to do with client messages
            pass
    finally:
        members.discard(connection)


async def main(port: int) -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 10, 100)  # as the shop and the minimal app
    async with serve(
        handler,
        "127.0.0.1",
        port,
        compression=None,
        process_request=process_request,
        ping_interval=None,
        backlog=2048,
    ) as server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(os.environ.get("PORT", "5002"))))
