"""The browser harness: Chromium's path, contexts per user, and a watch on pages.

Every context a test opens is watched: a console error, an uncaught exception
or a Content-Security-Policy violation on any page fails the test at teardown.
"""

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from testing import steps
from testing.server import LiveServer

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# What Chromium logs while its socket cannot reach a stopped server (a
# polling request in flight when the server stops is reset rather than refused).
SERVER_DOWN_ERRORS = (r"ERR_CONNECTION_RE(FUSED|SET)", r"WebSocket connection to .* failed")

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}

# A page that never settles should fail in seconds, not hang the suite.
expect.set_options(timeout=10_000)

# Runs before any page script; reports CSP violations through an exposed binding.
CSP_LISTENER = """
document.addEventListener('securitypolicyviolation', (event) => {
  window.__reportCspViolation(`${event.effectiveDirective} blocked ${event.blockedURI || 'inline'}`
    + ` at ${event.sourceFile || event.documentURI}:${event.lineNumber}`);
});
"""


def chromium_or_skip(path: str = CHROMIUM) -> str:
    """Chromium's path; a missing browser skips, except under CI=true where it fails."""
    if Path(path).is_file():
        return path
    message = f"Chromium not found at {path}: install it with  sudo apt-get install chromium"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class Problem:
    url: str
    kind: str
    text: str

    def __str__(self) -> str:
        return f"{self.kind} on {self.url}: {self.text}"


@dataclass
class CleanPages:
    """What went wrong on the pages of every watched context, and which pages were seen."""

    problems: list[Problem] = field(default_factory=list)
    visited: list[str] = field(default_factory=list)
    tolerated: list[re.Pattern] = field(default_factory=list)

    def watch(self, context: BrowserContext, javascript: bool) -> None:
        if javascript:
            context.expose_binding("__reportCspViolation", self._on_csp_violation)
            context.add_init_script(CSP_LISTENER)
        context.on("page", self._attach)

    def _attach(self, page: Page) -> None:
        page.on("console", lambda message: self._on_console(page, message))
        page.on("pageerror", lambda error: self._record(page.url, "uncaught exception", str(error)))
        page.on("framenavigated", lambda frame: self._on_navigated(page, frame))

    def _on_console(self, page: Page, message) -> None:
        if message.type == "error":
            source = message.location.get("url") or ""
            self._record(page.url, "console error", f"{message.text} ({source})" if source else message.text)

    def _on_csp_violation(self, source: dict, text: str) -> None:
        self._record(source["page"].url, "CSP violation", text)

    def _on_navigated(self, page: Page, frame) -> None:
        if frame == page.main_frame:
            self.visited.append(frame.url)

    def _record(self, url: str, kind: str, text: str) -> None:
        if not any(pattern.search(text) for pattern in self.tolerated):
            self.problems.append(Problem(url, kind, text))

    @contextmanager
    def tolerating(self, *patterns: str) -> Iterator[None]:
        """Accept errors matching ``patterns`` inside the block (e.g. while the server is down)."""
        compiled = [re.compile(pattern) for pattern in patterns]
        self.tolerated.extend(compiled)
        try:
            yield
        finally:
            for pattern in compiled:
                self.tolerated.remove(pattern)


class Browsing:
    """Fresh browser contexts for one test, one per user, all watched by CleanPages."""

    def __init__(self, browser: Browser, server: LiveServer):
        self.browser = browser
        self.server = server
        self.clean = CleanPages()
        self.contexts: list[BrowserContext] = []

    def page(self, javascript: bool = True, viewport: dict | None = None, **options) -> Page:
        """The first page of a new context (its own cookies: one user)."""
        context = self.browser.new_context(
            base_url=self.server.url, java_script_enabled=javascript, viewport=viewport or DESKTOP, **options
        )
        self.clean.watch(context, javascript)
        self.contexts.append(context)
        return context.new_page()

    def shopper(
        self, name: str = "Robin Browser", javascript: bool = True, viewport: dict | None = None
    ) -> Page:
        """A page of a newly registered shopper, on the catalogue."""
        page = self.page(javascript, viewport)
        steps.register(page, name)
        return page

    def admin(self, viewport: dict | None = None) -> Page:
        page = self.page(viewport=viewport)
        steps.log_in(page, *steps.ADMIN)
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()


def open_browsing(browser: Browser, server: LiveServer) -> Iterator[Browsing]:
    browsing = Browsing(browser, server)
    yield browsing
    browsing.close()
    assert browsing.clean.visited, "the test visited no page"
    problems = "\n".join(str(problem) for problem in browsing.clean.problems)
    assert not problems, f"pages were not clean:\n{problems}"
