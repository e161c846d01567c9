"""The order conversation through its service and its no-JS forms: who is told, idempotency
by client id (racing threads on SQLite and PostgreSQL), validation, the per-person budget,
read state, and the pages of both sides."""

import re

import pytest
from sqlalchemy import select

from shop.extensions import db
from shop.models import Notification, OrderMessage
from shop.models.message import SHOP_NAME
from shop.services import messages
from shop.services.errors import InvalidInput, NotFound, RateLimited
from shop.services.messages import MAX_BODY, Reader
from testing.apps import run_together, statements_run
from testing.data import World, count, make_order, make_user, snapshot
from testing.shopper import Auth

LIMIT = 20


@pytest.fixture
def world(app) -> World:
    world = World()
    world.admin2 = make_user("bea@example.com", "Bea", admin=True)
    return world


def send(who, order_id: int, body: str, client_id: str, **options) -> dict:
    return messages.send_message(
        Reader.of(who), order_id, body, client_id, options.pop("limit", LIMIT), **options
    )


def message_notes(user) -> list[Notification]:
    db.session.rollback()
    found = select(Notification).where(Notification.user_id == user.id, Notification.kind == "message")
    return list(db.session.scalars(found.order_by(Notification.seq)))


def test_a_shoppers_message_tells_every_admin_and_the_reply_tells_the_owner(world):
    asked = send(world.alice, world.order.id, "  Can it ship before Friday?\n", "alice-1")
    answered = send(world.admin, world.order.id, "Yes, on Thursday.", "ada-1")

    assert asked["body"] == "Can it ship before Friday?"
    assert asked["author"] == {"name": "Alice", "is_shop": False}
    assert answered["author"] == {"name": "Ada", "is_shop": True}  # as an admin sees it
    for admin in (world.admin, world.admin2):
        [note] = message_notes(admin)
        assert (note.title, note.body, note.url) == (
            f"Alice wrote about order #{world.order.id}",
            "Can it ship before Friday?",
            f"/admin/orders/{world.order.id}",
        )
    [reply] = message_notes(world.alice)
    assert reply.title == f"{SHOP_NAME} answered about order #{world.order.id}"
    assert (reply.body, reply.url) == ("Yes, on Thursday.", f"/orders/{world.order.id}")
    assert message_notes(world.bob) == []
    thread = messages.thread_for(Reader.of(world.alice), world.order)
    assert [m.author_name(thread.for_shop) for m in thread.messages] == ["Alice", SHOP_NAME]


def test_the_same_client_id_twice_is_one_message_and_one_notification(world):
    first = send(world.alice, world.order.id, "Hello", "same-id")
    again = send(world.alice, world.order.id, "Hello (retry)", "same-id")

    assert again == first
    assert count(OrderMessage) == 1
    assert len(message_notes(world.admin)) == 1
    with pytest.raises(InvalidInput):  # one client id names one message, on one order
        send(world.alice, make_order_for(world.alice, world), "Hello", "same-id")


def make_order_for(user, world) -> int:
    return make_order(user, world.product, key="second-order").id


def test_racing_sends_of_one_client_id_store_one_message(db_app):
    world = World()
    jobs = [lambda: send(world.alice, world.order.id, "Double click", "racing-id")["id"] for _ in range(8)]

    results = run_together(db_app, jobs)

    assert len(set(results)) == 1 and isinstance(results[0], int), results
    assert count(OrderMessage) == 1
    assert len(message_notes(world.admin)) == 1


@pytest.mark.parametrize(
    "body, problem",
    [("", "empty"), (" \n\t ", "empty"), ("x" * (MAX_BODY + 1), "at most"), (None, "Write a message")],
)
def test_an_empty_or_oversized_body_is_refused_and_stores_nothing(world, body, problem):
    before = snapshot()
    with pytest.raises(InvalidInput, match=problem):
        send(world.alice, world.order.id, body, "bad-body")
    assert snapshot() == before


def test_a_body_of_the_largest_size_after_trimming_is_kept(world):
    sent = send(world.alice, world.order.id, "  " + "y" * MAX_BODY + "\n\n", "largest")
    assert len(sent["body"]) == MAX_BODY


@pytest.mark.parametrize("client_id", ["", "x" * 65, "no spaces", None, 7])
def test_a_broken_client_id_is_refused(world, client_id):
    with pytest.raises(InvalidInput):
        send(world.alice, world.order.id, "Hi", client_id)


def test_a_stranger_and_an_admin_posing_as_the_customer_are_told_there_is_no_order(world):
    before = snapshot()
    with pytest.raises(NotFound):
        send(world.bob, world.order.id, "Hi", "bob-1")
    with pytest.raises(NotFound):
        send(world.admin, world.order.id, "Hi", "ada-1", as_shop=False)
    with pytest.raises(NotFound):
        send(world.alice, world.order.id, "Hi", "alice-1", as_shop=True)
    with pytest.raises(NotFound):
        send(world.alice, 999_999, "Hi", "alice-2")
    with pytest.raises(NotFound):
        messages.read_messages(Reader.of(world.bob), world.order.id, 99)
    assert snapshot() == before


def test_past_the_budget_a_message_is_refused_and_not_stored(world):
    for n in range(3):
        send(world.alice, world.order.id, f"Message {n}", f"budget-{n}", limit=3)
    with pytest.raises(RateLimited):
        send(world.alice, world.order.id, "One too many", "budget-3", limit=3)
    assert count(OrderMessage) == 3
    send(world.admin, world.order.id, "The shop has a budget of its own", "ada-1", limit=3)


def test_the_shop_reading_clears_every_admins_message_news_and_is_seen_by_the_customer(world):
    asked = send(world.alice, world.order.id, "Hello?", "alice-1")
    assert messages.unread_threads() == 1

    unread = messages.read_messages(Reader.of(world.admin2), world.order.id, asked["id"])

    assert unread == 0
    assert all(n.read for admin in (world.admin, world.admin2) for n in message_notes(admin))
    assert messages.unread_threads() == 0
    thread = messages.thread_for(Reader.of(world.alice), world.order)
    assert thread.seen_up_to == asked["id"] == thread.my_last_id


def test_conversations_list_unread_threads_first(world):
    second = make_order_for(world.alice, world)
    send(world.alice, world.order.id, "First thread", "a-1")
    send(world.alice, second, "Second thread", "a-2")
    send(world.admin, second, "Answered", "ada-1")  # the shop read the second by answering it

    listed = messages.conversations(1, 20).items

    assert [state.order_id for state in listed] == [world.order.id, second]
    assert [state.unread_for_shop for state in listed] == [True, False]


# -- the pages and their forms, without JavaScript ------------------------------------------


def login(client, email: str) -> None:
    assert Auth(client).login(email).status_code == 302


def test_the_shopper_writes_without_javascript_and_the_page_shows_it_escaped(world, client):
    login(client, "alice@example.com")
    body = "<script>alert(1)</script>\nSecond line"

    posted = client.post(f"/orders/{world.order.id}/messages", data={"body": body, "client_id": "form-1"})
    page = client.get(posted.headers["Location"])

    assert posted.status_code == 302
    assert posted.headers["Location"] == f"/orders/{world.order.id}#thread"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;\nSecond line" in page.get_data(as_text=True)
    assert b"<script>alert(1)" not in page.data
    again = client.post(f"/orders/{world.order.id}/messages", data={"body": body, "client_id": "form-1"})
    assert again.status_code == 302 and count(OrderMessage) == 1  # the page posted twice


@pytest.mark.parametrize("body", ["", "   ", "z" * (MAX_BODY + 1)])
def test_a_bad_body_from_the_form_is_a_400_with_the_reason_and_keeps_the_text(world, client, body):
    login(client, "alice@example.com")
    response = client.post(f"/orders/{world.order.id}/messages", data={"body": body, "client_id": "f"})
    assert response.status_code == 400
    assert b'class="flash flash-error"' in response.data
    textarea = re.search(r'<textarea[^>]*name="body"[^>]*>\n(.*?)</textarea>', response.text, re.S)
    assert textarea and textarea.group(1) == body  # what was written stays in the form
    assert count(OrderMessage) == 0


def test_the_admin_answers_without_javascript_and_the_shopper_sees_the_shop(world, client):
    send(world.alice, world.order.id, "When?", "alice-1")
    login(client, "admin@example.com")
    nav = client.get("/admin/conversations").get_data(as_text=True)
    assert re.search(r"data-conversations-badge\s*>1<", nav)

    posted = client.post(
        f"/admin/orders/{world.order.id}/messages", data={"body": "Thursday", "client_id": "a"}
    )
    admin_page = client.get(f"/admin/orders/{world.order.id}").get_data(as_text=True)
    Auth(client).logout()
    login(client, "alice@example.com")
    shopper_page = client.get(f"/orders/{world.order.id}").get_data(as_text=True)

    assert posted.status_code == 302
    assert posted.headers["Location"] == f"/admin/orders/{world.order.id}#thread"
    assert '<strong class="message-author">Ada</strong>' in admin_page
    assert '<strong class="message-author">Hearth &amp; Bean</strong>' in shopper_page
    assert "Ada" not in shopper_page.split('id="thread"')[1]
    # Alice opened the page: her side read the answer, which the admin's page shows as seen.
    Auth(client).logout()
    login(client, "admin@example.com")
    seen = client.get(f"/admin/orders/{world.order.id}").get_data(as_text=True)
    assert re.search(r"data-seen\s*>Seen<", seen)


def test_an_order_without_a_thread_reads_no_messages_and_its_first_shows(world, client):
    """The thread's row comes with the first message and is read with the order, so its
    absence spares the page two queries."""
    login(client, "alice@example.com")
    with statements_run() as run:
        quiet = client.get(f"/orders/{world.order.id}").get_data(as_text=True)
    assert 'id="thread"' in quiet and not [s for s in run if "FROM order_messages" in s]
    assert not [s for s in run if "FROM order_threads" in s]  # its absence came with the order

    send(world.admin, world.order.id, "Roasting it Monday", "admin-1")
    with statements_run() as run:
        page = client.get(f"/orders/{world.order.id}").get_data(as_text=True)
    assert "Roasting it Monday" in page.split('id="thread"')[1]
    assert len([s for s in run if "FROM order_messages" in s]) == 1
