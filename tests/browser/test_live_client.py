"""The browser client's own rules (static/js/live/), beyond the live journeys.

Toasts are escaped, capped and dismissable; a reload replays nothing; the inbox
reads what arrives while it is open; a filtered admin list drops rows that leave
the filter; an admin page whose order moved elsewhere stops offering stale
choices; a logout in another tab takes the page offline; what a push adds (an
admin order row, a timeline item, an inbox item, a stock badge) is the markup the
server renders for the same thing. Each test uses its
own accounts and orders on the shared server; admin and shopper actions that
are not under test go over plain HTTP to keep the tests short.
"""

import re

import pytest
from playwright.sync_api import Page, expect

from testing import steps
from testing.shopper import Shopper, admin_on, placed_order_id

pytestmark = pytest.mark.browser

SALT = "Flaky Sea Salt, 250 g"
TOTE = "Canvas Tote Bag"
HOSTILE_NAME = '<img src="x" data-injected>Eve'


def product_id(name: str) -> int:
    from shop.seed import PRODUCTS

    return next(number for number, row in enumerate(PRODUCTS, start=1) if row[0] == name)


def toasts(page: Page):
    return page.locator("[data-toasts] .toast")


def toast_titled(page: Page, kind: str, title: str):
    return steps.toast(page, kind).filter(has=page.locator(".toast-title").get_by_text(title, exact=True))


def test_toasts_are_escaped_capped_at_four_and_dismissable(browsing, shop):
    admin = browsing.admin()
    steps.open_live(admin, "/admin/orders")
    # Five customers with full carts, so that the five checkouts come in one burst
    # (well inside the six seconds a toast stays).
    customers = [Shopper(shop.url).register(HOSTILE_NAME) for _ in range(5)]
    for person in customers:
        person.add_to_cart(product_id(SALT))
    carts = [(person, person.checkout_form()) for person in customers]

    order_ids = [placed_order_id(person.checkout(form)) for person, form in carts]

    rows = admin.locator("[data-admin-orders] tbody tr")
    for order_id in order_ids:
        expect(admin.locator(f"tr[data-order-id='{order_id}']")).to_contain_text(HOSTILE_NAME)
    expect(rows.first).to_have_attribute("data-order-id", str(order_ids[-1]))
    expect(admin.locator("[data-injected]")).to_have_count(0)
    newest = toast_titled(admin, "new_order", f"New order #{order_ids[-1]}")
    expect(newest).to_be_visible()
    expect(toasts(admin)).to_have_count(4)
    expect(toast_titled(admin, "new_order", f"New order #{order_ids[0]}")).to_have_count(0)
    expect(newest.get_by_role("link", name="Open order")).to_have_attribute(
        "href", f"/admin/orders/{order_ids[-1]}"
    )

    newest.get_by_role("button", name="Dismiss").click()
    expect(newest).to_have_count(0)
    expect(toasts(admin)).to_have_count(3)
    assert steps.still_same_document(admin)


def test_a_status_note_is_shown_as_text_in_the_toast_and_the_timeline(browsing, shop):
    shopper = browsing.shopper(name="Nora Note")
    order_id = steps.buy(shopper, "tote", TOTE)
    steps.wait_until_live(shopper)
    note = "<b data-injected>Packed</b> & on its way"

    admin_on(shop.url).set_status(order_id, "processing", note)

    expect(steps.timeline_entries(shopper).last).to_contain_text(note)
    expect(steps.toast(shopper, "order_status")).to_contain_text(note)
    expect(shopper.locator("[data-injected]")).to_have_count(0)


def test_a_reload_shows_no_old_notification_again(browsing, shop):
    shopper = browsing.shopper(name="Rae Reload")
    order_id = steps.buy(shopper, "tote", TOTE)
    steps.wait_until_live(shopper)
    admin = admin_on(shop.url)
    admin.set_status(order_id, "processing")
    admin.set_status(order_id, "shipped")
    expect(steps.toast(shopper, "order_status")).to_have_count(2)
    expect(steps.unread_badge(shopper)).to_have_text("2")

    shopper.reload()
    steps.wait_until_live(shopper)

    expect(steps.order_status(shopper)).to_have_text("Shipped")
    expect(steps.timeline_entries(shopper)).to_have_count(3)
    expect(steps.unread_badge(shopper)).to_have_text("2")
    expect(toasts(shopper)).to_have_count(0)


def test_the_open_inbox_shows_new_notifications_and_keeps_the_badge_clear(browsing, shop):
    shopper = browsing.shopper(name="Ines Inbox")
    order_id = steps.buy(shopper, "salt", SALT)
    steps.open_live(shopper, "/notifications")
    expect(shopper.locator("[data-inbox-empty]")).to_be_visible()

    admin_on(shop.url).set_status(order_id, "processing", "Grinding the salt by hand")

    first = shopper.locator("[data-inbox] > [data-seq]").first
    expect(first).to_contain_text(f"We are preparing your order (order #{order_id})")
    expect(first).to_contain_text("Grinding the salt by hand")
    expect(shopper.locator("[data-inbox-empty]")).to_be_hidden()
    expect(shopper.locator("[data-inbox]")).to_have_attribute("data-up-to-seq", "1")
    expect(steps.toast(shopper, "order_status")).to_be_visible()
    expect(steps.unread_badge(shopper)).to_be_hidden()
    other_tab = shopper.context.new_page()
    other_tab.goto("/orders")
    expect(steps.unread_badge(other_tab)).to_be_hidden()
    assert steps.still_same_document(shopper)


def test_a_filtered_admin_list_drops_orders_that_leave_the_filter(browsing, shop):
    fay = Shopper(shop.url).register("Fay Filter")
    order_ids = [fay.place_order(product_id(SALT)) for _ in range(2)]
    admin = browsing.admin()
    steps.open_live(admin, "/admin/orders?status=placed")
    rows = admin.locator("[data-admin-orders] tbody tr")
    before = rows.count()
    for order_id in order_ids:
        expect(admin.locator(f"tr[data-order-id='{order_id}']")).to_be_visible()

    admin_on(shop.url).set_status(order_ids[0], "processing")

    expect(admin.locator(f"tr[data-order-id='{order_ids[0]}']")).to_have_count(0)
    expect(rows).to_have_count(before - 1)
    expect(admin.locator(f"tr[data-order-id='{order_ids[1]}'] [data-order-status]")).to_have_text("Placed")
    assert steps.still_same_document(admin)


def test_an_admin_order_page_moved_elsewhere_says_who_and_keeps_its_form(browsing, shop):
    """The form stays, with the version it was rendered from (a submit is a 409: see
    test_admin_live.py); the notice says who moved the order and how."""
    gus = Shopper(shop.url).register("Gus Guard")
    order_id = gus.place_order(product_id(SALT))
    admin = browsing.admin()
    steps.open_live(admin, f"/admin/orders/{order_id}")
    expect(admin.locator("[data-status-form]")).to_be_visible()

    admin_on(shop.url).set_status(order_id, "processing")

    expect(steps.order_status(admin)).to_have_text("Processing")
    expect(steps.timeline_entries(admin)).to_have_count(2)
    expect(admin.locator("[data-status-form]")).to_be_visible()
    notice = admin.locator("[data-admin-changed]")
    expect(notice).to_contain_text("Changed by Ada Admin: status placed → processing.")
    expect(notice.get_by_role("link", name="reload the page")).to_have_attribute(
        "href", f"/admin/orders/{order_id}"
    )
    assert steps.still_same_document(admin)


def test_logging_out_in_another_tab_takes_this_tab_offline(browsing):
    shopper = browsing.shopper(name="Lou Logout")
    steps.open_live(shopper, "/orders")
    other_tab = shopper.context.new_page()
    other_tab.goto("/")

    other_tab.get_by_role("button", name="Log out").click()

    expect(steps.indicator(shopper)).to_have_attribute("data-state", "offline")
    expect(steps.indicator(shopper).locator(".label")).to_have_text("offline")
    stopped = shopper.locator("[data-toasts] .toast").filter(has_text="Live updates stopped")
    expect(stopped).to_be_visible()
    expect(stopped.get_by_role("link", name="Log in")).to_have_attribute("href", "/auth/login")
    assert steps.still_same_document(shopper)


def test_product_tiles_take_a_palette_class_and_no_page_uses_inline_styles(browsing):
    page = browsing.shopper(name="Pia Palette")
    for path in ("/", f"/products/{product_id(SALT)}", "/cart", "/orders", "/notifications"):
        page.goto(path)
        expect(page.locator("[style]")).to_have_count(0)
    page.goto("/")
    tiles = page.locator("[data-product-list] .product-art")
    expect(tiles).to_have_count(12)
    for tile in tiles.all():
        expect(tile).to_have_class(re.compile(r"\bhue-[0-7]\b"))


# -- what a push adds is what the server renders --------------------------------------

# The outerHTML of a fragment without the classes that only mark it as just added
# or changed (for the CSS animations) and, for an inbox item, as not yet read.
FRAGMENT_MARKUP = """(element) => {
  const copy = element.cloneNode(true);
  for (const node of [copy, ...copy.querySelectorAll('*')]) {
    node.classList.remove('is-new', 'just-changed', 'unread');
    if (node.getAttribute('class') === '') node.removeAttribute('class');
  }
  return copy.outerHTML;
}"""
LONG_UTC_TIME = re.compile(r"<time datetime=\"[^\"]+\">\d\d [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC</time>")
ORGANISER = "Bamboo Desk Organiser"  # low below 5; only this scenario changes its stock


def markup(locator) -> str:
    return locator.evaluate(FRAGMENT_MARKUP)


def assert_a_reload_renders_the_same(page: Page, locator, same=lambda html: html) -> None:
    """What the push put in (no reload so far) is the markup the server renders on a reload."""
    assert steps.still_same_document(page)
    pushed = markup(locator)
    page.reload()
    assert same(markup(locator)) == same(pushed)


def without_times(html: str) -> str:
    """The same markup with each <time> made neutral (a push carries its own moment)."""
    assert LONG_UTC_TIME.search(html), html
    return LONG_UTC_TIME.sub("<time>…</time>", html)


def test_a_pushed_admin_order_row_is_the_row_the_server_renders(browsing, shop):
    admin = browsing.admin()
    steps.open_live(admin, "/admin/orders")

    order_id = Shopper(shop.url).register("Rowan <Row> & Co").place_order(product_id(TOTE))

    row = admin.locator(f"[data-admin-orders] tr[data-order-id='{order_id}']")
    expect(row).to_contain_text("Rowan <Row> & Co")
    assert_a_reload_renders_the_same(admin, row)


def test_a_pushed_timeline_item_is_the_item_the_server_renders(browsing, shop):
    shopper = browsing.shopper(name="Tia Timeline")
    order_id = steps.buy(shopper, "tote", TOTE)
    steps.wait_until_live(shopper)
    steps.mark_page(shopper)

    admin_on(shop.url).set_status(order_id, "processing", "Wrapped in <paper> & string")

    expect(steps.timeline_entries(shopper)).to_have_count(2)
    assert_a_reload_renders_the_same(shopper, steps.timeline_entries(shopper).last, without_times)


def test_a_pushed_inbox_item_is_the_item_the_server_renders(browsing, shop):
    shopper = browsing.shopper(name="Ike Item")
    order_id = steps.buy(shopper, "tote", TOTE)
    steps.open_live(shopper, "/notifications")

    admin_on(shop.url).set_status(order_id, "processing", "On the <shelf> & ready")

    item = shopper.locator("[data-inbox] > [data-seq]").first
    expect(item).to_contain_text("On the <shelf> & ready")
    assert_a_reload_renders_the_same(shopper, item)


def test_a_pushed_stock_badge_is_the_badge_the_server_renders(browsing, shop):
    shopper = browsing.shopper(name="Sol Stock")
    organiser = product_id(ORGANISER)
    shopper.goto(f"/products/{organiser}")
    steps.wait_until_live(shopper)
    badge = shopper.locator("[data-product-page] [data-stock-badge]")
    admin = admin_on(shop.url)

    for stock, text in [(3, "Only 3 left"), (0, "Out of stock"), (14, "In stock")]:
        steps.mark_page(shopper)
        admin.set_stock(organiser, stock)
        expect(badge).to_have_text(text)
        assert steps.still_same_document(shopper)
        pushed = markup(badge)
        shopper.reload()
        steps.wait_until_live(shopper)
        assert markup(badge) == pushed
