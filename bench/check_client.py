"""Check the load client against python-socketio's own Client, once per run.

Three tabs of the same shopper on the real shop: python-socketio's Client
(testing/sockets.py's LiveSocket), and the bench client with and without the
browser's compression offer. All three subscribe to a product; the admin
then changes an order's status and the product's stock, and one tab marks
the inbox read. Every tab must receive the same events with the same
payloads, in the same order, and the same acks.
"""

from __future__ import annotations

import asyncio

from testing import sioclient
from testing.sockets import LiveSocket

SETTLE_SECONDS = 1.0


async def check(
    base_url: str, owner_cookie: str, admin: sioclient.Http, csrf: str, order_id: int, product_id: int
) -> dict:
    reference = await asyncio.to_thread(LiveSocket, base_url, owner_cookie)
    mine: dict[str, list] = {"deflate": [], "plain": []}
    clients = {
        name: await sioclient.connect(
            base_url,
            cookie=owner_cookie,
            deflate=name == "deflate",
            on_event=lambda _c, event, data, _t, into=events: into.append((event, data)),
        )
        for name, events in mine.items()
    }
    try:
        subscribe = {"product_id": product_id}
        acks = {"python-socketio": await asyncio.to_thread(reference.call, "subscribe_product", subscribe)}
        for name, client in clients.items():
            acks[name] = await client.call("subscribe_product", subscribe)
        await _post(admin, f"/admin/orders/{order_id}/status", {"csrf_token": csrf, "status": "processing"})
        await _post(admin, f"/admin/products/{product_id}/stock", {"csrf_token": csrf, "stock": "77"})
        await asyncio.to_thread(reference.wait_for, "stock")
        last_seq = reference.of("notification")[-1]["seq"]
        acks_read = await asyncio.to_thread(reference.call, "mark_read", {"up_to_seq": last_seq})
        await asyncio.to_thread(reference.wait_for, "unread")
        await asyncio.sleep(SETTLE_SECONDS)
        expected = list(reference.events)
        same = all(events == expected for events in mine.values()) and _same_acks(acks)
        return {
            "same_events_and_acks": same,
            "events": [name for name, _ in expected],
            "compression_negotiated": clients["deflate"].deflate is not None,
            "mark_read_ack": acks_read,
            **({} if same else {"reference": expected, "bench": mine, "acks": acks}),
        }
    finally:
        await asyncio.to_thread(reference.close)
        for client in clients.values():
            client.closing = True
            client.close()


def _same_acks(acks: dict) -> bool:
    values = list(acks.values())
    return all(value == values[0] for value in values)


async def _post(admin: sioclient.Http, path: str, form: dict) -> None:
    status, _ = await admin.request("POST", path, form)
    if status != 302:
        raise RuntimeError(f"POST {path} answered {status}")
