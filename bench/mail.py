"""Email: from due to accepted by a local SMTP server, and the sender's CPU per message.

A live eventlet server (`python wsgi.py`, its background runner sending) and an
aiosmtpd server in this process. 200 emails become due one at a time (a row
written straight into the server's SQLite file, as a service writes it, every
INTERVAL seconds); each one's latency is from its row's due time to the moment
the SMTP server accepted it (Message-ID). The runner polls every
BACKGROUND_POLL_SECONDS: the default (1 s) and a short one are both measured.
CPU per message is the server process's CPU over the run, less what it spends
idle over as long, divided by the emails.

Floors, beside them: the same SMTP server fed by smtplib from this process (one
connection per message, as the shop's sender opens), its latency and CPU per
message.

    .venv/bin/python bench/mail.py [--count 200]
"""

import argparse
import smtplib
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from suite import print_latencies  # noqa: E402

from shop.models import MailDelivery, User  # noqa: E402
from shop.models.base import utcnow  # noqa: E402
from shop.models.mail import PASSWORD_RESET, new_message_id  # noqa: E402
from testing.data import insert_user  # noqa: E402
from testing.processes import cpu_seconds, wait_until  # noqa: E402
from testing.server import LiveServer, prepare_database  # noqa: E402
from testing.smtp import Mailbox  # noqa: E402

INTERVAL = 0.05


def floor(mailbox: Mailbox, count: int) -> tuple[list[float], float]:
    latencies, cpu_started = [], time.process_time()
    for number in range(count):
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "shop@localhost", "floor@example.com", "Floor"
        message["Message-ID"] = new_message_id()
        message.set_content(f"Floor message {number}")
        started = time.time()
        with smtplib.SMTP("127.0.0.1", mailbox.port, timeout=10) as smtp:
            smtp.send_message(message)
        latencies.append(mailbox.arrived_at[message["Message-ID"]] - started)
    return latencies, (time.process_time() - cpu_started) / count


def shop_run(mailbox: Mailbox, count: int, poll: float, folder: Path) -> tuple[list[float], float]:
    url = f"sqlite:///{folder / f'mail-{poll}.db'}"
    prepare_database(url)
    email = insert_user(url, "Bench")
    env = {**mailbox.env(), "BACKGROUND_POLL_SECONDS": str(poll), "MAIL_TIMEOUT": "10"}
    with LiveServer(url, folder, **env).start() as server:
        pid = server.process.pid
        time.sleep(2)  # settle, then measure idle CPU over as long as the run will take
        idle_started = cpu_seconds(pid)
        time.sleep(count * INTERVAL + poll * 2)
        idle_rate = (cpu_seconds(pid) - idle_started) / (count * INTERVAL + poll * 2)

        due: dict[str, float] = {}
        cpu_started, started = cpu_seconds(pid), time.time()
        with server.database() as session:
            user_id = session.query(User.id).filter_by(email=email).scalar()
            session.rollback()  # no read snapshot held: each write below begins afresh
            for number in range(count):
                now, message_id = utcnow(), new_message_id()
                row = MailDelivery(
                    user_id=user_id,
                    message_id=message_id,
                    kind=PASSWORD_RESET,
                    to_address=email,
                    next_attempt_at=now,
                    data={"link": f"http://127.0.0.1:5000/auth/reset/bench-{number}"},
                )
                session.add(row)
                session.commit()
                due[message_id] = now.timestamp()
                time.sleep(INTERVAL)
        wait_until(lambda: all(mid in mailbox.arrived_at for mid in due), "every email", timeout=120)
        elapsed = time.time() - started
        cpu = cpu_seconds(pid) - cpu_started - idle_rate * elapsed
    return [mailbox.arrived_at[mid] - at for mid, at in due.items()], cpu / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args()
    rows = []
    with Mailbox() as mailbox, tempfile.TemporaryDirectory(prefix="bench-mail-") as folder:
        latencies, cpu = floor(mailbox, args.count)
        rows.append(("floor: smtplib from this process", latencies, cpu))
        for poll in (1.0, 0.1):
            latencies, cpu = shop_run(mailbox, args.count, poll, Path(folder))
            rows.append((f"shop, BACKGROUND_POLL_SECONDS={poll:g}", latencies, cpu))
    print_latencies(f"due -> accepted by the local SMTP server, {args.count} emails each", "msg", rows)


if __name__ == "__main__":
    main()
