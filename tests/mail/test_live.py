"""Email from a real eventlet server, its background runner sending to a real SMTP
server in this process: nothing is called by hand here."""

import re
import statistics
from collections.abc import Iterator

import pytest

from testing.data import insert_product, insert_user
from testing.processes import free_port, page_times, wait_until
from testing.server import LiveServer, prepare_database
from testing.shopper import Shopper, admin_on
from testing.smtp import Mailbox, SilentServer, text_of
from testing.sockets import RawSocket

# Short enough to wait for, long enough for a socket to say "seen" first.
DELAY_SECONDS = 3
RUNNER = {"BACKGROUND_POLL_SECONDS": "0.2", "NOTIFY_EMAIL_DELAY_SECONDS": str(DELAY_SECONDS)}


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    with Mailbox() as box:
        yield box


def live_server(tmp_path_factory, **env: str) -> LiveServer:
    directory = tmp_path_factory.mktemp("mail-live")
    url = f"sqlite:///{directory / 'live.db'}"
    prepare_database(url)
    port = free_port()
    public = {"PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
    return LiveServer(url, directory, port=port, **RUNNER, **public, **env).start()


@pytest.fixture(scope="module")
def live(tmp_path_factory, mailbox) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory, **mailbox.env()) as server:
        yield server


def new_shopper(live: LiveServer) -> Shopper:
    return Shopper(live.url).login(insert_user(live.database_url, "Robin"))


def test_the_server_sends_the_confirmation_by_itself_once(live, mailbox):
    shopper = new_shopper(live)
    order_id = shopper.place_order(insert_product(live.database_url))
    wait_until(lambda: mailbox.to(shopper.email), "the confirmation")
    admin_on(live.url).set_status(order_id, "processing")
    # The digest of the status change comes after the delay: by then a second
    # confirmation would have come too.
    wait_until(lambda: len(mailbox.to(shopper.email)) == 2, "the digest", timeout=30)
    confirmation, digest = mailbox.to(shopper.email)
    assert confirmation["Subject"] == f"Your order #{order_id} is placed"
    assert digest["Subject"] == f"We are preparing your order (order #{order_id})"
    link = f"{live.url}/orders/{order_id}"
    assert link in text_of(confirmation) and link in text_of(digest)
    assert shopper.get(link.removeprefix(live.url)).status_code == 200


def test_what_a_socket_reports_seen_is_not_mailed(live, mailbox):
    shopper = new_shopper(live)
    order_id = shopper.place_order(insert_product(live.database_url))
    admin = admin_on(live.url)
    with shopper.connect() as sock:
        admin.set_status(order_id, "processing")
        [shown] = sock.wait_for("notification")
        ack = sock.call("seen", {"up_to_seq": shown["seq"]})
        assert ack == {"ok": True, "seen_seq": shown["seq"]}
        admin.set_status(order_id, "shipped")
        sock.wait_for("notification", 2)
    wait_until(lambda: len(mailbox.to(shopper.email)) == 2, "the digest", timeout=30)
    digest = mailbox.to(shopper.email)[1]
    assert digest["Subject"] == f"Your order is on its way (order #{order_id})"
    assert "preparing" not in text_of(digest)


def test_seen_refuses_what_is_not_a_seq(live):
    with new_shopper(live).connect() as sock:
        ack = sock.call("seen", {"up_to_seq": "many"})
    assert ack["ok"] is False and ack["error"]["code"] == "invalid_input"


def test_preferences_saved_in_one_tab_reach_the_others(live):
    shopper = new_shopper(live)
    with shopper.connect() as other_tab:
        response = shopper.post(
            "/account/notifications",
            {"email-back_in_stock": "on"},
            token_from="/account/notifications",
            allow_redirects=False,
        )
        assert response.status_code == 302
        [pushed] = other_tab.wait_for("preferences")
    assert pushed["preferences"]["email"] == {"orders": False, "back_in_stock": True, "messages": False}


def test_a_reset_signs_out_the_other_sessions_and_closes_their_sockets(live, mailbox):
    email = insert_user(live.database_url, "Robin")
    elsewhere = Shopper(live.url).login(email)
    with elsewhere.connect() as sock, RawSocket(live.url, elsewhere.cookie_header) as stubborn:
        assert stubborn.connect_namespace().startswith("40")  # answers pings, ignores DISCONNECT
        stranger = Shopper(live.url)
        stranger.post("/auth/forgot", {"email": email}, token_from="/auth/forgot")
        wait_until(lambda: mailbox.to(email), "the reset email")
        link = re.search(r"/auth/reset/\S+", text_of(mailbox.to(email)[0])).group(0)
        new = {"password": "a brand new one", "confirm": "a brand new one"}
        response = stranger.post(link, new, token_from=link, allow_redirects=False)
        assert response.status_code == 302
        sock.wait_disconnected()
        assert stubborn.closed(timeout=10), stubborn.packets
    assert elsewhere.get("/account", allow_redirects=False).status_code == 302
    assert stranger.get("/account", allow_redirects=False).status_code == 200


def test_a_hanging_mail_server_never_slows_a_page(tmp_path_factory):
    """Five confirmations hang on a mail server that never answers (MAIL_TIMEOUT 5 s each):
    the catalogue is served meanwhile as fast as before, give or take a lot of room."""
    with SilentServer() as silent:
        env = {key: str(value) for key, value in silent.settings(timeout=5).items()}
        with live_server(tmp_path_factory, **env) as server:
            before = statistics.median(page_times(server.url + "/"))
            shopper = new_shopper(server)
            product = insert_product(server.database_url, stock=50)
            for _ in range(5):
                shopper.place_order(product)
            wait_until(lambda: silent.accepted, "the sender to be stuck on the silent server")
            during = statistics.median(page_times(server.url + "/"))
            still_hanging = len(silent.accepted) >= 1
    assert still_hanging
    assert during < before * 5 + 0.05, (before, during)
