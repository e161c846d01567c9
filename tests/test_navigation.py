"""The frame of every signed-in page: the inbox position and the navigation's counts."""

import re

from testing.apps import statements_run
from testing.data import fill_cart, make_product, make_user, write_notification
from testing.shopper import Auth


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


def cart_badge(html: bytes) -> bytes:
    return re.search(rb'<span class="badge badge-cart"[^>]*>(\d*)</span>', html).group(1)


def test_a_page_reads_its_login_and_its_frame_in_one_statement(client, auth, shopper):
    fill_cart(shopper, make_product(), quantity=2)
    auth.login()

    with statements_run() as run:
        html = client.get("/orders").data

    logins = [s for s in run if "login_sessions" in s]
    assert len(logins) == 1 and frame_reads(logins) == logins
    assert frame_reads(run) == logins
    assert cart_badge(html) == b"2"


def test_shoppers_taking_turns_each_see_their_own_counts_and_the_latest(app, shopper):
    teapot, kettle = make_product("Teapot"), make_product("Kettle")
    robin = make_user("robin@example.com", "Robin")
    fill_cart(shopper, teapot, quantity=2)
    write_notification(robin.id, "Shipped")
    alice, bob = app.test_client(), app.test_client()
    Auth(alice).login()
    Auth(bob).login("robin@example.com")

    for _ in range(2):
        mine, theirs = alice.get("/").data, bob.get("/").data
        assert (cart_badge(mine), cart_badge(theirs)) == (b"2", b"0")
        assert b'data-user-name="Robin"' in theirs and b'data-user-name="Robin"' not in mine
        assert re.search(rb"<span[^>]*data-unread-badge[^>]*>1<", theirs)
        assert not re.search(rb"<span[^>]*data-unread-badge[^>]*>1<", mine)

    assert bob.post(f"/cart/add/{kettle.id}", data={"quantity": 3}).status_code == 302
    assert (cart_badge(alice.get("/").data), cart_badge(bob.get("/").data)) == (b"2", b"3")


def test_the_frame_links_follow_the_script_root(client, auth, shopper):
    auth.login()

    mounted = client.get("/cart", environ_overrides={"SCRIPT_NAME": "/shop"}).data
    plain = client.get("/cart").data

    assert b'href="/shop/static/css/shop.css"' in mounted and b'href="/shop/orders"' in mounted
    assert b'href="/static/css/shop.css"' in plain and b'href="/orders"' in plain
    assert b"/shop/" not in plain


def test_a_form_reads_its_login_and_its_inbox_position_in_one_statement(client, auth, shopper):
    teapot = make_product()
    auth.login()

    with statements_run() as run:
        assert client.post(f"/cart/add/{teapot.id}", data={"quantity": 1}).status_code == 302

    logins = [s for s in run if "login_sessions" in s]
    assert len(logins) == 1 and "inbox_epoch" in logins[0]
    assert [s for s in run if "inbox_epoch" in s] == logins
