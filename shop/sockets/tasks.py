"""One background task of this worker that runs while there is work and ends when there is none.

The connect's login checks, the socket rows and the presence entries are each
handed to such a task: the first hand-over starts it, so an idle worker (or a
test's app) keeps none. Handing over and taking are done under one lock, and
the task decides to end under it too: on OS threads (the threading mode) a
hand-over as the task ends is never left behind, and nothing is handed into a
batch already taken. Under green threads nothing yields inside the lock.
"""

import threading
from collections.abc import Callable

from shop.extensions import socketio


class TaskWhileBusy:
    """``step()`` again and again in one task while ``busy()``; ``wake()`` after handing work over.

    Hand work over and take it ``with task.lock``; ``busy`` is called under it.
    """

    def __init__(self, step: Callable[[], None], busy: Callable[[], bool]) -> None:
        self.lock = threading.Lock()
        self._step = step
        self._busy = busy
        self._running = False

    def wake(self) -> None:
        with self.lock:
            if self._running:
                return
            self._running = True
        socketio.start_background_task(self._run)

    @property
    def running(self) -> bool:
        return self._running

    def _run(self) -> None:
        try:
            while self._still_busy():
                self._step()
        except BaseException:
            with self.lock:
                self._running = False
            raise

    def _still_busy(self) -> bool:
        with self.lock:
            if self._busy():
                return True
            self._running = False
            return False
