"""Put records back into their source stream, in API-sized batches, retrying until every one is in.

Firehose (PutRecordBatch) or, when Firehose reads from a Kinesis Data Stream, that stream (PutRecords).
Throttling, service errors and per-record failures (FailedPutCount / FailedRecordCount) are retried
with exponential backoff and full jitter; only the records that failed are sent again. When attempts
run out, ReingestionError is raised so that the caller fails the invocation and Firehose retries the
whole batch: a record is never reported as Dropped unless it is back in the stream.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

MAX_BATCH_RECORDS = 500
MAX_BATCH_BYTES = 4 * 1024 * 1024  # PutRecordBatch's limit (PutRecords allows 5 MiB)
MAX_RECORD_BYTES = 1_000 * 1024  # Firehose's per-record limit before base64


class ReingestionError(RuntimeError):
    """Some records could not be put back after every attempt."""


@dataclass(frozen=True)
class ReingestRecord:
    data: bytes
    partition_key: str | None = None  # Kinesis Data Stream sources only


@dataclass(frozen=True)
class StreamTarget:
    """Where re-ingested records go: the Firehose delivery stream, or its Kinesis source stream."""

    arn: str

    @property
    def is_kinesis(self) -> bool:
        return self.arn.split(":")[2] == "kinesis"

    @property
    def name(self) -> str:
        return self.arn.split("/", 1)[1]

    @property
    def region(self) -> str:
        return self.arn.split(":")[3]


def batches(records: list[ReingestRecord]) -> Iterator[list[ReingestRecord]]:
    """Consecutive batches of at most 500 records and 4 MiB."""
    batch: list[ReingestRecord] = []
    size = 0
    for record in records:
        if len(record.data) > MAX_RECORD_BYTES:
            raise ReingestionError(
                f"record of {len(record.data)} bytes exceeds the {MAX_RECORD_BYTES} byte limit"
            )
        if batch and (len(batch) == MAX_BATCH_RECORDS or size + len(record.data) > MAX_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(record)
        size += len(record.data)
    if batch:
        yield batch


class Reingester:
    def __init__(
        self,
        target: StreamTarget,
        client: Any,
        max_attempts: int = 10,
        base_delay: float = 0.1,
        max_delay: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.target = target
        self.client = client
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.sleep = sleep
        self.retries = 0

    def put(self, records: list[ReingestRecord]) -> None:
        for batch in batches(records):
            self._put_batch(batch)

    def _put_batch(self, pending: list[ReingestRecord]) -> None:
        last_error = ""
        for attempt in range(self.max_attempts):
            if attempt:
                self.retries += 1
                # Full jitter: spreads the retries of concurrent invocations apart.
                self.sleep(random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt)))  # noqa: S311
            try:
                codes = self._send(pending)
            except (ClientError, BotoCoreError) as error:
                last_error = str(error)
                continue
            failed = [record for record, code in zip(pending, codes, strict=True) if code]
            if not failed:
                return
            last_error = f"{len(failed)} of {len(pending)} records failed: {sorted({c for c in codes if c})}"
            pending = failed
        raise ReingestionError(
            f"could not re-ingest {len(pending)} records into {self.target.arn} after "
            f"{self.max_attempts} attempts: {last_error}"
        )

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
