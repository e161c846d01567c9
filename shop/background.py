"""The one home for background work: a small registry of named jobs, each run every
so many seconds, in an app context, by one runner.

The serving layer starts the runner in every worker (``serving.serve``): under
an event-loop server each job is a green thread of the server process, so the
embedded default needs no extra service. Jobs that more than one worker might
do at once (sending mail and pushes, the outbox relay) claim their
work in the database with a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
BEGIN IMMEDIATE on SQLite), so running the runner in every worker is safe and a
worker that dies leaves its claims to expire. ``flask run-background`` runs the
same jobs as one process of their own instead (OS threads), for a deployment
that would rather keep them off the serving workers (BACKGROUND_POLL_SECONDS=0
there starts none in the workers).

A job registers with ``register(name, every, run)``: ``every`` is seconds, or
the name of a config setting holding them; ``run(app)`` does one round.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask

from shop.extensions import db

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    every: float | str
    run: Callable[[Flask], Any]
    # A worker's own chore (telling its own sockets, watching its own queue line): it
    # runs in every server whatever BACKGROUND_POLL_SECONDS says, never in run-background.
    per_worker: bool = False

    def interval(self, config) -> float:
        return float(config[self.every]) if isinstance(self.every, str) else self.every


JOBS: dict[str, Job] = {}


def running(app: Flask, name: str) -> bool:
    """Whether ``app`` has the job ``name`` running in this process."""
    return name in app.extensions.get("background", ())


def register(name: str, every: float | str, run: Callable[[Flask], Any], per_worker: bool = False) -> Job:
    JOBS[name] = job = Job(name, every, run, per_worker)
    return job


def run_once(app: Flask, job: Job) -> Any:
    """One round of ``job`` in a fresh app context; an error is logged, never raised."""
    with app.app_context():
        try:
            return job.run(app)
        except Exception:
            log.exception("background job %s failed", job.name)
            return None
        finally:
            db.session.remove()


def start(
    app: Flask, spawn: Callable[..., Any], sleep: Callable[[float], Any], in_server: bool = True
) -> list[Job]:
    """Start the registered jobs, each as a task of its own (``spawn(fn, *args)``) that sleeps
    with ``sleep``: in a server the per-worker ones, and the others unless
    BACKGROUND_POLL_SECONDS is 0; elsewhere (run-background) the others only."""
    _register_defaults()
    shared = bool(app.config["BACKGROUND_POLL_SECONDS"])
    jobs = [job for job in JOBS.values() if (job.per_worker and in_server) or (not job.per_worker and shared)]
    for job in jobs:
        spawn(_loop, app, job, sleep)
        app.extensions.setdefault("background", []).append(job.name)
    return jobs


def _loop(app: Flask, job: Job, sleep: Callable[[float], Any]) -> None:
    while True:
        sleep(job.interval(app.config))
        run_once(app, job)


def run_forever(app: Flask, poll_seconds: float) -> None:
    """``flask run-background``: the jobs in OS threads of this process, until interrupted."""
    import threading

    app.config["BACKGROUND_POLL_SECONDS"] = poll_seconds

    def spawn(fn, *args):
        threading.Thread(target=fn, args=args, daemon=True).start()

    for job in start(app, spawn, time.sleep, in_server=False):
        print(f"background: {job.name} every {job.interval(app.config):g} s", flush=True)
    while True:
        time.sleep(3600)


def _register_defaults() -> None:
    from shop.realtime import relay
    from shop.services import accounts, mail, photos, push

    register("mail.plan", "BACKGROUND_POLL_SECONDS", lambda app: mail.plan_digests())
    register("mail.send", "BACKGROUND_POLL_SECONDS", mail.send_due)
    register(relay.JOB, "OUTBOX_RELAY_SECONDS", relay.run)
    register("sessions.prune", "SESSION_PRUNE_SECONDS", lambda app: accounts.prune_sessions())
    register("media.prune", "MEDIA_PRUNE_SECONDS", lambda app: photos.remove_orphan_files())
    register(
        "push.plan", "BACKGROUND_POLL_SECONDS", lambda app: app.config["PUSH_ENABLED"] and push.plan_pushes()
    )
    register(
        "push.send", "BACKGROUND_POLL_SECONDS", lambda app: app.config["PUSH_ENABLED"] and push.send_due(app)
    )
    register("push.prune", "PUSH_PRUNE_SECONDS", lambda app: push.prune())
