"""PostgreSQL out of reach under a live server: a socket's connect is refused as
``server_busy`` and an event answers ``server_busy`` (both retryable: the
browser tries again shortly), the log says what failed rather than blaming a
malformed packet, and everything works again once the database is back."""

import json

import pytest

from testing.server import LiveServer
from testing.services import database_cut_off
from testing.shopper import Shopper
from testing.sockets import RawSocket

pytestmark = pytest.mark.scaleout


@pytest.fixture
def server(seeded_database, tmp_path):
    live = LiveServer(seeded_database, tmp_path).start()
    yield live
    live.stop()


def namespace_answer(live: LiveServer, cookie: str) -> dict:
    with RawSocket(live.url, cookie) as raw:
        answer = raw.connect_namespace()
    return {"connected": answer.startswith("40"), **json.loads(answer[2:])}


def test_with_the_database_down_connects_and_syncs_are_refused_as_busy_then_work_again(
    server, seeded_database
):
    cookie = Shopper(server.url).register("Otto").cookie_header
    assert namespace_answer(server, cookie)["connected"]
    with RawSocket(server.url, cookie) as connected_before:
        connected_before.connect_namespace()

        with database_cut_off(seeded_database):
            refused = namespace_answer(server, cookie)
            ack = connected_before.call("sync", {"after_seq": 0})

        assert not refused["connected"] and refused["data"] == {"code": "server_busy"}, refused
        assert ack["ok"] is False and ack["error"]["code"] == "server_busy", ack
        assert connected_before.call("sync", {"after_seq": 0}, ack_id=2)["ok"] is True
    assert namespace_answer(server, cookie)["connected"]
    log = server.log_path.read_text()
    assert "malformed" not in log
    assert "the database did not answer its login check" in log
