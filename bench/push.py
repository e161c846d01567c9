"""Web Push: from due to accepted by a local push service, and the sender's CPU per push.

A live eventlet server (`python wsgi.py`, its background runner sending) and a push
service in this process (testing/pushservice.py: it checks each push's VAPID
signature and decrypts it, as a browser's push service and browser would). 200
pushes become due one at a time (a notification and its push row written straight
into the server's SQLite file every INTERVAL seconds); each one's latency is from
the row's due time to the moment the push service accepted it. The runner polls
every BACKGROUND_POLL_SECONDS: the default (1 s) and a short one are both measured.
CPU per push is the server process's CPU over the run, less what it spends idle
over as long, divided by the pushes: each is an ECDH, an AES-GCM encryption and an
ES256 signature, plus the claim and the outcome written.

Floor, beside them: pywebpush called from this process to the same service, one push
after the other, its latency and CPU per push.

    .venv/bin/python bench/push.py [--count 200]
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from suite import print_latencies  # noqa: E402

from config import new_vapid_private_key, vapid_public_key  # noqa: E402
from shop.models import LoginSession, Notification, PushMessage, PushSubscription, User  # noqa: E402
from shop.models.base import utcnow  # noqa: E402
from shop.services import push  # noqa: E402
from testing.data import insert_user  # noqa: E402
from testing.processes import cpu_seconds, wait_until  # noqa: E402
from testing.pushservice import PushService  # noqa: E402
from testing.server import LiveServer, prepare_database  # noqa: E402

INTERVAL = 0.05
SUBJECT = "mailto:bench@example.com"


def arrivals(service: PushService) -> dict[str, float]:
    return {p.topic: p.arrived_at for p in list(service.pushes)}


def floor(service: PushService, vapid: dict, count: int) -> tuple[list[float], float]:
    device = service.new_device()
    config = {**vapid, "PUSH_TTL_SECONDS": 60, "PUSH_TIMEOUT": 10}
    latencies, cpu_started = [], time.process_time()
    for number in range(count):
        topic = f"floor-{number}"
        outgoing = push.Outgoing(
            device.subscription(), '{"title":"Floor"}', {"Topic": topic, "Urgency": "normal"}
        )
        started = time.time()
        push.send(config, outgoing)
        latencies.append(arrivals(service)[topic] - started)
    return latencies, (time.process_time() - cpu_started) / count


def shop_run(
    service: PushService, vapid: dict, count: int, poll: float, folder: Path
) -> tuple[list[float], float]:
    url = f"sqlite:///{folder / f'push-{poll}.db'}"
    prepare_database(url)
    email = insert_user(url, "Bench")
    env = {**vapid, "BACKGROUND_POLL_SECONDS": str(poll), "PUSH_ALLOW_LOCAL_ENDPOINTS": "1"}
    device = service.new_device()
    with LiveServer(url, folder, **env).start() as server:
        pid = server.process.pid
        with server.database() as session:
            user_id = session.query(User.id).filter_by(email=email).scalar()
            login = LoginSession(user_id=user_id)
            session.add(login)
            session.flush()
            keys = device.subscription()["keys"]
            subscription = PushSubscription(
                user_id=user_id, login_token=login.token, endpoint=device.endpoint, **keys
            )
            session.add(subscription)
            session.commit()
            subscription_id = subscription.id
        time.sleep(2)  # settle, then measure idle CPU over as long as the run will take
        idle_started = cpu_seconds(pid)
        time.sleep(count * INTERVAL + poll * 2)
        idle_rate = (cpu_seconds(pid) - idle_started) / (count * INTERVAL + poll * 2)

        due: dict[str, float] = {}
        cpu_started, started = cpu_seconds(pid), time.time()
        with server.database() as session:
            session.rollback()
            for number in range(count):
                now, topic = utcnow(), f"bench-{number}"
                notification = Notification(user_id=user_id, seq=number + 1, kind="order_status", title=topic)
                session.add(notification)
                session.flush()
                session.add(
                    PushMessage(
                        subscription_id=subscription_id,
                        user_id=user_id,
                        notification_id=notification.id,
                        topic=topic,
                        next_attempt_at=now,
                    )
                )
                session.commit()
                due[topic] = now.timestamp()
                time.sleep(INTERVAL)
        wait_until(lambda: due.keys() <= arrivals(service).keys(), "every push", timeout=120)
        elapsed = time.time() - started
        cpu = cpu_seconds(pid) - cpu_started - idle_rate * elapsed
    arrived = arrivals(service)
    return [arrived[topic] - at for topic, at in due.items()], cpu / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args()
    private = new_vapid_private_key()
    vapid = {
        "VAPID_PRIVATE_KEY": private,
        "VAPID_PUBLIC_KEY": vapid_public_key(private),
        "VAPID_SUBJECT": SUBJECT,
    }
    rows = []
    with (
        PushService(vapid["VAPID_PUBLIC_KEY"], SUBJECT) as service,
        tempfile.TemporaryDirectory(prefix="bench-push-") as folder,
    ):
        latencies, cpu = floor(service, vapid, args.count)
        rows.append(("floor: pywebpush from this process", latencies, cpu))
        for poll in (1.0, 0.1):
            latencies, cpu = shop_run(service, vapid, args.count, poll, Path(folder))
            rows.append((f"shop, BACKGROUND_POLL_SECONDS={poll:g}", latencies, cpu))
        assert not service.errors, service.errors[:3]
    print_latencies(f"due -> accepted by the local push service, {args.count} pushes each", "push", rows)


if __name__ == "__main__":
    main()
