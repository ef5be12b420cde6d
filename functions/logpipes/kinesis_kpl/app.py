"""The Lambda handler: a Kinesis event in; JSON lines and dead letters in S3; partial failures out."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import boto3
import pybase64
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from logpipes.kinesis_kpl.batch import KinesisRecord, ShardBatch
from logpipes.kinesis_kpl.records import APACHE, JSON, MESSAGE
from logpipes.kinesis_kpl.sink import S3Sink, Sink

logger = Logger()
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "logpipes"))

_KIND_METRICS = {APACHE: "ApacheLines", JSON: "JsonRecords", MESSAGE: "UnparsedRecords"}


@dataclass(frozen=True)
class Settings:
    """The function's configuration, from its environment variables."""

    bucket: str  # SINK_BUCKET
    prefix: str = ""  # SINK_PREFIX: data objects go under <prefix>dt=YYYY-MM-DD/hour=HH/
    dead_letter_prefix: str = "dead-letter/"  # DEAD_LETTER_PREFIX: corrupt aggregates go here
    # GZIP_LEVEL: ISA-L's levels, 1 (fastest) to 3 (smallest). Its level 2 compresses JSON lines
    # about 12x faster than zlib's default level 6, into objects about 25% larger.
    gzip_level: int = 2

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        level = int(env.get("GZIP_LEVEL", str(cls.gzip_level)))
        if not 1 <= level <= 3:
            raise ValueError(f"GZIP_LEVEL must be 1 to 3, not {level}")
        return cls(
            bucket=env["SINK_BUCKET"],
            prefix=env.get("SINK_PREFIX", ""),
            dead_letter_prefix=env.get("DEAD_LETTER_PREFIX", "dead-letter/"),
            gzip_level=level,
        )


class SkippedAfterFailure(Exception):
    """Not processed: an earlier record of the batch failed, and Lambda redelivers from that one."""


class InOrderKinesisProcessor(BatchProcessor):
    """Powertools' Kinesis batch processor, stopping at the first failed record.

    Lambda checkpoints a shard at the lowest sequence number reported, so every record after a
    failure is delivered again: it must not be written now, or it would be written twice. Reporting
    those records too says so explicitly (the same circuit breaker as Powertools' SQS FIFO processor).
    """

    def __init__(self, logger: Logger | None = None) -> None:
        super().__init__(event_type=EventType.KinesisDataStreams, logger=logger)  # type: ignore[arg-type]

    def _process_record(self, record: dict[str, Any]) -> Any:
        if self.fail_messages:
            skipped = SkippedAfterFailure("an earlier record of this batch failed")
            data = self._to_batch_type(record=record, event_type=self.event_type)
            return self.failure_handler(record=data, exception=(SkippedAfterFailure, skipped, None))
        return super()._process_record(record)


@dataclass
class Invocation:
    """The record handler for the processor; routes each Kinesis record to its shard's batch."""

    shards: dict[str, ShardBatch] = field(default_factory=dict)

    def add(self, record: KinesisStreamRecord) -> None:
        shard_id = record.event_id.partition(":")[0]
        payload = record.kinesis
        shard = self.shards.get(shard_id)
        if shard is None:
            shard = self.shards[shard_id] = ShardBatch(shard_id)
        shard.add(
            KinesisRecord(
                shard_id=shard_id,
                sequence_number=payload.sequence_number,
                arrival_timestamp=payload.approximate_arrival_timestamp,
                # SIMD base64, ~20x faster than the standard library's (the data field is always padded).
                data=pybase64.b64decode(payload.data, validate=True),
            )
        )


@dataclass
class Summary:
    """What one invocation did, for its metrics and its log line."""

    records: int = 0
    failed_records: int = 0
    aggregated_records: int = 0
    user_records: int = 0
    dead_letters: int = 0
    objects: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    keys: list[str] = field(default_factory=list)


def process_event(
    event: Mapping[str, Any], settings: Settings, sink: Sink
) -> tuple[PartialItemFailureResponse, Summary]:
    """Decode every record in order, write what succeeded, and return the partial failure response.

    Raises BatchProcessingError when every record failed (Lambda then retries, or bisects, the
    whole batch), and whatever the sink raises (nothing is acknowledged: Lambda retries the batch,
    which rewrites the same keys if it is delivered the same).
    """
    invocation = Invocation()
    processor = InOrderKinesisProcessor(logger=logger)
    records = event["Records"]
    with processor(records=records, handler=invocation.add):
        processor.process()
    summary = Summary(records=len(records), failed_records=len(processor.fail_messages))
    for shard in invocation.shards.values():
        for obj in shard.objects(settings.prefix, settings.dead_letter_prefix, settings.gzip_level):
            sink.put(obj)
            summary.keys.append(obj.key)
        summary.objects += len(shard.lines)
        summary.dead_letters += len(shard.dead_letters)
        summary.aggregated_records += shard.aggregated_records
        summary.kinds.update(shard.kinds)
    summary.user_records = sum(summary.kinds.values())
    return processor.response(), summary


@cache
def _s3_client() -> Any:
    return boto3.client("s3")


def _add_metrics(summary: Summary) -> None:
    counts = {
        "KinesisRecords": summary.records,
        "FailedRecords": summary.failed_records,
        "AggregatedRecords": summary.aggregated_records,
        "UserRecords": summary.user_records,
        "CorruptAggregates": summary.dead_letters,
        "ObjectsWritten": summary.objects,
    }
    counts.update({name: summary.kinds[kind] for kind, name in _KIND_METRICS.items()})
    for name, value in counts.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    settings = Settings.from_env()
    response, summary = process_event(event, settings, S3Sink(settings.bucket, _s3_client()))
    _add_metrics(summary)
    if summary.dead_letters:
        logger.warning("corrupt KPL aggregates parked", extra={"dead_letters": summary.dead_letters})
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
