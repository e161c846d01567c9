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

import itertools
import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.browser import steps
from tests.checkout_support import checkout_fields
from tests.live import Shopper

pytestmark = pytest.mark.browser

SALT = "Flaky Sea Salt, 250 g"
TOTE = "Canvas Tote Bag"
HOSTILE_NAME = '<img src="x" data-injected>Eve'
_people = itertools.count(1)


def product_id(name: str) -> int:
    from shop.seed import PRODUCTS

    return next(number for number, row in enumerate(PRODUCTS, start=1) if row[0] == name)


def http_shopper(base_url: str, name: str) -> Shopper:
    """A new account signed in over HTTP (no browser)."""
    person = Shopper(base_url)
    email = f"client-{next(_people)}-{uuid.uuid4().hex[:8]}@example.com"
    form = {"name": name, "email": email, "password": steps.PASSWORD, "confirm": steps.PASSWORD}
    response = person.post("/auth/register", form, token_from="/auth/register", allow_redirects=False)
    assert response.status_code == 302, response.status_code
    return person


def fill_cart(person: Shopper, name: str) -> dict[str, str]:
    """Put one of ``name`` in the cart; the checkout page's form (CSRF token, key,
    what it shows, an address)."""
    added = person.post(
        f"/cart/add/{product_id(name)}",
        {"quantity": 1},
        token_from=f"/products/{product_id(name)}",
        allow_redirects=False,
    )
    assert added.status_code == 302, added.status_code
    return checkout_fields(person.get("/checkout").text)


def check_out(person: Shopper, form: dict[str, str]) -> int:
    """One POST, as the checkout page's button sends it; the new order's id."""
    placed = person.http.post(person.base_url + "/checkout", data=form, allow_redirects=False, timeout=10)
    assert placed.status_code == 302, placed.status_code
    return int(placed.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def http_order(person: Shopper, name: str) -> int:
    return check_out(person, fill_cart(person, name))


def http_admin(base_url: str) -> Shopper:
    return Shopper(base_url).login(*steps.ADMIN)


def move(admin: Shopper, order_id: int, status: str, note: str = "") -> None:
    moved = admin.post(
        f"/admin/orders/{order_id}/status",
        {"status": status, "note": note},
        token_from=f"/admin/orders/{order_id}",
        allow_redirects=False,
    )
    assert moved.status_code == 302, moved.status_code


def toasts(page: Page):
    return page.locator("[data-toasts] .toast")


def toast_titled(page: Page, kind: str, title: str):
    return steps.toast(page, kind).filter(has=page.locator(".toast-title").get_by_text(title, exact=True))


def test_toasts_are_escaped_capped_at_four_and_dismissable(browsing, shop):
    admin = browsing.admin()
    admin.goto("/admin/orders")
    steps.wait_until_live(admin)
    steps.mark_page(admin)
    # Five customers with full carts, so that the five checkouts come in one burst
    # (well inside the six seconds a toast stays).
    customers = [http_shopper(shop.url, HOSTILE_NAME) for _ in range(5)]
    carts = [(person, fill_cart(person, SALT)) for person in customers]

    order_ids = [check_out(person, form) for person, form in carts]

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

    move(http_admin(shop.url), order_id, "processing", note)

    expect(steps.timeline_entries(shopper).last).to_contain_text(note)
    expect(steps.toast(shopper, "order_status")).to_contain_text(note)
    expect(shopper.locator("[data-injected]")).to_have_count(0)


def test_a_reload_shows_no_old_notification_again(browsing, shop):
    shopper = browsing.shopper(name="Rae Reload")
    order_id = steps.buy(shopper, "tote", TOTE)
    steps.wait_until_live(shopper)
    admin = http_admin(shop.url)
    move(admin, order_id, "processing")
    move(admin, order_id, "shipped")
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
    shopper.goto("/notifications")
    steps.wait_until_live(shopper)
    steps.mark_page(shopper)
    expect(shopper.locator("[data-inbox-empty]")).to_be_visible()

    move(http_admin(shop.url), order_id, "processing", "Grinding the salt by hand")

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
    fay = http_shopper(shop.url, "Fay Filter")
    order_ids = [http_order(fay, SALT) for _ in range(2)]
    admin = browsing.admin()
    admin.goto("/admin/orders?status=placed")
    steps.wait_until_live(admin)
    steps.mark_page(admin)
    rows = admin.locator("[data-admin-orders] tbody tr")
    before = rows.count()
    for order_id in order_ids:
        expect(admin.locator(f"tr[data-order-id='{order_id}']")).to_be_visible()

    move(http_admin(shop.url), order_ids[0], "processing")

    expect(admin.locator(f"tr[data-order-id='{order_ids[0]}']")).to_have_count(0)
    expect(rows).to_have_count(before - 1)
    expect(admin.locator(f"tr[data-order-id='{order_ids[1]}'] [data-order-status]")).to_have_text("Placed")
    assert steps.still_same_document(admin)


def test_an_admin_order_page_moved_elsewhere_stops_offering_old_choices(browsing, shop):
    gus = http_shopper(shop.url, "Gus Guard")
    order_id = http_order(gus, SALT)
    admin = browsing.admin()
    admin.goto(f"/admin/orders/{order_id}")
    steps.wait_until_live(admin)
    steps.mark_page(admin)
    expect(admin.locator("[data-status-form]")).to_be_visible()

    move(http_admin(shop.url), order_id, "processing")

    expect(steps.order_status(admin)).to_have_text("Processing")
    expect(steps.timeline_entries(admin)).to_have_count(2)
    expect(admin.locator("[data-status-form]")).to_be_hidden()
    notice = admin.locator("[data-status-changed]")
    expect(notice).to_contain_text("This order is now processing.")
    expect(notice.get_by_role("link", name="Reload to act on it")).to_have_attribute(
        "href", f"/admin/orders/{order_id}"
    )
    assert steps.still_same_document(admin)


def test_logging_out_in_another_tab_takes_this_tab_offline(browsing):
    shopper = browsing.shopper(name="Lou Logout")
    shopper.goto("/orders")
    steps.wait_until_live(shopper)
    steps.mark_page(shopper)
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


def without_times(html: str) -> str:
    """The same markup with each <time> made neutral (a push carries its own moment)."""
    assert LONG_UTC_TIME.search(html), html
    return LONG_UTC_TIME.sub("<time>…</time>", html)


def set_stock(admin: Shopper, product: int, stock: int) -> None:
    changed = admin.post(
        f"/admin/products/{product}/stock",
        {"stock": stock},
        token_from=f"/admin/products/{product}/edit",
        allow_redirects=False,
    )
    assert changed.status_code == 302, changed.status_code


def test_a_pushed_admin_order_row_is_the_row_the_server_renders(browsing, shop):
    admin = browsing.admin()
    admin.goto("/admin/orders")
    steps.wait_until_live(admin)
    steps.mark_page(admin)

    order_id = http_order(http_shopper(shop.url, "Rowan <Row> & Co"), TOTE)

    row = admin.locator(f"[data-admin-orders] tr[data-order-id='{order_id}']")
    expect(row).to_contain_text("Rowan <Row> & Co")
    assert steps.still_same_document(admin)
    pushed = markup(row)
    admin.reload()
    assert markup(row) == pushed


def test_a_pushed_timeline_item_is_the_item_the_server_renders(browsing, shop):
    shopper = browsing.shopper(name="Tia Timeline")
    order_id = steps.buy(shopper, "tote", TOTE)
    steps.wait_until_live(shopper)
    steps.mark_page(shopper)

    move(http_admin(shop.url), order_id, "processing", "Wrapped in <paper> & string")

    expect(steps.timeline_entries(shopper)).to_have_count(2)
    assert steps.still_same_document(shopper)
    pushed = markup(steps.timeline_entries(shopper).last)
    shopper.reload()
    assert without_times(markup(steps.timeline_entries(shopper).last)) == without_times(pushed)


def test_a_pushed_inbox_item_is_the_item_the_server_renders(browsing, shop):
    shopper = browsing.shopper(name="Ike Item")
    order_id = steps.buy(shopper, "tote", TOTE)
    shopper.goto("/notifications")
    steps.wait_until_live(shopper)
    steps.mark_page(shopper)

    move(http_admin(shop.url), order_id, "processing", "On the <shelf> & ready")

    item = shopper.locator("[data-inbox] > [data-seq]").first
    expect(item).to_contain_text("On the <shelf> & ready")
    assert steps.still_same_document(shopper)
    pushed = markup(item)
    shopper.reload()
    assert markup(item) == pushed


def test_a_pushed_stock_badge_is_the_badge_the_server_renders(browsing, shop):
    shopper = browsing.shopper(name="Sol Stock")
    organiser = product_id(ORGANISER)
    shopper.goto(f"/products/{organiser}")
    steps.wait_until_live(shopper)
    badge = shopper.locator("[data-product-page] [data-stock-badge]")
    admin = http_admin(shop.url)

    for stock, text in [(3, "Only 3 left"), (0, "Out of stock"), (14, "In stock")]:
        steps.mark_page(shopper)
        set_stock(admin, organiser, stock)
        expect(badge).to_have_text(text)
        assert steps.still_same_document(shopper)
        pushed = markup(badge)
        shopper.reload()
        steps.wait_until_live(shopper)
        assert markup(badge) == pushed
