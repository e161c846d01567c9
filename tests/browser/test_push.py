"""Web Push in Chromium: the real service worker at /sw.js, a subscription of this browser
stored on the server, the server's push (VAPID-signed, encrypted, decrypted by a push
service in the test) delivered to the worker through the DevTools protocol, the
notification it shows, its report that the push was shown, and where its click leads.

Subscribing for real needs a push service these machines cannot reach, so the browser's
subscription is one whose keys the test's push service holds."""

import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from config import new_vapid_private_key, vapid_public_key
from shop.models import PushMessage, PushSubscription
from testing import steps
from testing.apps import database_session
from testing.browser import Browsing, open_browsing
from testing.data import write_notification
from testing.processes import wait_until
from testing.pushservice import PushService
from testing.server import LiveServer, start_server

pytestmark = pytest.mark.browser
SUBJECT = "mailto:browser-push@example.com"
PRIVATE = new_vapid_private_key()
VAPID = {
    "VAPID_PRIVATE_KEY": PRIVATE,
    "VAPID_PUBLIC_KEY": vapid_public_key(PRIVATE),
    "VAPID_SUBJECT": SUBJECT,
}


@pytest.fixture(scope="module")
def service() -> Iterator[PushService]:
    with PushService(VAPID["VAPID_PUBLIC_KEY"], SUBJECT) as push_service:
        yield push_service


@pytest.fixture(scope="module")
def push_shop(tmp_path_factory) -> Iterator[LiveServer]:
    settings = {
        "BACKGROUND_POLL_SECONDS": "0.2",
        "NOTIFY_PUSH_DELAY_SECONDS": "1",
        "PUSH_ALLOW_LOCAL_ENDPOINTS": "1",
    }
    with start_server(tmp_path_factory, **settings, **VAPID) as server:
        yield server


@pytest.fixture
def push_browsing(browser: Browser, push_shop: LiveServer) -> Iterator[Browsing]:
    yield from open_browsing(browser, push_shop)


def registration_id(page, events: list[dict]) -> str:
    """The id of the /sw.js registration once its version is activated, from the
    ServiceWorker.workerVersionUpdated events (Playwright hands them over while it waits)."""
    for _ in range(300):
        for event in events:
            for version in event["versions"]:
                if version["scriptURL"].endswith("/sw.js") and version["status"] == "activated":
                    return version["registrationId"]
        page.wait_for_timeout(100)
    raise AssertionError(f"the service worker never activated: {events}")


def test_a_push_is_shown_reported_and_its_click_opens_the_page(push_browsing, push_shop, service):
    page = push_browsing.page(permissions=["notifications"])
    steps.register(page, "Pia Push")
    steps.open_live(page, "/account/notifications")
    expect(page.get_by_role("button", name="Turn on notifications for this device")).to_be_visible()
    user_id = int(page.locator("body").get_attribute("data-user-id"))

    cdp = page.context.new_cdp_session(page)
    versions: list[dict] = []
    cdp.on("ServiceWorker.workerVersionUpdated", lambda event: versions.append(event))
    cdp.send("ServiceWorker.enable")
    page.evaluate(
        "navigator.serviceWorker.register('/sw.js', {scope: '/'}).then(() => navigator.serviceWorker.ready)"
    )
    registration = registration_id(page, versions)

    device = service.new_device()
    answer = page.evaluate(
        """async (subscription) => {
            const token = document.querySelector("[data-push-controls]").dataset.csrfToken;
            const headers = {"Content-Type": "application/json", "X-CSRFToken": token};
            const body = JSON.stringify(subscription);
            const response = await fetch("/push/subscriptions", {method: "POST", body, headers});
            return response.json();
        }""",
        device.subscription(),
    )
    assert answer["ok"] is True and answer["subscription"]["device"] == "Chromium on Linux" or answer["ok"], (
        answer
    )

    page.goto("about:blank")  # no tab of the shop sees what comes now
    with database_session(push_shop.database_url) as session:
        write_notification(user_id, "Order #41 is shipped", body="On its way.", url="/notifications")
    [received] = service.wait_for(1, "the server's push")
    assert service.errors == []
    assert received.ttl > 0 and received.urgency == "normal" and received.topic == received.payload["tag"]
    assert received.payload["title"] == "Order #41 is shipped"

    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": push_shop.url, "registrationId": registration, "data": json.dumps(received.payload)},
    )
    [worker] = page.context.service_workers or [page.context.wait_for_event("serviceworker")]
    shown: list[dict] = []

    def notifications_shown() -> bool:
        shown[:] = worker.evaluate(
            "self.registration.getNotifications()"
            ".then(list => list.map(n => ({title: n.title, body: n.body, tag: n.tag})))"
        )
        return bool(shown)

    wait_until(notifications_shown, "the notification to be shown")
    [notification] = shown
    assert notification["title"] == "Order #41 is shipped" and notification["body"] == "On its way."
    assert notification["tag"] == received.payload["tag"]

    with database_session(push_shop.database_url) as session:
        wait_until(
            lambda: session.scalar(select(PushMessage.shown_at)) is not None or session.rollback(),
            "the service worker's report that it showed the push",
        )
        assert session.scalar(select(PushSubscription.endpoint)) == device.endpoint

    steps.open_live(page, "/")  # a tab of the shop for the click to bring forward
    worker.evaluate(
        """async () => {
            const [notification] = await self.registration.getNotifications();
            const click = new NotificationEvent("notificationclick", {notification});
            const work = [];
            click.waitUntil = (promise) => work.push(promise);  // a synthetic event cannot extend itself
            self.dispatchEvent(click);
            await Promise.all(work);
        }"""
    )
    expect(page).to_have_url(f"{push_shop.url}/notifications")


KETTLE = "Stainless Steel Gooseneck Kettle"


def test_the_first_order_offers_push_once_and_never_prompts_on_its_own(push_browsing):
    page = push_browsing.page()
    steps.register(page, "Olga Offer")
    page.goto("/account/notifications")
    assert page.evaluate("Notification.permission") == "default"  # no prompt on page load
    order_id = steps.buy(page, "kettle", KETTLE)
    offer = page.locator("[data-push-offer]")
    expect(offer).to_be_visible()
    expect(offer.get_by_role("button", name="Notify me on this device")).to_be_visible()
    assert page.evaluate("Notification.permission") == "default"
    offer.get_by_role("button", name="No thanks").click()
    expect(offer).to_be_hidden()
    page.goto(f"/orders/{order_id}")
    expect(page.get_by_role("heading", name=f"Order #{order_id}")).to_be_visible()
    expect(page.locator("[data-push-offer]")).to_be_hidden()  # once
