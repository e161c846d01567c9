"""Payment status beside the fulfilment status: its steps (and the refused ones),
its timeline and notifications, the admin's page and list, the CLI, shipping
an unpaid bank-transfer order, and the registry a provider would join."""

import re

import pytest
from sqlalchemy import select

from shop.extensions import db
from shop.models import Notification, Order, OrderPaymentEvent
from shop.services import orders, payment_methods, payments
from shop.services.errors import InvalidInput, InvalidTransition, NotFound, PaymentPending
from shop.services.payment_methods import PaymentMethod
from testing.apps import run_together
from testing.checkout import BANK_TRANSFER, shown_with
from testing.data import count, fill_cart, make_order, make_product, make_user, notifications_of, snapshot
from testing.shopper import checkout_fields


def bank_transfer_order(user, price_cents: int = 2500, key: str = "bank-key") -> Order:
    fill_cart(user, make_product(f"Kettle {key}", price_cents=price_cents, stock=10), 1)
    return orders.place_order(user.id, key, shown_with(user.id), BANK_TRANSFER)


def steps_of(order_id: int) -> list[tuple[str | None, str]]:
    statement = select(OrderPaymentEvent).where(OrderPaymentEvent.order_id == order_id)
    return [(step.from_status, step.to_status) for step in db.session.scalars(statement.order_by("id"))]


def test_a_new_order_is_unpaid_with_one_payment_step(shopper):
    order = bank_transfer_order(shopper)
    assert (order.payment_method, order.payment_status) == ("bank_transfer", "unpaid")
    assert steps_of(order.id) == [(None, "unpaid")]


@pytest.mark.parametrize(
    "path",
    [
        ["paid"],
        ["paid", "refunded"],
        ["paid", "unpaid"],  # marked paid by mistake
        ["paid", "unpaid", "paid", "refunded"],
    ],
)
def test_allowed_payment_steps_each_leave_a_step_and_notify_the_owner(shopper, admin, path):
    order = bank_transfer_order(shopper)
    for number, status in enumerate(path):
        payments.set_payment_status(order.id, status, admin.id, note=f"step {number}")

    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert order.payment_status == path[-1]
    assert order.status == "placed"  # the fulfilment status is its own
    assert steps_of(order.id) == list(zip([None, "unpaid", *path[:-1]], ["unpaid", *path], strict=True))
    assert [step.actor_id for step in order.payment_events[1:]] == [admin.id] * len(path)
    notes = [n for n in notifications_of(shopper) if n.kind == "payment_status"]
    assert [(n.data["payment_status"], n.data["previous"], n.body) for n in notes] == [
        (status, previous, f"step {number}")
        for number, (previous, status) in enumerate(zip(["unpaid", *path[:-1]], path, strict=True))
    ]
    assert notes[0].title == f"Payment received (order #{order.id})"
    assert notes[0].url == f"/orders/{order.id}"


@pytest.mark.parametrize(
    ("path", "refused", "message"),
    [
        ([], "refunded", "is unpaid: it cannot become refunded"),
        ([], "unpaid", "is unpaid: it cannot become unpaid"),
        (["paid"], "paid", "is paid: it cannot become paid"),
        (["paid", "refunded"], "paid", "is refunded: it cannot become paid"),
        (["paid", "refunded"], "unpaid", "is refunded: it cannot become unpaid"),
    ],
)
def test_refused_payment_steps_change_nothing(shopper, admin, path, refused, message):
    order = bank_transfer_order(shopper)
    for status in path:
        payments.set_payment_status(order.id, status, admin.id)
    before = snapshot()

    with pytest.raises(InvalidTransition, match=message) as raised:
        payments.set_payment_status(order.id, refused, admin.id)

    assert raised.value.status == 409
    assert snapshot() == before


def test_unknown_statuses_and_missing_orders_are_refused(shopper, admin):
    order = bank_transfer_order(shopper)
    with pytest.raises(InvalidInput):
        payments.set_payment_status(order.id, "PAID", admin.id)
    with pytest.raises(NotFound):
        payments.set_payment_status(999, "paid", admin.id)


def test_a_cancelled_order_cannot_be_marked_paid_but_a_paid_one_can_be_refunded(shopper, admin):
    unpaid, paid = bank_transfer_order(shopper, key="a"), bank_transfer_order(shopper, key="b")
    payments.set_payment_status(paid.id, "paid", admin.id)
    for order in (unpaid, paid):
        orders.cancel_order(order.id, shopper.id)
    with pytest.raises(InvalidTransition, match="is cancelled: it cannot be marked paid"):
        payments.set_payment_status(unpaid.id, "paid", admin.id)
    assert payments.set_payment_status(paid.id, "refunded", admin.id).payment_status == "refunded"


def test_a_webhook_step_has_no_person_behind_it(shopper):
    order = bank_transfer_order(shopper)
    payments.set_payment_status(order.id, "paid", None, note="provider payment pi_123")
    step = db.session.get(Order, order.id).payment_events[-1]
    assert (step.actor_id, step.note) == (None, "provider payment pi_123")


# -- shipping an unpaid order that is paid first ----------------------------------------


def test_an_unpaid_bank_transfer_order_ships_only_with_a_confirmation(shopper, admin):
    order = bank_transfer_order(shopper)
    orders.change_status(order.id, "processing", admin.id)
    before = snapshot()

    with pytest.raises(PaymentPending, match=r"paid by bank transfer and is unpaid") as raised:
        orders.change_status(order.id, "shipped", admin.id)

    assert raised.value.status == 409
    assert snapshot() == before
    assert orders.change_status(order.id, "shipped", admin.id, ship_unpaid=True).status == "shipped"


def test_a_paid_bank_transfer_order_and_a_pay_on_delivery_one_ship_without_a_question(shopper, admin):
    paid = bank_transfer_order(shopper)
    payments.set_payment_status(paid.id, "paid", admin.id)
    on_delivery = make_order(shopper, make_product("Mug", stock=5))
    for order in (paid, on_delivery):
        orders.change_status(order.id, "processing", admin.id)
        assert orders.change_status(order.id, "shipped", admin.id).status == "shipped"
    assert db.session.get(Order, on_delivery.id).payment_status == "unpaid"


@pytest.fixture
def as_admin(client, auth, admin):
    auth.login(admin.email)
    return client


def test_the_admin_page_asks_for_the_confirmation_and_refuses_without_it(as_admin, shopper, admin):
    order = bank_transfer_order(shopper)
    orders.change_status(order.id, "processing", admin.id)
    page = as_admin.get(f"/admin/orders/{order.id}").data
    assert b'name="ship_unpaid"' in page and b"Ship it although it is not paid" in page

    refused = as_admin.post(f"/admin/orders/{order.id}/status", data={"status": "shipped"})
    assert refused.status_code == 409
    assert b"mark it paid first, or confirm that it ships unpaid" in refused.data
    assert db.session.get(Order, order.id).status == "processing"

    shipped = as_admin.post(
        f"/admin/orders/{order.id}/status", data={"status": "shipped", "ship_unpaid": "y"}
    )
    assert shipped.status_code == 302
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == "shipped"


def test_no_confirmation_is_asked_once_it_is_paid(as_admin, shopper, admin):
    order = bank_transfer_order(shopper)
    orders.change_status(order.id, "processing", admin.id)
    payments.set_payment_status(order.id, "paid", admin.id)
    assert b'name="ship_unpaid"' not in as_admin.get(f"/admin/orders/{order.id}").data


def test_the_admin_records_a_payment_on_the_order_page(as_admin, shopper, admin):
    order = bank_transfer_order(shopper)
    page = as_admin.get(f"/admin/orders/{order.id}").data
    assert re.findall(rb'<option[^>]*value="(\w+)"', page.split(b"data-payment-form")[1]) == [b"paid"]
    assert b'data-payment="unpaid"' in page and b"Bank transfer" in page

    response = as_admin.post(
        f"/admin/orders/{order.id}/payment", data={"payment-status": "paid", "payment-note": "Received 3 Dec"}
    )

    assert response.headers["Location"] == f"/admin/orders/{order.id}"
    db.session.expire_all()
    assert db.session.get(Order, order.id).payment_status == "paid"
    page = as_admin.get(f"/admin/orders/{order.id}").data
    assert b'data-payment="paid"' in page and b"Received 3 Dec" in page
    options = re.findall(rb'<option[^>]*value="(\w+)"', page.split(b"data-payment-form")[1])
    assert options == [b"refunded", b"unpaid"]


@pytest.mark.parametrize(("status", "code"), [("refunded", 409), ("unpaid", 409), ("", 400), ("gift", 400)])
def test_a_refused_payment_step_on_the_page_is_an_error_with_the_message(as_admin, shopper, status, code):
    order = bank_transfer_order(shopper)
    before = snapshot()
    response = as_admin.post(f"/admin/orders/{order.id}/payment", data={"payment-status": status})
    assert response.status_code == code
    assert b'class="flash flash-error"' in response.data
    assert snapshot() == before


def test_shoppers_cannot_record_payments(client, auth, shopper):
    order = bank_transfer_order(shopper)
    auth.login()
    assert (
        client.post(f"/admin/orders/{order.id}/payment", data={"payment-status": "paid"}).status_code == 403
    )
    assert db.session.get(Order, order.id).payment_status == "unpaid"


def test_the_admin_list_shows_and_filters_by_payment(as_admin, shopper, admin):
    unpaid, paid, refunded = (bank_transfer_order(shopper, key=key) for key in ("a", "b", "c"))
    for order, path in ((paid, ["paid"]), (refunded, ["paid", "refunded"])):
        for status in path:
            payments.set_payment_status(order.id, status, admin.id)

    def listed(query: str) -> list[int]:
        return [
            int(i)
            for i in re.findall(rb'<tr data-order-id="(\d+)"', as_admin.get(f"/admin/orders{query}").data)
        ]

    assert listed("") == [refunded.id, paid.id, unpaid.id]
    assert listed("?payment=unpaid") == [unpaid.id]
    assert listed("?payment=paid") == [paid.id]
    assert listed("?payment=refunded&status=placed") == [refunded.id]
    assert listed("?payment=paid&status=shipped") == []
    assert as_admin.get("/admin/orders?payment=lost").status_code == 400
    page = as_admin.get("/admin/orders?payment=paid").data
    assert b'data-payment-filter="paid"' in page
    assert b'href="/admin/orders?status=placed&amp;payment=paid"' in page  # the status filters keep it


def test_the_shoppers_order_page_shows_the_payment_and_how_to_pay(client, auth, shopper, admin):
    order = bank_transfer_order(shopper, price_cents=2500)
    auth.login()
    page = client.get(f"/orders/{order.id}").data
    assert b"Bank transfer" in page and b'data-payment="unpaid"' in page
    instructions = re.search(rb"<p[^>]*data-payment-instructions[^>]*>(.*?)</p>", page, re.S)
    assert b"hidden" not in instructions.group(0).split(b">")[0]
    assert "Please transfer €29.90".encode() in instructions.group(1) and b"Order " in instructions.group(1)

    payments.set_payment_status(order.id, "paid", admin.id)
    page = client.get(f"/orders/{order.id}").data
    assert re.search(rb"<p[^>]*data-payment-instructions[^>]*hidden", page)
    assert re.findall(rb"data-payment-timeline>(.*?)</ol>", page, re.S)[0].count(b"<li>") == 2


# -- the CLI -------------------------------------------------------------------------


def test_set_payment_from_the_cli(runner, shopper, admin):
    order = bank_transfer_order(shopper)
    result = runner.invoke(args=["orders", "set-payment", str(order.id), "paid", "--note", "Bank statement"])
    assert result.exit_code == 0, result.output
    assert f"Order #{order.id} is now paid." in result.output
    db.session.expire_all()
    step = db.session.get(Order, order.id).payment_events[-1]
    assert (step.to_status, step.actor_id, step.note) == ("paid", admin.id, "Bank statement")


@pytest.mark.parametrize(
    ("args", "message"), [(["refunded"], "cannot become refunded"), (["nope"], "Unknown")]
)
def test_a_refused_cli_payment_step_fails_with_the_message(runner, shopper, admin, args, message):
    order = bank_transfer_order(shopper)
    result = runner.invoke(args=["orders", "set-payment", str(order.id), *args])
    assert result.exit_code != 0
    assert message in result.output
    assert db.session.get(Order, order.id).payment_status == "unpaid"


def test_the_cli_ships_an_unpaid_bank_transfer_order_only_when_told(runner, shopper, admin):
    order = bank_transfer_order(shopper)
    orders.change_status(order.id, "processing", admin.id)
    refused = runner.invoke(args=["orders", "set-status", str(order.id), "shipped"])
    assert refused.exit_code != 0 and "confirm that it ships unpaid" in refused.output
    shipped = runner.invoke(args=["orders", "set-status", str(order.id), "shipped", "--ship-unpaid"])
    assert shipped.exit_code == 0, shipped.output
    assert db.session.get(Order, order.id).status == "shipped"


# -- the registry a provider would join ------------------------------------------------------


def test_checkout_offers_the_registrys_methods_and_refuses_others(client, auth, shopper):
    fill_cart(shopper, make_product(stock=5), 1)
    auth.login()
    page = client.get("/checkout").data
    offered = re.findall(rb'name="payment_method" value="(\w+)"', page)
    assert offered == [method.code.encode() for method in payment_methods.all_methods()]
    assert re.search(rb'name="payment_method" value="pay_on_delivery" checked', page)

    response = client.post("/checkout", data=checkout_fields(page, payment_method="card"))

    assert response.status_code == 400
    assert b"Choose how you will pay." in response.data
    assert count(Order) == 0


def test_a_provider_is_one_more_method_whose_start_page_checkout_sends_the_shopper_to(
    client, auth, shopper, monkeypatch
):
    provider = PaymentMethod(
        code="test_provider",
        name="Test provider",
        description="Pay on the provider's page.",
        paid_before_shipping=True,
        start=lambda order: f"/pay/test-provider/{order.id}",
    )
    monkeypatch.setitem(payment_methods.METHODS, provider.code, provider)
    fill_cart(shopper, make_product(stock=5), 1)
    auth.login()
    page = client.get("/checkout").data
    assert b"Test provider" in page

    response = client.post("/checkout", data=checkout_fields(page, payment_method="test_provider"))

    order = db.session.scalars(select(Order)).one()
    assert response.headers["Location"] == f"/pay/test-provider/{order.id}"
    assert (order.payment_method, order.payment_status) == ("test_provider", "unpaid")
    assert orders.needs_payment_before_shipping(order)


# -- races ------------------------------------------------------------------------------


def test_two_admins_marking_one_order_paid_at_once_record_it_once(db_app):
    shopper, admin = make_user(), make_user("admin@example.com", "Ada", admin=True)
    order_id, admin_id = bank_transfer_order(shopper).id, admin.id

    results = run_together(
        db_app, [lambda: payments.set_payment_status(order_id, "paid", admin_id).payment_status] * 4
    )

    assert sorted(map(str, results)).count("paid") == 1
    assert [type(r) for r in results if r != "paid"] == [InvalidTransition] * 3
    assert steps_of(order_id) == [(None, "unpaid"), ("unpaid", "paid")]
    assert count(Notification, Notification.kind == "payment_status") == 1


def test_shipping_unconfirmed_racing_a_payment_never_ships_it_unpaid(db_app):
    """One admin ships (without the confirmation) while another marks it paid:
    either the payment came first and it ships, or the shipping is refused; the
    order is never shipped while unpaid. (The order row is locked by both.)"""
    shopper, admin = make_user(), make_user("admin@example.com", "Ada", admin=True)
    order_ids = [bank_transfer_order(shopper, key=f"race-{n}").id for n in range(5)]
    for order_id in order_ids:
        orders.change_status(order_id, "processing", admin.id)
    admin_id = admin.id

    for order_id in order_ids:
        ship, pay = run_together(
            db_app,
            [
                lambda order_id=order_id: orders.change_status(order_id, "shipped", admin_id).status,
                lambda order_id=order_id: (
                    payments.set_payment_status(order_id, "paid", admin_id).payment_status
                ),
            ],
        )
        assert pay == "paid"
        order = db.session.get(Order, order_id)
        if ship == "shipped":
            [shipped] = [event for event in order.events if event.to_status == "shipped"]
            assert order.payment_events[-1].created_at <= shipped.created_at
        else:
            assert isinstance(ship, PaymentPending)
            assert order.status == "processing"
