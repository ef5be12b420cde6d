"""Put records back into their source stream, in API-sized batches, retrying until every one is in.

Firehose (PutRecordBatch) or, when Firehose reads from a Kinesis Data Stream, that stream (PutRecords).
Throttling, service errors and per-record failures (FailedPutCount / FailedRecordCount) are retried
with exponential backoff and full jitter; only the records that failed are sent again. When a batch's
attempts run out, or the invocation's time does, the records still out are reported failed, one by
one, and the invocation goes on: failing it would make Firehose retry the whole batch and put the
records already back in the stream in again (issue 11, defect 6). The caller reports a record
Dropped only once it is back in the stream, and ProcessingFailed otherwise (Firehose then writes it,
with its data, under the error prefix).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from logpipes.common.backoff import Backoff

MAX_BATCH_RECORDS = 500
MAX_BATCH_BYTES = 4 * 1024 * 1024  # PutRecordBatch's limit (PutRecords allows 5 MiB)
MAX_RECORD_BYTES = 1_000 * 1024  # Firehose's per-record limit before base64


@dataclass(frozen=True)
class ReingestRecord:
    """A record to put back into the stream: a Firehose record's gzip data, whole or a piece of it."""

    data: bytes
    partition_key: str | None = None  # Kinesis Data Stream sources only
    source_id: str = ""  # the recordId of the Firehose record this comes from (whole, or a piece)


@dataclass(frozen=True)
class StreamTarget:
    """Where re-ingested records go: the Firehose delivery stream, or its Kinesis source stream."""

    arn: str

    @property
    def is_kinesis(self) -> bool:
        """True for a Kinesis Data Stream (PutRecords), False for a delivery stream (PutRecordBatch)."""
        return self.arn.split(":")[2] == "kinesis"

    @property
    def name(self) -> str:
        """The stream's name: what follows ``deliverystream/`` or ``stream/`` in the ARN."""
        return self.arn.split("/", 1)[1]

    @property
    def region(self) -> str:
        """The region field of the ARN."""
        return self.arn.split(":")[3]


def batches(records: list[ReingestRecord]) -> Iterator[list[int]]:
    """Indexes of consecutive records, in batches of at most 500 records and 4 MiB; a record over
    the per-record limit is in none (it cannot be put)."""
    batch: list[int] = []
    size = 0
    for index, record in enumerate(records):
        if len(record.data) > MAX_RECORD_BYTES:
            continue
        if batch and (len(batch) == MAX_BATCH_RECORDS or size + len(record.data) > MAX_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(index)
        size += len(record.data)
    if batch:
        yield batch


class Reingester:
    """Puts records back into one stream in batches, retrying only the failed ones, in the time left."""

    def __init__(
        self,
        target: StreamTarget,
        client: Any,
        max_attempts: int = 10,
        backoff: Backoff = Backoff(base_seconds=0.1, cap_seconds=5.0),  # noqa: B008 (frozen, shared safely)
        seconds_left: Callable[[], float] = lambda: float("inf"),
        reserve_seconds: float = 0.0,
    ) -> None:
        """seconds_left: the invocation's remaining time; no attempt starts (and no back-off sleeps)
        within reserve_seconds of the end, so that the handler always answers."""
        self.target = target
        self.client = client
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.seconds_left = seconds_left
        self.reserve_seconds = reserve_seconds
        self.retries = 0

    def put(self, records: list[ReingestRecord]) -> list[str | None]:
        """Put every record back; returns, for each, None once it is in, else why it is not."""
        errors: list[str | None] = [
            f"record of {len(r.data)} bytes exceeds the {MAX_RECORD_BYTES} byte limit"
            if len(r.data) > MAX_RECORD_BYTES
            else None
            for r in records
        ]
        for batch in batches(records):
            for index, error in self._put_batch(records, batch).items():
                errors[index] = error
        return errors

    def _put_batch(self, records: list[ReingestRecord], pending: list[int]) -> dict[int, str]:
        """The indexes of the batch's records still out after every attempt, with the last error."""
        last_error = ""
        for attempt in range(self.max_attempts):
            delay = 0.0
            if attempt:
                delay = self.backoff.delay(attempt)
            if self.seconds_left() - delay < self.reserve_seconds:
                last_error = f"the invocation's time ran out ({last_error or 'before the first attempt'})"
                break
            if attempt:
                self.retries += 1
                self.backoff.sleep(delay)
            try:
                codes = self._send([records[index] for index in pending])
            except (ClientError, BotoCoreError) as error:
                last_error = str(error)
                continue
            failed = [index for index, code in zip(pending, codes, strict=True) if code]
            if not failed:
                return {}
            last_error = f"{len(failed)} of {len(pending)} records failed: {sorted({c for c in codes if c})}"
            pending = failed
        else:
            last_error = f"{self.max_attempts} attempts: {last_error}"
        reason = f"could not re-ingest into {self.target.arn}: {last_error}"
        return dict.fromkeys(pending, reason)

    def _send(self, records: list[ReingestRecord]) -> list[str | None]:
        """One API call; returns each record's error code (None when it was accepted)."""
        if self.target.is_kinesis:
            response = self.client.put_records(
                StreamName=self.target.name,
                Records=[{"Data": r.data, "PartitionKey": r.partition_key or "reingest"} for r in records],
            )
            results = response["Records"]
        else:
            response = self.client.put_record_batch(
                DeliveryStreamName=self.target.name, Records=[{"Data": r.data} for r in records]
            )
            results = response["RequestResponses"]
        return [result.get("ErrorCode") or None for result in results]
