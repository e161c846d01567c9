"""Delivery as a person sees it: a hidden tab leaves the product rooms and
catches up when shown; an inbox reset under an open page reloads it once."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from testing import steps

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
