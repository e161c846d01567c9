"""The background runner's registry, and the outbox relay as one of its jobs."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from shop import background
from shop.extensions import db
from shop.models import Notification
from shop.models.base import utcnow
from shop.realtime import publisher, relay
from testing.data import make_user, write_notification


def test_the_runner_starts_every_registered_job_in_a_task_of_its_own(app):
    spawned = []
    jobs = background.start(app, lambda fn, *args: spawned.append(args[1].name), lambda seconds: None)
    shared = {"mail.plan", "mail.send", "outbox.relay", "sessions.prune", "media.prune"}
    assert {job.name for job in jobs} >= shared
    assert spawned == [job.name for job in jobs]
    assert background.JOBS["mail.send"].interval(app.config) == app.config["BACKGROUND_POLL_SECONDS"]


@pytest.fixture
def chore():
    """A per-worker job (as worker.start registers the position check and the queue watch)."""
    job = background.register("test.chore", 1, lambda app: None, per_worker=True)
    yield job
    del background.JOBS[job.name]


@pytest.mark.app_config(BACKGROUND_POLL_SECONDS=0)
def test_with_the_poll_at_zero_a_server_runs_only_its_own_chores(app, chore):
    spawned = []
    started = background.start(app, lambda fn, *args: spawned.append(args[1].name), lambda seconds: None)
    assert started == [chore] and spawned == ["test.chore"]


def test_run_background_runs_the_shared_jobs_and_no_worker_chore(app, chore):
    started = background.start(app, lambda *args: None, lambda seconds: None, in_server=False)
    assert chore not in started and "mail.send" in {job.name for job in started}


def test_a_failing_job_is_logged_and_the_runner_goes_on(app, caplog):
    def broken(app):
        raise RuntimeError("boom")

    job = background.register("test.broken", 1, broken)
    try:
        assert background.run_once(app, job) is None
    finally:
        del background.JOBS["test.broken"]
    assert "background job test.broken failed" in caplog.text


def test_the_cli_runs_the_jobs_as_a_process_of_their_own(runner):
    result = runner.invoke(args=["run-background", "--help"])
    assert result.exit_code == 0 and "--poll" in result.output


def pushed(notification_id: int) -> bool:
    db.session.rollback()
    return db.session.scalar(select(Notification.pushed).where(Notification.id == notification_id))


def test_the_relay_marks_what_was_emitted_and_emits_what_was_not(app, monkeypatch):
    alice = make_user()
    emitted = write_notification(alice.id, "Emitted after its commit")  # the publisher emitted it
    relayed = []
    monkeypatch.setattr(relay, "_emit", lambda row: relayed.append(row.seq) or True)
    assert publisher.emitted_here() == [emitted.id]
    assert publisher.emitted_here() == []  # taken once
    relay.mark_pushed([emitted.id])
    lost = write_notification(alice.id, "Its worker died before the emit")
    publisher.emitted_here()  # forgotten, as by a killed worker

    assert relay.relay_unpushed() == 0  # within the grace period the normal path may still mark it
    later = utcnow() + timedelta(seconds=app.config["OUTBOX_GRACE_SECONDS"] + 1)
    assert relay.relay_unpushed(later) == 1
    assert relayed == [lost.seq]
    assert pushed(emitted.id) and pushed(lost.id)
    assert relay.relay_unpushed(later) == 0


def test_a_relayed_emit_that_fails_is_tried_again(app, monkeypatch):
    lost = write_notification(make_user().id, "Lost")
    publisher.emitted_here()
    later = utcnow() + timedelta(seconds=app.config["OUTBOX_GRACE_SECONDS"] + 1)
    monkeypatch.setattr(relay, "_emit", lambda row: False)
    assert relay.relay_unpushed(later) == 0
    assert not pushed(lost.id)
    monkeypatch.setattr(relay, "_emit", lambda row: True)
    assert relay.relay_unpushed(later) == 1


def test_a_process_without_a_relay_marks_what_it_emitted_when_its_context_ends(app):
    """A CLI command (tests/scaleout/test_two_workers.py runs one): the workers' relays must
    not emit its notifications a second time."""
    alice_id = make_user().id
    db.session.rollback()  # (one in-memory connection: the test's own session lets go of it)
    with app.app_context():  # as the flask command's own context
        emitted = write_notification(alice_id, "From cron").id
    assert pushed(emitted)
    assert publisher.take_emitted() == []  # nothing left for a relay
