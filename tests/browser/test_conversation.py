"""The order conversation as two people see it: a shopper on their order page and an
admin on the admin order page write to each other live, with presence, typing and
"Seen", and the shopper's other page gets a toast; nothing reloads."""

import pytest
from playwright.sync_api import expect

from testing import steps

pytestmark = pytest.mark.browser


def test_a_shopper_and_an_admin_chat_live_in_two_pages(browsing):
    shopper = browsing.shopper("Olga Browser")
    order_id = steps.buy(shopper, "grinder", "Burr Coffee Grinder")
    steps.open_live(shopper, f"/orders/{order_id}")
    admin = browsing.admin()
    steps.open_live(admin, f"/admin/orders/{order_id}")
    elsewhere = shopper.context.new_page()
    steps.open_live(elsewhere, "/orders")

    expect(shopper.locator("[data-presence]")).to_have_text("The shop is online")
    expect(admin.locator("[data-presence]")).to_have_text("The customer is on the site")

    steps.send_message(shopper, "Can it ship before Friday?\nIt is a present.")
    expect(steps.thread_messages(shopper)).to_have_count(1)
    expect(shopper.locator("[data-thread]").get_by_label("Your message")).to_have_value("")
    mine = steps.thread_messages(admin)
    expect(mine).to_have_count(1)
    expect(mine.first).to_contain_text("Olga Browser")
    expect(mine.first.locator(".message-body")).to_have_text("Can it ship before Friday?\nIt is a present.")
    expect(shopper.locator("[data-seen]")).to_be_visible()  # the admin's open page read it

    admin.locator("[data-thread]").get_by_label("Your message").press_sequentially("Yes", delay=50)
    expect(shopper.locator("[data-typing]")).to_have_text("Hearth & Bean is typing…")
    steps.send_message(admin, "Yes: it leaves on Thursday.")
    answer = steps.thread_messages(shopper).nth(1)
    expect(answer).to_contain_text("Yes: it leaves on Thursday.")
    expect(answer.locator(".message-author")).to_have_text("Hearth & Bean")
    expect(shopper.locator("[data-typing]")).to_be_hidden()
    expect(shopper.locator("[data-seen]")).to_be_hidden()  # the last message is the shop's now
    expect(admin.locator("[data-seen]")).to_be_visible()
    toast = steps.toast(elsewhere, "message")
    expect(toast.filter(has_text=f"Hearth & Bean answered about order #{order_id}")).to_be_visible()

    for page in (shopper, admin, elsewhere):
        assert steps.still_same_document(page)
    shopper.reload()
    expect(steps.thread_messages(shopper)).to_have_count(2)
