"""Signing out over HTTP closes the sockets that session opened, in every tab."""

from tests.realtime.conftest import PASSWORD, login, register, wait_disconnected

NEW_PASSWORD = "a-brand-new-password"


def test_logout_closes_every_tab_of_that_browser_only(live, connect):
    browser = register(live, "Lou")
    other_browser = login(live, browser.email)
    tab, second_tab = connect(browser), connect(browser)
    phone = connect(other_browser)

    response = browser.post("/auth/logout", allow_redirects=False)
    assert response.status_code == 302

    wait_disconnected(tab)
    wait_disconnected(second_tab)
    assert phone.client.connected
    assert phone.call("sync", {"after_seq": 0})["ok"] is True


def test_password_change_closes_the_other_sessions_sockets(live, connect):
    browser = register(live, "Pia")
    other_browser = login(live, browser.email)
    here, elsewhere = connect(browser), connect(other_browser)

    response = browser.post(
        "/auth/password",
        {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        token_from="/auth/password",
        allow_redirects=False,
    )
    assert response.status_code == 302

    wait_disconnected(elsewhere)
    assert here.client.connected
    assert here.call("sync", {"after_seq": 0})["ok"] is True
    # The other browser's cookie no longer opens anything either.
    assert other_browser.get("/orders", allow_redirects=False).status_code == 302
