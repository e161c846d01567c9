"""Delivery as a person sees it: a hidden tab leaves the product rooms and
catches up when shown; an inbox reset under an open page reloads it once."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from testing import steps
from testing.shopper import admin_on

pytestmark = pytest.mark.browser

SET_HIDDEN = """(hidden) => {
  const state = () => (hidden ? "hidden" : "visible");
  Object.defineProperty(document, "visibilityState", {configurable: true, get: state});
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def test_a_hidden_tab_stops_following_products_and_catches_up_when_shown(browsing):
    shopper = browsing.shopper("Hilde")
    order_id = steps.buy(shopper, "grinder", "Burr Coffee Grinder")
    shopper.goto("/")
    product_id = steps.open_product(shopper, "Cast Iron Teapot, 0.8 l")
    steps.wait_until_live(shopper)
    badge = shopper.locator("[data-product-page] [data-stock-badge]")
    expect(badge).not_to_have_text("Out of stock")
    steps.mark_page(shopper)
    admin = browsing.admin()

    shopper.evaluate(SET_HIDDEN, True)
    shopper.wait_for_function("() => document.body.dataset.following === 'no'")
    steps.set_stock(admin, product_id, 0)
    steps.set_order_status(admin, order_id, "processing")  # the barrier: pushed after the stock
    expect(steps.unread_badge(shopper)).to_have_text("1")
    expect(badge).not_to_have_text("Out of stock")  # hidden: not told

    shopper.evaluate(SET_HIDDEN, False)
    expect(badge).to_have_text("Out of stock")  # shown again: caught up from the subscribe ack
    assert steps.still_same_document(shopper)
    steps.set_stock(admin, product_id, 9)


def test_an_inbox_reset_under_an_open_page_reloads_it_once_and_shows_nothing_twice(browsing):
    shopper = browsing.shopper("Rhea")
    order_id = steps.buy(shopper, "grinder", "Burr Coffee Grinder")
    admin = browsing.admin()
    steps.set_order_status(admin, order_id, "processing")
    shopper.goto("/notifications")
    steps.wait_until_live(shopper)
    expect(shopper.locator("[data-inbox] > [data-seq]")).to_have_count(1)
    steps.mark_page(shopper)
    user_id = int(shopper.evaluate("() => document.body.dataset.userId"))

    with browsing.server.database() as session:  # the seqs start again in a new epoch
        session.execute(text("DELETE FROM notifications WHERE user_id = :u"), {"u": user_id})
        session.execute(
            text("UPDATE users SET last_seq = 0, inbox_epoch = 'feedfacefeedface' WHERE id = :u"),
            {"u": user_id},
        )
        session.commit()
    steps.set_order_status(admin, order_id, "shipped")  # seq 1 of the new epoch

    shopper.wait_for_function("() => document.body.dataset.epoch === 'feedfacefeedface'", timeout=30_000)
    assert not steps.still_same_document(shopper)
    steps.wait_until_live(shopper)
    items = shopper.locator("[data-inbox] > [data-seq]")
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text("Your order is on its way")


# The page-to-socket handoff: the page carries the position read before its data, and its
# socket syncs from there. A notification committed in between arrives once, whichever
# side of the handoff it lands on.

INBOX_ITEMS = "[data-inbox] > [data-seq]"
SOCKET_SCRIPT = "**/static/vendor/socket.io*"
# Before the page's scripts run, its position is made one behind what it shows.
POSITION_ONE_BEHIND = """new MutationObserver((_, observer) => {
  if (document.body) {
    document.body.dataset.lastSeq = String(Number(document.body.dataset.lastSeq) - 1);
    observer.disconnect();
  }
}).observe(document, {childList: true, subtree: true});"""


def inbox_seqs(page) -> list[int]:
    return page.evaluate(
        "(selector) => [...document.querySelectorAll(selector)].map((item) => Number(item.dataset.seq))",
        INBOX_ITEMS,
    )


def shopper_with_news(browsing, name: str):
    """A shopper whose inbox holds seq 1, on a page without a socket; the order and an admin."""
    shopper = browsing.shopper(name)
    order_id = steps.buy(shopper, "grinder", "Burr Coffee Grinder")
    admin = admin_on(browsing.server.url)
    admin.set_status(order_id, "processing")
    shopper.goto("about:blank")  # no socket open: what is pushed now reaches no page
    return shopper, order_id, admin


def then_nothing_twice(shopper, admin, order_id: int, seqs: list[int]) -> None:
    """One push more, the barrier: once it is shown, the inbox holds every seq once."""
    admin.set_status(order_id, "delivered")
    expect(shopper.locator(INBOX_ITEMS)).to_have_count(len(seqs) + 1)
    assert inbox_seqs(shopper) == [max(seqs) + 1, *seqs]


def test_a_notification_committed_after_the_page_was_read_and_before_its_socket_arrives_once(browsing):
    shopper, order_id, admin = shopper_with_news(browsing, "Hanna")

    def commit_before_the_socket(route):
        admin.set_status(order_id, "shipped")  # seq 2: the page is read, its socket not yet open
        route.continue_()

    shopper.route(SOCKET_SCRIPT, commit_before_the_socket)  # asked for once the page has arrived
    shopper.goto("/notifications")
    assert shopper.evaluate("() => document.body.dataset.lastSeq") == "1"
    steps.wait_until_live(shopper)

    expect(shopper.locator(INBOX_ITEMS)).to_have_count(2)  # seq 2 from the sync
    then_nothing_twice(shopper, admin, order_id, [2, 1])


def test_a_notification_the_page_shows_beyond_its_position_is_not_shown_again(browsing):
    """The position is read before the page's data, so a notification committed between
    the two is on the page and after its position: the sync brings it again."""
    shopper, order_id, admin = shopper_with_news(browsing, "Ivo")
    admin.set_status(order_id, "shipped")  # seq 2, on the page

    shopper.add_init_script(POSITION_ONE_BEHIND)
    shopper.goto("/notifications")
    assert shopper.evaluate("() => document.body.dataset.lastSeq") == "1"
    steps.wait_until_live(shopper)

    then_nothing_twice(shopper, admin, order_id, [2, 1])
    expect(steps.toast(shopper, "order_status")).to_have_count(1)  # only the barrier's


def test_a_notification_committed_while_the_first_sync_is_on_its_way_arrives_once(browsing):
    """Committed after the client sent its sync and before the server read it: the push
    and the sync both bring it."""
    shopper, order_id, admin = shopper_with_news(browsing, "Jonas")
    committed = []

    def commit_once(message) -> None:
        if '"sync"' in str(message) and not committed:
            admin.set_status(order_id, "shipped")  # seq 2
            committed.append(True)

    def polling(route):
        commit_once(route.request.post_data or "")
        route.continue_()

    def websocket(ws):
        server = ws.connect_to_server()

        def to_server(message):
            commit_once(message)
            server.send(message)

        ws.on_message(to_server)

    shopper.route("**/socket.io/**", polling)
    shopper.route_web_socket("**/socket.io/**", websocket)
    shopper.goto("/notifications")
    steps.wait_until_live(shopper)
    assert committed

    expect(shopper.locator(INBOX_ITEMS)).to_have_count(2)
    then_nothing_twice(shopper, admin, order_id, [2, 1])
