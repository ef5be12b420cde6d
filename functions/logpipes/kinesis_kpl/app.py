"""The Lambda handler: a Kinesis event in; JSON lines and dead letters in S3; partial failures out."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import boto3
import pybase64
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from logpipes.kinesis_kpl.batch import CORRUPT_AGGREGATE, INVALID_BASE64, KinesisRecord, ShardBatch
from logpipes.kinesis_kpl.processor import InOrderKinesisProcessor
from logpipes.kinesis_kpl.records import APACHE, JSON, MESSAGE
from logpipes.kinesis_kpl.settings import Settings
from logpipes.kinesis_kpl.sink import S3Sink, Sink, SinkError

logger = Logger()
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "logpipes"))

_KIND_METRICS = {APACHE: "ApacheLines", JSON: "JsonRecords", MESSAGE: "UnparsedRecords"}

# The S3 client's bounds: one PutObject, retries included, takes at most about 3 x (3 s + 10 s) plus
# the standard retry mode's backoff, under WRITE_MARGIN_MS.
S3_CONFIG = Config(connect_timeout=3, read_timeout=10, retries={"mode": "standard", "max_attempts": 3})
# No PutObject starts with less time left than this (or a quarter of the time the invocation had):
# a function timed out part-way is a function error, which Lambda retries bisected.
WRITE_MARGIN_MS = 45_000


@dataclass
class Invocation:
    """The record handler for the processor; routes each Kinesis record to its shard's batch."""

    shards: dict[str, ShardBatch] = field(default_factory=dict)

    def add(self, record: KinesisStreamRecord) -> None:
        """Decode the record into its shard's batch; data that is not base64 is parked as it came."""
        shard_id = record.event_id.partition(":")[0]
        payload = record.kinesis
        shard = self.shards.get(shard_id)
        if shard is None:
            shard = self.shards[shard_id] = ShardBatch(shard_id)
        try:
            # SIMD base64, ~20x faster than the standard library's (the data field is always padded).
            data = pybase64.b64decode(payload.data, validate=True)
        except ValueError as error:  # binascii.Error, or characters that are not ASCII
            # No retry can decode it: park the field as it came instead of blocking the shard.
            raw = payload.data.encode("utf-8", "surrogatepass")
            shard.park(
                self._record(shard_id, record, raw), f"data is not valid base64: {error}", INVALID_BASE64
            )
            return
        shard.add(self._record(shard_id, record, data))

    @staticmethod
    def _record(shard_id: str, record: KinesisStreamRecord, data: bytes) -> KinesisRecord:
        payload = record.kinesis
        return KinesisRecord(
            shard_id=shard_id,
            sequence_number=payload.sequence_number,
            arrival_timestamp=payload.approximate_arrival_timestamp,
            data=data,
        )


@dataclass
class Summary:
    """What one invocation did, for its metrics and its log line."""

    records: int = 0
    failed_records: int = 0
    aggregated_records: int = 0
    user_records: int = 0
    dead_letters: int = 0  # corrupt aggregates
    invalid_records: int = 0  # data that is not base64
    objects: int = 0
    failed_shards: list[str] = field(default_factory=list)  # whose objects could not all be written
    kinds: Counter[str] = field(default_factory=Counter)
    keys: list[str] = field(default_factory=list)


@cache
def _processor() -> InOrderKinesisProcessor:
    """One processor for every invocation, as Powertools intends. It refers to itself (its failure
    collectors are its own bound methods), so one made per invocation would keep that invocation's
    event and output buffers alive until the cyclic garbage collector ran: RSS climbed by a batch's
    size per invocation between collections. The one processor drops them when the next starts."""
    return InOrderKinesisProcessor(logger=logger)


@dataclass(frozen=True)
class WriteDeadline:
    """Stops writing while there is still time to report the failure instead of timing out."""

    time_left_ms: Callable[[], int]
    margin_ms: int

    @classmethod
    def start(cls, time_left_ms: Callable[[], int] | None) -> WriteDeadline:
        """Stop WRITE_MARGIN_MS (a quarter of the time left, if less) before the end; with no clock, never."""
        if time_left_ms is None:
            return cls(lambda: WRITE_MARGIN_MS, 0)
        return cls(time_left_ms, min(WRITE_MARGIN_MS, time_left_ms() // 4))

    def check(self) -> None:
        """Raises SinkError when too little time is left to start another PutObject."""
        if (left := self.time_left_ms()) < self.margin_ms:
            raise SinkError(f"{left} ms left, less than the {self.margin_ms} ms a PutObject may take")


def _write(shard: ShardBatch, settings: Settings, sink: Sink, deadline: WriteDeadline) -> list[str]:
    """Write a shard's objects; their keys. Raises SinkError."""
    keys = []
    for obj in shard.objects(settings.prefix, settings.dead_letter_prefix, settings.gzip_level):
        deadline.check()
        sink.put(obj)
        keys.append(obj.key)
    return keys


def process_event(
    event: Mapping[str, Any],
    settings: Settings,
    sink: Sink,
    time_left_ms: Callable[[], int] | None = None,
) -> tuple[PartialItemFailureResponse, Summary]:
    """Decode every record in order, write what succeeded, and return the partial failure response.

    A record that fails to decode is reported with every later one (Lambda retries from it; nothing
    from it on was written). When an object cannot be written (the sink raised SinkError, or
    ``time_left_ms`` says too little time is left), every record of its shard is reported instead:
    Lambda retries the shard's batch from its first record, and the retry rewrites the objects this
    invocation did write under the same keys (see batch). Write failures are never raised: a
    function error would make Lambda bisect the batch, or retry it in other batches.

    Raises BatchProcessingError when every record failed to decode (nothing is written).
    """
    invocation = Invocation()
    processor = _processor()
    records = event["Records"]
    with processor(records=records, handler=invocation.add):
        processor.process()
    failed = {item["itemIdentifier"] for item in processor.response()["batchItemFailures"]}
    deadline = WriteDeadline.start(time_left_ms)
    summary = Summary(records=len(records))
    for shard in invocation.shards.values():
        try:
            summary.keys += _write(shard, settings, sink, deadline)
        except SinkError as error:
            logger.warning("objects not written: the shard's batch is retried", extra={"error": str(error)})
            summary.failed_shards.append(shard.shard_id)
            continue
        summary.objects += len(shard.lines)
        summary.dead_letters += sum(letter.kind == CORRUPT_AGGREGATE for letter in shard.dead_letters)
        summary.invalid_records += sum(letter.kind == INVALID_BASE64 for letter in shard.dead_letters)
        summary.aggregated_records += shard.aggregated_records
        summary.kinds.update(shard.kinds)
    summary.user_records = sum(summary.kinds.values())
    failed_shards = set(summary.failed_shards)
    reported = [
        record["kinesis"]["sequenceNumber"]
        for record in records
        if record["kinesis"]["sequenceNumber"] in failed
        or record["eventID"].partition(":")[0] in failed_shards
    ]
    summary.failed_records = len(reported)
    return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in reported]}, summary


@cache
def _s3_client() -> Any:
    return boto3.client("s3", config=S3_CONFIG)


def _add_metrics(summary: Summary) -> None:
    counts = {
        "KinesisRecords": summary.records,
        "FailedRecords": summary.failed_records,
        "AggregatedRecords": summary.aggregated_records,
        "UserRecords": summary.user_records,
        "CorruptAggregates": summary.dead_letters,
        "InvalidBase64Records": summary.invalid_records,
        "ObjectsWritten": summary.objects,
    }
    counts.update({name: summary.kinds[kind] for kind, name in _KIND_METRICS.items()})
    for name, value in counts.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Write the Kinesis batch's JSON lines and dead letters to S3; return the records to retry."""
    settings = Settings.from_env()
    response, summary = process_event(
        event, settings, S3Sink(settings.bucket, _s3_client()), context.get_remaining_time_in_millis
    )
    _add_metrics(summary)
    if summary.dead_letters or summary.invalid_records:
        logger.warning(
            "records parked under the dead-letter prefix",
            extra={"corrupt_aggregates": summary.dead_letters, "invalid_base64": summary.invalid_records},
        )
    logger.info(
        "batch written",
        extra={
            "records": summary.records,
            "failed_records": summary.failed_records,
            "user_records": summary.user_records,
            "objects": summary.objects,
            "keys": summary.keys,
        },
    )
    return response
