"""A burst of socket events shares the database pool.

Each event's handler yields once it has answered, so that the other
connections get their turn. Holding its SQLite connection across that yield,
a burst of events from many sockets checked out more connections than the
pool keeps, and the pool opened and closed one for each event beyond them
(2,556 while the bench's 5,000 sockets subscribed). On PostgreSQL a query
itself yields (psycogreen), so a burst holds as many connections as it has
queries in flight whatever the guard does, and the pool's overflow opens
them: that is not this test's case.
"""

import asyncio
from concurrent.futures import ThreadPoolExecutor

from flask import current_app
from sqlalchemy import select

from shop.models import Product
from testing import crowd
from testing.apps import database_session
from testing.metrics import sample, scrape
from testing.server import SOCKET_BURST, LiveServer
from testing.sioclient import connect_many

SOCKETS = 40
EVENTS_EACH = SOCKET_BURST // 2
OPENED = "shop_db_connections_opened_total"
POOL_KEEPS = 5  # SQLAlchemy's QueuePool for a SQLite file: what it keeps open between uses


def test_a_burst_of_events_from_many_sockets_opens_no_connection_per_event(live):
    cookies, product_id = signed_in_shoppers(live, SOCKETS)
    # Its own thread: a browser test earlier in the run may leave an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        answers, opened = pool.submit(asyncio.run, burst(live.url, cookies, product_id)).result()

    assert len(answers) == SOCKETS * EVENTS_EACH
    assert all(answer["ok"] and answer["product_id"] == product_id for answer in answers), answers[:3]
    assert opened <= POOL_KEEPS, f"{opened} connections opened for {len(answers)} events"


def signed_in_shoppers(live: LiveServer, count: int) -> tuple[list[str], int]:
    with database_session(live.database_url, SECRET_KEY=live.env["SECRET_KEY"]) as session:
        tokens = crowd.insert_sessions(crowd.insert_shoppers(count, "pool"))
        cookies = crowd.session_cookies(current_app, tokens)
        product_id = session.scalar(select(Product.id).where(Product.active).limit(1))
    return cookies, product_id


async def burst(url: str, cookies: list[str], product_id: int) -> tuple[list[dict], float]:
    """Every socket sends its events at once; their answers, and the connections the
    server's pool opened meanwhile."""
    sockets = await connect_many(url, cookies)
    try:
        assert len(sockets) == len(cookies)
        before = sample(await asyncio.to_thread(scrape, url), OPENED)
        calls = [
            sock.call("subscribe_product", {"product_id": product_id})
            for sock in sockets
            for _ in range(EVENTS_EACH)
        ]
        answers = await asyncio.gather(*calls)
        return answers, sample(await asyncio.to_thread(scrape, url), OPENED) - before
    finally:
        for sock in sockets:
            sock.close()
