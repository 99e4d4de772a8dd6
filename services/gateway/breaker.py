"""A circuit breaker per upstream service: fail fast while a service is known to be down."""

from __future__ import annotations

import math
import time


class CircuitBreaker:
    """Closed -> open after `failures` consecutive failures -> one trial after `cooldown_s`.

    While open every call is refused at once (a 503 with Retry-After), so callers of a dead
    service do not each wait for a connect timeout, and the other service's routes are untouched.
    """

    def __init__(self, failures: int, cooldown_s: float) -> None:
        self.threshold = failures
        self.cooldown_s = cooldown_s
        self.consecutive = 0
        self.opened_at: float | None = None
        self._trial_running = False

    def retry_after_s(self) -> int | None:
        """None when a call may go ahead; otherwise seconds until the next trial."""
        if self.opened_at is None:
            return None
        waited = time.monotonic() - self.opened_at
        if waited >= self.cooldown_s and not self._trial_running:
            self._trial_running = True  # half-open: exactly one trial call goes through
            return None
        return max(1, math.ceil(self.cooldown_s - waited))

    def success(self) -> None:
        """A call got an answer: close."""
        self.consecutive = 0
        self.opened_at = None
        self._trial_running = False

    def failure(self) -> None:
        """A call could not reach the service (or timed out)."""
        self.consecutive += 1
        self._trial_running = False
        if self.consecutive >= self.threshold or self.opened_at is not None:
            self.opened_at = time.monotonic()

    @property
    def state(self) -> str:
        """closed, open or half-open (for metrics and tests)."""
        if self.opened_at is None:
            return "closed"
        return "half-open" if self._trial_running else "open"
