"""The ``_bulk`` client: send entries, read every response, retry what is worth retrying.

Every entry handed to ``send`` ends up indexed or in the result's ``dead_letters``:

- A whole request answered 429 or 5xx, lost to a connection error or a timeout, or answered with a
  body that does not have one item per document, is sent again after an exponential backoff with
  full jitter. Sending it again is safe: documents have deterministic ids, so a request that was
  applied although its answer was lost only overwrites the same documents.
- A whole request answered 413 (larger than the cluster's ``http.max_content_length``) is split in
  halves until the parts fit; a single document still refused is a dead letter (status 413).
- Any other error status for the whole request (400, 401, 403 ...) cannot be fixed by retrying:
  the request's documents are dead letters with that status and the cluster's answer.
- Otherwise every item of the response is looked at. Items failing with 429 or 5xx are sent again
  (only them) with the same backoff; items failing with another status (mapping and parse errors)
  are dead letters at once.
- When the attempts run out (``max_attempts``, or the time ``time_left`` reports would not cover
  the wait and another request), what is still pending becomes dead letters marked ``transient``
  (worth replaying as they are). If it was whole requests that kept failing, the cluster is taken
  to be unavailable for the rest of this client's life (one chunk): later batches become transient
  dead letters at once instead of each waiting through its retries, so the chunk ends in time.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from logpipes.common.backoff import Backoff
from logpipes.es_bulk_loader.opensearch import CONNECT_TIMEOUT, READ_TIMEOUT, OpenSearchHttp

NDJSON = "application/x-ndjson"
TOO_LARGE = 413
# Only what the client reads: the response of a 5 MB request shrinks from ~1 MB to ~100 KB.
RESPONSE_FILTER = {"filter_path": "errors,items.*.status,items.*.error"}
MIN_REQUEST_SECONDS = 1.0  # less time left than this: do not start another request


def is_retryable(status: int) -> bool:
    """429 (throttled) and 5xx: the cluster may accept the same request later."""
    return status == 429 or status >= 500


@dataclass(frozen=True)
class DeadLetter:
    """An entry (action and source lines) that was not indexed, and why."""

    entry: str
    status: int | None  # None: no HTTP answer (connection error, timeout)
    error: Any
    transient: bool  # True: still 429/5xx/unanswered after the last attempt


@dataclass
class BulkResult:
    """What one ``send`` did: documents indexed, entries dead-lettered, and the requests it took."""

    indexed: int = 0
    dead_letters: list[DeadLetter] = field(default_factory=list)
    requests: int = 0
    retried_requests: int = 0
    retried_items: int = 0
    split_requests: int = 0


@dataclass(frozen=True)
class _RequestFailed:
    """The whole request failed in a way that may pass (429, 5xx, no answer, a garbled answer)."""

    status: int | None
    reason: str


@dataclass(frozen=True)
class _Refused:
    """The whole request was refused for good (4xx other than 413 and 429)."""

    status: int
    error: Any


@dataclass(frozen=True)
class _TooLarge:
    error: Any


@dataclass(frozen=True)
class _Items:
    """The request was answered item by item: those to retry, with their errors."""

    retry: list[str]
    errors: list[dict[str, Any]]


_OUT_OF_TIME = _RequestFailed(None, "the function ran out of time to retry")


def _unbounded() -> float:
    return math.inf


class BulkClient:
    """Sends ``_bulk`` requests for one chunk (make one per chunk: it remembers an unavailable cluster)."""

    def __init__(
        self,
        http: OpenSearchHttp,
        max_attempts: int = 6,
        backoff: Backoff | None = None,
        time_left: Callable[[], float] = _unbounded,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.http = http
        self.max_attempts = max_attempts
        self.backoff = backoff or Backoff()
        self.time_left = time_left  # seconds this client may still spend
        self.unavailable: _RequestFailed | None = None

    def send(self, entries: list[str]) -> BulkResult:
        """Index ``entries``; every one ends up indexed or in ``dead_letters``."""
        result = BulkResult()
        self._send(entries, result)
        return result

    def _send(self, entries: list[str], result: BulkResult) -> None:
        pending = entries
        attempt = 0
        while True:
            if self.unavailable is not None:
                self._dead_letter_unsent(pending, self.unavailable, result)
                return
            time_left = self.time_left()
            if time_left < MIN_REQUEST_SECONDS:
                self.unavailable = _OUT_OF_TIME
                continue
            outcome = self._attempt(pending, result, min(READ_TIMEOUT, time_left))
            attempt += 1
            if isinstance(outcome, _TooLarge):
                self._split(pending, outcome, result)
                return
            if isinstance(outcome, _Refused):
                result.dead_letters.extend(
                    DeadLetter(entry, outcome.status, outcome.error, transient=False) for entry in pending
                )
                return
            if isinstance(outcome, _Items) and not outcome.retry:
                return
            delay = self.backoff.delay(attempt)
            out_of_attempts = attempt >= self.max_attempts
            out_of_time = self.time_left() - delay < MIN_REQUEST_SECONDS
            if isinstance(outcome, _RequestFailed):
                if out_of_attempts or out_of_time:
                    self.unavailable = outcome  # the loop's next turn dead-letters what is pending
                    continue
                result.retried_requests += 1
            else:
                if out_of_attempts or out_of_time:
                    result.dead_letters.extend(
                        DeadLetter(entry, error["status"], error.get("error"), transient=True)
                        for entry, error in zip(outcome.retry, outcome.errors, strict=True)
                    )
                    if out_of_time:
                        self.unavailable = _OUT_OF_TIME
                    return
                result.retried_items += len(outcome.retry)
                pending = outcome.retry
            self.backoff.sleep(delay)

    def _split(self, entries: list[str], too_large: _TooLarge, result: BulkResult) -> None:
        if len(entries) == 1:
            result.dead_letters.append(DeadLetter(entries[0], TOO_LARGE, too_large.error, transient=False))
            return
        result.split_requests += 1
        half = len(entries) // 2
        self._send(entries[:half], result)
        self._send(entries[half:], result)

    @staticmethod
    def _dead_letter_unsent(entries: list[str], failure: _RequestFailed, result: BulkResult) -> None:
        error = {"type": "bulk_unavailable", "reason": failure.reason}
        result.dead_letters.extend(
            DeadLetter(entry, failure.status, error, transient=True) for entry in entries
        )

    def _attempt(
        self, entries: list[str], result: BulkResult, read_timeout: float
    ) -> _RequestFailed | _Refused | _TooLarge | _Items:
        """One POST, and what its answer means."""
        result.requests += 1
        try:
            response = self.http.request(
                "POST",
                "/_bulk",
                "".join(entries).encode(),
                params=RESPONSE_FILTER,
                content_type=NDJSON,
                timeout=(CONNECT_TIMEOUT, read_timeout),
            )
        except (requests.ConnectionError, requests.Timeout) as error:
            return _RequestFailed(None, f"{type(error).__name__}: {error}")
        return self._read_answer(response, entries, result)

    def _read_answer(
        self, response: requests.Response, entries: list[str], result: BulkResult
    ) -> _RequestFailed | _Refused | _TooLarge | _Items:
        status = response.status_code
        if is_retryable(status):
            return _RequestFailed(status, f"HTTP {status}: {response.text[:300]}")
        if status == TOO_LARGE:
            return _TooLarge(_error_body(response))
        if status >= 300:
            return _Refused(status, _error_body(response))
        try:
            body = response.json()
            items = body.get("items", [])
        except (ValueError, AttributeError):
            return _RequestFailed(status, f"the answer is not a JSON object: {response.text[:300]}")
        if len(items) != len(entries):
            return _RequestFailed(
                status, f"sent {len(entries)} documents, the response has {len(items)} items"
            )
        return self._sort_items(entries, body, items, result)

    @staticmethod
    def _sort_items(entries: list[str], body: dict[str, Any], items: list[Any], result: BulkResult) -> _Items:
        if not body.get("errors"):
            result.indexed += len(entries)
            return _Items([], [])
        retry: list[str] = []
        retry_errors: list[dict[str, Any]] = []
        for entry, item in zip(entries, items, strict=True):
            (outcome,) = item.values()
            status = outcome["status"]
            if status < 300:
                result.indexed += 1
            elif is_retryable(status):
                retry.append(entry)
                retry_errors.append(outcome)
            else:
                result.dead_letters.append(DeadLetter(entry, status, outcome.get("error"), transient=False))
        return _Items(retry, retry_errors)


def _error_body(response: requests.Response) -> Any:
    """The cluster's error object, or its text when the answer is not JSON."""
    try:
        return response.json().get("error", response.text[:1000])
    except (ValueError, AttributeError):
        return response.text[:1000]
