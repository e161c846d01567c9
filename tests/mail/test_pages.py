"""The pages of email: preferences without JavaScript, the one-click unsubscribe, the
forgot-password flow and the admin's mail page."""

import re
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from itsdangerous.timed import TimestampSigner
from sqlalchemy import update

from shop.extensions import db
from shop.models import LoginSession, MailDelivery
from shop.models.base import utcnow
from shop.services import mail, preferences
from testing.data import PASSWORD, count, make_order, make_product, make_user, write_notification
from testing.smtp import EMAIL_DELAY, text_of

LINK = re.compile(r"http://127\.0\.0\.1:5000(/auth/reset/\S+)")


def signed_in(app, email="alice@example.com", password=PASSWORD):
    client = app.test_client()
    response = client.post("/auth/login", data={"email": email, "password": password})
    assert response.status_code == 302, response.data
    return client


def test_preferences_are_switches_that_work_without_javascript(mail_app):
    alice = make_user("alice@example.com", "Alice")
    client = signed_in(mail_app)
    page = client.get("/account/notifications").get_data(as_text=True)
    assert 'name="email-orders"' in page and 'name="email-messages"' in page
    assert "email-new_orders" not in page  # admins only
    assert page.count(" checked") == 6  # email and push, every topic on

    response = client.post("/account/notifications", data={"email-orders": "on", "push-messages": "on"})
    assert response.status_code == 302
    settings = preferences.settings_of(alice.id, False)
    assert settings["email"] == {"orders": True, "back_in_stock": False, "messages": False}
    assert settings["push"] == {"orders": False, "back_in_stock": False, "messages": True}
    page = client.get("/account/notifications").get_data(as_text=True)
    assert re.search(r'name="email-orders"[^>]*checked', page)
    assert not re.search(r'name="email-back_in_stock"[^>]*checked', page)


def test_admins_also_choose_new_orders_and_low_stock(mail_app):
    make_user("admin@example.com", "Ada", admin=True)
    page = signed_in(mail_app, "admin@example.com").get("/account/notifications").get_data(as_text=True)
    assert 'name="email-new_orders"' in page and 'name="email-low_stock"' in page


def test_the_preferences_page_needs_a_login(mail_app):
    response = mail_app.test_client().get("/account/notifications")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_one_click_unsubscribe_is_one_post_without_a_cookie(mail_app, mailbox):
    alice = make_user("alice@example.com", "Alice")
    write_notification(alice.id, "Shipped")
    mail.plan_digests(utcnow() + timedelta(seconds=EMAIL_DELAY + 1))
    mail.send_due()
    [message] = mailbox.messages
    url = message["List-Unsubscribe"].strip().strip("<>")
    path = urlsplit(url).path

    stranger = mail_app.test_client()  # no cookie, no CSRF token: what a mail client sends
    response = stranger.post(path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert b"no longer email alice@example.com about: Order updates" in response.data
    assert preferences.settings_of(alice.id, False)["email"]["orders"] is False
    assert preferences.settings_of(alice.id, False)["email"]["back_in_stock"] is True

    write_notification(alice.id, "Delivered")
    mail.plan_digests(utcnow() + timedelta(seconds=EMAIL_DELAY + 1))
    assert mail.send_due() == 0


def test_the_unsubscribe_get_only_asks_and_a_forged_token_is_404(mail_app):
    alice = make_user("alice@example.com", "Alice")
    token = preferences.unsubscribe_token(alice.id, "orders")
    client = mail_app.test_client()
    assert client.get(f"/unsubscribe/{token}").status_code == 200
    assert preferences.settings_of(alice.id, False)["email"]["orders"] is True  # link scanners change nothing
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert client.post(f"/unsubscribe/{forged}").status_code == 404
    assert client.post("/unsubscribe/not-a-token").status_code == 404


def reset_link(mailbox, to="alice@example.com") -> str:
    mail.send_due()
    [message] = mailbox.to(to)
    return LINK.search(text_of(message)).group(1)


def test_a_reset_link_works_once_and_signs_out_every_other_session(mail_app, mailbox):
    make_user("alice@example.com", "Alice")
    other_browser = signed_in(mail_app)
    client = mail_app.test_client()
    client.post("/auth/forgot", data={"email": "Alice@Example.com "})
    link = reset_link(mailbox)
    assert mailbox.messages[0]["List-Unsubscribe"] is None  # asked for: nothing to unsubscribe from

    assert client.get(link).status_code == 200
    response = client.post(link, data={"password": "brand new pass", "confirm": "brand new pass"})
    assert response.status_code == 302
    assert client.get("/account").status_code == 200  # signed in afresh
    assert other_browser.get("/account").status_code == 302  # signed out
    assert count(LoginSession) == 1

    again = mail_app.test_client().post(link, data={"password": "another pass1", "confirm": "another pass1"})
    assert again.status_code == 400
    assert b"expired or was used" in again.data
    assert signed_in(mail_app, password="brand new pass")


def test_a_password_change_invalidates_a_reset_link(mail_app, mailbox):
    make_user("alice@example.com", "Alice")
    mail_app.test_client().post("/auth/forgot", data={"email": "alice@example.com"})
    link = reset_link(mailbox)
    client = signed_in(mail_app)
    client.post(
        "/auth/password", data={"current": PASSWORD, "password": "changed pass", "confirm": "changed pass"}
    )
    assert mail_app.test_client().get(link).status_code == 400


def test_a_reset_link_expires_after_an_hour(mail_app, mailbox, monkeypatch):
    make_user("alice@example.com", "Alice")
    mail_app.test_client().post("/auth/forgot", data={"email": "alice@example.com"})
    link = reset_link(mailbox)
    max_age = mail_app.config["RESET_MAX_AGE_SECONDS"]
    assert max_age == 3600
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) + max_age + 1)
    response = mail_app.test_client().post(
        link, data={"password": "brand new pass", "confirm": "brand new pass"}
    )
    assert response.status_code == 400
    assert b"expired" in response.data


@pytest.mark.app_config(
    RATELIMIT_ENABLED=True, RESET_EMAIL_RATE_LIMIT="2 per hour", RESET_RATE_LIMIT="100/minute"
)
def test_reset_emails_are_throttled_per_address_with_the_same_answer(mail_app, mailbox):
    make_user("alice@example.com", "Alice")
    answers = set()
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):  # from anywhere: the address's own budget
        client = mail_app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        response = client.post("/auth/forgot", data={"email": "alice@example.com"}, follow_redirects=True)
        answers.add((response.status_code, b"If that address has an account" in response.data))
    assert answers == {(200, True)}
    assert count(MailDelivery) == 2


@pytest.mark.app_config(RATELIMIT_ENABLED=True, RESET_RATE_LIMIT="2 per minute")
def test_the_forgot_form_is_throttled_per_client(mail_app):
    client = mail_app.test_client()
    statuses = [
        client.post("/auth/forgot", data={"email": f"x{i}@example.com"}).status_code for i in range(3)
    ]
    assert statuses == [302, 302, 429]


def test_bad_forgot_input_is_a_400_page(mail_app):
    response = mail_app.test_client().post("/auth/forgot", data={"email": ""})
    assert response.status_code == 400


def test_the_admin_mail_page_shows_sent_failed_and_waiting(mail_app, mailbox):
    alice = make_user("alice@example.com", "Alice")
    make_user("admin@example.com", "Ada", admin=True)
    make_order(alice, make_product(), key="one")
    mail.send_due()
    mailbox.refusing = True
    make_order(alice, make_product("Kettle"), key="two")
    mail.send_due()
    third = make_order(alice, make_product("Mug"), key="three")
    retries = len(mail_app.config["MAIL_RETRY_SECONDS"])  # its last try comes next
    db.session.execute(update(MailDelivery).where(MailDelivery.order_id == third.id).values(attempts=retries))
    db.session.commit()
    mail.send_due()
    admin = signed_in(mail_app, "admin@example.com")
    page = admin.get("/admin/mail").get_data(as_text=True)
    assert page.count('data-mail-status="sent"') == 1
    assert page.count('data-mail-status="pending"') == 1
    assert "451 4.3.0 Try again later" in page
    waiting = admin.get("/admin/mail?status=pending").get_data(as_text=True)
    assert 'data-mail-status="sent"' not in waiting
    assert signed_in(mail_app).get("/admin/mail").status_code == 403
    assert page.count('data-mail-status="failed"') == 1
