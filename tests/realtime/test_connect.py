"""Who may open a socket: a logged-in session, from an allowed origin."""

import json

import pytest
import requests
import socketio

from testing.processes import wait_until
from testing.server import OTHER_ORIGIN, start_server
from testing.shopper import Shopper
from testing.sockets import LiveSocket, RawSocket, http_after_websocket

FOREIGN_ORIGIN = "http://evil.example"


HANDSHAKE = "/socket.io/?EIO=4&transport=polling"


UNAUTHORIZED = {"message": "Log in to get live updates.", "data": {"code": "unauthorized"}}


def refusals(url: str, headers: dict[str, str] | None = None) -> list:
    """Try to connect; return the connect_error payloads of the refusal."""
    client = socketio.Client(reconnection=False)
    errors = []
    client.on("connect_error", errors.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(url, headers=headers or {}, transports=["websocket"], wait_timeout=10)
    assert not client.connected
    return errors


def test_anonymous_connect_is_refused(live):
    assert refusals(live.url) == [UNAUTHORIZED]


def test_a_stale_cookie_is_refused(live, shopper_http):
    """A cookie whose login session has ended opens nothing."""
    cookie = shopper_http.cookie_header
    shopper_http.post("/auth/logout", allow_redirects=False)
    assert refusals(live.url, {"Cookie": cookie}) == [UNAUTHORIZED]


def test_foreign_origin_is_refused_at_the_handshake(live, shopper_http):
    headers = {"Cookie": shopper_http.cookie_header, "Origin": FOREIGN_ORIGIN}
    response = requests.get(live.url + HANDSHAKE, headers=headers, timeout=10)
    assert response.status_code == 400
    assert "sid" not in response.text
    with pytest.raises(socketio.exceptions.ConnectionError):
        LiveSocket(live.url, shopper_http.cookie_header, origin=FOREIGN_ORIGIN)


@pytest.mark.parametrize(
    "origin",
    ["http://127.0.0.1:1", "null", "http://127.0.0.1.evil.example", "https://other.example.evil"],
)
def test_near_miss_origins_are_refused(live, shopper_http, origin):
    """Another port, an opaque origin, and look-alike hosts are all foreign."""
    if origin == "http://127.0.0.1:1":
        origin = live.url.replace("http://", "https://")
    headers = {"Cookie": shopper_http.cookie_header, "Origin": origin}
    response = requests.get(live.url + HANDSHAKE, headers=headers, timeout=10)
    assert response.status_code == 400


def test_forwarded_host_does_not_make_an_origin_own(live, shopper_http):
    """Without PROXY_COUNT, X-Forwarded-Host is anyone's header and counts for nothing."""
    headers = {
        "Cookie": shopper_http.cookie_header,
        "Origin": FOREIGN_ORIGIN,
        "X-Forwarded-Host": FOREIGN_ORIGIN.removeprefix("http://"),
        "X-Forwarded-Proto": "http",
    }
    response = requests.get(live.url + HANDSHAKE, headers=headers, timeout=10)
    assert response.status_code == 400


@pytest.mark.parametrize("origin", ["own", OTHER_ORIGIN])
def test_own_and_allowed_origins_are_accepted(live, shopper_http, connect, origin):
    origin = live.url if origin == "own" else origin
    headers = {"Cookie": shopper_http.cookie_header, "Origin": origin}
    response = requests.get(live.url + HANDSHAKE, headers=headers, timeout=10)
    assert response.status_code == 200
    assert '"sid"' in response.text
    sock = connect(shopper_http, origin=origin)
    assert sock.call("sync", {"after_seq": 0})["ok"] is True


def test_polling_transport_is_served_too(live, shopper_http, connect):
    """Clients behind proxies that block WebSocket fall back to long-polling."""
    sock = connect(shopper_http, transports=("polling",))
    assert sock.call("sync", {"after_seq": 0})["ok"] is True


def test_a_polling_socket_upgrades_to_websocket_as_the_browser_does(live, shopper_http, connect):
    """socket.io-client starts on long-polling and moves to the WebSocket (the probe,
    then UPGRADE): acks and pushes keep coming after the move."""
    sock = connect(shopper_http, transports=("polling", "websocket"))
    wait_until(lambda: sock.client.transport() == "websocket", "the upgrade to the WebSocket", 10)
    assert sock.call("sync", {"after_seq": 0})["ok"] is True


def test_a_closed_websocket_carries_no_more_http(live):
    """Bytes after a WebSocket's close are never parsed as another request."""
    assert b"HTTP/" not in http_after_websocket(live.url)


def test_sockets_that_come_and_go_leave_the_console_quiet(live, shopper_http):
    """eventlet printed "socket shutdown error: [Errno 9] Bad file descriptor" for every closed socket."""
    for _ in range(3):
        sock = shopper_http.connect()
        assert sock.call("sync", {"after_seq": 0})["ok"] is True
        sock.close()
    ended = shopper_http.connect()  # its connect comes after the closes above were handled
    ended.close()
    log = live.log_path.read_text()
    assert "shutdown error" not in log and "Traceback" not in log, log[-2000:]


def test_the_heartbeat_comes_from_the_settings(tmp_path_factory):
    """SOCKETIO_PING_INTERVAL and SOCKETIO_PING_TIMEOUT reach Engine.IO: the handshake
    tells the client, and a ping comes within the interval."""
    server = start_server(tmp_path_factory, SOCKETIO_PING_INTERVAL="2", SOCKETIO_PING_TIMEOUT="3")
    try:
        with RawSocket(server.url, Shopper(server.url).register("Pat").cookie_header) as raw:
            opened = json.loads(raw.wait_for(lambda packet: packet.startswith("0"), "the open packet")[1:])
            assert (opened["pingInterval"], opened["pingTimeout"]) == (2000, 3000)
            raw.connect_namespace()
            raw.wait_for(lambda packet: packet == "2", "a ping", timeout=30)
    finally:
        server.stop()


def test_pings_go_on_after_each_pong_and_a_socket_that_stops_answering_is_closed(tmp_path_factory):
    """Every ping after the first is scheduled by the pong to the one before; a
    client that stops answering is closed by the server (the dead-socket check)."""
    server = start_server(tmp_path_factory, SOCKETIO_PING_INTERVAL="1", SOCKETIO_PING_TIMEOUT="1")
    try:
        cookie = Shopper(server.url).register("Pia").cookie_header
        dead = RawSocket(server.url, cookie, answers_pings=False)
        with RawSocket(server.url, cookie) as alive, dead:
            alive.connect_namespace()
            dead.connect_namespace()
            assert dead.closed(timeout=30), dead.packets
            alive.wait_for(lambda _: alive.packets.count("2") >= 3, "three pings", timeout=30)
            assert not alive.ended.is_set()
    finally:
        server.stop()
