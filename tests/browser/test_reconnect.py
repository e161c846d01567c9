"""A page left open across a server restart catches up from the database.

This scenario stops its server, so it gets a server of its own.
"""

import pytest
from playwright.sync_api import expect

from testing import steps
from testing.browser import SERVER_DOWN_ERRORS, open_browsing
from testing.server import start_server

pytestmark = pytest.mark.browser

# Records every value the indicator's data-state takes from the first byte of
# the page on: the observer watches the whole document before the body exists.
INDICATOR_RECORDER = """
window.__liveStates = [];
new MutationObserver((mutations) => {
  for (const {target} of mutations) {
    const state = target.getAttribute('data-state');
    if (target.matches('[data-live-indicator]') && window.__liveStates.at(-1) !== state) {
      window.__liveStates.push(state);
    }
  }
}).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-state']});
"""


@pytest.fixture
def own_shop(tmp_path_factory):
    with start_server(tmp_path_factory) as server:
        yield server


@pytest.fixture
def own_browsing(browser, own_shop):
    yield from open_browsing(browser, own_shop)


def went_away_and_back(states: list[str]) -> bool:
    """live, then offline or reconnecting, then live again, in that order."""
    try:
        first_live = states.index("live")
        down = next(i for i, s in enumerate(states) if i > first_live and s in ("offline", "reconnecting"))
    except (ValueError, StopIteration):
        return False
    return "live" in states[down + 1 :]


def test_order_page_catches_up_after_a_server_restart(own_browsing, own_shop):
    shopper = own_browsing.shopper()
    shopper.context.add_init_script(INDICATOR_RECORDER)
    order_id = steps.buy(shopper, "teapot", "Cast Iron Teapot, 0.8 l")
    steps.wait_until_live(shopper)
    steps.mark_page(shopper)

    with own_browsing.clean.tolerating(*SERVER_DOWN_ERRORS):
        own_shop.stop()
        expect(steps.indicator(shopper)).not_to_have_attribute("data-state", "live")
        changed = own_shop.cli("orders", "set-status", str(order_id), "processing")
        assert changed.returncode == 0, changed.stderr
        assert f"Order #{order_id} is now processing." in changed.stdout
        expect(steps.order_status(shopper)).to_have_text("Placed")
        own_shop.start()  # the same port and database file
        # The toast comes from the sync on reconnect; live.js backs off up to 10 s between attempts.
        caught_up = f"We are preparing your order (order #{order_id})"
        expect(steps.toast(shopper, "order_status").filter(has_text=caught_up)).to_be_visible(timeout=30_000)
        steps.wait_until_live(shopper)

    expect(steps.order_status(shopper)).to_have_text("Processing")
    expect(steps.timeline_entries(shopper)).to_have_count(2)
    expect(steps.unread_badge(shopper)).to_have_text("1")
    assert steps.still_same_document(shopper)
    states = shopper.evaluate("() => window.__liveStates")
    assert went_away_and_back(states), f"the indicator went {states}"
