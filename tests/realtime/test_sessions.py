"""Signing out over HTTP closes the sockets that session opened, in every tab."""

import re
import time

from shop.seed import DEMO_ADMIN
from testing.data import insert_product
from testing.server import start_server
from testing.shopper import Shopper
from testing.sockets import RawSocket

NEW_PASSWORD = "a-brand-new-password"


def test_logout_closes_every_tab_of_that_browser_only(live, connect):
    browser = Shopper(live.url).register("Lou")
    other_browser = Shopper(live.url).login(browser.email)
    tab, second_tab = connect(browser), connect(browser)
    phone = connect(other_browser)

    response = browser.post("/auth/logout", allow_redirects=False)
    assert response.status_code == 302

    tab.wait_disconnected()
    second_tab.wait_disconnected()
    assert phone.client.connected
    assert phone.call("sync", {"after_seq": 0})["ok"] is True


def test_password_change_closes_the_other_sessions_sockets(live, connect):
    browser = Shopper(live.url).register("Pia")
    other_browser = Shopper(live.url).login(browser.email)
    here, elsewhere = connect(browser), connect(other_browser)

    browser.change_password(NEW_PASSWORD)

    elsewhere.wait_disconnected()
    assert here.client.connected
    assert here.call("sync", {"after_seq": 0})["ok"] is True
    # The other browser's cookie no longer opens anything either.
    assert other_browser.get("/orders", allow_redirects=False).status_code == 302


# -- a client that ignores the protocol ------------------------------------------------


def test_logout_takes_a_socket_that_ignores_disconnect_out_of_every_room(live, admin_http):
    """The raw socket answers pings but never obeys DISCONNECT: the server must
    close its transport itself, and no push for that user or the admins reaches it."""
    browser = Shopper(live.url).register("Ivy")
    order_id = browser.place_order(insert_product(live.database_url))
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
        still_admin.set_status(order_id, "processing")
        time.sleep(0.5)
        assert stubborn.events("order_status") == [] and stubborn.events("notification") == []
        assert admin_stubborn.events("order_status") == []
    finally:
        stubborn.close()
        admin_stubborn.close()


def test_a_password_change_closes_another_sessions_socket_that_ignores_disconnect(live):
    browser = Shopper(live.url).register("Pim")
    other_browser = Shopper(live.url).login(browser.email)
    with RawSocket(live.url, other_browser.cookie_header) as stubborn:
        assert stubborn.connect_namespace().startswith("40")
        browser.change_password(NEW_PASSWORD)
        assert stubborn.closed(timeout=10), stubborn.packets


# -- the account page and the cap on an account's sessions -------------------------

SESSION_FORM = re.compile(r'<tr data-session-id="([^"]+)"( data-current-session)?')


def other_sessions(browser) -> list[str]:
    """The public ids the account page offers to sign out, less this browser's."""
    page = browser.get("/account").text
    return [public_id for public_id, current in SESSION_FORM.findall(page) if not current]


def test_signing_out_a_session_on_the_account_page_closes_its_sockets(live, connect):
    laptop = Shopper(live.url).register("Ada")
    phone = Shopper(live.url).login(laptop.email)
    laptop_tab, phone_tab = connect(laptop), connect(phone)
    [phone_id] = other_sessions(laptop)

    response = laptop.post(
        "/account/sessions/sign-out", {"session_id": phone_id}, token_from="/account", allow_redirects=False
    )
    assert response.status_code == 302

    phone_tab.wait_disconnected()
    assert phone.get("/orders", allow_redirects=False).status_code == 302
    assert laptop_tab.call("sync", {"after_seq": 0})["ok"] is True
    assert laptop_tab.client.connected


def test_signing_out_everywhere_closes_every_socket_of_the_account(live, connect):
    laptop = Shopper(live.url).register("Bo")
    phone = Shopper(live.url).login(laptop.email)
    stranger = Shopper(live.url).register("Cy")
    tabs = [connect(laptop), connect(laptop), connect(phone)]
    strangers_tab = connect(stranger)

    response = laptop.post(
        "/account/sessions/sign-out-everywhere", token_from="/account", allow_redirects=False
    )
    assert response.status_code == 302

    for tab in tabs:
        tab.wait_disconnected()
    for browser in (laptop, phone):
        assert browser.get("/orders", allow_redirects=False).status_code == 302
    assert strangers_tab.call("sync", {"after_seq": 0})["ok"] is True


def test_a_login_beyond_the_cap_closes_the_least_recent_sessions_sockets(tmp_path_factory, sockets):
    server = start_server(tmp_path_factory, MAX_LOGIN_SESSIONS="2")
    try:
        first = Shopper(server.url).register("Di")
        first_tab = first.connect()
        sockets.append(first_tab)
        second = Shopper(server.url).login(first.email)
        second_tab = second.connect()
        sockets.append(second_tab)

        Shopper(server.url).login(first.email)  # a third browser: the first one is the least recently used

        first_tab.wait_disconnected()
        assert first.get("/orders", allow_redirects=False).status_code == 302
        assert second_tab.call("sync", {"after_seq": 0})["ok"] is True
    finally:
        server.stop()


def test_a_logout_before_the_sockets_row_is_written_still_closes_it(tmp_path_factory, sockets):
    """Rows are written after the connect, in batches (here only every 3 s): a logout
    in between finds no row, and the batch, finding the session gone, closes the socket."""
    server = start_server(tmp_path_factory, SOCKET_RECORD_SECONDS="3")
    try:
        browser = Shopper(server.url).register("Noa")
        other_browser = Shopper(server.url).login(browser.email)
        tab = browser.connect()
        sockets.append(tab)
        phone = other_browser.connect()
        sockets.append(phone)

        assert browser.post("/auth/logout", allow_redirects=False).status_code == 302

        tab.wait_disconnected(timeout=30)
        assert phone.client.connected
        assert phone.call("sync", {"after_seq": 0})["ok"] is True
    finally:
        server.stop()
