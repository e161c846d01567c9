"""Web Push through a real HTTP push service that checks the VAPID signature and decrypts
each push (RFC 8291/8292): what is pushed, when, once, and what a 410 does."""

from datetime import timedelta
from functools import partial

import pytest
from sqlalchemy import select, update

from shop.extensions import db
from shop.models import MailDelivery, Notification, PushMessage, PushSubscription
from shop.models.base import utcnow
from shop.models.push import FAILED, PENDING, REPLACED, SEEN, SENT
from shop.services import accounts, mail, notifications, preferences, push
from shop.services.errors import NotFound
from testing.apps import drain, run_together
from testing.data import count, make_user, write_notification
from testing.pushservice import PUSH_DELAY as DELAY
from testing.pushservice import PushService
from testing.smtp import EMAIL_DELAY


def later(seconds: float = DELAY + 1):
    return utcnow() + timedelta(seconds=seconds)


def device_of(user, service: PushService, **answer):
    """A browser of ``user``'s with push on, its keys made here."""
    device = service.new_device(**answer)
    token = accounts.start_session(user.id, "Mozilla/5.0 (X11; Linux x86_64) Chrome/140.0 Safari/537.36")
    push.subscribe(user.id, token, push.parse_subscription(device.subscription()), "Chrome/140.0 on Linux")
    return device


def pushes() -> list[PushMessage]:
    db.session.rollback()
    return list(db.session.scalars(select(PushMessage).order_by(PushMessage.id)))


def order_status(user, order_id: int, status: str) -> Notification:
    return write_notification(
        user.id,
        f"Order #{order_id} is {status}",
        body=f"Now {status}.",
        url=f"/orders/{order_id}",
        data={"order_id": order_id, "status": status},
    )


def test_an_unseen_notification_is_pushed_signed_encrypted_with_ttl_topic_and_urgency(push_app, service):
    alice = make_user("alice@example.com", "Alice")
    device = device_of(alice, service)
    order_status(alice, 7, "shipped")
    assert push.plan_pushes(utcnow()) == 0  # not NOTIFY_PUSH_DELAY_SECONDS old yet
    assert push.plan_pushes(later()) == 1
    assert push.send_due() == 1

    [received] = service.to(device)
    assert service.errors == []
    assert received.ttl == push_app.config["PUSH_TTL_SECONDS"] > 0
    assert (received.topic, received.urgency) == ("order-7", "normal")
    assert received.payload["title"] == "Order #7 is shipped"
    assert received.payload["body"] == "Now shipped."
    assert received.payload["url"] == "/orders/7"
    assert received.payload["icon"] == push.ICON
    assert (received.payload["tag"], received.payload["seq"]) == ("order-7", 1)
    [row] = pushes()
    assert (row.status, row.attempts) == (SENT, 1)
    assert db.session.get(PushSubscription, row.subscription_id).last_success_at is not None
    assert push.plan_pushes(later()) == 0 and push.send_due() == 0  # once


def test_a_message_is_pushed_with_high_urgency(push_app, service):
    alice = make_user("alice@example.com", "Alice")
    device = device_of(alice, service)
    write_notification(alice.id, "New message", kind="message", data={"order_id": 3})
    push.plan_pushes(later())
    push.send_due()
    [received] = service.to(device)
    assert (received.topic, received.urgency) == ("order-3-messages", "high")


def test_a_seen_notification_is_never_pushed(push_app, service):
    alice = make_user("alice@example.com", "Alice")
    device = device_of(alice, service)
    order_status(alice, 1, "shipped")
    mail.mark_seen(alice.id, 1)
    assert push.plan_pushes(later()) == 0
    assert push.send_due() == 0
    order_status(alice, 1, "delivered")  # decided, then seen before it went out
    assert push.plan_pushes(later()) == 1
    notifications.mark_read(alice.id, 2)
    assert push.send_due() == 0
    assert service.to(device) == [] and service.requests == 0
    assert [row.status for row in pushes()] == [SEEN]


def test_a_later_status_replaces_a_push_not_yet_out(push_app, service):
    alice = make_user("alice@example.com", "Alice")
    device = device_of(alice, service)
    order_status(alice, 5, "processing")
    push.plan_pushes(later())
    order_status(alice, 5, "shipped")
    order_status(alice, 9, "shipped")
    push.plan_pushes(later())
    assert push.send_due() == 2
    assert sorted((p.topic, p.payload["title"]) for p in service.to(device)) == [
        ("order-5", "Order #5 is shipped"),
        ("order-9", "Order #9 is shipped"),
    ]
    assert [row.status for row in pushes()] == [REPLACED, SENT, SENT]


def test_each_device_gets_it_and_nothing_from_before_it_subscribed(push_app, service):
    alice = make_user("alice@example.com", "Alice")
    order_status(alice, 1, "placed")
    phone = device_of(alice, service)
    laptop = device_of(alice, service)
    order_status(alice, 1, "shipped")
    push.plan_pushes(later())
    push.send_due()
    assert [p.payload["title"] for p in service.to(phone)] == ["Order #1 is shipped"]
    assert [p.payload["title"] for p in service.to(laptop)] == ["Order #1 is shipped"]


def test_push_preferences_are_kept(push_app, service):
    alice = make_user("alice@example.com", "Alice")
    device = device_of(alice, service)
    preferences.save(alice.id, "push", {"messages"})
    order_status(alice, 1, "shipped")
    assert push.plan_pushes(later()) == 0
    write_notification(alice.id, "New message", kind="message", data={"order_id": 1})
    push.plan_pushes(later())
    push.send_due()
    assert [p.payload["title"] for p in service.to(device)] == ["New message"]


@pytest.mark.parametrize("answer", [404, 410])
def test_a_subscription_that_is_gone_is_deleted(push_app, service, answer):
    alice = make_user("alice@example.com", "Alice")
    device_of(alice, service, answer=answer)
    order_status(alice, 1, "shipped")
    push.plan_pushes(later())
    assert push.send_due() == 0
    assert service.requests == 1 and service.errors == []
    assert count(PushSubscription) == 0 and count(PushMessage) == 0


def test_a_refusing_service_is_retried_then_failed(push_app, service):
    alice = make_user("alice@example.com", "Alice")
    device = device_of(alice, service, answer=503)
    order_status(alice, 1, "shipped")
    push.plan_pushes(later())
    for _ in range(3):
        push.send_due()
        db.session.execute(update(PushMessage).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    [row] = pushes()
    assert (row.status, row.attempts) == (FAILED, 3)  # PUSH_RETRY_SECONDS has two retries
    assert row.last_error.startswith("503")
    assert service.requests == 3 and service.to(device) == []
    assert count(PushSubscription) == 1  # not gone: only refusing


@pytest.mark.app_config(PUSH_TIMEOUT=0.5)
def test_a_hanging_service_times_out_and_the_push_waits_for_a_retry(push_app, service):
    alice = make_user("alice@example.com", "Alice")
    device_of(alice, service, delay=3)
    order_status(alice, 1, "shipped")
    push.plan_pushes(later())
    assert push.send_due() == 0
    [row] = pushes()
    assert (row.status, row.attempts) == (PENDING, 1)
    assert "Timeout" in row.last_error and row.next_attempt_at > utcnow()


def test_a_sender_killed_mid_send_leaves_the_push_to_another_after_its_lease(push_app, service):
    alice = make_user("alice@example.com", "Alice")
    device = device_of(alice, service)
    order_status(alice, 1, "shipped")
    push.plan_pushes(later())
    claimed = push.claim_one("dead-sender")  # and then it dies
    assert push.claim_one("other") is None  # held by the lease
    lease = push_app.config["PUSH_LEASE_SECONDS"]
    assert push.claim_one("other", now=later(lease + 1)) == claimed
    assert push.deliver(push_app, claimed, "other") == 1
    [row] = pushes()
    assert (row.status, row.attempts) == (SENT, 2)
    assert len(service.to(device)) == 1


def test_two_senders_racing_send_each_push_once(push_db_app, service):
    """60 people with a notification due, two runners planning and sending at once."""
    people = [make_user(f"p{i}@example.com", f"P{i}") for i in range(60)]
    devices = {person.id: device_of(person, service) for person in people}
    for person in people:
        order_status(person, person.id, "shipped")
    db.session.commit()

    def sender():
        pending = partial(count, PushMessage, PushMessage.status == PENDING)
        return drain(lambda: push.plan_pushes(later()), push.send_due, pending)

    results = run_together(push_db_app, [sender, sender])
    assert all(isinstance(r, int) for r in results), results
    assert sum(results) == 60
    assert service.errors == []
    for person in people:
        assert [p.payload["title"] for p in service.to(devices[person.id])] == [
            f"Order #{person.id} is shipped"
        ]
    assert count(PushMessage) == count(PushMessage, PushMessage.status == SENT) == 60


@pytest.mark.app_config(NOTIFY_EMAIL_DELAY_SECONDS=EMAIL_DELAY)
def test_a_push_shown_on_the_device_is_not_emailed(push_app, service):
    alice = make_user("alice@example.com", "Alice")
    device = device_of(alice, service)
    order_status(alice, 1, "shipped")
    order_status(alice, 2, "shipped")
    push.plan_pushes(later())
    push.send_due()
    shown = next(p for p in service.to(device) if p.topic == "order-1")
    push.mark_shown(shown.payload["shown"])  # what the service worker reports
    mail.plan_digests(later(EMAIL_DELAY + 1))
    [digest] = db.session.scalars(select(MailDelivery)).all()
    assert digest.data["seqs"] == [2]


def test_a_forged_shown_token_changes_nothing(push_app):
    with pytest.raises(NotFound):
        push.mark_shown("not-a-token")


def test_a_subscription_silent_for_30_days_is_pruned(push_app, service):
    alice = make_user("alice@example.com", "Alice")
    device_of(alice, service)
    assert push.prune() == 0
    assert push.prune(utcnow() + timedelta(days=31)) == 1
    assert count(PushSubscription) == 0


def test_a_browser_that_changes_hands_gets_none_of_the_first_persons_pushes(push_app, service):
    alice, bob = make_user("alice@example.com", "Alice"), make_user("bob@example.com", "Bob")
    device = device_of(alice, service)
    order_status(alice, 1, "shipped")
    push.plan_pushes(later())  # decided for Alice, not sent yet
    token = accounts.start_session(bob.id)
    push.subscribe(bob.id, token, push.parse_subscription(device.subscription()), "")
    assert push.send_due() == 0 and service.to(device) == []
    [row] = db.session.scalars(select(PushSubscription)).all()
    assert row.user_id == bob.id and count(PushMessage) == 0
