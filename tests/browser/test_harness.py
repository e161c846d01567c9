"""The harness itself: a missing browser and an unclean page must not pass unnoticed."""

import pytest
from playwright.sync_api import expect

from testing.browser import Browsing, chromium_or_skip

INLINE_SCRIPT = """() => new Promise((resolve) => {
  document.addEventListener('securitypolicyviolation', () => resolve(true), {once: true});
  const script = document.createElement('script');
  script.textContent = 'window.inlineRan = true';
  document.body.append(script);
})"""

UNCAUGHT = """() => new Promise((resolve) => {
  window.addEventListener('error', () => resolve(true), {once: true});
  setTimeout(() => { throw new Error('kaboom'); });
})"""


def test_missing_chromium_skips_locally(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        chromium_or_skip("/nonexistent/chromium")


def test_missing_chromium_fails_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="Chromium not found"):
        chromium_or_skip("/nonexistent/chromium")


@pytest.mark.browser
def test_clean_pages_records_csp_violations_console_errors_and_exceptions(browser, shop):
    browsing = Browsing(browser, shop)
    try:
        page = browsing.page()
        page.goto("/")
        expect(page.get_by_role("heading", name="Goods for a slower kitchen")).to_be_visible()
        assert browsing.clean.problems == []

        assert page.evaluate(INLINE_SCRIPT) is True
        assert page.evaluate("() => window.inlineRan") is None
        page.evaluate("() => console.error('a console error')")
        assert page.evaluate(UNCAUGHT) is True
        with browsing.clean.tolerating("tolerated"):
            page.evaluate("() => console.error('a tolerated error')")
        page.evaluate("() => 'one more round trip, after every event above'")
    finally:
        browsing.close()

    texts = {problem.kind: [] for problem in browsing.clean.problems}
    for problem in browsing.clean.problems:
        texts[problem.kind].append(problem.text)
    [violation] = texts["CSP violation"]
    assert violation.startswith(f"script-src-elem blocked inline at {shop.url}/:")
    assert "a console error" in texts["console error"]
    assert any("Content Security Policy" in text for text in texts["console error"])
    assert texts["uncaught exception"] == ["kaboom"]
    assert not any("tolerated" in text for text in texts["console error"])
    assert browsing.clean.visited == [f"{shop.url}/"]
