"""Fixtures: Debian's Chromium driven by Playwright, and a real shop server for it."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from testing.browser import LAUNCH_ARGS, Browsing, chromium_or_skip, open_browsing
from testing.server import LiveServer, start_server


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
    with start_server(tmp_path_factory) as server:
        yield server


@pytest.fixture
def browsing(browser: Browser, shop: LiveServer) -> Iterator[Browsing]:
    yield from open_browsing(browser, shop)
