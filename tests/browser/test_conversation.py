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
    conversations = admin.context.new_page()
    steps.open_live(conversations, "/admin/conversations")
    badge = conversations.locator("[data-conversations-badge]")
    unread_before = int(badge.text_content() or 0)
    elsewhere = shopper.context.new_page()
    steps.open_live(elsewhere, "/orders")
    steps.send_message(shopper, "Are you there?")  # before the admin opens the order
    row = conversations.locator(f"[data-conversations] tr[data-order-id='{order_id}']")
    expect(row.locator("[data-conversation-new]")).to_be_visible()
    expect(row).to_contain_text("Are you there?")
    expect(badge).to_have_text(str(unread_before + 1))
    steps.open_live(admin, f"/admin/orders/{order_id}")  # opening the thread reads it
    expect(row.locator("[data-conversation-new]")).to_be_hidden()
    if unread_before:
        expect(badge).to_have_text(str(unread_before))
    else:
        expect(badge).to_be_hidden()

    expect(shopper.locator("[data-presence]")).to_have_text("The shop is online")
    expect(admin.locator("[data-presence]")).to_have_text("The customer is on the site")

    steps.send_message(shopper, "Can it ship before Friday?\nIt is a present.")
    expect(steps.thread_messages(shopper)).to_have_count(2)
    expect(shopper.locator("[data-thread]").get_by_label("Your message")).to_have_value("")
    mine = steps.thread_messages(admin)
    expect(mine).to_have_count(2)
    expect(mine.last).to_contain_text("Olga Browser")
    expect(mine.last.locator(".message-body")).to_have_text("Can it ship before Friday?\nIt is a present.")
    expect(shopper.locator("[data-seen]")).to_be_visible()  # the admin's open page read it

    admin.locator("[data-thread]").get_by_label("Your message").press_sequentially("Yes", delay=50)
    typing = shopper.locator("[data-typing]")
    expect(typing).to_have_text("Hearth & Bean is typing…")
    expect(typing).to_be_hidden()  # it expires by itself when no more comes
    admin.locator("[data-thread]").get_by_label("Your message").press_sequentially("!")
    expect(typing).to_be_visible()
    steps.send_message(admin, "Yes: it leaves on Thursday.")
    answer = steps.thread_messages(shopper).nth(2)
    expect(answer).to_contain_text("Yes: it leaves on Thursday.")
    expect(answer.locator(".message-author")).to_have_text("Hearth & Bean")
    expect(shopper.locator("[data-typing]")).to_be_hidden()
    expect(shopper.locator("[data-seen]")).to_be_hidden()  # the last message is the shop's now
    expect(admin.locator("[data-seen]")).to_be_visible()
    toast = steps.toast(elsewhere, "message")
    expect(toast.filter(has_text=f"Hearth & Bean answered about order #{order_id}")).to_be_visible()
    expect(steps.unread_badge(elsewhere)).to_be_hidden()  # the open thread read it: every tab's badge clears

    for page in (shopper, admin, elsewhere, conversations):
        assert steps.still_same_document(page)
    shopper.reload()
    expect(steps.thread_messages(shopper)).to_have_count(3)
