"""Fixtures: Debian's Chromium driven by Playwright, and a real shop server for it."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.browser.harness import LAUNCH_ARGS, Browsing, chromium_or_skip, open_browsing, start_shop
from tests.live import LiveServer


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = chromium_or_skip()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def shop(tmp_path_factory) -> Iterator[LiveServer]:
    """One server for the scenarios that do not interfere: each uses its own
    shopper and its own products."""
    server = start_shop(tmp_path_factory.mktemp("browser-shop"))
    yield server
    server.stop()


@pytest.fixture
def browsing(browser: Browser, shop: LiveServer) -> Iterator[Browsing]:
    yield from open_browsing(browser, shop)
