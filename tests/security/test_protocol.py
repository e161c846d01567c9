"""Clients that ignore the Socket.IO protocol: reserved event names, malformed
packets, transports that never connect a namespace or are refused, too many
sockets, and long-polling bodies over the limit. Each is a raw client."""

import json

import pytest
import requests
import socketio
import websocket
from sqlalchemy import text

from shop.sockets.transports import Transports
from testing.processes import wait_until
from testing.server import start_server
from testing.shopper import Shopper
from testing.sockets import RawSocket

POLLING = "/socket.io/?EIO=4&transport=polling"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with start_server(tmp_path_factory, SOCKET_CONNECT_TIMEOUT="2") as live:
        yield live


def socket_rows(live, sid: str) -> int:
    with live.database() as session:
        return session.scalar(text("SELECT count(*) FROM socket_connections WHERE sid = :sid"), {"sid": sid})


# -- reserved event names ------------------------------------------------------------


@pytest.mark.parametrize("reserved", ["connect", "disconnect"])
def test_a_client_sent_reserved_event_is_refused_and_changes_nothing(server, reserved):
    shopper = Shopper(server.url).register("Rex")
    with RawSocket(server.url, shopper.cookie_header) as raw:
        sid = json.loads(raw.connect_namespace()[2:])["sid"]
        wait_until(lambda: socket_rows(server, sid) == 1, "the socket's row (written after the connect)")

        answer = raw.call(reserved, {"reason": "client disconnect"})

        assert answer["ok"] is False and answer["error"]["code"] == "reserved_event", answer
        assert socket_rows(server, sid) == 1
        assert raw.call("sync", {"after_seq": 0}, ack_id=2)["ok"] is True
    assert "Traceback" not in server.log_path.read_text()


def test_reserved_events_spend_the_rate_limit_budget(server):
    """A client-sent disconnect used to drop the connection's token bucket."""
    with RawSocket(server.url, Shopper(server.url).register("Ray").cookie_header) as raw:
        raw.connect_namespace()
        answers = [raw.call("disconnect", None, ack_id=n) for n in range(1, 26)]
    codes = [answer["error"]["code"] for answer in answers]
    assert codes[:20] == ["reserved_event"] * 20  # SOCKET_EVENT_BURST
    assert "rate_limited" in codes[20:]


def test_after_a_client_sent_disconnect_a_password_change_still_closes_the_socket(server):
    browser = Shopper(server.url).register("Dee")
    other = Shopper(server.url).login(browser.email)
    with RawSocket(server.url, other.cookie_header) as raw:
        raw.connect_namespace()
        raw.call("disconnect", None)
        new = "another-password-2"
        browser.change_password(new)
        assert raw.closed(timeout=10), raw.packets


# -- transports that never become a connection ------------------------------------------


def test_an_anonymous_transport_is_closed_as_soon_as_its_connect_is_refused(server):
    with RawSocket(server.url) as raw:
        answer = raw.connect_namespace()
        assert answer.startswith("44") and "unauthorized" in answer
        assert raw.closed(timeout=5), raw.packets


def test_a_transport_that_never_connects_the_namespace_is_closed_after_the_timeout(server):
    """SOCKET_CONNECT_TIMEOUT is 2 s on this server; the client keeps answering pings."""
    with RawSocket(server.url) as raw:
        assert not raw.closed(timeout=1)  # still open before its time
        assert raw.closed(timeout=10), raw.packets


def test_events_before_any_namespace_close_the_transport(server):
    with RawSocket(server.url, Shopper(server.url).register("Ed").cookie_header) as raw:
        raw.emit("sync", {"after_seq": 0}, ack_id=1)
        assert raw.closed(timeout=5), raw.packets
        assert not any(packet.startswith("43") for packet in raw.packets)


# -- malformed packets --------------------------------------------------------------------

MALFORMED = ["x", "4x", "42[", '42{"a":1}', "46-", "4", "4-1", "42"]


def test_malformed_packets_close_that_transport_and_log_one_line_now_and_then(tmp_path_factory):
    live = start_server(tmp_path_factory)
    try:
        cookie = Shopper(live.url).register("Mal").cookie_header
        for packet in MALFORMED * 3:
            with RawSocket(live.url, cookie) as raw:
                raw.connect_namespace()
                raw.send(packet)
                assert raw.closed(timeout=5), (packet, raw.packets)
        token = requests.get(live.url + POLLING, timeout=10).text
        sid = json.loads(token[1:])["sid"]
        answer = requests.post(f"{live.url}{POLLING}&sid={sid}", data="x", timeout=10)
        assert answer.status_code == 200
        bystander = Shopper(live.url).login(Shopper(live.url).register("Bo").email).connect()
        assert bystander.call("sync", {"after_seq": 0})["ok"] is True
        bystander.close()
    finally:
        live.stop()
    log = live.log_path.read_text()
    assert "Traceback" not in log
    malformed_lines = [line for line in log.splitlines() if "malformed" in line or "handler error" in line]
    assert 1 <= len(malformed_lines) <= 4, malformed_lines  # 25 attacks in well under 10 s


# -- long-polling bodies over the limit ------------------------------------------------------


def test_a_long_polling_post_over_the_limit_is_answered_413(server):
    shopper = Shopper(server.url).register("Poll")
    headers = {"Cookie": shopper.cookie_header}
    sid = json.loads(requests.get(server.url + POLLING, headers=headers, timeout=10).text[1:])["sid"]

    answer = requests.post(
        f"{server.url}{POLLING}&sid={sid}", data="4" + "2" * 20_000, headers=headers, timeout=10
    )

    assert answer.status_code == 413
    assert "16384 bytes" in answer.text


# -- caps ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def capped(tmp_path_factory):
    with start_server(tmp_path_factory, SOCKETS_PER_USER="3", SOCKETS_PER_CLIENT="6") as live:
        yield live


def test_one_account_opens_at_most_its_cap_of_sockets(capped, connect):
    shopper = Shopper(capped.url).register("Cap")
    for _ in range(3):
        connect(shopper)
    errors = []
    client = socketio.Client(reconnection=False)
    client.on("connect_error", errors.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(capped.url, headers={"Cookie": shopper.cookie_header}, transports=["websocket"])
    assert errors and errors[0]["data"] == {"code": "too_many_connections"}, errors


def test_one_client_address_opens_at_most_its_cap_of_transports(capped):
    held = [RawSocket(capped.url) for _ in range(6)]
    try:
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            RawSocket(capped.url)
        assert b"too_many_connections" in refused.value.resp_body
    finally:
        for raw in held:
            raw.close()


def test_sockets_leave_http_its_share_of_the_connection_slots(tmp_path_factory):
    """With MAX_CONNECTIONS 40, at most 30 sockets (a tenth, at least 10, stays for
    HTTP): 40 anonymous handshakes fill no more, and pages are served meanwhile."""
    live = start_server(tmp_path_factory, MAX_CONNECTIONS="40", SOCKET_CONNECT_TIMEOUT="60")
    held, refused = [], 0
    try:
        for _ in range(40):
            try:
                held.append(RawSocket(live.url, timeout=5))
            except websocket.WebSocketBadStatusException as exc:
                assert b"server_busy" in exc.resp_body
                refused += 1
        with requests.Session() as pages:
            answers = [pages.get(live.url + "/healthz", timeout=10).status_code for _ in range(20)]
    finally:
        for raw in held:
            raw.close()
        live.stop()
    assert (len(held), refused) == (30, 10)
    assert answers == [200] * 20


def test_a_failure_for_a_transport_that_already_ended_is_not_blamed_on_the_client(caplog):
    """A connect handler that waited (its login check) past its transport's end fails inside
    python-socketio (a KeyError on the gone sid): nobody sent a malformed packet."""
    closed = []
    transports = Transports(server=None, per_client=1, total=1, namespace_timeout=1)
    transports.close = closed.append

    def handle(eio_sid, data):
        raise KeyError(eio_sid)

    transports.received("gone", "40", handle)

    assert closed == [] and "malformed" not in caplog.text
    transports.client_of["live"] = "127.0.0.1"
    transports.received("live", "4x", handle)
    assert closed == ["live"] and "malformed" in caplog.text
