"""Version-checked admin forms: each carries the version of the order or product it was
rendered from; a stale one changes nothing, gets 409, a message saying what changed and
by whom, and the page as it is now. Every change bumps the version: admins' forms,
checkouts, cancellations and the command line. Races run on SQLite and PostgreSQL."""

import re
import threading

import pytest
from sqlalchemy import select

from shop.extensions import db
from shop.models import AdminChange, Order, OrderEvent, Product
from shop.services import catalog, changes, orders, payments
from shop.services.changes import FEED_LOCK
from testing.apps import run_together
from testing.data import count, make_order, make_product, make_user, snapshot, stock_of
from testing.processes import wait_until
from testing.services import open_transaction, query, waiting_on_a_lock
from testing.shopper import Auth


def shown_version(html: bytes, form_action: str) -> int:
    """The version the form posting to ``form_action`` carries."""
    form = re.search(rb'<form[^>]*action="' + form_action.encode() + rb'"[^>]*>(.*?)</form>', html, re.S)
    assert form, f"the page has no form posting to {form_action}"
    found = re.search(rb'name="(?:payment-)?version"[^>]*value="(\d+)"', form[1]) or re.search(
        rb'value="(\d+)"[^>]*name="version"', form[1]
    )
    assert found, f"the form posting to {form_action} carries no version"
    return int(found[1])


def status_form_version(client, order_id: int) -> int:
    return shown_version(client.get(f"/admin/orders/{order_id}").data, f"/admin/orders/{order_id}/status")


def version_of(model, entity_id: int) -> int:
    db.session.rollback()
    return db.session.scalar(select(model.version).where(model.id == entity_id))


@pytest.fixture
def other_admin(app):
    return make_user("bea@example.com", "Bea", admin=True)


@pytest.fixture
def as_admin(client, admin):
    Auth(client).login(admin.email)
    return client


@pytest.fixture
def order(shopper):
    return make_order(shopper, make_product("Teapot", stock=10, threshold=3), 2)


# -- the stale form is refused, with what changed -----------------------------------------


def test_a_stale_status_form_is_refused_with_what_changed(as_admin, order, other_admin):
    page = as_admin.get(f"/admin/orders/{order.id}").data
    version = shown_version(page, f"/admin/orders/{order.id}/status")
    orders.change_status(order.id, "processing", other_admin.id)
    before = snapshot()

    response = as_admin.post(
        f"/admin/orders/{order.id}/status", data={"status": "cancelled", "version": str(version)}
    )

    assert response.status_code == 409
    text = response.get_data(as_text=True)
    assert "was changed since this page was loaded" in text
    assert "Bea: status placed → processing" in text
    assert 'data-status="processing"' in text  # the page shows the order as it is now
    assert shown_version(response.data, f"/admin/orders/{order.id}/status") == version + 1
    assert snapshot() == before


def test_the_refused_page_submits_again_at_the_current_version(as_admin, order, other_admin):
    version = status_form_version(as_admin, order.id)
    orders.change_status(order.id, "processing", other_admin.id)
    url = f"/admin/orders/{order.id}/status"
    refused = as_admin.post(url, data={"status": "shipped", "version": version})
    again = shown_version(refused.data, f"/admin/orders/{order.id}/status")

    response = as_admin.post(
        f"/admin/orders/{order.id}/status", data={"status": "shipped", "version": again, "ship_unpaid": "y"}
    )

    assert response.status_code == 302
    assert db.session.get(Order, order.id).status == "shipped"


def test_a_stale_payment_form_is_refused(as_admin, order, other_admin):
    page = as_admin.get(f"/admin/orders/{order.id}").data
    version = shown_version(page, f"/admin/orders/{order.id}/payment")
    orders.change_status(order.id, "processing", other_admin.id)

    response = as_admin.post(
        f"/admin/orders/{order.id}/payment", data={"payment-status": "paid", "payment-version": version}
    )

    assert response.status_code == 409
    assert "Bea: status placed → processing" in response.get_data(as_text=True)
    assert db.session.get(Order, order.id).payment_status == "unpaid"


@pytest.mark.parametrize("page", ["/admin/products/{id}/edit", "/admin/products"])
def test_a_stale_stock_form_is_refused(as_admin, other_admin, page):
    lamp = make_product("Lamp", stock=10)
    version = shown_version(as_admin.get(page.format(id=lamp.id)).data, f"/admin/products/{lamp.id}/stock")
    catalog.set_stock(lamp.id, 4, other_admin.id)

    response = as_admin.post(f"/admin/products/{lamp.id}/stock", data={"stock": "7", "version": version})

    assert response.status_code == 409
    text = response.get_data(as_text=True)
    assert "Bea: stock set to 4 (was 10)" in text
    assert re.search(r"data-stock-count[^>]*>4<", text)
    assert stock_of(lamp) == 4


def test_a_stale_product_form_is_refused_and_keeps_what_was_typed(as_admin, other_admin):
    lamp = make_product("Lamp", price_cents=1000)
    version = shown_version(
        as_admin.get(f"/admin/products/{lamp.id}/edit").data, f"/admin/products/{lamp.id}/edit"
    )
    catalog.set_stock(lamp.id, 3, other_admin.id)
    form = {"name": "Desk lamp", "price": "12.00", "low_stock_threshold": "2", "active": "y"}
    form["version"] = version

    response = as_admin.post(f"/admin/products/{lamp.id}/edit", data=form)

    assert response.status_code == 409
    text = response.get_data(as_text=True)
    assert "Bea: stock set to 3 (was 10)" in text
    assert 'value="Desk lamp"' in text  # what the admin typed is still there
    assert shown_version(response.data, f"/admin/products/{lamp.id}/edit") == version + 1
    assert db.session.get(Product, lamp.id).name == "Lamp"
    form["version"] = version + 1
    assert as_admin.post(f"/admin/products/{lamp.id}/edit", data=form).status_code == 302
    assert db.session.get(Product, lamp.id).name == "Desk lamp"


def test_a_current_form_is_accepted_and_bumps_the_version(as_admin, order):
    version = status_form_version(as_admin, order.id)

    url = f"/admin/orders/{order.id}/status"
    response = as_admin.post(url, data={"status": "processing", "version": version})

    assert response.status_code == 302
    assert version_of(Order, order.id) == version + 1


# -- every change bumps the version ---------------------------------------------------


def test_checkouts_cancellations_and_the_command_line_bump_versions(app, shopper, admin):
    lamp = make_product("Lamp", stock=10)
    order = make_order(shopper, lamp, 2)
    assert (version_of(Product, lamp.id), version_of(Order, order.id)) == (2, 1)  # the checkout took stock

    orders.cancel_order(order.id, shopper.id)
    assert (version_of(Product, lamp.id), version_of(Order, order.id)) == (3, 2)  # and gave it back

    runner = app.test_cli_runner()
    assert runner.invoke(args=["stock", "set", str(lamp.id), "5"]).exit_code == 0
    assert version_of(Product, lamp.id) == 4
    second = make_order(shopper, lamp, 1, key="second")
    assert runner.invoke(args=["orders", "set-status", str(second.id), "processing"]).exit_code == 0
    assert runner.invoke(args=["orders", "set-payment", str(second.id), "paid"]).exit_code == 0
    assert version_of(Order, second.id) == 3
    last = db.session.scalars(select(AdminChange).order_by(AdminChange.position.desc())).first()
    assert (last.kind, last.entity_id, last.version, last.actor) == ("order", second.id, 3, "Ada")


def test_a_refused_change_bumps_nothing(app, order, admin):
    with pytest.raises(Exception, match="cannot become delivered"):
        orders.change_status(order.id, "delivered", admin.id)
    assert version_of(Order, order.id) == 1


# -- two admins at once: exactly one wins -------------------------------------------------


def two_admin_clients(app) -> list:
    clients = []
    for n in range(2):
        user = make_user(f"racer{n}@example.com", f"Racer {n}", admin=True)
        client = app.test_client()
        Auth(client).login(user.email)
        clients.append(client)
    return clients


def test_two_admins_submitting_conflicting_status_changes_one_wins(db_app):
    shopper = make_user()
    order = make_order(shopper, make_product("Teapot", stock=10), 2)
    first, second = two_admin_clients(db_app)
    url = f"/admin/orders/{order.id}/status"
    version = shown_version(first.get(f"/admin/orders/{order.id}").data, url)
    assert shown_version(second.get(f"/admin/orders/{order.id}").data, url) == version

    responses = run_together(
        db_app,
        [
            lambda: first.post(url, data={"status": "processing", "version": version}),
            lambda: second.post(url, data={"status": "cancelled", "version": version}),
        ],
    )

    assert sorted(r.status_code for r in responses) == [302, 409]
    winner = "processing" if responses[0].status_code == 302 else "cancelled"
    assert db.session.get(Order, order.id).status == winner
    assert count(OrderEvent, OrderEvent.order_id == order.id) == 2  # placed, and the winner's
    assert version_of(Order, order.id) == version + 1
    loser = next(r for r in responses if r.status_code == 409)
    assert f"status placed → {winner}" in loser.get_data(as_text=True)


def test_two_admins_setting_the_stock_from_one_page_one_wins(db_app):
    lamp = make_product("Lamp", stock=10)
    first, second = two_admin_clients(db_app)
    version = version_of(Product, lamp.id)
    url = f"/admin/products/{lamp.id}/stock"

    responses = run_together(
        db_app,
        [
            lambda: first.post(url, data={"stock": "3", "version": version}),
            lambda: second.post(url, data={"stock": "30", "version": version}),
        ],
    )

    assert sorted(r.status_code for r in responses) == [302, 409]
    assert stock_of(lamp) == (3 if responses[0].status_code == 302 else 30)
    assert version_of(Product, lamp.id) == version + 1


def test_two_admins_saving_one_product_one_wins(db_app):
    lamp = make_product("Lamp", stock=10)
    first, second = two_admin_clients(db_app)
    version = version_of(Product, lamp.id)
    url = f"/admin/products/{lamp.id}/edit"
    form = {"price": "10.00", "low_stock_threshold": "2", "version": version}

    responses = run_together(
        db_app,
        [
            lambda: first.post(url, data={**form, "name": "First"}),
            lambda: second.post(url, data={**form, "name": "Second"}),
        ],
    )

    assert sorted(r.status_code for r in responses) == [302, 409]
    db.session.rollback()
    assert db.session.get(Product, lamp.id).name == ("First" if responses[0].status_code == 302 else "Second")


# -- the feed of changes: gap-free, in commit order -------------------------------------


def test_concurrent_changes_get_gap_free_positions(db_app):
    products = [make_product(f"Mug {n}", stock=10) for n in range(10)]
    admin = make_user("ada@example.com", "Ada", admin=True)
    jobs = [lambda p=p.id: catalog.set_stock(p, 5, admin.id).id for p in products]
    jobs += [lambda p=p.id: catalog.set_stock(p, 6, admin.id).id for p in products]

    results = run_together(db_app, jobs)

    assert all(isinstance(r, int) for r in results), results
    rows = db.session.scalars(select(AdminChange).order_by(AdminChange.position)).all()
    assert [row.position for row in rows] == list(range(1, 21))
    per_product = {}
    for row in rows:
        per_product.setdefault(row.entity_id, []).append(row.version)
    assert all(versions == [2, 3] for versions in per_product.values())


@pytest.mark.parametrize("db_app", ["postgresql"], indirect=True)
@pytest.mark.scaleout
def test_a_position_is_taken_only_after_the_one_before_committed(db_app):
    """A writer still committing holds the feed: the next waits, and no reader sees past it."""
    lamp = make_product("Lamp", stock=10)
    url = db_app.config["SQLALCHEMY_DATABASE_URI"]
    with open_transaction(url) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(%s, 0)", (FEED_LOCK,))
        holder.execute(
            "INSERT INTO admin_changes (position, kind, entity_id, version, actor, summary, data, created_at)"
            " VALUES (1, 'product', %s, 1, 'test', 'held', '{}', now())",
            (lamp.id,),
        )
        writer = threading.Thread(target=_set_stock_in, args=(db_app, lamp.id))
        writer.start()
        wait_until(lambda: waiting_on_a_lock(url) == 1, "the second writer to wait for the feed")
        assert changes.since(0)["changes"] == [] and changes.head() == 0
    writer.join()
    db.session.rollback()
    assert [c["position"] for c in changes.since(0)["changes"]] == [1, 2]
    second = query(url, "SELECT summary FROM admin_changes WHERE position = 2")
    assert second == [("stock set to 3 (was 10)",)]


def _set_stock_in(app, product_id: int) -> int:
    with app.app_context():
        try:
            return catalog.set_stock(product_id, 3).stock
        finally:
            db.session.remove()


def test_payment_changes_are_in_the_feed(app, order, admin):
    payments.set_payment_status(order.id, "paid", admin.id)
    [row] = changes.changes_of("order", order.id, 1)
    assert (row.summary, row.data["payment_status"], row.actor) == ("payment unpaid → paid", "paid", "Ada")


def test_a_product_edit_says_what_it_changed(app, admin):
    lamp = make_product("Lamp", price_cents=1000)
    fields = catalog.ProductFields("Lamp", "A brass lamp", 1250, 3, True)

    catalog.update_product(lamp.id, fields, admin.id)

    [row] = changes.changes_of("product", lamp.id, 1)
    assert row.summary == "changed price €12.50, description edited"
    assert row.data["fields"] == ["price", "description"]
