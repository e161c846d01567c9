"""Shipping methods: what they cost (the free-shipping threshold to the cent),
the admin pages that set them, and checkout charging only the cost it showed."""

import re

import pytest
from sqlalchemy import select, update

from shop.extensions import db
from shop.models import Order, ShippingMethod
from shop.services import orders, shipping
from shop.services.errors import InvalidInput, ShippingChanged
from shop.services.shipping import ShippingFields
from shop.services.totals import quote, shipping_cents, shipping_options
from testing.apps import run_together
from testing.checkout import DELIVERY, shown_with
from testing.data import count, fill_cart, make_product, make_user, stock_of
from testing.shopper import checkout_fields

STANDARD = ShippingMethod(code="standard", name="Standard", price_cents=490, free_from_cents=5000)
EXPRESS = ShippingMethod(code="express", name="Express", price_cents=990, free_from_cents=None)


@pytest.mark.parametrize(
    ("items", "standard", "express"),
    [
        (0, 490, 990),
        (1, 490, 990),
        (4999, 490, 990),
        (5000, 0, 990),  # from the threshold on, standard is free
        (5001, 0, 990),
        (10**12, 0, 990),
    ],
)
def test_shipping_costs_at_the_threshold_edges(items, standard, express):
    assert shipping_cents(STANDARD, items) == standard
    assert shipping_cents(EXPRESS, items) == express  # no threshold: never free
    totals = quote(items, STANDARD)
    assert (totals.items_cents, totals.shipping_cents, totals.total_cents) == (
        items,
        standard,
        items + standard,
    )


def test_a_threshold_of_zero_is_always_free_and_free_is_told_from_costing_nothing():
    pickup = ShippingMethod(code="pickup", name="Pick-up", price_cents=0, free_from_cents=None)
    always_free = replace_method(STANDARD, free_from_cents=0)
    assert shipping_cents(always_free, 0) == 0
    options = shipping_options(6000, [STANDARD, pickup])
    assert [(o.method.code, o.totals.shipping_cents, o.free) for o in options] == [
        ("standard", 0, True),
        ("pickup", 0, False),
    ]
    assert quote(100, None).total_cents == 100


def replace_method(method: ShippingMethod, **changes) -> ShippingMethod:
    values = {c.name: getattr(method, c.name) for c in ShippingMethod.__table__.columns if c.name != "id"}
    return ShippingMethod(**{**values, **changes})


@pytest.mark.parametrize(
    ("price", "items_total", "shown_total"),
    [(4999, "€49.99", "€54.89"), (5000, "€50.00", "€50.00"), (5001, "€50.01", "€50.01")],
)
def test_the_cart_page_quotes_standard_shipping_at_the_edges(
    client, auth, shopper, price, items_total, shown_total
):
    fill_cart(shopper, make_product("Teapot", price_cents=price, stock=5), 1)
    auth.login()
    page = client.get("/cart").data
    assert re.search(rb"data-items-total>([^<]+)<", page).group(1).decode() == items_total
    assert re.search(rb"data-grand-total>([^<]+)<", page).group(1).decode() == shown_total
    assert (b"data-free-shipping-hint" in page) == (price < 5000)


def test_checkout_charges_the_method_chosen(client, auth, shopper):
    fill_cart(shopper, make_product("Teapot", price_cents=6000, stock=5), 1)
    auth.login()
    form = checkout_fields(client.get("/checkout").data, shipping_method="express")
    assert client.post("/checkout", data=form).status_code == 302
    order = db.session.scalars(select(Order)).one()
    assert (order.items_cents, order.shipping_cents, order.total_cents) == (6000, 990, 6990)
    delivery = order.delivery
    assert (delivery.shipping_code, delivery.shipping_name, delivery.shipping_min_days) == (
        "express",
        "Express",
        1,
    )


@pytest.mark.parametrize("code", ["", "nosuch", "standard\x00"])
def test_a_method_not_offered_is_refused(client, auth, shopper, code):
    fill_cart(shopper, make_product(stock=5), 1)
    auth.login()
    form = checkout_fields(client.get("/checkout").data, shipping_method=code)
    response = client.post("/checkout", data=form)
    assert response.status_code in (400, 409)
    assert count(Order) == 0


def test_a_shipping_price_changed_since_the_page_is_refused_and_the_new_one_shown(client, auth, shopper):
    teapot = make_product("Teapot", price_cents=1000, stock=5)
    fill_cart(shopper, teapot, 1)
    auth.login()
    page = client.get("/checkout").data
    db.session.execute(
        update(ShippingMethod).where(ShippingMethod.code == "standard").values(price_cents=690)
    )
    db.session.commit()

    response = client.post("/checkout", data=checkout_fields(page))

    assert response.status_code == 409
    assert b"Shipping costs changed, please review your order." in response.data
    assert b'name="shown_shipping-0-cost_cents" value="690"' in response.data
    assert count(Order) == 0 and stock_of(teapot) == 5
    assert client.post("/checkout", data=checkout_fields(response.data)).status_code == 302
    assert db.session.scalars(select(Order.shipping_cents)).one() == 690


def test_a_method_taken_off_while_the_page_was_open_is_refused(client, auth, shopper):
    fill_cart(shopper, make_product(stock=5), 1)
    auth.login()
    page = client.get("/checkout").data
    db.session.execute(update(ShippingMethod).where(ShippingMethod.code == "standard").values(active=False))
    db.session.commit()

    response = client.post("/checkout", data=checkout_fields(page))

    assert response.status_code == 409
    assert b"That shipping method is no longer offered; please choose another." in response.data
    assert b'value="standard"' not in response.data
    assert count(Order) == 0


def test_no_method_offered_means_no_checkout(client, auth, shopper):
    db.session.execute(update(ShippingMethod).values(active=False))
    db.session.commit()
    fill_cart(shopper, make_product(stock=5), 1)
    auth.login()
    page = client.get("/checkout").data
    assert b"data-no-shipping" in page and b"data-checkout-form" not in page
    assert b"Shipping" in client.get("/cart").data


def test_the_order_keeps_the_method_as_it_was(shopper):
    fill_cart(shopper, make_product(price_cents=1000, stock=5), 1)
    order = orders.place_order(shopper.id, "key", shown_with(shopper.id, "express"), DELIVERY)
    method = db.session.scalar(select(ShippingMethod).where(ShippingMethod.code == "express"))
    shipping.update_method(method.id, ShippingFields("express", "Overnight", 1990, None, 0, 1))

    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert (order.shipping_cents, order.total_cents) == (990, 1990)
    assert (order.delivery.shipping_name, order.delivery.shipping_max_days) == ("Express", 1)


# -- the admin's shipping pages ------------------------------------------------------


@pytest.fixture
def as_admin(client, auth, admin):
    auth.login(admin.email)
    return client


def test_admin_lists_adds_and_edits_methods(as_admin):
    page = as_admin.get("/admin/shipping").data
    assert b'data-shipping-method="standard"' in page and "€4.90".encode() in page
    form = {
        "name": "Pick-up",
        "code": "pickup",
        "price": "0",
        "free_from": "",
        "min_days": "0",
        "max_days": "0",
    }
    response = as_admin.post("/admin/shipping/new", data={**form, "position": "3", "active": "y"})
    assert response.headers["Location"] == "/admin/shipping"
    pickup = db.session.scalar(select(ShippingMethod).where(ShippingMethod.code == "pickup"))
    assert (pickup.price_cents, pickup.free_from_cents, pickup.active) == (0, None, True)

    edit = f"/admin/shipping/{pickup.id}/edit"
    assert b'value="0.00"' in as_admin.get(edit).data
    as_admin.post(edit, data={**form, "price": "2.50", "free_from": "30", "max_days": "2", "position": "3"})
    db.session.expire_all()
    pickup = db.session.get(ShippingMethod, pickup.id)
    assert (pickup.price_cents, pickup.free_from_cents, pickup.max_days, pickup.active) == (
        250,
        3000,
        2,
        False,
    )
    assert [m.code for m in shipping.offered_methods()] == ["standard", "express"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"code": "Not A Code"}, b"The code is 1 to 30 lower-case letters"),
        ({"code": "express"}, b"Another shipping method has the code"),
        ({"price": "-1"}, b"Number must be between"),
        ({"price": "1.005"}, b"at most two decimals"),
        ({"free_from": "abc"}, b"at most two decimals"),
        ({"min_days": "5", "max_days": "2"}, b"Delivery takes from 0 to 60 working days, the fewest first."),
        ({"max_days": "61"}, b"Number must be between"),
        ({"name": ""}, b"This field is required."),
    ],
)
def test_a_bad_method_is_refused_with_a_message_and_changes_nothing(as_admin, change, message):
    before = [(m.code, m.price_cents, m.free_from_cents) for m in shipping.all_methods()]
    form = {
        "name": "Courier",
        "code": "courier",
        "price": "3",
        "min_days": "1",
        "max_days": "3",
        "position": "3",
    }
    response = as_admin.post("/admin/shipping/new", data={**form, **change})
    assert response.status_code == 400
    assert message in response.data
    assert [(m.code, m.price_cents, m.free_from_cents) for m in shipping.all_methods()] == before


def test_shipping_pages_are_for_admins_only(client, auth, shopper):
    assert client.get("/admin/shipping").status_code == 302
    auth.login()
    for url in ("/admin/shipping", "/admin/shipping/new", "/admin/shipping/1/edit"):
        assert client.get(url).status_code == 403
    assert client.post("/admin/shipping/1/edit", data={"price": "0"}).status_code == 403
    assert db.session.get(ShippingMethod, 1).price_cents == 490


def test_editing_a_missing_method_is_404(as_admin):
    assert as_admin.get("/admin/shipping/999/edit").status_code == 404


def test_the_service_checks_what_the_form_would(app):
    with pytest.raises(InvalidInput):
        shipping.create_method(ShippingFields("new", "New", -1, None, 1, 2))
    with pytest.raises(InvalidInput):
        shipping.create_method(ShippingFields("new", "New", 100, -5, 1, 2))
    assert shipping.ensure_default_methods() == 0  # the defaults are there already


# -- a price change racing checkouts ---------------------------------------------------


def test_a_shipping_price_change_racing_checkouts_charges_only_what_was_shown(db_app):
    """Checkouts showing €4.90 and an admin raising standard shipping to €6.90,
    all at once: each checkout either pays the €4.90 it showed (it went first)
    or is refused with "Shipping costs changed"; none pays a price it did not
    see, none is a 500 or a deadlock, and the new price holds afterwards."""
    users = [make_user(f"racer{n}@example.com", f"Racer {n}") for n in range(8)]
    lamp = make_product("Lamp", price_cents=1000, stock=100)
    for user in users:
        fill_cart(user, lamp, 1)
    shown = {user.id: shown_with(user.id) for user in users}
    standard_id = db.session.scalar(select(ShippingMethod.id).where(ShippingMethod.code == "standard"))
    raised = ShippingFields("standard", "Standard", 690, 5000, 2, 4, position=1)
    jobs = [lambda u=u: orders.place_order(u, f"key-{u}", shown[u], DELIVERY).shipping_cents for u in shown]
    jobs.append(lambda: shipping.update_method(standard_id, raised).price_cents)

    results = run_together(db_app, jobs)

    *checkouts, admin = results
    assert admin == 690
    assert all(result == 490 or isinstance(result, ShippingChanged) for result in checkouts), checkouts
    charged = db.session.scalars(select(Order.shipping_cents)).all()
    assert charged == [490] * len(charged)
    assert len(charged) == sum(result == 490 for result in checkouts)
    assert stock_of(lamp) == 100 - len(charged)
    assert shipping.offered_methods()[0].price_cents == 690
