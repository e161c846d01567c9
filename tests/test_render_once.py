"""Render once: every fragment, format and limit the browser shows or keeps comes from the server.

The live client (static/js/live/) builds no markup of its own: it fills the
page's <template>s, which the server renders from the macros of its own rows
and items. These tests fail if a fragment, a label or a format is written in
the JavaScript again, if a page that updates live lacks a template the client
asks for, or if a template formats money or a time itself.
"""

import re
from pathlib import Path

import pytest

from shop import frame
from shop.services.catalog import watch
from shop.services.orders import change_status
from shop.sockets.guard import MAX_PRODUCT_ROOMS
from testing.data import fill_cart, make_order, make_product, make_user
from testing.shopper import Auth

ROOT = Path(__file__).resolve().parent.parent
LIVE_CLIENT = ROOT / "static" / "js" / "live"
TEMPLATES = ROOT / "templates"

# What the client writes itself today would be a second copy of the server's.
WRITTEN_ONCE_ON_THE_SERVER = {
    "an element built in script": r"createElement\s*\(",
    "markup from a string": r"innerHTML|outerHTML|insertAdjacentHTML|document\.write",
    "a currency symbol": r"€",
    "a stock badge's text": r"Out of stock|In stock|Only\b.*\bleft",
    "an order status": r"(?i)\b(placed|processing|shipped|delivered|cancelled)\b",
    "a payment status": r"(?i)\b(unpaid|paid|refunded)\b",
}

# Which templates a page needs, by what it shows (the selectors the modules act on).
TEMPLATES_NEEDED = {
    "data-toasts": {"toast"},
    "data-order-status": {"status-badge"},
    "data-timeline": {"timeline-item", "status-badge"},
    "data-admin-notices": {"admin-changed"},
    "data-admin-orders": {"admin-order-row", "status-badge", "payment-badge"},
    "data-payment-status": {"payment-badge"},
    "data-payment-timeline": {"payment-timeline-item", "payment-badge"},
    "data-inbox": {"inbox-item"},
    "data-stock-badge": {"stock-badge"},
    "data-thread": {"message-item"},
    "data-conversations": {"conversation-row"},
}
TEMPLATE_ELEMENT = re.compile(r'<template data-template="([a-z-]+)">.*?</template>', re.S)


def live_client_sources() -> dict[str, str]:
    sources = {path.name: path.read_text() for path in sorted(LIVE_CLIENT.glob("*.js"))}
    assert "main.js" in sources, "the live client's modules moved"
    return sources


def templates_asked_for() -> set[str]:
    """The template names the modules look up (render, variant)."""
    names = set()
    for source in live_client_sources().values():
        names.update(re.findall(r'\b(?:render|variant)\(\s*"([a-z-]+)"', source))
    return names


def template_names(html: str) -> list[str]:
    return TEMPLATE_ELEMENT.findall(html)


def outside_templates(html: str) -> str:
    return TEMPLATE_ELEMENT.sub("", html)


def body_tag(html: str) -> str:
    return re.search(r"<body[^>]*>", html).group(0)


@pytest.mark.parametrize("what", WRITTEN_ONCE_ON_THE_SERVER)
def test_the_live_client_writes_no_fragment_label_or_format_of_its_own(what):
    pattern = re.compile(WRITTEN_ONCE_ON_THE_SERVER[what])
    found = [
        f"{name}:{number}: {line.strip()}"
        for name, source in live_client_sources().items()
        for number, line in enumerate(source.splitlines(), start=1)
        if pattern.search(line)
    ]
    assert not found, f"{what} in the live client:\n" + "\n".join(found)


def test_the_one_file_live_client_is_gone_and_base_loads_the_modules(client):
    assert not (ROOT / "static" / "js" / "live.js").exists()
    assert set(live_client_sources()) >= {"main.js", "socket.js", "notifications.js", "templates.js"}
    for source in live_client_sources().values():
        for imported in re.findall(r'from "\./([\w.]+)"', source):
            assert (LIVE_CLIENT / imported).is_file(), imported
    base = (TEMPLATES / "base.html").read_text()
    assert "filename='js/live/main.js'" in base and 'type="module"' in base
    assert not re.search(r"<script(?![^>]*\bsrc=)", base), "an inline script"


def test_every_template_the_client_asks_for_is_needed_by_some_page():
    assert templates_asked_for() == set().union(*TEMPLATES_NEEDED.values())


def test_no_template_formats_money_times_or_statuses_itself():
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text()
        for pattern in (r"strftime", r"isoformat\(\)", r"\bmoney\(", r"%\.2f", r"€", r"\|\s*capitalize"):
            assert not re.search(pattern, text), f"{path.relative_to(ROOT)} has {pattern}"


def signed_in_pages(client, app) -> dict[str, str]:
    """Every page that shows something live, with something on it, for a shopper and an admin."""
    shopper = make_user()
    admin = make_user("admin@example.com", "Ada", admin=True)
    teapot = make_product("Teapot", stock=2, threshold=3)
    sold_out = make_product("Sold out", stock=0)
    order = make_order(shopper, teapot)
    change_status(order.id, "processing", admin.id, "Packed")
    fill_cart(shopper, teapot)
    watch(shopper.id, sold_out.id)
    auth = Auth(client)
    pages = {}
    auth.login(shopper.email)
    for path in ("/", f"/products/{teapot.id}", f"/products/{sold_out.id}", "/cart", "/orders"):
        pages[path] = client.get(path).get_data(as_text=True)
    pages[f"/orders/{order.id}"] = client.get(f"/orders/{order.id}").get_data(as_text=True)
    pages["/notifications"] = client.get("/notifications").get_data(as_text=True)
    auth.logout()
    auth.login(admin.email)
    for path in (
        "/admin/orders",
        "/admin/orders?status=placed",
        f"/admin/orders/{order.id}",
        "/admin/products",
        f"/admin/products/{teapot.id}/edit",
        "/admin/conversations",
        "/notifications",
    ):
        pages[f"admin {path}"] = client.get(path).get_data(as_text=True)
    make_user("new@example.com", "Nia")
    auth.logout()
    auth.login("new@example.com")
    pages["empty /notifications"] = client.get("/notifications").get_data(as_text=True)
    return pages


def test_every_page_that_updates_live_carries_the_templates_it_needs(client, app):
    pages = signed_in_pages(client, app)
    shown_somewhere = set()
    for page, html in pages.items():
        present = template_names(html)
        assert len(present) == len(set(present)), f"{page}: a template twice: {present}"
        shown = outside_templates(html)
        for attribute, needed in TEMPLATES_NEEDED.items():
            if re.search(rf"\s{attribute}[\s>=]", shown):
                shown_somewhere.add(attribute)
                missing = needed - set(present)
                assert not missing, f"{page} shows {attribute} without the templates {sorted(missing)}"
    assert shown_somewhere == set(TEMPLATES_NEEDED), "some fragment appeared on none of the pages"


def test_templates_hold_slots_and_never_the_data_of_a_page(client, app, shopper):
    make_order(shopper, make_product("Teapot <Secret>", stock=10))
    Auth(client).login()
    html = client.get("/orders/1").get_data(as_text=True)
    templates = "".join(match.group(0) for match in TEMPLATE_ELEMENT.finditer(html))
    assert "{created_at|utc_time:%d %b %Y, %H:%M UTC}" in templates
    assert "{status|status_label}" in templates and "{note?}" in templates
    assert "Teapot" not in templates and shopper.name not in templates


def test_the_templates_are_rendered_once_per_version_of_their_file(client, app, shopper):
    """They hold no request's data (above), so each page shows the markup kept from the first."""
    make_order(shopper, make_product("Teapot", stock=10))
    Auth(client).login()
    first = template_names(client.get("/orders/1").get_data(as_text=True))
    with app.app_context():
        module = app.jinja_env.get_template(frame.LIVE_TEMPLATES).module
        names = ("toast", "status_badges", "message_entry")
        expected = "".join(str(getattr(module, name)()) for name in names)
    rendered_before = frame._rendered.cache_info().misses
    second = client.get("/orders/1").get_data(as_text=True)
    assert frame._rendered.cache_info().misses == rendered_before, "a macro rendered again"
    assert template_names(second) == first and len(first) >= 5
    kept = "".join(match.group(0) for match in TEMPLATE_ELEMENT.finditer(second))
    for element in TEMPLATE_ELEMENT.finditer(expected):
        assert element.group(0) in kept


def test_an_anonymous_page_has_no_live_client_and_no_templates(client, app):
    make_product("Teapot")
    html = client.get("/").get_data(as_text=True)
    assert "js/live/main.js" not in html and not template_names(html)
    assert "data-socket-rate" not in body_tag(html)


@pytest.mark.app_config(SOCKET_EVENT_RATE=4.5, SOCKET_EVENT_BURST=7)
def test_the_body_carries_the_limits_the_client_keeps_under(client, app, shopper):
    Auth(client).login()
    body = body_tag(client.get("/orders").get_data(as_text=True))
    rendered = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', body))
    assert float(rendered["socket-rate"]) == 4.5
    assert int(rendered["socket-burst"]) == 7
    assert int(rendered["max-products"]) == MAX_PRODUCT_ROOMS
    for source in live_client_sources().values():
        for name in re.findall(r'serverLimit\(body, "([a-z-]+)"\)', source):
            assert name in rendered, f"the client reads data-{name}, which <body> lacks"
    asked = "".join(live_client_sources().values())
    assert all(f'"{name}"' in asked for name in ("socket-rate", "socket-burst", "max-products"))
