"""The notification inbox and marking it read, through the test client."""

import re

from testing.data import make_order, make_product, make_user, notifications_of


def inbox_seqs(html: bytes) -> list[int]:
    return [int(s) for s in re.findall(rb'<li class="inbox-item[^"]*" data-seq="(\d+)"', html)]


def unread_items(html: bytes) -> int:
    """Items shown unread (the page's inbox-item <template> has no seq)."""
    return len(re.findall(rb'<li class="inbox-item unread" data-seq="\d+"', html))


def unread_badge(html: bytes) -> str:
    badge = re.search(rb"<span[^>]*data-unread-badge[^>]*>([^<]*)<", html)
    assert badge, "the navigation has no unread badge"
    return badge.group(0).decode()


def test_inbox_lists_newest_first_with_unread_count(client, auth, admin, shopper):
    teapot = make_product(stock=10, threshold=0)
    for n in range(3):
        make_order(shopper, teapot, key=f"k{n}")
    auth.login(admin.email)

    html = client.get("/notifications").data

    assert inbox_seqs(html) == [3, 2, 1]
    assert b'data-up-to-seq="3"' in html
    assert unread_items(html) == 3
    assert ">3<" in unread_badge(html) and "hidden" not in unread_badge(html)
    assert b'data-last-seq="3"' in html


def test_mark_read_up_to_a_seq(client, auth, admin, shopper):
    teapot = make_product(stock=10, threshold=0)
    for n in range(3):
        make_order(shopper, teapot, key=f"k{n}")
    auth.login(admin.email)

    response = client.post("/notifications/read", data={"up_to_seq": "2"})

    assert response.headers["Location"] == "/notifications"
    assert [n.read for n in notifications_of(admin)] == [True, True, False]
    html = client.get("/notifications").data
    assert unread_items(html) == 1


def test_mark_all_read_without_a_seq(client, auth, admin, shopper):
    make_order(shopper, make_product(stock=10, threshold=0))
    auth.login(admin.email)

    client.post("/notifications/read", data={"up_to_seq": "nonsense"})

    assert all(n.read for n in notifications_of(admin))
    assert "hidden" in unread_badge(client.get("/notifications").data)


def test_mark_read_touches_only_my_notifications(client, auth, admin, shopper):
    other_admin = make_user("admin2@example.com", "Bo", admin=True)
    make_order(shopper, make_product(stock=10, threshold=0))
    auth.login(admin.email)

    client.post("/notifications/read", data={"up_to_seq": "5"})

    assert [n.read for n in notifications_of(other_admin)] == [False]


def test_empty_inbox(client, auth, shopper):
    auth.login()
    assert b"Nothing here yet." in client.get("/notifications").data


def test_inbox_needs_a_login(client, app):
    assert client.get("/notifications").status_code == 302
    assert client.post("/notifications/read").status_code == 302
