"""The frame of every signed-in page: the inbox position and the navigation's counts."""

import re

from testing.apps import statements_run
from testing.data import fill_cart, make_product, write_notification


def frame_reads(statements: list[str]) -> list[str]:
    """The navigation's statement: the cart count and the unread count together."""
    return [s for s in statements if "cart_items" in s and "notifications" in s]


def test_a_page_reads_its_position_and_counts_in_one_statement(client, auth, shopper):
    fill_cart(shopper, make_product(), quantity=2)
    for title in ("Shipped", "Delivered"):
        write_notification(shopper.id, title)
    auth.login()

    with statements_run() as run:
        html = client.get("/orders").data

    assert len(frame_reads(run)) == 1
    assert re.search(rb'<span class="badge badge-cart"[^>]*>2</span>', html)
    assert re.search(rb"<span[^>]*data-unread-badge[^>]*>2<", html)
    assert b'data-last-seq="2"' in html


def test_static_files_and_a_redirecting_form_read_no_counts(client, auth, shopper):
    teapot = make_product()
    auth.login()

    with statements_run() as run:
        assert client.get("/static/css/shop.css").status_code == 200
        assert client.post(f"/cart/add/{teapot.id}", data={"quantity": 1}).status_code == 302

    assert frame_reads(run) == []


def test_a_refused_form_shows_the_counts_as_they_are_then(client, auth, shopper):
    teapot = make_product(stock=1)
    fill_cart(shopper, teapot)
    write_notification(shopper.id, "Shipped")
    auth.login()

    html = client.post(f"/cart/add/{teapot.id}", data={"quantity": 5}).data

    assert re.search(rb'<span class="badge badge-cart"[^>]*>1</span>', html)
    assert b'data-last-seq="1"' in html
