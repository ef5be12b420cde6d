"""Lambda handler: Firehose data transformation for CloudWatch Logs subscription records.

Configuration (environment variables set by the Terraform module):
- OUTPUT_FORMAT: ``raw`` (default) or ``json``.
- REINGEST_MAX_ATTEMPTS: attempts per re-ingestion batch before its records fail (default 10).
- RESPONSE_LIMIT_BYTES: response budget (default just under Lambda's 6 MiB limit); for tests.
- AWS_LAMBDA_FUNCTION_MEMORY_SIZE (set by Lambda): bounds how far one record may inflate
  (logpipes.common.cloudwatch_logs.inflated_limit).
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import KinesisFirehoseEvent
from aws_lambda_powertools.utilities.data_classes.kinesis_firehose_event import (
    KinesisFirehoseDataTransformationRecord,
    KinesisFirehoseDataTransformationResponse,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from logpipes.common.cloudwatch_logs import inflated_limit
from logpipes.common.settings import choice, integer
from logpipes.firehose_transform.batch import RESPONSE_LIMIT_BYTES, BatchResult, InputRecord, transform_batch
from logpipes.firehose_transform.reingest import Reingester, StreamTarget
from logpipes.firehose_transform.transform import OutputFormat

logger = Logger()
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "logpipes"))

# Log at most this many failed records one by one per invocation; the rest are counted.
_MAX_LOGGED_FAILURES = 20
# No re-ingestion attempt starts this close to the invocation's timeout (or within a quarter of a
# short one): one call may take up to the client's timeouts (below), and the handler must still
# answer, or Firehose would retry the whole batch and re-ingest again what is back in the stream.
_REINGEST_RESERVE_SECONDS = 25.0


@cache
def _client(service: str, region: str) -> Any:
    import boto3  # only re-ingestion needs it: keeps it out of the cold start
    from botocore.config import Config

    # The Reingester retries (only the failed records, with jitter, within the invocation's time):
    # the SDK's own retries would multiply its attempts and hide the time they take.
    config = Config(connect_timeout=5, read_timeout=15, retries={"total_max_attempts": 1})
    return boto3.client(service, region_name=region, config=config)


def _settings() -> tuple[OutputFormat, int, int]:
    """OUTPUT_FORMAT, RESPONSE_LIMIT_BYTES, REINGEST_MAX_ATTEMPTS; raises ConfigurationError."""
    return (
        choice(os.environ, "OUTPUT_FORMAT", OutputFormat.RAW),
        integer(os.environ, "RESPONSE_LIMIT_BYTES", RESPONSE_LIMIT_BYTES, minimum=1),
        integer(os.environ, "REINGEST_MAX_ATTEMPTS", 10, minimum=1),
    )


def _reingest(result: BatchResult, target_arn: str, max_attempts: int, context: LambdaContext) -> int:
    """Put the records that did not fit back into the stream; those that could not be put back are
    ProcessingFailed (never raised: a failed invocation would re-ingest the others again). Returns
    how many re-ingestion records could not be put."""
    if not result.reingest:
        return 0
    target = StreamTarget(target_arn)
    reingester = Reingester(
        target,
        _client("kinesis" if target.is_kinesis else "firehose", target.region),
        max_attempts,
        seconds_left=lambda: context.get_remaining_time_in_millis() / 1000,
        reserve_seconds=min(_REINGEST_RESERVE_SECONDS, context.get_remaining_time_in_millis() / 4000),
    )
    errors = reingester.put(result.reingest)
    reasons = {
        record.source_id: error for record, error in zip(result.reingest, errors, strict=True) if error
    }
    # A split record whose pieces went back only in part fails whole: its error-prefix copy then
    # also holds the events of the pieces that are back in the stream (logged here by recordId).
    partly_in = sorted(
        {r.source_id for r, e in zip(result.reingest, errors, strict=True) if not e} & set(reasons)
    )
    result.fail_reingestion(reasons)
    logger.info(
        "re-ingested records that did not fit the response",
        extra={
            "target": target.arn,
            "records_reingested": errors.count(None),
            "records_not_reingested": len(errors) - errors.count(None),
            "as_is": len(result.reingested_record_ids),
            "split_from": result.split_record_ids,
            "failed_split_records_partly_reingested": partly_in,
            "retries": reingester.retries,
        },
    )
    return len(errors) - errors.count(None)


def _record_metrics(result: BatchResult, records_in: int, reingest_failures: int) -> None:
    for name, value in (
        ("RecordsIn", records_in),
        ("RecordsOk", result.count("Ok")),
        (
            "RecordsDropped",
            result.count("Dropped") - len(result.reingested_record_ids) - len(result.split_record_ids),
        ),
        ("RecordsFailed", result.count("ProcessingFailed")),
        ("RecordsReingested", len(result.reingest) - reingest_failures),
        ("ReingestFailures", reingest_failures),
        ("RecordsSplit", len(result.split_record_ids)),
    ):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    metrics.add_metric(name="BytesIn", unit=MetricUnit.Bytes, value=result.bytes_in)
    metrics.add_metric(name="BytesOut", unit=MetricUnit.Bytes, value=result.bytes_out)


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Transform one Firehose batch; what does not fit the response is re-ingested (Dropped) or failed."""
    output_format, response_limit, max_attempts = _settings()
    firehose_event = KinesisFirehoseEvent(event)
    source_arn = firehose_event.source_kinesis_stream_arn
    records = [
        InputRecord(
            record.record_id,
            record.data,
            record.metadata.partition_key if source_arn and record.metadata else None,
        )
        for record in firehose_event.records
    ]
    result = transform_batch(records, output_format, response_limit, inflated_limit=inflated_limit())
    reingest_failures = _reingest(
        result, source_arn or firehose_event.delivery_stream_arn, max_attempts, context
    )

    failures = [record for record in result.records if record.result == "ProcessingFailed"]
    for record in failures[:_MAX_LOGGED_FAILURES]:
        logger.warning(
            "record failed processing", extra={"record_id": record.record_id, "reason": record.reason}
        )
    _record_metrics(result, len(records), reingest_failures)

    response = KinesisFirehoseDataTransformationResponse()
    for record in result.records:
        response.add_record(
            KinesisFirehoseDataTransformationRecord(record.record_id, record.result, record.data)
        )  # type: ignore[arg-type]
    return response.asdict()
