"""A client that floods the shop's socket with events, for the flood test.

Run as ``python -m testing.flooder URL COOKIE SECONDS`` (or until SIGINT): it opens a raw
Engine.IO WebSocket with the session cookie, sends ``sync`` events as fast as
the socket takes them without waiting for acks, reconnects whenever the
server closes it, stops after SECONDS, and prints what happened as JSON.
"""

import json
import os
import select
import sys
import time

import websocket

from testing.sockets import websocket_url

EVENT = '42["sync",{"after_seq":0}]'


def open_socket(url: str, cookie: str) -> websocket.WebSocket:
    # A send that blocks for a second means the server stopped reading: cut off.
    ws = websocket.create_connection(websocket_url(url), header=[f"Cookie: {cookie}"], origin=url, timeout=1)
    opened = ws.recv()
    assert opened.startswith("0"), opened
    ws.send("40")
    connected = ws.recv()
    if not connected.startswith("40"):
        raise ConnectionRefusedError(connected)
    return ws


def flood(url: str, cookie: str, seconds: float) -> dict:
    stats = {"connections": 0, "sent": 0, "closed_by_server": 0, "refused": 0}
    try:
        _flood(url, cookie, time.monotonic() + seconds, stats)
    except KeyboardInterrupt:  # the test is done measuring
        pass
    return stats


def _flood(url: str, cookie: str, deadline: float, stats: dict) -> None:
    while time.monotonic() < deadline:
        try:
            ws = open_socket(url, cookie)
        except (OSError, websocket.WebSocketException, ConnectionRefusedError):
            stats["refused"] += 1
            time.sleep(0.05)
            continue
        stats["connections"] += 1
        try:
            while time.monotonic() < deadline:
                if told_to_go(ws):
                    stats["closed_by_server"] += 1
                    break
                for _ in range(100):
                    ws.send(EVENT)
                stats["sent"] += 100
        except (OSError, websocket.WebSocketException):
            stats["closed_by_server"] += 1
        finally:
            ws.close()


def told_to_go(ws: websocket.WebSocket) -> bool:
    """Whether the server has closed this connection (close frame, Engine.IO
    close or Socket.IO disconnect packet, or EOF); pings are ignored."""
    while select.select([ws.sock], [], [], 0)[0]:
        opcode, data = ws.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE or data in (b"1", b"41", b""):
            return True
    return False


if __name__ == "__main__":
    # An attacker brings its own CPU: on this 2-core machine the flooder must
    # not take the test's or the server's share, only what they leave idle.
    os.nice(19)
    print(json.dumps(flood(sys.argv[1], sys.argv[2], float(sys.argv[3]))), flush=True)
