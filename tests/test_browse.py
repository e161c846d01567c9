"""Browsing the catalogue: categories, in stock only, sorting, with search and
pages, all as query arguments; and the admin's categories."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from shop.extensions import db
from shop.models import Category, Product
from shop.services import catalog
from testing.data import PASSWORD, count, make_product

# name, price in cents, stock, categories, days old
SHELF = [
    ("Aeropress", 3500, 4, ["Coffee"], 5),
    ("Brass scoop", 900, 0, ["Coffee", "Kitchen"], 1),
    ("Clay teapot", 4200, 2, ["Tea"], 9),
    ("Dutch oven", 17900, 1, ["Kitchen"], 2),
    ("Espresso cups", 2400, 0, ["Coffee"], 7),
    ("Filter papers", 450, 30, ["Coffee"], 3),
    ("Green tea tin", 1300, 6, ["Tea", "Kitchen"], 4),
]


@pytest.fixture
def shelf(app):
    return stock_shelf()


def stock_shelf() -> dict[str, int]:
    """SHELF in the shop; the product ids by name."""
    categories = {name: catalog.save_category(name).id for name in ("Coffee", "Tea", "Kitchen")}
    ids = {}
    now = datetime.now(UTC)
    for name, price, stock, in_categories, days in SHELF:
        product = make_product(name, price_cents=price, stock=stock)
        fields = catalog.ProductFields(name, "", price, 3, True, tuple(categories[c] for c in in_categories))
        catalog.update_product(product.id, fields)
        db.session.execute(
            update(Product).where(Product.id == product.id).values(created_at=now - timedelta(days=days))
        )
        ids[name] = product.id
    db.session.commit()
    return ids


def names(page: bytes) -> list[str]:
    return re.findall(r'<span class="product-name">([^<]*)</span>', page.decode())


def links(page: bytes, rel: str) -> list[str]:
    return [href.replace("&amp;", "&") for href in re.findall(rf'href="([^"]*)" rel="{rel}"', page.decode())]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", [row[0] for row in SHELF]),
        ("category=coffee", ["Aeropress", "Brass scoop", "Espresso cups", "Filter papers"]),
        ("category=kitchen&in_stock=1", ["Dutch oven", "Green tea tin"]),
        (
            "in_stock=1&sort=price",
            ["Filter papers", "Green tea tin", "Aeropress", "Clay teapot", "Dutch oven"],
        ),
        ("sort=price_desc&category=tea", ["Clay teapot", "Green tea tin"]),
        (
            "sort=newest",
            [
                "Brass scoop",
                "Dutch oven",
                "Filter papers",
                "Green tea tin",
                "Aeropress",
                "Espresso cups",
                "Clay teapot",
            ],
        ),
        ("q=tea&category=kitchen", ["Green tea tin"]),
        ("q=tea&sort=price_desc", ["Clay teapot", "Green tea tin"]),
        ("category=coffee&q=papers&in_stock=1&sort=newest", ["Filter papers"]),
        ("sort=bogus", [row[0] for row in SHELF]),  # an unknown order: by name
        ("in_stock=yes", [row[0] for row in SHELF]),  # only "1" means in stock only
        ("category=no-such-shelf", []),
    ],
)
def test_filters_and_orders_combine(client, shelf, query, expected):
    response = client.get(f"/?{query}")
    assert response.status_code == 200
    assert names(response.data) == expected


def test_every_combination_agrees_on_both_databases(db_app):
    """The same filters as SQL on SQLite and PostgreSQL: the same products, in the same order."""
    stock_shelf()
    client = db_app.test_client()
    for category in ("", "coffee", "tea", "kitchen"):
        for in_stock in ("", "1"):
            for sort in catalog.SORTS:
                query = {"category": category, "in_stock": in_stock, "sort": sort}
                expected = [
                    name
                    for name, _, stock, cats, _ in sorted_shelf(sort)
                    if (not category or category.title() in cats) and (not in_stock or stock > 0)
                ]
                assert names(client.get("/", query_string=query).data) == expected, query


def sorted_shelf(sort: str) -> list[tuple]:
    keys = {
        "name": lambda row: row[0],
        "price": lambda row: row[1],
        "price_desc": lambda row: -row[1],
        "newest": lambda row: row[4],
    }
    return sorted(SHELF, key=keys[sort])


@pytest.mark.app_config(PRODUCTS_PER_PAGE=2)
def test_pages_keep_every_choice(client, shelf):
    first = client.get("/?category=coffee&in_stock=1&sort=price_desc&q=e")
    assert names(first.data) == ["Aeropress", "Filter papers"]
    [next_link] = links(first.data, "next") or [None]
    assert next_link is None  # two of two: one page

    page_one = client.get("/?category=coffee&sort=price")
    assert names(page_one.data) == ["Filter papers", "Brass scoop"]
    [next_link] = links(page_one.data, "next")
    assert set(next_link.removeprefix("/?").split("&")) == {"category=coffee", "sort=price", "page=2"}
    page_two = client.get(next_link)
    assert names(page_two.data) == ["Espresso cups", "Aeropress"]
    [previous] = links(page_two.data, "prev")
    assert names(client.get(previous).data) == names(page_one.data)


def test_the_choices_are_plain_links_and_a_get_form(client, shelf):
    page = client.get("/?q=tea&in_stock=1&sort=price").data.decode()

    category_links = re.findall(r'<nav class="category-nav".*?</nav>', page, re.S)[0]
    assert 'href="/?q=tea&amp;category=coffee&amp;in_stock=1&amp;sort=price"' in category_links
    assert 'href="/?q=tea&amp;in_stock=1&amp;sort=price" aria-current="page">All' in category_links
    form = re.search(r"<form class=\"browse-form\".*?</form>", page, re.S).group(0)
    assert 'method="get"' in form and '<input type="hidden" name="q" value="tea">' in form
    assert re.search(r'name="in_stock" value="1"\s+checked', form)
    assert '<option value="price" selected>' in form


def test_a_category_page_names_its_category_and_a_product_its_categories(client, shelf):
    page = client.get("/?category=tea").data.decode()
    assert "<h1>Tea</h1>" in page and "<title>Tea · Hearth & Bean</title>" in page
    product = client.get(f"/products/{shelf['Green tea tin']}").data.decode()
    assert 'href="/?category=kitchen">Kitchen</a>' in product and 'href="/?category=tea">Tea</a>' in product


def test_stock_badges_are_live_on_every_listing(client, shelf, shopper):
    """Each card carries the badge the live client updates, filtered or sorted or not."""
    client.post("/auth/login", data={"email": shopper.email, "password": PASSWORD})
    for query in ("", "?category=coffee", "?in_stock=1&sort=newest", "?q=tea&sort=price_desc"):
        page = client.get(f"/{query}").data.decode()
        cards = re.findall(r'<li class="product-card[^"]*" data-product-id="(\d+)">(.*?)</li>', page, re.S)
        assert cards, query
        for product_id, card in cards:
            assert f'data-stock-badge data-product-id="{product_id}"' in card, query
        assert '<template data-template="stock-badge">' in page and "js/live/main.js" in page, query


# -- the admin's categories -------------------------------------------------------------


@pytest.fixture
def admin_client(client, admin):
    client.post("/auth/login", data={"email": admin.email, "password": PASSWORD})
    return client


def test_admin_adds_renames_and_deletes_a_category(admin_client):
    added = admin_client.post("/admin/categories", data={"name": "  Café   things "})
    assert added.status_code == 302
    category = db.session.query(Category).one()
    assert (category.name, category.slug) == ("Café things", "cafe-things")

    duplicate = admin_client.post("/admin/categories", data={"name": "café THINGS"})
    assert duplicate.status_code == 400 and b"There is a category called" in duplicate.data
    assert admin_client.post("/admin/categories", data={"name": "!!!"}).status_code == 400

    product = make_product("Moka pot")
    edit = {"name": "Moka pot", "price": "30.00", "low_stock_threshold": "2", "active": "y"}
    assert (
        admin_client.post(
            f"/admin/products/{product.id}/edit", data={**edit, "categories": [str(category.id), "999"]}
        ).status_code
        == 302
    )
    db.session.expire_all()
    assert [c.name for c in db.session.get(Product, product.id).categories] == ["Café things"]

    renamed = admin_client.post(f"/admin/categories/{category.id}/edit", data={"name": "Coffee gear"})
    assert renamed.status_code == 302
    assert names(admin_client.get("/?category=coffee-gear").data) == ["Moka pot"]

    assert admin_client.post(f"/admin/categories/{category.id}/delete").status_code == 302
    assert count(Category) == 0 and count(Product) == 1
    assert names(admin_client.get("/").data) == ["Moka pot"]


def test_the_product_form_offers_every_category_as_a_checkbox(admin_client):
    for name in ("Tea", "Coffee"):
        catalog.save_category(name)
    page = admin_client.get("/admin/products/new").data.decode()
    boxes = re.findall(r'<input [^>]*name="categories"[^>]*>', page)
    assert len(boxes) == 2 and all('type="checkbox"' in box for box in boxes)
    created = admin_client.post(
        "/admin/products/new",
        data={
            "name": "Tea towel",
            "price": "9.00",
            "stock": "3",
            "low_stock_threshold": "1",
            "active": "y",
            "categories": [str(db.session.query(Category).filter_by(name="Tea").one().id)],
        },
    )
    assert created.status_code == 302 and created.headers["Location"].endswith("/edit")
    assert names(admin_client.get("/?category=tea").data) == ["Tea towel"]
