"""Email through a real SMTP server: the confirmation at once and once, a digest of
exactly what was not seen, retries that keep their Message-ID, and leases."""

from datetime import timedelta
from functools import partial

import pytest
from sqlalchemy import select, update

from shop.extensions import db
from shop.models import MailDelivery, Notification, User
from shop.models.base import utcnow
from shop.models.mail import CONFIRMATION, DIGEST, FAILED, PENDING, SENT
from shop.services import mail, notifications, orders, preferences
from testing.apps import drain, run_together
from testing.data import count, make_order, make_product, make_user, write_notification
from testing.smtp import EMAIL_DELAY as DELAY
from testing.smtp import SilentServer, html_of, text_of


def later(seconds: float = DELAY + 1):
    return utcnow() + timedelta(seconds=seconds)


def deliveries() -> list[MailDelivery]:
    db.session.rollback()
    return list(db.session.scalars(select(MailDelivery).order_by(MailDelivery.id)))


def due_now() -> None:
    """Make every waiting retry due (instead of waiting MAIL_RETRY_SECONDS)."""
    db.session.execute(update(MailDelivery).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()


def test_the_order_confirmation_arrives_at_once_and_once(mail_app, mailbox):
    alice = make_user("alice@example.com", "Alice")
    order = make_order(alice, make_product("Teapot", price_cents=2500), 2)

    assert mail.send_due() == 1
    assert mail.send_due() == 0
    mail.plan_digests(later())
    mail.send_due()

    [message] = mailbox.messages
    assert message["To"] == "alice@example.com"
    assert message["Subject"] == f"Your order #{order.id} is placed"
    text = text_of(message)
    assert "2 x Teapot" in text and "Total:" in text
    assert f"http://127.0.0.1:5000/orders/{order.id}" in text
    assert f'href="http://127.0.0.1:5000/orders/{order.id}"' in html_of(message)
    [delivery] = deliveries()
    assert (delivery.kind, delivery.status, delivery.attempts) == (CONFIRMATION, SENT, 1)
    assert message["Message-ID"] == delivery.message_id
    assert message["List-Unsubscribe"].strip().startswith("<http://127.0.0.1:5000/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_cancellation_is_emailed_and_not_again_in_the_digest(mail_app, mailbox):
    alice = make_user("alice@example.com", "Alice")
    order = make_order(alice, make_product())
    orders.cancel_order(order.id, alice.id)
    mail.send_due()
    mail.plan_digests(later())
    mail.send_due()

    assert [m["Subject"] for m in mailbox.messages] == [
        f"Your order #{order.id} is placed",
        f"Your order #{order.id} is cancelled",
    ]


def test_a_digest_holds_exactly_the_unseen_notifications(mail_app, mailbox):
    alice = make_user("alice@example.com", "Alice")
    bob = make_user("bob@example.com", "Bob")
    for title in ("Seen on the site", "Read in the inbox", "Shipped", "Delivered"):
        write_notification(alice.id, title)
    write_notification(bob.id, "Bob's news")
    mail.mark_seen(alice.id, 1)
    notifications.mark_read(alice.id, 2)

    assert mail.plan_digests(utcnow()) == 0  # nothing unseen for long enough yet
    assert mail.plan_digests(later()) == 2
    assert mail.plan_digests(later()) == 0  # decided once
    assert mail.send_due() == 2

    [digest] = mailbox.to("alice@example.com")
    assert digest["Subject"] == "2 updates from the shop"
    text = text_of(digest)
    assert "Shipped" in text and "Delivered" in text
    assert "Seen on the site" not in text and "Read in the inbox" not in text
    assert [d.data["seqs"] for d in deliveries() if d.user_id == alice.id] == [[3, 4]]
    assert [m["Subject"] for m in mailbox.to("bob@example.com")] == ["Bob's news"]


def test_what_was_seen_is_never_mailed(mail_app, mailbox):
    alice = make_user("alice@example.com", "Alice")
    write_notification(alice.id, "Shipped")
    write_notification(alice.id, "Delivered")
    assert mail.mark_seen(alice.id, 99) == 2  # never past the last seq

    assert mail.plan_digests(later()) == 0
    assert mail.send_due() == 0
    assert mailbox.messages == []
    write_notification(alice.id, "Back in stock")  # a later one is still told
    mail.plan_digests(later())
    mail.send_due()
    assert [m["Subject"] for m in mailbox.messages] == ["Back in stock"]


def test_a_notification_seen_later_than_the_delay_waits_for_the_next_one(mail_app, mailbox):
    """The window starts at the oldest unseen notification, not at a seen one."""
    alice = make_user("alice@example.com", "Alice")
    write_notification(alice.id, "Seen")
    mail.mark_seen(alice.id, 1)
    write_notification(alice.id, "Not yet due")
    db.session.execute(
        update(Notification).where(Notification.seq == 1).values(created_at=utcnow() - timedelta(hours=1))
    )
    db.session.commit()
    assert mail.plan_digests(utcnow()) == 0


def test_a_kind_turned_off_is_not_mailed(mail_app, mailbox):
    alice = make_user("alice@example.com", "Alice")
    preferences.save(alice.id, "email", {"orders"})  # back in stock off
    write_notification(alice.id, "Teapot is back", kind="back_in_stock")
    write_notification(alice.id, "Shipped")
    mail.plan_digests(later())
    mail.send_due()
    [message] = mailbox.messages
    assert message["Subject"] == "Shipped"
    assert "/unsubscribe/" in message["List-Unsubscribe"]


def test_a_refusing_server_is_retried_with_the_same_message_id_then_failed(mail_app, mailbox):
    alice = make_user("alice@example.com", "Alice")
    make_order(alice, make_product())
    mailbox.refusing = True
    assert mail.send_due() == 0
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts) == (PENDING, 1)
    assert "451" in delivery.last_error
    assert delivery.next_attempt_at > utcnow()
    assert mail.send_due() == 0  # not due again yet: backoff

    due_now()
    mailbox.refusing = False
    assert mail.send_due() == 1
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts, delivery.last_error) == (SENT, 2, "")
    assert mailbox.message_ids() == [delivery.message_id]


def test_a_server_that_keeps_refusing_ends_as_failed(mail_app, mailbox):
    make_order(make_user("alice@example.com", "Alice"), make_product())
    mailbox.refusing = True
    retries = len(mail_app.config["MAIL_RETRY_SECONDS"])
    for _ in range(retries + 1):
        due_now()
        mail.send_due()
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts) == (FAILED, retries + 1)
    due_now()
    assert mail.send_due() == 0
    assert mailbox.messages == []


def test_a_hanging_server_times_out_and_the_mail_waits_for_a_retry(mail_app, mailbox):
    alice = make_user("alice@example.com", "Alice")
    make_order(alice, make_product())
    with SilentServer() as silent:
        mail_app.config.update(silent.settings(timeout=0.5))
        mail.send_due()
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts) == (PENDING, 1)
    assert "timed out" in delivery.last_error.lower()
    mail_app.config.update(mailbox.settings())
    due_now()
    assert mail.send_due() == 1


def test_a_sender_killed_mid_send_leaves_the_mail_to_another_after_its_lease(mail_app, mailbox):
    make_order(make_user("alice@example.com", "Alice"), make_product())
    claimed = mail.claim_one("dead-sender")  # and then it dies
    assert mail.claim_one("other") is None  # held by the lease
    lease = mail_app.config["MAIL_LEASE_SECONDS"]
    assert mail.claim_one("other", now=later(lease + 1)) == claimed
    assert mail.deliver(mail_app, claimed, "other") == 1
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts) == (SENT, 2)
    assert mailbox.message_ids() == [delivery.message_id]


def test_the_digest_decision_survives_a_failed_send(mail_app, mailbox):
    """The decision is a row: a send that fails does not decide again or lose it."""
    alice = make_user("alice@example.com", "Alice")
    write_notification(alice.id, "Shipped")
    mailbox.refusing = True
    mail.plan_digests(later())
    mail.send_due()
    assert mail.plan_digests(later()) == 0
    mailbox.refusing = False
    due_now()
    mail.send_due()
    assert [m["Subject"] for m in mailbox.messages] == ["Shipped"]
    assert [d.kind for d in deliveries()] == [DIGEST]
    assert db.session.scalar(select(User.mailed_seq).where(User.id == alice.id)) == 1


def test_two_senders_racing_send_each_mail_once(mail_db_app, mailbox):
    """100 people with a notification due, two senders planning and sending at once."""
    people = [make_user(f"p{i}@example.com", f"P{i}") for i in range(100)]
    for person in people:
        write_notification(person.id, f"News for {person.name}")
    db.session.commit()

    def sender():
        pending = partial(count, MailDelivery, MailDelivery.status == PENDING)
        return drain(lambda: mail.plan_digests(later()), mail.send_due, pending)

    results = run_together(mail_db_app, [sender, sender])
    assert all(isinstance(r, int) for r in results), results
    ids = mailbox.message_ids()
    assert len(ids) == len(set(ids)) == 100
    assert sorted(m["To"] for m in mailbox.messages) == sorted(p.email for p in people)
    assert sum(results) == 100
    assert count(MailDelivery) == count(MailDelivery, MailDelivery.status == SENT) == 100


@pytest.mark.parametrize("who", ["alice@example.com", "nobody@example.com"])
def test_unknown_and_known_addresses_get_the_same_reset_answer(mail_app, mailbox, who):
    make_user("alice@example.com", "Alice")
    response = mail_app.test_client().post("/auth/forgot", data={"email": who}, follow_redirects=True)
    assert response.status_code == 200
    assert b"If that address has an account" in response.data
    mail.send_due()
    assert len(mailbox.messages) == (1 if who.startswith("alice") else 0)
