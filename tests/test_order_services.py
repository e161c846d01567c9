"""The order services, called directly: checkout, status changes and cancellation."""

from dataclasses import replace

import pytest

from shop.extensions import db
from shop.models import CartItem, Notification, Order, OrderEvent
from shop.services import order_page, orders
from shop.services.cart import get_cart
from shop.services.errors import (
    CartChanged,
    EmptyCart,
    InvalidInput,
    InvalidTransition,
    NotFound,
    OutOfStock,
    PricesChanged,
    ProductUnavailable,
)
from testing.checkout import DELIVERY
from testing.data import (
    as_shown,
    count,
    fill_cart,
    make_order,
    make_product,
    make_user,
    notifications_of,
    stock_of,
)

# place_order ---------------------------------------------------------------


def test_place_order_writes_everything_in_one_go(shopper, admin):
    other_admin = make_user("admin2@example.com", "Bo", admin=True)
    teapot = make_product("Teapot", price_cents=2500, stock=10)
    cups = make_product("Cups", price_cents=450, stock=8)
    fill_cart(shopper, teapot, 2)
    fill_cart(shopper, cups, 3)

    order = orders.place_order(shopper.id, "key-1", as_shown(shopper), DELIVERY)

    assert order.status == "placed"
    assert order.total_cents == 2 * 2500 + 3 * 450
    assert [(i.name, i.unit_price_cents, i.quantity) for i in order.items] == [
        ("Teapot", 2500, 2),
        ("Cups", 450, 3),
    ]
    [event] = order.events
    assert (event.from_status, event.to_status, event.actor_id) == (None, "placed", shopper.id)
    assert (stock_of(teapot), stock_of(cups)) == (8, 5)
    assert get_cart(shopper.id).items == []
    for each in (admin, other_admin):
        [note] = notifications_of(each)
        assert (note.kind, note.seq) == ("new_order", 1)
        assert note.data["order_id"] == order.id
        assert note.url == f"/admin/orders/{order.id}"
    assert notifications_of(shopper) == []


def test_items_keep_the_name_and_price_paid(shopper):
    teapot = make_product("Teapot", price_cents=2500)
    order = make_order(shopper, teapot, 1)

    teapot.name, teapot.price_cents = "Renamed teapot", 9900
    db.session.commit()

    db.session.expire_all()
    item = db.session.get(Order, order.id).items[0]
    assert (item.name, item.unit_price_cents) == ("Teapot", 2500)


def test_short_stock_names_what_is_left_and_writes_nothing(shopper, admin):
    teapot = make_product("Teapot", stock=5)
    kettle = make_product("Kettle", stock=5)
    fill_cart(shopper, teapot, 2)
    fill_cart(shopper, kettle, 4)
    kettle.stock = 3  # someone else bought two meanwhile
    db.session.commit()

    with pytest.raises(OutOfStock, match="only 3 left of Kettle"):
        orders.place_order(shopper.id, "key-1", as_shown(shopper), DELIVERY)

    assert count(Order) == count(OrderEvent) == count(Notification) == 0
    assert (stock_of(teapot), stock_of(kettle)) == (5, 3)
    cart = get_cart(shopper.id)
    assert [(i.product_id, i.quantity) for i in cart.items] == [(teapot.id, 2), (kettle.id, 4)]


def test_sold_out_product_is_named_out_of_stock(shopper):
    teapot = make_product("Teapot", stock=1)
    fill_cart(shopper, teapot, 1)
    teapot.stock = 0
    db.session.commit()

    with pytest.raises(OutOfStock, match="Teapot is out of stock"):
        orders.place_order(shopper.id, "key-1", as_shown(shopper), DELIVERY)
    assert count(Order) == 0


def test_inactive_product_cannot_be_bought(shopper):
    teapot = make_product("Teapot", stock=4)
    fill_cart(shopper, teapot, 1)
    teapot.active = False
    db.session.commit()

    with pytest.raises(OutOfStock):
        orders.place_order(shopper.id, "key-1", as_shown(shopper), DELIVERY)
    assert count(Order) == 0
    assert stock_of(teapot) == 4
    assert count(CartItem) == 1


def test_a_product_taken_off_sale_is_named_no_longer_sold(shopper):
    teapot = make_product("Teapot", stock=4)
    fill_cart(shopper, teapot, 1)
    teapot.active = False
    db.session.commit()

    with pytest.raises(ProductUnavailable, match=r"^Sorry, Teapot is no longer sold\. Please remove it"):
        orders.place_order(shopper.id, "key-1", as_shown(shopper), DELIVERY)
    assert count(Order) == 0
    assert stock_of(teapot) == 4


def test_a_price_changed_since_the_page_is_refused(shopper, admin):
    """What the shopper saw (€10.00) is what they may be charged, or nothing."""
    teapot = make_product("Teapot", price_cents=1000, stock=4)
    fill_cart(shopper, teapot, 1)
    shown = as_shown(shopper)
    teapot.price_cents = 10_000
    db.session.commit()

    with pytest.raises(PricesChanged, match=r"^Prices changed, please review your cart\.$"):
        orders.place_order(shopper.id, "key-1", shown, DELIVERY)

    assert count(Order) == count(Notification) == 0
    assert stock_of(teapot) == 4
    assert [(i.product_id, i.quantity) for i in get_cart(shopper.id).items] == [(teapot.id, 1)]


@pytest.mark.parametrize(
    "change",
    [
        lambda shown: replace(shown, total_cents=shown.total_cents - 1),
        lambda shown: replace(shown, lines=(replace(shown.lines[0], unit_price_cents=1),)),
    ],
    ids=["total", "line price"],
)
def test_a_form_showing_a_lower_price_is_refused(shopper, change):
    teapot = make_product("Teapot", price_cents=1000, stock=4)
    fill_cart(shopper, teapot, 1)

    with pytest.raises(PricesChanged):
        orders.place_order(shopper.id, "key-1", change(as_shown(shopper)), DELIVERY)
    assert count(Order) == 0


def test_lines_changed_since_the_page_are_refused(shopper):
    teapot, kettle = make_product("Teapot", stock=4), make_product("Kettle", stock=4)
    fill_cart(shopper, teapot, 1)
    shown = as_shown(shopper)
    fill_cart(shopper, kettle, 1)  # in another tab

    with pytest.raises(CartChanged, match=r"^Your cart changed in another tab, please review it\.$"):
        orders.place_order(shopper.id, "key-1", shown, DELIVERY)
    assert count(Order) == 0
    assert (stock_of(teapot), stock_of(kettle)) == (4, 4)


def test_empty_cart_is_refused(shopper):
    with pytest.raises(EmptyCart):
        orders.place_order(shopper.id, "key-1", as_shown(shopper), DELIVERY)
    assert count(Order) == 0


@pytest.mark.parametrize("key", ["", "x" * 65, "has space", "semi;colon", "<script>"])
def test_malformed_idempotency_key_is_refused(shopper, key):
    fill_cart(shopper, make_product())
    with pytest.raises(InvalidInput):
        orders.place_order(shopper.id, key, as_shown(shopper), DELIVERY)
    assert count(Order) == 0


def test_same_idempotency_key_returns_the_same_order(shopper, admin):
    teapot = make_product(stock=10)
    first = make_order(shopper, teapot, 2, key="same-key")
    fill_cart(shopper, teapot, 1)  # a new cart must not change a replayed submit

    again = orders.place_order(shopper.id, "same-key", as_shown(shopper), DELIVERY)

    assert again.id == first.id
    assert count(Order) == 1
    assert stock_of(teapot) == 8
    assert len(notifications_of(admin)) == 1
    assert count(CartItem) == 1


def test_idempotency_keys_belong_to_one_user(shopper):
    other = make_user("other@example.com", "Olu")
    teapot = make_product(stock=10)
    mine = make_order(shopper, teapot, key="shared")
    theirs = make_order(other, teapot, key="shared")
    assert mine.id != theirs.id
    assert theirs.user_id == other.id


def test_stock_taken_below_threshold_warns_admins(shopper, admin):
    teapot = make_product("Teapot", stock=5, threshold=3)
    make_order(shopper, teapot, 2)
    kinds = [n.kind for n in notifications_of(admin)]
    assert kinds == ["low_stock", "new_order"]


# change_status ---------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        ["processing", "shipped", "delivered"],
        ["cancelled"],
        ["processing", "cancelled"],
    ],
)
def test_allowed_transitions(shopper, admin, path):
    order = make_order(shopper, make_product())
    for status in path:
        order = orders.change_status(order.id, status, admin.id)
    assert order.status == path[-1]
    assert [e.to_status for e in order.events] == ["placed", *path]


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ([], "shipped"),
        ([], "delivered"),
        ([], "placed"),
        (["processing"], "placed"),
        (["processing"], "delivered"),
        (["processing", "shipped"], "cancelled"),
        (["processing", "shipped", "delivered"], "cancelled"),
        (["cancelled"], "processing"),
        ([], "lost"),
    ],
)
def test_refused_transitions(shopper, admin, path, refused):
    order = make_order(shopper, make_product())
    for status in path:
        orders.change_status(order.id, status, admin.id)
    before = len(notifications_of(shopper))

    with pytest.raises(InvalidTransition, match=f"cannot become {refused}"):
        orders.change_status(order.id, refused, admin.id)

    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert order.status == (path[-1] if path else "placed")
    assert len(order.events) == 1 + len(path)
    assert len(notifications_of(shopper)) == before


def test_change_status_records_the_event_and_tells_the_owner(shopper, admin):
    order = make_order(shopper, make_product())

    orders.change_status(order.id, "processing", admin.id, "Packed with care")
    orders.change_status(order.id, "shipped", admin.id)

    db.session.expire_all()
    event = db.session.get(Order, order.id).events[1]
    assert (event.from_status, event.to_status, event.actor_id, event.note) == (
        "placed",
        "processing",
        admin.id,
        "Packed with care",
    )
    assert event.created_at.tzinfo is not None
    notes = notifications_of(shopper)
    assert [(n.seq, n.kind, n.data["status"]) for n in notes] == [
        (1, "order_status", "processing"),
        (2, "order_status", "shipped"),
    ]
    assert notes[0].body == "Packed with care"
    assert notes[0].url == f"/orders/{order.id}"
    assert notes[0].data["previous_status"] == "placed"


def test_change_status_of_a_missing_order(admin):
    with pytest.raises(NotFound):
        orders.change_status(999, "processing", admin.id)


def test_admin_cancel_while_processing_restores_stock(shopper, admin):
    teapot = make_product(stock=5)
    order = make_order(shopper, teapot, 2)
    orders.change_status(order.id, "processing", admin.id)
    orders.change_status(order.id, "cancelled", admin.id)
    assert stock_of(teapot) == 5


# cancel_order ----------------------------------------------------------------


def test_owner_cancels_a_placed_order_and_stock_returns(shopper, admin):
    teapot = make_product(stock=5)
    order = make_order(shopper, teapot, 3)
    assert stock_of(teapot) == 2

    order = orders.cancel_order(order.id, shopper.id)

    assert order.status == "cancelled"
    assert stock_of(teapot) == 5
    event = order.events[-1]
    assert (event.from_status, event.to_status, event.actor_id) == ("placed", "cancelled", shopper.id)
    [note] = notifications_of(shopper)
    assert note.data["status"] == "cancelled"


@pytest.mark.parametrize("status", ["processing", "cancelled"])
def test_owner_cannot_cancel_after_placed(shopper, admin, status):
    teapot = make_product(stock=5)
    order = make_order(shopper, teapot, 1)
    orders.change_status(order.id, status, admin.id)
    stock = stock_of(teapot)

    with pytest.raises(InvalidTransition, match="can no longer be cancelled"):
        orders.cancel_order(order.id, shopper.id)

    assert db.session.get(Order, order.id).status == status
    assert stock_of(teapot) == stock


def test_cancelling_someone_elses_order_is_not_found(shopper):
    other = make_user("other@example.com", "Olu")
    teapot = make_product(stock=5)
    order = make_order(shopper, teapot, 1)

    with pytest.raises(NotFound):
        orders.cancel_order(order.id, other.id)

    assert db.session.get(Order, order.id).status == "placed"
    assert stock_of(teapot) == 4


def test_the_order_page_hides_other_users_orders(shopper):
    other = make_user("other@example.com", "Olu")
    order = make_order(shopper, make_product())
    assert order_page.head(shopper.id, order.id).id == order.id
    with pytest.raises(NotFound):
        order_page.head(other.id, order.id)
    with pytest.raises(NotFound):
        order_page.head(shopper.id, order.id + 1)
