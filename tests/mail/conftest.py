"""Fixtures for email: a real SMTP server (aiosmtpd) in the test process, and the app
sending to it, on SQLite or on each database."""

from collections.abc import Iterator

import pytest
from flask import Flask

from testing.apps import DATABASES, app_with_tables, database_url
from testing.smtp import EMAIL_DELAY as DELAY
from testing.smtp import Mailbox


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with Mailbox() as box:
        yield box


@pytest.fixture
def mail_app(request, mailbox) -> Iterator[Flask]:
    """The app sending to ``mailbox``; ``@pytest.mark.app_config`` adds settings."""
    marker = request.node.get_closest_marker("app_config")
    settings = {
        **mailbox.settings(),
        "NOTIFY_EMAIL_DELAY_SECONDS": DELAY,
        **(marker.kwargs if marker else {}),
    }
    with app_with_tables(**settings) as app:
        yield app


@pytest.fixture(params=DATABASES)
def mail_db_app(request, tmp_path, mailbox) -> Iterator[Flask]:
    """The app sending to ``mailbox``, on a SQLite file and on a PostgreSQL database of its own."""
    with (
        database_url(request.param, tmp_path) as url,
        app_with_tables(
            SQLALCHEMY_DATABASE_URI=url,
            DB_POOL_SIZE=10,
            NOTIFY_EMAIL_DELAY_SECONDS=DELAY,
            **mailbox.settings(),
        ) as app,
    ):
        yield app
