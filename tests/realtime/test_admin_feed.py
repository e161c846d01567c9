"""The admins' feed of changes over a real socket (``admin_change`` pushes, ``admin_sync``
catch-up), who may read it, and the shopper's live cart badge (``cart {count}``)."""

from testing.data import PASSWORD, insert_product
from testing.shopper import Shopper
from testing.sockets import RawSocket


def test_admins_hear_each_change_with_its_position_version_and_author(live, admin_http, connect):
    owner = Shopper(live.url).register("Fay")
    product_id = insert_product(live.database_url, stock=10)
    admin_sock = connect(admin_http)
    start = admin_sock.call("admin_sync", {"after": 0})["head"]

    order_id = owner.place_order(product_id, quantity=2)
    admin_http.set_status(order_id, "processing", "Packing")
    admin_http.set_stock(product_id, 20)

    pushed = admin_sock.wait_for("admin_change", count=4)
    assert [c["position"] for c in pushed] == list(range(start + 1, start + 5))
    assert [(c["kind"], c["id"], c["version"]) for c in pushed] == [
        ("order", order_id, 1),
        ("product", product_id, 2),
        ("order", order_id, 2),
        ("product", product_id, 3),
    ]
    assert [c["actor"] for c in pushed] == ["Fay", "Fay", "Ada Admin", "Ada Admin"]
    assert pushed[2]["summary"] == "status placed → processing"
    assert pushed[2]["data"]["status"] == "processing" and pushed[2]["data"]["note"] == "Packing"
    assert pushed[3]["data"]["stock"] == 20 and pushed[3]["data"]["fields"] == ["stock"]
    synced = admin_sock.call("admin_sync", {"after": start})
    assert synced["ok"] and synced["changes"] == pushed
    assert (synced["position"], synced["head"], synced["more"]) == (start + 4, start + 4, False)


def test_a_shopper_cannot_read_the_feed(live, admin_http, connect):
    shopper = Shopper(live.url).register("Nosy")
    admin_http.set_stock(insert_product(live.database_url, stock=3), 4)
    sock = connect(shopper)

    ack = sock.call("admin_sync", {"after": 0})

    assert ack == {"ok": False, "error": {"code": "forbidden", "message": "Only admins may ask for that."}}


def test_a_raw_client_of_a_shopper_gets_an_error_ack_and_no_changes(live, admin_http):
    shopper = Shopper(live.url).register("Raw Rita")
    admin_http.set_stock(insert_product(live.database_url, stock=3), 4)
    raw = RawSocket(live.url, cookie=shopper.cookie_header)
    try:
        assert raw.connect_namespace().startswith("40")
        for ack_id, payload in enumerate([{"after": 0}, {"after": -1}, {}, [0], {"after": "0"}], start=1):
            ack = raw.call("admin_sync", payload, ack_id=ack_id)
            assert ack["ok"] is False, ack
            assert "changes" not in ack
        admin_http.set_stock(insert_product(live.database_url, stock=3), 5)
        assert raw.call("admin_sync", {"after": 0}, ack_id=9)["error"]["code"] == "forbidden"  # a barrier
        assert raw.events("admin_change") == []
    finally:
        raw.close()


def test_an_anonymous_client_cannot_connect_to_ask(live):
    raw = RawSocket(live.url)
    try:
        answer = raw.connect_namespace()
        assert answer.startswith("44") and "unauthorized" in answer
    finally:
        raw.close()


def test_a_bad_position_is_an_error_ack(live, admin_http, connect):
    sock = connect(admin_http)
    for payload in ({"after": -1}, {"after": "3"}, {"after": True}, {}):
        ack = sock.call("admin_sync", payload)
        assert ack["ok"] is False and ack["error"]["code"] == "invalid_input", payload


def test_the_cart_badge_follows_in_every_tab_and_device(live, connect):
    email = "two-devices@example.com"
    phone = Shopper(live.url).register("Dee", email=email)
    laptop = Shopper(live.url).login(email, PASSWORD)
    tabs = [connect(phone), connect(phone), connect(laptop)]
    mug, pot = insert_product(live.database_url, stock=10), insert_product(live.database_url, stock=10)

    phone.add_to_cart(mug, 2)
    laptop.add_to_cart(pot, 1)
    laptop.post(f"/cart/remove/{mug}", token_from="/cart")
    phone.checkout()

    for tab in tabs:
        assert [c["count"] for c in tab.wait_for("cart", count=4)] == [2, 3, 1, 0]
