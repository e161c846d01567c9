"""Who is told what, over a real socket, after a real HTTP action."""

import secrets

from testing.data import PASSWORD, insert_product
from testing.shopper import Shopper
from testing.sockets import without_time


def test_the_owner_hears_of_the_admins_status_change(live, admin_http, connect):
    owner = Shopper(live.url).register("Olive")
    order_id = owner.place_order(insert_product(live.database_url))
    sock = connect(owner)

    admin_http.set_status(order_id, "processing", "Packing it now")

    [status] = sock.wait_for("order_status")
    assert status["order_id"] == order_id
    assert (status["previous_status"], status["status"]) == ("placed", "processing")
    assert status["updated_at"].endswith("+00:00")
    [note] = sock.wait_for("notification")
    assert note["kind"] == "order_status"
    assert note["seq"] == 1
    assert note["body"] == "Packing it now"
    assert note["url"] == f"/orders/{order_id}"
    assert note["data"] == {"order_id": order_id, "status": "processing", "previous_status": "placed"}
    assert note["read"] is False
    assert note["created_at"].endswith("+00:00")
    assert sock.call("sync", {"after_seq": 0})["notifications"] == [note]  # pushed as it was stored


def test_the_admins_room_hears_every_status_change(live, admin_http, connect):
    """Every admin's order list updates live, whoever moved the order."""
    owner = Shopper(live.url).register("Otto")
    order_id = owner.place_order(insert_product(live.database_url))
    admin_sock = connect(admin_http)

    admin_http.set_status(order_id, "processing")
    owner.post(f"/orders/{order_id}/cancel", allow_redirects=False)  # too late: refused, no push
    admin_http.set_status(order_id, "cancelled")

    statuses = admin_sock.wait_for("order_status", count=2)
    assert [(s["order_id"], s["previous_status"], s["status"]) for s in statuses] == [
        (order_id, "placed", "processing"),
        (order_id, "processing", "cancelled"),
    ]
    # Each change sends the owner's notification before the order_status events,
    # so by now the admin would hold one if it were in the owner's room.
    assert [n for n in admin_sock.of("notification") if n["kind"] == "order_status"] == []


def test_every_admin_hears_of_a_new_order(live, admin_http, connect):
    second_email = f"second-admin-{secrets.token_hex(4)}@example.com"
    created = live.cli("create-admin", second_email, "--name", "Bea", "--password", PASSWORD)
    assert created.returncode == 0, created.stderr
    second_admin = Shopper(live.url).login(second_email)
    admin_socks = [connect(admin_http), connect(second_admin)]
    owner = Shopper(live.url).register("Nora")
    owner_sock = connect(owner)

    order_id = owner.place_order(insert_product(live.database_url, stock=10, threshold=2), quantity=2)

    for sock in admin_socks:
        [note] = sock.wait_for("notification")
        assert note["kind"] == "new_order"
        assert note["url"] == f"/admin/orders/{order_id}"
        assert note["data"]["order_id"] == order_id
        assert note["data"]["status"] == "placed"
        assert note["data"]["total_cents"] == 3000 + 490  # two kettles and standard shipping
        assert note["data"]["payment_status"] == "unpaid"
        assert note["data"]["customer"] == "Nora"
    # A barrier for the owner: their own status event comes after anything sent at checkout.
    admin_http.set_status(order_id, "processing")
    owner_sock.wait_for("order_status")
    assert [n["kind"] for n in owner_sock.of("notification")] == ["order_status"]


def test_users_never_hear_each_others_events(live, admin_http, connect):
    """Changes interleave; each user's own later change is the barrier that
    proves nothing of the other user's came before it."""
    alice, bob = Shopper(live.url).register("Alice"), Shopper(live.url).register("Bob")
    product_id = insert_product(live.database_url)
    alice_order, bob_order = alice.place_order(product_id), bob.place_order(product_id)
    alice_sock, bob_sock = connect(alice), connect(bob)

    for order_id, status in [
        (bob_order, "processing"),
        (alice_order, "processing"),
        (bob_order, "shipped"),
        (alice_order, "shipped"),
        (bob_order, "delivered"),
    ]:
        admin_http.set_status(order_id, status)

    alice_sock.wait_for("order_status", count=2)
    bob_sock.wait_for("order_status", count=3)
    assert [name for name, _ in alice_sock.events] == ["notification", "order_status"] * 2
    assert [name for name, _ in bob_sock.events] == ["notification", "order_status"] * 3
    for sock, order_id in ((alice_sock, alice_order), (bob_sock, bob_order)):
        assert {data["order_id"] for data in sock.of("order_status")} == {order_id}
        assert {data["data"]["order_id"] for data in sock.of("notification")} == {order_id}
        seqs = [data["seq"] for data in sock.of("notification")]
        assert seqs == list(range(1, len(seqs) + 1))


def test_stock_reaches_only_that_products_subscribers(live, admin_http, connect):
    watched, other = insert_product(live.database_url, stock=10), insert_product(live.database_url, stock=10)
    viewer = Shopper(live.url).register("Vera")
    subscriber, other_subscriber, unsubscribed = connect(viewer), connect(viewer), connect(viewer)
    assert subscriber.call("subscribe_product", {"product_id": watched}) == {
        "ok": True,
        "product_id": watched,
        "stock": 10,
        "in_stock": True,
    }
    assert other_subscriber.call("subscribe_product", {"product_id": other})["ok"] is True
    assert unsubscribed.call("subscribe_product", {"product_id": watched})["ok"] is True
    assert unsubscribed.call("unsubscribe_product", {"product_id": watched}) == {"ok": True}
    assert unsubscribed.call("subscribe_product", {"product_id": other})["ok"] is True

    admin_http.set_stock(watched, 4)
    admin_http.set_stock(other, 7)  # the barrier for the two other sockets

    watched_now = {"product_id": watched, "stock": 4, "in_stock": True}
    other_now = {"product_id": other, "stock": 7, "in_stock": True}
    assert without_time(subscriber.wait_for("stock")) == [watched_now]
    assert without_time(other_subscriber.wait_for("stock")) == [other_now]
    assert without_time(unsubscribed.wait_for("stock")) == [other_now]


def test_checkout_and_cancel_push_stock(live, admin_http, connect):
    """Stock moves on checkout and comes back on cancel; page viewers see both."""
    product_id = insert_product(live.database_url, stock=5)
    owner = Shopper(live.url).register("Cara")
    viewer = connect(Shopper(live.url).register("Vic"))
    viewer.call("subscribe_product", {"product_id": product_id})

    order_id = owner.place_order(product_id, quantity=5)
    cancelled = owner.post(f"/orders/{order_id}/cancel", allow_redirects=False)
    assert cancelled.status_code == 302

    assert without_time(viewer.wait_for("stock", count=2)) == [
        {"product_id": product_id, "stock": 0, "in_stock": False},
        {"product_id": product_id, "stock": 5, "in_stock": True},
    ]


def test_watchers_hear_back_in_stock(live, admin_http, connect):
    product_id = insert_product(live.database_url, stock=0)
    watcher = Shopper(live.url).register("Wes")
    watched = watcher.post(f"/products/{product_id}/watch", allow_redirects=False)
    assert watched.status_code == 302
    sock = connect(watcher)

    admin_http.set_stock(product_id, 3)

    [note] = sock.wait_for("notification")
    assert note["kind"] == "back_in_stock"
    assert note["data"] == {"product_id": product_id, "stock": 3}


def test_mark_read_in_one_tab_updates_the_others(live, admin_http, connect):
    owner = Shopper(live.url).register("Tess")
    order_id = owner.place_order(insert_product(live.database_url))
    admin_http.set_status(order_id, "processing")
    admin_http.set_status(order_id, "shipped")
    other_browser = Shopper(live.url).login(owner.email)
    tab, other_tab, phone = connect(owner), connect(owner), connect(other_browser)
    bystander = connect(Shopper(live.url).register("Ben"))

    assert tab.call("mark_read", {"up_to_seq": 1}) == {"ok": True, "unread": 1}
    assert tab.call("mark_read", {"up_to_seq": 2}) == {"ok": True, "unread": 0}

    for sock in (tab, other_tab, phone):
        assert sock.wait_for("unread", count=2) == [{"unread": 1}, {"unread": 0}]
    assert bystander.call("sync", {"after_seq": 0})["unread"] == 0
    assert bystander.of("unread") == []
    assert other_tab.call("sync", {"after_seq": 0})["unread"] == 0
