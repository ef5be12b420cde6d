"""The ``_bulk`` client: send entries, read every response, retry what is worth retrying.

- A whole request answered 429/502/503/504, or lost to a connection error or a timeout, is sent
  again after an exponential backoff with full jitter. If that keeps happening for all attempts,
  ``BulkUnavailable`` is raised: nothing of the batch is known to be indexed, and the Step Functions
  task retries the whole chunk later (documents have deterministic ids, so that overwrites).
- Any other error status for the whole request (400, 403, 413 ...) is a client or configuration
  error that retrying cannot fix: ``BulkRejected``.
- Otherwise every item of the response is looked at. Items failing with 429 or 5xx are sent again
  (only them) with the same backoff; items failing with another status (mapping and parse errors)
  are dead letters at once; items still failing after the last attempt are dead letters marked
  ``transient``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from logpipes.es_bulk_loader.opensearch import OpenSearchHttp

RETRYABLE_REQUEST_STATUSES = frozenset({429, 502, 503, 504})
NDJSON = "application/x-ndjson"
# Only what the client reads: the response of a 5 MB request shrinks from ~1 MB to ~100 KB.
RESPONSE_FILTER = {"filter_path": "errors,items.*.status,items.*.error"}


class BulkUnavailable(RuntimeError):
    """Whole bulk requests kept failing with 429/5xx or connection errors."""


class BulkRejected(RuntimeError):
    """A whole bulk request was refused with a status retrying cannot fix."""


class BulkProtocolError(RuntimeError):
    """The response does not have one item per document sent."""


@dataclass(frozen=True)
class DeadLetter:
    """An entry (action and source lines) that was not indexed, and why."""

    entry: str
    status: int
    error: Any
    transient: bool  # True: still 429/5xx after the last attempt


@dataclass
class BulkResult:
    indexed: int = 0
    dead_letters: list[DeadLetter] = field(default_factory=list)
    requests: int = 0
    retried_requests: int = 0
    retried_items: int = 0


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter: attempt n waits uniform(0, min(cap, base * 2**n))."""

    base_seconds: float = 0.2
    cap_seconds: float = 20.0
    sleep: Callable[[float], None] = time.sleep
    random: Callable[[], float] = random.random

    def wait(self, attempt: int) -> None:
        self.sleep(self.random() * min(self.cap_seconds, self.base_seconds * 2**attempt))


@dataclass(frozen=True)
class _RequestFailure:
    reason: str


class BulkClient:
    def __init__(self, http: OpenSearchHttp, max_attempts: int = 6, backoff: Backoff | None = None) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.http = http
        self.max_attempts = max_attempts
        self.backoff = backoff or Backoff()

    def send(self, entries: list[str]) -> BulkResult:
        """Index ``entries``; every one ends up indexed or in ``dead_letters``, or this raises."""
        result = BulkResult()
        pending = entries
        attempt = 0
        while True:
            outcome = self._attempt(pending, result)
            attempt += 1
            last_attempt = attempt == self.max_attempts
            if isinstance(outcome, _RequestFailure):
                if last_attempt:
                    raise BulkUnavailable(f"_bulk failed {attempt} times, last: {outcome.reason}")
                result.retried_requests += 1
            else:
                retry, errors = outcome
                if not retry:
                    return result
                if last_attempt:
                    result.dead_letters.extend(
                        DeadLetter(entry, error["status"], error.get("error"), transient=True)
                        for entry, error in zip(retry, errors, strict=True)
                    )
                    return result
                result.retried_items += len(retry)
                pending = retry
            self.backoff.wait(attempt)

    def _attempt(
        self, entries: list[str], result: BulkResult
    ) -> _RequestFailure | tuple[list[str], list[dict[str, Any]]]:
        """One POST: the request failure, or the entries to retry and their errors."""
        result.requests += 1
        try:
            response = self.http.request(
                "POST", "/_bulk", "".join(entries).encode(), params=RESPONSE_FILTER, content_type=NDJSON
            )
        except (requests.ConnectionError, requests.Timeout) as error:
            return _RequestFailure(f"{type(error).__name__}: {error}")
        if response.status_code in RETRYABLE_REQUEST_STATUSES:
            return _RequestFailure(f"HTTP {response.status_code}: {response.text[:300]}")
        if response.status_code >= 300:
            raise BulkRejected(f"_bulk -> HTTP {response.status_code}: {response.text[:1000]}")
        return self._sort_items(entries, response.json(), result)

    @staticmethod
    def _sort_items(
        entries: list[str], body: dict[str, Any], result: BulkResult
    ) -> tuple[list[str], list[dict[str, Any]]]:
        items = body.get("items", [])
        if len(items) != len(entries):
            raise BulkProtocolError(f"sent {len(entries)} documents, the response has {len(items)} items")
        if not body.get("errors"):
            result.indexed += len(entries)
            return [], []
        retry: list[str] = []
        retry_errors: list[dict[str, Any]] = []
        for entry, item in zip(entries, items, strict=True):
            (outcome,) = item.values()
            status = outcome["status"]
            if status < 300:
                result.indexed += 1
            elif status == 429 or status >= 500:
                retry.append(entry)
                retry_errors.append(outcome)
            else:
                result.dead_letters.append(DeadLetter(entry, status, outcome.get("error"), transient=False))
        return retry, retry_errors
