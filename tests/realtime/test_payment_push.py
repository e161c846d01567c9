"""Payment status over a real socket: the owner and the admins hear each step,
nobody else does, a refused step tells nobody, and no client can make one."""

from sqlalchemy import text

from testing.data import insert_product
from testing.shopper import Shopper
from testing.sockets import RawSocket, without_time


def test_the_owner_and_the_admins_hear_a_payment_step(live, admin_http, connect):
    owner = Shopper(live.url).register("Petra")
    order_id = owner.order_paid_by(insert_product(live.database_url), "bank_transfer")
    owner_sock, admin_sock = connect(owner), connect(admin_http)

    assert admin_http.set_payment(order_id, "paid", "Received, thank you").status_code == 302

    expected = {"order_id": order_id, "payment_status": "paid", "previous": "unpaid"}
    [pushed] = owner_sock.wait_for("payment_status")
    assert without_time([pushed]) == [expected]
    [note] = owner_sock.wait_for("notification")
    assert (note["kind"], note["title"], note["body"]) == (
        "payment_status",
        f"Payment received (order #{order_id})",
        "Received, thank you",
    )
    assert note["data"] == expected and note["url"] == f"/orders/{order_id}"
    assert without_time(admin_sock.wait_for("payment_status")) == [expected]
    # The owner's notification is sent before the payment_status events: an admin
    # in the owner's room would hold it by now.
    assert [n for n in admin_sock.of("notification") if n["kind"] == "payment_status"] == []
    # What was pushed is what sync gives back to a tab that was away.
    assert owner_sock.call("sync", {"after_seq": 0})["notifications"] == [note]


def test_a_refund_after_the_payment_arrives_in_order(live, admin_http, connect):
    owner = Shopper(live.url).register("Quinn")
    order_id = owner.order_paid_by(insert_product(live.database_url), "pay_on_delivery")
    sock = connect(owner)

    for status in ("paid", "refunded"):
        assert admin_http.set_payment(order_id, status).status_code == 302

    steps = without_time(sock.wait_for("payment_status", count=2))
    assert [(s["previous"], s["payment_status"]) for s in steps] == [("unpaid", "paid"), ("paid", "refunded")]
    kinds = [n["title"] for n in sock.wait_for("notification", count=2)]
    assert kinds == [f"Payment received (order #{order_id})", f"Payment refunded (order #{order_id})"]


def test_a_refused_step_and_someone_elses_step_push_nothing(live, admin_http, connect):
    owner, bystander = Shopper(live.url).register("Rosa"), Shopper(live.url).register("Sid")
    order_id = owner.order_paid_by(insert_product(live.database_url), "bank_transfer")
    their_order = bystander.order_paid_by(insert_product(live.database_url), "bank_transfer")
    owner_sock, bystander_sock = connect(owner), connect(bystander)

    assert admin_http.set_payment(order_id, "refunded").status_code == 409  # unpaid: nothing to refund
    admin_http.set_status(order_id, "processing")
    refused = admin_http.post(
        f"/admin/orders/{order_id}/status", {"status": "shipped"}, allow_redirects=False
    )
    assert refused.status_code == 409  # unpaid bank transfer, not confirmed
    assert admin_http.set_payment(their_order, "paid").status_code == 302

    # The barriers: a later push to each connection, which Socket.IO delivers in order.
    assert admin_http.set_payment(order_id, "paid").status_code == 302
    owner_sock.wait_for("payment_status")
    bystander_sock.wait_for("payment_status")
    assert [
        (e, d.get("payment_status") or d.get("status")) for e, d in owner_sock.events if e != "notification"
    ] == [
        ("order_status", "processing"),
        ("payment_status", "paid"),
    ]
    assert [d["order_id"] for d in bystander_sock.of("payment_status")] == [their_order]
    assert all(n["data"]["order_id"] == their_order for n in bystander_sock.of("notification"))


def test_a_client_that_ignores_the_protocol_cannot_set_or_fake_a_payment(live, admin_http, connect):
    """Sending payment events (as if it were the server, or an admin) gets error
    acks, changes nothing, and reaches no one: the one way is the admin's form."""
    owner = Shopper(live.url).register("Tess")
    order_id = owner.order_paid_by(insert_product(live.database_url), "bank_transfer")
    owner_sock = connect(owner)
    raw = RawSocket(live.url, cookie=owner.cookie_header)
    try:
        assert raw.connect_namespace().startswith("40")
        forged = {"order_id": order_id, "payment_status": "paid", "previous": "unpaid"}
        for number, event in enumerate(("payment_status", "set_payment", "mark_paid"), start=1):
            ack = raw.call(event, forged, ack_id=number)
            assert ack["ok"] is False and ack["error"]["code"] == "unknown_event", (event, ack)
        raw.emit("payment_status", forged)  # no ack asked for: still nothing
        with live.database() as session:
            status = session.scalar(
                text("SELECT payment_status FROM orders WHERE id = :id"), {"id": order_id}
            )
        assert status == "unpaid"

        admin_http.set_status(order_id, "processing")  # the barrier
        owner_sock.wait_for("order_status")
        assert owner_sock.of("payment_status") == []
        assert raw.events("payment_status") == []
    finally:
        raw.close()
