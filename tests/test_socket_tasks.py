"""The worker's on-demand tasks (shop/sockets/tasks.py) and the batched login checks built on
them (shop/sockets/logins.py), asked from many OS threads at once: the threading mode's
handlers are real threads, and a hand-over racing the task's end or its taking of a batch
must be neither lost nor answered twice.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from shop.sockets import logins
from shop.sockets.logins import Batched, CheckFailed
from shop.sockets.tasks import TaskWhileBusy
from testing.processes import wait_until

THREADS = 32
ASKS_EACH = 40


@pytest.fixture
def short_wait(monkeypatch):
    monkeypatch.setattr(logins, "WAIT_SECONDS", 10)


def ask_from_threads(batched: Batched) -> list:
    def asks(thread: int) -> list:
        results = []
        for n in range(ASKS_EACH):
            try:
                results.append((n % 7, batched.ask(n % 7)))  # threads share keys
            except CheckFailed as failed:
                results.append((n % 7, failed))
        return results

    with ThreadPoolExecutor(THREADS) as pool:
        return [result for thread in pool.map(asks, range(THREADS)) for result in thread]


def test_every_ask_from_many_threads_gets_its_own_answer_in_shared_batches(app, short_wait):
    batches = []

    def answer(keys):
        batches.append(list(keys))
        time.sleep(0.001)
        return {key: key * 10 for key in keys}

    results = ask_from_threads(Batched(app, answer))
    assert len(results) == THREADS * ASKS_EACH
    assert all(value == key * 10 for key, value in results), [r for r in results if r[1] != r[0] * 10][:3]
    assert len(batches) < THREADS * ASKS_EACH  # asks waiting together share a query
    assert all(len(set(batch)) == len(batch) for batch in batches)


def test_a_failing_batch_fails_every_ask_of_it_and_the_next_asks_are_answered(app, short_wait):
    failing = threading.Event()
    failing.set()

    def answer(keys):
        if failing.is_set():
            raise RuntimeError("the database is down")
        return {key: key for key in keys}

    batched = Batched(app, answer)
    results = ask_from_threads(batched)
    assert all(isinstance(value, CheckFailed) and "database is down" in str(value) for _, value in results)
    failing.clear()
    assert batched.ask(3) == 3


def test_work_handed_over_while_the_task_ends_is_done_once(app):
    handed, done = [], []

    def step():
        time.sleep(0.0005)
        with task.lock:
            taken = handed[:]
            handed.clear()
        done.extend(taken)

    task = TaskWhileBusy(step, lambda: bool(handed))

    def hand_over(thread: int) -> None:
        for n in range(300):
            with task.lock:
                handed.append((thread, n))
            task.wake()
            if n % 50 == 0:
                time.sleep(0.002)  # let the task run dry and end, then wake it again

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(hand_over, range(8)))
    wait_until(lambda: not task.running, "the task to end")
    assert sorted(done) == sorted((thread, n) for thread in range(8) for n in range(300))


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_step_that_raises_ends_the_task_and_the_next_wake_starts_another(app):
    calls, work = [], [1]

    def step():
        calls.append(len(work))
        if len(calls) == 1:
            raise RuntimeError("one bad round")
        work.clear()

    task = TaskWhileBusy(step, lambda: bool(work))
    task.wake()
    wait_until(lambda: calls and not task.running, "the failed task to end")
    task.wake()
    wait_until(lambda: not work, "the next task to do the work")
    assert len(calls) == 2
