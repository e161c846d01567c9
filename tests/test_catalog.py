"""The catalogue pages, the product page and back-in-stock alerts, through the test client."""

import re

import cachelib.simple
import pytest
from sqlalchemy import text

from shop.extensions import db
from shop.models import StockWatch
from shop.services import cart, photos
from testing.apps import statements_run
from testing.data import add_photo, count, make_product, make_user
from testing.shopper import Auth


def product_ids(html: bytes) -> list[int]:
    """The products shown as cards on a catalogue page, in order."""
    return [int(i) for i in re.findall(rb'<li[^>]*\bdata-product-id="(\d+)"', html)]


def opening_tag(html: bytes, attribute: bytes) -> bytes:
    """The first opening tag carrying ``attribute``."""
    match = re.search(rb"<[a-z]+[^>]*\s" + attribute + rb"[\s>][^>]*>?", html)
    assert match, f"no element with {attribute!r}"
    return match.group(0)


def is_hidden(html: bytes, attribute: bytes) -> bool:
    return re.search(rb"\shidden[\s>=]", opening_tag(html, attribute)) is not None


def test_catalogue_lists_active_products_by_name(client, app):
    kettle = make_product("Kettle")
    teapot = make_product("Teapot", stock=0)
    make_product("Hidden samovar", active=False)

    html = client.get("/").data

    assert product_ids(html) == [kettle.id, teapot.id]
    assert b"Hidden samovar" not in html
    assert b"Out of stock" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("tea", ["Tea cups", "Teapot"]),
        ("TEAPOT", ["Teapot"]),
        ("walnut", ["Kettle"]),  # found in the description
        ("%", []),  # LIKE wildcards are taken literally
        ("_", []),
        ("nothing like it", []),
    ],
)
def test_search(client, app, query, expected):
    products = {name: make_product(name) for name in ("Kettle", "Tea cups", "Teapot")}
    products["Kettle"].description = "Walnut handle."
    db.session.commit()

    response = client.get("/", query_string={"q": query})

    assert response.status_code == 200
    assert product_ids(response.data) == [products[name].id for name in expected]
    if not expected:
        assert b"Nothing matches" in response.data


def test_pagination(client, app):
    names = [f"Mug {n:02}" for n in range(15)]
    ids = [make_product(name).id for name in names]

    first = client.get("/").data
    second = client.get("/?page=2").data

    assert product_ids(first) == ids[:12]
    assert product_ids(second) == ids[12:]
    assert b'rel="next"' in first and b"Page 1 of 2" in first
    assert product_ids(client.get("/?page=9").data) == []
    assert product_ids(client.get("/?page=-3").data) == ids[:12]


def test_search_keeps_the_query_across_pages(client, app):
    for n in range(13):
        make_product(f"Mug {n:02}")
    make_product("Plate")
    html = client.get("/?q=mug").data
    assert b"/?page=2&amp;q=mug" in html or b"/?q=mug&amp;page=2" in html


def test_product_page(client, app):
    teapot = make_product("Teapot", price_cents=2500, stock=2, threshold=3)

    html = client.get(f"/products/{teapot.id}").data

    assert b"<h1>Teapot</h1>" in html
    assert "€25.00".encode() in html
    assert b"Only 2 left" in html
    assert not is_hidden(html, b"data-add-to-cart")
    assert is_hidden(html, b"data-watch")


def test_sold_out_product_offers_an_alert_instead(client, auth, shopper):
    teapot = make_product(stock=0)
    auth.login()

    html = client.get(f"/products/{teapot.id}").data

    assert is_hidden(html, b"data-add-to-cart")
    assert not is_hidden(html, b"data-watch")
    assert b"Notify me when it is back" in html


@pytest.mark.parametrize("url", ["/products/999", "/products/{inactive}", "/products/abc"])
def test_missing_or_inactive_product_is_404(client, app, url):
    inactive = make_product(active=False)
    response = client.get(url.format(inactive=inactive.id))
    assert response.status_code == 404
    assert b"Not found" in response.data


def test_watch_and_unwatch_through_the_page(client, auth, shopper):
    teapot = make_product(stock=0)
    auth.login()

    response = client.post(f"/products/{teapot.id}/watch", follow_redirects=True)
    assert b"We will tell you when it is back." in response.data
    assert b"Cancel the alert" in response.data
    assert count(StockWatch, StockWatch.user_id == shopper.id) == 1

    response = client.post(f"/products/{teapot.id}/unwatch", follow_redirects=True)
    assert b"Alert removed." in response.data
    assert count(StockWatch) == 0


def test_watching_an_available_product_is_refused(client, auth, shopper):
    teapot = make_product(stock=4)
    auth.login()
    response = client.post(f"/products/{teapot.id}/watch", follow_redirects=True)
    assert b"is in stock: no need to wait." in response.data
    assert count(StockWatch) == 0


def test_watch_needs_a_login(client, app):
    teapot = make_product(stock=0)
    response = client.post(f"/products/{teapot.id}/watch")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]
    assert count(StockWatch) == 0


# the anonymous catalogue is kept for CATALOGUE_CACHE_SECONDS -----------------------

cached_catalogue = pytest.mark.app_config(CACHE_TYPE="SimpleCache", CACHE_DEFAULT_TIMEOUT=1)


@pytest.fixture
def cache_clock(monkeypatch) -> list[float]:
    """SimpleCache's clock, held still until the test moves it: the cache counts whole seconds
    (an entry set just before a second turns expires at once), so real time made this flaky."""
    now = [1_000_000.0]
    monkeypatch.setattr(cachelib.simple, "time", lambda: now[0])
    return now


def stock_badge(html: bytes, product_id: int) -> bytes:
    card = re.search(rb'data-product-id="%d".*?</li>' % product_id, html, re.S)
    return card.group(0)


@cached_catalogue
def test_anonymous_catalogue_pages_are_kept_for_a_second_then_read_afresh(client, app, cache_clock):
    teapot = make_product("Teapot", stock=10)
    first = client.get("/").data

    teapot.stock = 0
    db.session.commit()
    with statements_run() as run:
        again = client.get("/").data
    assert run == []
    assert again == first

    cache_clock[0] += 1.1
    assert b"Out of stock" in stock_badge(client.get("/").data, teapot.id)


@cached_catalogue
def test_each_search_and_page_is_kept_apart(client, app):
    for number in range(14):
        make_product(f"Kettle {number:02}")
    make_product("Teapot")

    assert client.get("/?q=teapot").status_code == 200
    assert client.get("/").status_code == 200

    assert len(product_ids(client.get("/?q=teapot").data)) == 1
    assert len(product_ids(client.get("/").data)) == 12
    assert len(product_ids(client.get("/?page=2").data)) == 3


@cached_catalogue
def test_signed_in_visitors_get_their_own_fresh_page(client, auth, shopper):
    teapot = make_product("Teapot", stock=10)
    anonymous = client.get("/").data
    auth.login()
    teapot.stock = 0
    db.session.commit()

    own = client.get("/").data

    assert own != anonymous
    assert shopper.name.encode() in own
    assert b"Out of stock" in stock_badge(own, teapot.id)
    auth.logout()  # back on the catalogue, with "You are logged out." waiting
    after = client.get("/").data
    assert b"You are logged out." in after
    assert shopper.name.encode() not in after


# a signed-in page's cards are kept for every shopper while their products are unchanged ----

kept_cards = pytest.mark.app_config(CACHE_TYPE="SimpleCache", CACHE_DEFAULT_TIMEOUT=300)


def card(html: bytes, product_id: int) -> bytes:
    """The whole card, its opening tag (with its classes) too."""
    return re.search(rb'<li class="[^"]*" data-product-id="%d".*?</li>' % product_id, html, re.S).group(0)


def cart_badge(html: bytes) -> bytes:
    return re.search(rb'<span class="badge badge-cart"[^>]*>[^<]*</span>', html).group(0)


def searches_run(statements: list[str]) -> list[str]:
    return [s for s in statements if "FROM products" in s and "ORDER BY products.name" in s]


@kept_cards
def test_kept_cards_are_shown_again_without_the_catalogue_queries(client, auth, shopper):
    teapot = make_product("Teapot", stock=10)
    auth.login()
    first = client.get("/").data

    with statements_run() as run:
        again = client.get("/").data

    assert searches_run(run) == []
    assert card(again, teapot.id) == card(first, teapot.id)


@kept_cards
def test_a_sale_made_on_another_worker_shows_on_kept_cards_at_once(client, auth, shopper):
    teapot = make_product("Teapot", stock=10)
    auth.login()
    assert b"In stock" in card(client.get("/").data, teapot.id)

    # Another worker's sale: the row changes under this worker's cache, nothing here is told.
    db.session.execute(text("UPDATE products SET stock = 0 WHERE id = :id"), {"id": teapot.id})
    db.session.commit()
    sold = card(client.get("/").data, teapot.id)

    assert b"Out of stock" in sold
    assert b"is-sold-out" in sold


@kept_cards
def test_an_edit_shows_on_kept_cards_at_once(client, auth, shopper):
    teapot = make_product("Teapot", price_cents=2500)
    auth.login()
    assert b"25.00" in card(client.get("/").data, teapot.id)

    teapot.price_cents = 1999
    db.session.commit()

    assert b"19.99" in card(client.get("/").data, teapot.id)


@kept_cards
def test_kept_cards_carry_nothing_of_the_shopper_who_rendered_them(app, client, auth, shopper):
    teapot = make_product("Teapot")
    cart.add_to_cart(shopper.id, teapot.id, 2)
    other = make_user("alex@example.com", "Alex")
    auth.login()
    first = client.get("/").data
    assert b'data-user-name="Sam"' in first and b">2</span>" in cart_badge(first)

    second_client = app.test_client()
    Auth(second_client).login("alex@example.com")
    page = second_client.get("/").data

    assert f'data-user-id="{other.id}"'.encode() in page
    assert b"Sam" not in page
    assert b"hidden" in cart_badge(page) and b">0</span>" in cart_badge(page)


# a product page's body is kept for every shopper while its product is unchanged --------


def product_loads_run(statements: list[str]) -> list[str]:
    return [s for s in statements if "FROM products" in s and "product_photos" in s]


def product_info(html: bytes) -> bytes:
    return re.search(rb'<div class="product-info">.*?<form', html, re.S).group(0)


def article(html: bytes) -> bytes:
    return re.search(rb"<article.*?</article>", html, re.S).group(0)


def tokens(html: bytes) -> set[bytes]:
    return set(re.findall(rb'name="csrf_token" value="([^"]+)"', html))


@kept_cards
def test_a_kept_product_body_is_shown_again_without_loading_the_product(client, auth, shopper):
    teapot = make_product("Teapot", stock=10)
    add_photo(teapot)
    add_photo(teapot, alt="From above")
    url = f"/products/{teapot.id}"
    auth.login()
    first = client.get(url).data

    with statements_run() as run:
        again = client.get(url).data

    assert product_loads_run(run) == []
    assert article(again) == article(first)
    assert b"js/gallery.js" in again and b'alt="From above"' in again


@kept_cards
def test_a_sale_an_edit_and_a_photo_show_on_a_kept_product_page_at_once(client, auth, shopper):
    teapot = make_product("Teapot", price_cents=2500, stock=10)
    url = f"/products/{teapot.id}"
    auth.login()
    assert b"In stock" in product_info(client.get(url).data)

    # Another worker's sale: the row changes under this worker's cache, nothing here is told.
    db.session.execute(text("UPDATE products SET stock = 2 WHERE id = :id"), {"id": teapot.id})
    db.session.commit()
    assert b"Only 2 left" in product_info(client.get(url).data)

    teapot.price_cents = 1999
    db.session.commit()
    assert b"19.99" in product_info(client.get(url).data)

    row = add_photo(teapot, alt="The teapot")
    assert b'alt="The teapot"' in client.get(url).data
    photos.update_photo(teapot.id, row.id, alt="The teapot, poured")
    assert b'alt="The teapot, poured"' in client.get(url).data
    photos.delete_photo(teapot.id, row.id)
    assert b"The teapot" not in client.get(url).data
    assert b"Only 2 left" in product_info(client.get(url).data)


@kept_cards
def test_a_photo_shows_on_kept_cards_at_once(client, auth, shopper):
    teapot = make_product("Teapot")
    auth.login()
    assert b"no-photo" in card(client.get("/").data, teapot.id)

    add_photo(teapot, alt="The teapot")

    assert b'alt="The teapot"' in card(client.get("/").data, teapot.id)


@kept_cards
def test_a_product_taken_off_sale_is_404_although_its_body_was_kept(client, auth, shopper):
    teapot = make_product("Teapot")
    auth.login()
    assert client.get(f"/products/{teapot.id}").status_code == 200

    db.session.execute(text("UPDATE products SET active = false WHERE id = :id"), {"id": teapot.id})
    db.session.commit()

    assert client.get(f"/products/{teapot.id}").status_code == 404


@kept_cards
def test_a_kept_product_body_carries_nothing_of_the_shopper_who_rendered_it(app, client, auth, shopper):
    teapot = make_product("Teapot", stock=0)
    other = make_user("alex@example.com", "Alex")
    auth.login()
    client.post(f"/products/{teapot.id}/watch")
    first = client.get(f"/products/{teapot.id}").data
    assert b"Cancel the alert" in first

    second_client = app.test_client()
    Auth(second_client).login("alex@example.com")
    page = second_client.get(f"/products/{teapot.id}").data
    own_page = second_client.get("/account").data

    assert f'data-user-id="{other.id}"'.encode() in page and b"Sam" not in page
    assert b"Notify me when it is back" in page and b"Cancel the alert" not in page
    assert tokens(page) == tokens(own_page) and not tokens(page) & tokens(first)
