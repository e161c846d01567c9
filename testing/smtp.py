"""Real SMTP servers in the test's own process: aiosmtpd that keeps what it receives
(or refuses it), and a server that accepts connections and never says a word."""

import email
import socket
import threading
import time
from email.message import Message
from email.policy import default

from aiosmtpd.controller import Controller

from testing.processes import Closing, free_port, wait_until

# NOTIFY_EMAIL_DELAY_SECONDS of the tests' apps: they plan "later" instead of waiting.
EMAIL_DELAY = 60


class Mailbox(Closing):
    """An SMTP server on 127.0.0.1; ``messages`` holds what it accepted, parsed."""

    def __init__(self):
        self.messages: list[Message] = []
        self.arrived_at: dict[str, float] = {}  # Message-ID -> time.time() when accepted
        self.refusing = False
        self.port = free_port()
        self._lock = threading.Lock()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd names it)
        if self.refusing:
            return "451 4.3.0 Try again later"
        message = email.message_from_bytes(envelope.content, policy=default)
        with self._lock:
            self.messages.append(message)
            self.arrived_at[str(message["Message-ID"]).strip()] = time.time()
        return "250 OK"

    def settings(self) -> dict:
        """The app's MAIL_* settings for sending here."""
        return {"MAIL_BACKEND": "smtp", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": self.port, "MAIL_TIMEOUT": 5}

    def env(self) -> dict[str, str]:
        return {key: str(value) for key, value in self.settings().items()}

    def to(self, address: str) -> list[Message]:
        with self._lock:
            return [m for m in self.messages if address in m["To"]]

    def message_ids(self) -> list[str]:
        with self._lock:
            return [m["Message-ID"] for m in self.messages]

    def wait_for(self, count: int, what: str = "the emails", timeout: float = 30) -> list[Message]:
        wait_until(lambda: len(self.messages) >= count, what, timeout)
        return list(self.messages)

    def close(self) -> None:
        self._controller.stop()


def text_of(message: Message) -> str:
    return message.get_body(("plain",)).get_content()


def html_of(message: Message) -> str:
    return message.get_body(("html",)).get_content()


class SilentServer(Closing):
    """Accepts TCP connections and never answers: an SMTP server that hangs."""

    def __init__(self):
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self.accepted.append(connection)

    def settings(self, timeout: float = 1) -> dict:
        return {
            "MAIL_BACKEND": "smtp",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": self.port,
            "MAIL_TIMEOUT": timeout,
        }

    def close(self) -> None:
        self._listener.close()
        for connection in self.accepted:
            connection.close()
        self._thread.join(5)
