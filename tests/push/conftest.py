"""Fixtures for Web Push: a push service in the test process that checks VAPID and
decrypts every push, and the app pushing to it, on SQLite or on each database."""

from collections.abc import Iterator

import pytest
from flask import Flask

from config import new_vapid_private_key, vapid_public_key
from testing.apps import DATABASES, app_with_tables, database_url
from testing.pushservice import PUSH_DELAY as DELAY
from testing.pushservice import SUBJECT, PushService


@pytest.fixture
def vapid() -> dict:
    private = new_vapid_private_key()
    return {
        "VAPID_PRIVATE_KEY": private,
        "VAPID_PUBLIC_KEY": vapid_public_key(private),
        "VAPID_SUBJECT": SUBJECT,
    }


@pytest.fixture
def service(vapid) -> Iterator[PushService]:
    with PushService(vapid["VAPID_PUBLIC_KEY"], SUBJECT) as push_service:
        yield push_service


@pytest.fixture
def push_app(request, vapid, service) -> Iterator[Flask]:
    marker = request.node.get_closest_marker("app_config")
    settings = {**vapid, "NOTIFY_PUSH_DELAY_SECONDS": DELAY, **(marker.kwargs if marker else {})}
    with app_with_tables(**settings) as app:
        yield app


@pytest.fixture(params=DATABASES)
def push_db_app(request, tmp_path, vapid, service) -> Iterator[Flask]:
    with (
        database_url(request.param, tmp_path) as url,
        app_with_tables(
            SQLALCHEMY_DATABASE_URI=url, DB_POOL_SIZE=10, NOTIFY_PUSH_DELAY_SECONDS=DELAY, **vapid
        ) as app,
    ):
        yield app
