"""Signing out over HTTP closes the sockets that session opened, in every tab."""

import time

from shop.seed import DEMO_ADMIN
from tests.live import Shopper
from tests.rawsocket import RawSocket
from tests.realtime.conftest import (
    PASSWORD,
    login,
    make_product,
    place_order,
    register,
    set_status,
    wait_disconnected,
)

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


# -- a client that ignores the protocol ------------------------------------------------


def test_logout_takes_a_socket_that_ignores_disconnect_out_of_every_room(live, admin_http):
    """The raw socket answers pings but never obeys DISCONNECT: the server must
    close its transport itself, and no push for that user or the admins reaches it."""
    browser = register(live, "Ivy")
    order_id = place_order(browser, make_product(live))
    stubborn = RawSocket(live.url, browser.cookie_header)
    admin_stubborn = RawSocket(live.url, admin_http.cookie_header)
    try:
        assert stubborn.connect_namespace().startswith("40")
        assert admin_stubborn.connect_namespace().startswith("40")

        assert browser.post("/auth/logout", allow_redirects=False).status_code == 302
        assert admin_http.post("/auth/logout", allow_redirects=False).status_code == 302

        assert stubborn.closed(timeout=10), stubborn.packets
        assert admin_stubborn.closed(timeout=10), admin_stubborn.packets
        still_admin = Shopper(live.url).login(DEMO_ADMIN[0], DEMO_ADMIN[2])
        set_status(still_admin, order_id, "processing")
        time.sleep(0.5)
        assert stubborn.events("order_status") == [] and stubborn.events("notification") == []
        assert admin_stubborn.events("order_status") == []
    finally:
        stubborn.close()
        admin_stubborn.close()


def test_a_password_change_closes_another_sessions_socket_that_ignores_disconnect(live):
    browser = register(live, "Pim")
    other_browser = login(live, browser.email)
    stubborn = RawSocket(live.url, other_browser.cookie_header)
    try:
        assert stubborn.connect_namespace().startswith("40")
        response = browser.post(
            "/auth/password",
            {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
            token_from="/auth/password",
            allow_redirects=False,
        )
        assert response.status_code == 302
        assert stubborn.closed(timeout=10), stubborn.packets
    finally:
        stubborn.close()
