"""shop.offload: CPU-bound calls go through the executor the serving layer hands
in, a few at a time; password hashing and checking are such calls."""

import re
import threading
import time
from pathlib import Path

import pytest

from shop import offload
from shop.models.user import PASSWORDS
from testing.data import PASSWORD, make_user

SHOP = Path(__file__).resolve().parent.parent / "shop"


@pytest.fixture
def executor():
    """A recording executor in place of the direct call; the direct call again afterwards."""
    calls = []

    def record(fn, *args):
        calls.append(fn)
        return fn(*args)

    offload.use_executor(record, 2)
    yield calls
    offload.use_executor(offload.call_directly, 2)


def test_calls_run_through_the_executor_at_most_n_at_a_time(executor):
    running, most = 0, 0
    lock = threading.Lock()

    def busy(n):
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return n * 2

    results = {}
    threads = [
        threading.Thread(target=lambda n=n: results.update({n: offload.run_cpu_bound(busy, n)}))
        for n in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert results == {n: n * 2 for n in range(6)}
    assert executor == [busy] * 6
    assert most == 2


def test_an_exception_reaches_the_caller_and_frees_its_slot(executor):
    def fails():
        raise ValueError("inside the pool")

    for _ in range(3):  # more than the two slots: each failure gave its slot back
        with pytest.raises(ValueError, match="inside the pool"):
            offload.run_cpu_bound(fails)


def test_password_hashing_and_checking_are_offloaded(app, executor):
    user = make_user()
    user.set_password("a long passphrase")
    assert user.check_password("a long passphrase")
    assert not user.check_password(PASSWORD)
    assert executor == [PASSWORDS.hash, PASSWORDS.verify, PASSWORDS.verify]


def test_a_login_hashes_off_the_request(app, client, executor):
    make_user()
    assert (
        client.post("/auth/login", data={"email": "shopper@example.com", "password": PASSWORD}).status_code
        == 302
    )
    assert executor == [PASSWORDS.verify]


def test_nothing_under_shop_names_eventlet_or_gevent():
    """The app is handed its executor and served by serving/: no import, not even a mention."""
    naming = {
        path.relative_to(SHOP).as_posix()
        for path in SHOP.rglob("*.py")
        if re.search(r"eventlet|gevent", path.read_text(), re.IGNORECASE)
    }
    assert naming == set()
