"""One computation of an order's totals (shop/services/totals.py), the same
figures on the cart, at checkout, on the order page, in the admin's pages and
in the confirmation email."""

import re

import pytest
from sqlalchemy import select

from shop.extensions import db
from shop.formatting import money, shipping_cost
from shop.models import MailDelivery, Notification, Order
from shop.services import mail
from shop.services.totals import order_totals
from testing.data import fill_cart, make_product
from testing.shopper import Auth, checkout_fields

FIGURES = re.compile(rb"data-(items|shipping|grand)-total>([^<]+)<")
EMAIL_FIGURES = re.compile(r"^(Items|Shipping|Total): (.+)$", re.M)


def figures(html: bytes, within: bytes | None = None) -> dict[str, str]:
    """The totals rows of a page (or of the part that starts at ``within``)."""
    if within is not None:
        html = html[html.index(within) :]
    found = {}
    for name, value in FIGURES.findall(html):
        found.setdefault(name.decode(), value.decode())
    return found


@pytest.mark.parametrize(
    ("lines", "method", "expected"),
    [
        ([(1250, 2)], "standard", ("€25.00", "€4.90", "€29.90")),
        ([(2500, 2)], "standard", ("€50.00", "Free", "€50.00")),  # the threshold itself
        ([(4999, 1)], "standard", ("€49.99", "€4.90", "€54.89")),
        ([(2500, 2), (399, 3)], "express", ("€61.97", "€9.90", "€71.87")),
    ],
)
def test_every_page_shows_the_totals_the_order_was_charged(client, shopper, admin, lines, method, expected):
    for number, (price, quantity) in enumerate(lines):
        fill_cart(shopper, make_product(f"Thing {number}", price_cents=price, stock=10), quantity)
    auth = Auth(client)
    auth.login()
    cart = figures(client.get("/cart").data)
    checkout_page = client.get("/checkout").data
    at_checkout = figures(checkout_page, within=f'data-totals-for="{method}"'.encode())
    client.post("/checkout", data=checkout_fields(checkout_page, shipping_method=method))
    order = db.session.scalars(select(Order)).one()
    on_order_page = figures(client.get(f"/orders/{order.id}").data)
    auth.logout()
    auth.login(admin.email)
    on_admin_page = figures(client.get(f"/admin/orders/{order.id}").data)
    admin_list = client.get("/admin/orders").data

    totals = order_totals(order)
    [confirmation] = db.session.scalars(select(MailDelivery).where(MailDelivery.order_id == order.id))
    in_email = dict(EMAIL_FIGURES.findall(mail.compose(confirmation).body))
    as_charged = {
        "items": money(totals.items_cents),
        "shipping": shipping_cost(totals.shipping_cents),
        "grand": money(totals.total_cents),
    }
    assert tuple(as_charged.values()) == expected
    assert at_checkout == on_order_page == on_admin_page == as_charged
    assert in_email == {
        "Items": as_charged["items"],
        "Shipping": as_charged["shipping"],
        "Total": as_charged["grand"],
    }
    if method == "standard":
        assert cart == as_charged  # the cart page quotes the first method
    assert (order.items_cents, order.shipping_cents, order.total_cents) == (
        totals.items_cents,
        totals.shipping_cents,
        totals.total_cents,
    )
    assert f'<td data-label="Total" class="num">{as_charged["grand"]}</td>'.encode() in admin_list
    [new_order] = db.session.scalars(select(Notification).where(Notification.kind == "new_order")).all()
    assert new_order.data["total_cents"] == totals.total_cents
    assert new_order.body.endswith(as_charged["grand"])
