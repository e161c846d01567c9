"""A token bucket per connection, for client events."""

import time


class TokenBucket:
    """``rate`` events a second with bursts of ``burst``.

    A refused event still costs a token, so the balance goes negative while a
    client keeps sending too fast; once it is ``burst`` below zero the client
    is flooding (it ignored ``burst`` refusals in a row) and ``flooding`` says
    so. A client that slows down to ``rate`` is never cut off.
    """

    def __init__(self, rate: float, burst: int, clock=time.monotonic):
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.clock = clock
        self.updated = clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        self.tokens -= 1
        return self.tokens >= 0

    @property
    def flooding(self) -> bool:
        return self.tokens < -self.burst
