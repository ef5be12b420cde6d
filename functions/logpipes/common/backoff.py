"""Exponential backoff with full jitter, for the retries a handler makes itself.

Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): attempt n waits a uniform time in
[0, min(cap, base * 2**n)], which spreads the retries of many concurrent invocations apart better than a
fixed or "equal jitter" schedule. Used by the OpenSearch ``_bulk`` client and Firehose re-ingestion.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass


def _sleep(seconds: float) -> None:
    # Looked up at call time, so that a test patching time.sleep reaches every default Backoff.
    time.sleep(seconds)


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter: attempt n waits uniform(0, min(cap, base * 2**n)).

    ``sleep`` and ``random`` are injectable so that tests record the waits instead of sleeping, and
    can fix the jitter (``random=lambda: 1.0`` waits the whole exponential schedule).
    """

    base_seconds: float = 0.2
    cap_seconds: float = 20.0
    sleep: Callable[[float], None] = _sleep
    random: Callable[[], float] = random.random

    def delay(self, attempt: int) -> float:
        """The wait before attempt ``attempt`` (0 is the first retry's base)."""
        return self.random() * min(self.cap_seconds, self.base_seconds * 2**attempt)
