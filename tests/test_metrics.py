"""/metrics: Prometheus text for the people running the shop, nobody else."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from shop.extensions import db
from shop.models import Notification
from shop.models.base import utcnow
from shop.models.mail import CANCELLATION, CONFIRMATION, DIGEST, PASSWORD_RESET, SENT, MailDelivery
from testing.metrics import parse_metrics, sample


def test_metrics_from_this_machine(client):
    client.get("/healthz")

    response = client.get("/metrics")

    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    for name in (
        "shop_request_seconds_bucket",
        "shop_pushes_total",
        "shop_sockets_connected",
        "shop_sync_calls_total",
    ):
        assert name in text, name
    assert 'endpoint="main.healthz"' in text


def test_metrics_are_not_public(client):
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.7"}).status_code == 404


@pytest.mark.app_config(METRICS_TOKEN="scrape-me")
def test_with_a_token_only_its_bearer_reads_them(client):
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer scrape-me"}).status_code == 200


def scraped(client) -> dict:
    response = client.get("/metrics")
    assert response.status_code == 200
    return parse_metrics(response.get_data(as_text=True))


def test_the_relay_backlog_counts_what_was_not_pushed_and_ages_its_oldest(client, shopper):
    assert sample(scraped(client), "shop_relay_backlog") == 0
    assert sample(scraped(client), "shop_relay_backlog_oldest_seconds") == 0
    now = utcnow()
    for seq, age, pushed in ((1, 300, True), (2, 90, False), (3, 5, False)):
        db.session.add(
            Notification(user_id=shopper.id, seq=seq, kind="order_status", title="t", data={}, pushed=pushed)
        )
        db.session.flush()
        db.session.execute(
            update(Notification)
            .where(Notification.seq == seq)
            .values(created_at=now - timedelta(seconds=age))
        )
    db.session.commit()

    samples = scraped(client)

    assert sample(samples, "shop_relay_backlog") == 2
    assert 90 <= sample(samples, "shop_relay_backlog_oldest_seconds") < 300  # the pushed one does not count


def test_the_runner_backlog_counts_due_unclaimed_mail_by_kind(client, shopper):
    now = utcnow()
    waiting = {
        "digest-old": dict(kind=DIGEST, next_attempt_at=now - timedelta(seconds=120)),
        "digest-new": dict(kind=DIGEST, next_attempt_at=now - timedelta(seconds=10)),
        "confirmation": dict(kind=CONFIRMATION, next_attempt_at=now - timedelta(seconds=30)),
        "later": dict(kind=CONFIRMATION, next_attempt_at=now + timedelta(seconds=600)),
        "claimed": dict(kind=CANCELLATION, lease_until=now + timedelta(seconds=60), lease_owner="w1"),
        "sent": dict(kind=PASSWORD_RESET, status=SENT),
    }
    for fields in waiting.values():
        db.session.add(MailDelivery(user_id=shopper.id, to_address=shopper.email, **fields))
    db.session.commit()

    samples = scraped(client)

    def backlog(kind):
        labels = {"job": "mail.send", "kind": kind}
        return (
            sample(samples, "shop_runner_backlog", **labels),
            sample(samples, "shop_runner_backlog_oldest_seconds", **labels),
        )

    digests, oldest_digest = backlog(DIGEST)
    assert digests == 2 and 120 <= oldest_digest < 600
    confirmations, oldest_confirmation = backlog(CONFIRMATION)
    assert confirmations == 1 and 30 <= oldest_confirmation < 120  # the one due later waits
    assert backlog(CANCELLATION) == (0, 0)  # claimed: a sender holds it
    assert backlog(PASSWORD_RESET) == (0, 0)  # sent


def test_every_metric_the_alert_rules_name_is_served(client):
    """deploy/alerts.yml must not watch a metric that no longer exists (an alert that cannot fire)."""
    client.get("/healthz")
    text = client.get("/metrics").get_data(as_text=True)
    served = set(re.findall(r"^# HELP (\S+)", text, re.M)) | {name for name, _ in parse_metrics(text)}
    rules = (Path(__file__).parents[1] / "deploy" / "alerts.yml").read_text()

    named = set(re.findall(r"\bshop_[a-z_]+", rules))

    assert named >= {"shop_queue_heartbeat_age_seconds", "shop_relay_backlog_oldest_seconds"}
    assert named <= served, named - served
