"""The admin area through the test client: who may enter, orders, products and stock."""

import re

import pytest
from sqlalchemy import select

from shop.extensions import db
from shop.models import Order, Product
from shop.services.catalog import watch
from shop.services.orders import change_status
from testing.apps import statements_run
from testing.data import count, make_order, make_product, notifications_of, stock_of
from testing.shopper import row_ids

PAGES = ["/admin/", "/admin/orders", "/admin/orders/1", "/admin/products", "/admin/products/new"]
FORMS = [
    ("/admin/orders/1/status", {"status": "processing"}),
    ("/admin/products/1/stock", {"stock": "0"}),
    ("/admin/products/1/edit", {"name": "Hijacked", "price": "1", "low_stock_threshold": "1"}),
    ("/admin/products/new", {"name": "Planted", "price": "1", "stock": "1", "low_stock_threshold": "1"}),
]


def offered_statuses(html: bytes) -> list[str]:
    select = re.search(rb'<select[^>]*name="status"[^>]*>(.*?)</select>', html, re.S)
    assert select, "the page has no status form"
    return [v.decode() for v in re.findall(rb'<option[^>]*value="([^"]*)"', select.group(1))]


@pytest.fixture
def placed(shopper):
    """One placed order of 2 of the 10 teapots."""
    return make_order(shopper, make_product("Teapot", stock=10, threshold=3), 2)


@pytest.fixture
def as_admin(client, auth, admin):
    auth.login(admin.email)
    return client


def unchanged(order: Order) -> None:
    order = db.session.get(Order, order.id)
    assert order.status == "placed"
    assert len(order.events) == 1
    product = db.session.get(Product, 1)
    assert (product.name, product.stock) == ("Teapot", 8)
    assert count(Product) == 1


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_visitors_go_to_the_login_page(client, placed, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=")


@pytest.mark.parametrize("url", PAGES)
def test_shoppers_get_403(client, auth, placed, url):
    auth.login()
    response = client.get(url)
    assert response.status_code == 403
    assert b"Not for you" in response.data


@pytest.mark.parametrize(("url", "data"), FORMS)
def test_shoppers_and_anonymous_cannot_post(client, auth, placed, url, data):
    assert client.post(url, data=data).status_code == 302
    auth.login()
    assert client.post(url, data=data).status_code == 403
    unchanged(placed)


def test_dashboard_shows_placed_orders(as_admin, placed):
    response = as_admin.get("/admin/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/orders?status=placed"


def test_order_list_filters_by_status(as_admin, shopper, admin):
    teapot = make_product(stock=10)
    orders = [make_order(shopper, teapot, key=f"k{n}") for n in range(3)]
    change_status(orders[1].id, "processing", admin.id)

    everything = as_admin.get("/admin/orders").data
    processing = as_admin.get("/admin/orders?status=processing").data
    placed = as_admin.get("/admin/orders?status=placed").data

    assert row_ids(everything) == [orders[2].id, orders[1].id, orders[0].id]
    assert row_ids(processing) == [orders[1].id]
    assert b'data-status-filter="processing"' in processing
    assert row_ids(placed) == [orders[2].id, orders[0].id]
    assert row_ids(as_admin.get("/admin/orders?status=shipped").data) == []
    assert as_admin.get("/admin/orders?status=bogus").status_code == 400


@pytest.mark.parametrize(
    ("path", "offered"),
    [
        ([], ["processing", "cancelled"]),
        (["processing"], ["shipped", "cancelled"]),
        (["processing", "shipped"], ["delivered"]),
    ],
)
def test_order_page_offers_only_the_next_statuses(as_admin, admin, placed, path, offered):
    for status in path:
        change_status(placed.id, status, admin.id)
    assert offered_statuses(as_admin.get(f"/admin/orders/{placed.id}").data) == offered


def test_a_finished_order_offers_nothing(as_admin, admin, placed):
    change_status(placed.id, "cancelled", admin.id)
    html = as_admin.get(f"/admin/orders/{placed.id}").data
    assert b'name="status"' not in html
    assert b"nothing more to do" in html


def test_admin_moves_an_order_along(as_admin, admin, shopper, placed):
    response = as_admin.post(
        f"/admin/orders/{placed.id}/status", data={"status": "processing", "note": "Packing now"}
    )

    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/orders/{placed.id}"
    order = db.session.get(Order, placed.id)
    assert order.status == "processing"
    event = order.events[-1]
    assert (event.actor_id, event.note) == (admin.id, "Packing now")
    assert [(n.kind, n.data["status"]) for n in notifications_of(shopper)] == [("order_status", "processing")]
    assert b"is now processing" in as_admin.get(response.headers["Location"]).data


@pytest.mark.parametrize("status", ["delivered", "shipped", "placed", "nonsense"])
def test_illegal_transition_is_a_409_with_the_message(as_admin, shopper, placed, status):
    response = as_admin.post(f"/admin/orders/{placed.id}/status", data={"status": status})

    assert response.status_code == 409
    assert f"Order #{placed.id} is placed: it cannot become {status}.".encode() in response.data
    assert b'class="flash flash-error"' in response.data
    assert offered_statuses(response.data) == ["processing", "cancelled"]  # the form again, with its choices
    unchanged(placed)
    assert notifications_of(shopper) == []


def test_a_status_change_reads_the_order_only_in_its_transaction(as_admin, placed):
    """The route does not load the order for the form it shows only when the change is refused."""
    url = f"/admin/orders/{placed.id}/status"
    with statements_run() as run:
        response = as_admin.post(url, data={"status": "processing"})
    assert response.status_code == 302
    began = next(i for i, statement in enumerate(run) if statement.startswith("BEGIN IMMEDIATE"))
    assert not [statement for statement in run[:began] if "FROM orders" in statement]


def test_status_change_of_a_missing_order_is_404(as_admin):
    assert as_admin.post("/admin/orders/999/status", data={"status": "processing"}).status_code == 404


def test_products_list_includes_products_not_on_sale(as_admin):
    make_product("Teapot")
    make_product("Samovar", active=False)
    html = as_admin.get("/admin/products").data
    assert b"Teapot" in html and b"Samovar" in html and b"(not on sale)" in html


def test_new_product(as_admin):
    response = as_admin.post(
        "/admin/products/new",
        data={
            "name": " Milk Jug ",
            "description": "Holds milk.",
            "price": "12.50",
            "stock": "7",
            "low_stock_threshold": "2",
            "active": "y",
        },
    )
    assert response.status_code == 302
    product = db.session.scalar(select(Product))
    assert (
        product.name,
        product.price_cents,
        product.stock,
        product.low_stock_threshold,
        product.active,
    ) == (
        "Milk Jug",
        1250,
        7,
        2,
        True,
    )


@pytest.mark.parametrize(
    "change",
    [
        {"name": ""},
        {"price": "abc"},
        {"price": "-1"},
        {"price": "0.005"},
        {"price": "1_000"},
        {"price": "１２"},
        {"price": "1e3"},
        {"price": "12,50"},
        {"price": "+12"},
        {"stock": "-1"},
        {"stock": "1.5"},
        {"low_stock_threshold": ""},
    ],
)
def test_new_product_validation(as_admin, change):
    """Only plain decimals with at most two places are prices: 0.005 used to save as 0.00,
    1_000 as 1000.00, and full-width digits were read as digits."""
    data = {"name": "Milk Jug", "price": "12.50", "stock": "7", "low_stock_threshold": "2"}
    data.update(change)
    response = as_admin.post("/admin/products/new", data=data)
    assert response.status_code == 400
    assert count(Product) == 0


def test_edit_product_keeps_the_stock(as_admin):
    teapot = make_product("Teapot", price_cents=2500, stock=4)
    form = as_admin.get(f"/admin/products/{teapot.id}/edit").data
    assert b'value="25.00"' in form

    response = as_admin.post(
        f"/admin/products/{teapot.id}/edit",
        data={"name": "Big Teapot", "description": "", "price": "31.99", "low_stock_threshold": "1"},
    )

    assert response.status_code == 302
    product = db.session.get(Product, teapot.id)
    assert (product.name, product.price_cents, product.stock, product.active) == (
        "Big Teapot",
        3199,
        4,
        False,
    )


def test_edit_product_validation(as_admin):
    teapot = make_product("Teapot", price_cents=2500)
    response = as_admin.post(
        f"/admin/products/{teapot.id}/edit", data={"name": "", "price": "1", "low_stock_threshold": "1"}
    )
    assert response.status_code == 400
    assert db.session.get(Product, teapot.id).name == "Teapot"


def test_edit_missing_product_is_404(as_admin):
    assert as_admin.get("/admin/products/999/edit").status_code == 404


def test_set_stock_warns_admins_and_wakes_watchers(as_admin, admin, shopper):
    teapot = make_product("Teapot", stock=0, threshold=3)
    watch(shopper.id, teapot.id)

    response = as_admin.post(f"/admin/products/{teapot.id}/stock", data={"stock": "2", "back": "list"})

    assert response.headers["Location"] == "/admin/products"
    assert stock_of(teapot) == 2
    assert [n.kind for n in notifications_of(shopper)] == ["back_in_stock"]
    assert notifications_of(admin) == []

    response = as_admin.post(f"/admin/products/{teapot.id}/stock", data={"stock": "0"})
    assert response.headers["Location"] == f"/admin/products/{teapot.id}/edit"
    assert [n.title for n in notifications_of(admin)] == ["Out of stock: Teapot"]


@pytest.mark.parametrize("stock", ["-1", "abc", "", "1.5", "1000001"])
def test_bad_stock_changes_nothing(as_admin, stock):
    teapot = make_product(stock=5)
    response = as_admin.post(f"/admin/products/{teapot.id}/stock", data={"stock": stock})
    assert response.status_code == 400
    assert b'class="flash flash-error"' in response.data
    assert stock_of(teapot) == 5


def test_posting_without_loading_the_pages_keeps_only_the_latest_messages(as_admin):
    """A script or fetch that never loads the redirect target must not grow the
    cookie session past the 4 KB browsers keep (losing the login with it)."""
    teapot = make_product("Teapot", stock=0)
    sizes = []
    for stock in range(1, 41):
        as_admin.post(f"/admin/products/{teapot.id}/stock", data={"stock": str(stock)})
        sizes.append(len(as_admin.get_cookie("session").value))

    assert max(sizes) < 1024
    assert sizes[-1] - sizes[9] < 32  # flat once five messages wait
    html = as_admin.get("/admin/products").get_data(as_text=True)
    shown = re.findall(r"Teapot: stock is now (\d+)\.", html)
    assert shown == ["36", "37", "38", "39", "40"]


@pytest.mark.parametrize(("typed", "cents"), [("12", 1200), ("12.5", 1250), (" 12.50 ", 1250), ("0.99", 99)])
def test_a_plain_price_is_saved_as_typed(as_admin, typed, cents):
    data = {"name": "Milk Jug", "price": typed, "stock": "7", "low_stock_threshold": "2"}
    assert as_admin.post("/admin/products/new", data=data).status_code == 302
    assert db.session.scalar(select(Product.price_cents)) == cents
