"""Email in Chromium: the preferences page (with and without JavaScript, applied live in
another tab), the forgot-password flow from the login page, and "seen" from a visible tab."""

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from shop.models import User
from testing import steps
from testing.browser import Browsing, open_browsing
from testing.processes import wait_until
from testing.server import LiveServer, start_server
from testing.smtp import Mailbox, text_of

pytestmark = pytest.mark.browser
KETTLE = "Stainless Steel Gooseneck Kettle"


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    with Mailbox() as box:
        yield box


@pytest.fixture(scope="module")
def mail_shop(tmp_path_factory, mailbox) -> Iterator[LiveServer]:
    with start_server(tmp_path_factory, BACKGROUND_POLL_SECONDS="0.2", **mailbox.env()) as server:
        yield server


@pytest.fixture
def mail_browsing(browser: Browser, mail_shop: LiveServer) -> Iterator[Browsing]:
    yield from open_browsing(browser, mail_shop)


def email_switch(page, label: str):
    return page.get_by_role("checkbox", name=label, exact=True)


def test_preferences_save_without_javascript(mail_browsing):
    page = mail_browsing.shopper(javascript=False)
    page.goto("/account")
    page.get_by_role("link", name="Notifications").click()
    expect(email_switch(page, "Back in stock")).to_be_checked()
    email_switch(page, "Back in stock").uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Your choices are saved.")).to_be_visible()
    expect(email_switch(page, "Back in stock")).not_to_be_checked()
    expect(email_switch(page, "Order updates")).to_be_checked()
    expect(page.get_by_role("checkbox", name="Back in stock by push")).to_be_checked()


def test_preferences_saved_in_one_tab_show_at_once_in_the_other(mail_browsing):
    first = mail_browsing.shopper()
    second = first.context.new_page()
    steps.open_live(second, "/account/notifications")
    steps.open_live(first, "/account/notifications")
    email_switch(first, "Messages").uncheck()
    first.get_by_role("button", name="Save").click()
    expect(first.get_by_role("status").filter(has_text="saved")).to_be_visible()

    expect(email_switch(second, "Messages")).not_to_be_checked()
    assert steps.still_same_document(second)


def test_forgot_password_from_the_login_page_to_a_new_password(mail_browsing, mailbox, mail_shop):
    page = mail_browsing.shopper()
    with mail_shop.database() as session:
        email = session.scalar(select(User.email).order_by(User.id.desc()))
    steps.wait_until_live(page)
    page.get_by_role("button", name="Log out").click()

    page.goto("/auth/login")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Email me a link").click()
    expect(page.get_by_role("status").filter(has_text="If that address has an account")).to_be_visible()
    wait_until(lambda: mailbox.to(email), "the reset email")
    link = re.search(r"/auth/reset/\S+", text_of(mailbox.to(email)[0])).group(0)

    page.goto(link)
    page.get_by_label("New password", exact=True).fill("a new browser password")
    page.get_by_label("Repeat new password").fill("a new browser password")
    page.get_by_role("button", name="Set password").click()
    expect(page.get_by_role("status").filter(has_text="Your password is changed")).to_be_visible()

    with mail_browsing.clean.tolerating(r"status of 400"):  # the used link's page is a 400
        page.goto(link)
        expect(page.get_by_role("alert").filter(has_text="expired or was used")).to_be_visible()
    steps.wait_until_live(page)  # its socket upgraded: the logout closes it cleanly
    page.get_by_role("button", name="Log out").click()
    steps.log_in(page, email, "a new browser password")


def test_a_notification_toasted_in_a_visible_tab_is_reported_seen(mail_browsing, mail_shop):
    page = mail_browsing.shopper()
    order_id = steps.buy(page, "kettle", KETTLE)
    steps.open_live(page, f"/orders/{order_id}")
    admin = mail_browsing.admin()
    steps.set_order_status(admin, order_id, "processing")
    expect(steps.toast(page, "order_status")).to_be_visible()

    def seen_seq():
        with mail_shop.database() as session:
            return session.scalar(
                select(User.seen_seq).where(
                    User.id == int(page.locator("body").get_attribute("data-user-id"))
                )
            )

    wait_until(lambda: seen_seq() >= 1, "the tab to report the notification seen")
