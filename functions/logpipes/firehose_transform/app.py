"""Lambda handler: Firehose data transformation for CloudWatch Logs subscription records.

Configuration (environment variables set by the Terraform module):
- OUTPUT_FORMAT: ``raw`` (default) or ``json``.
- REINGEST_MAX_ATTEMPTS: attempts per re-ingestion batch before the invocation fails (default 10).
- RESPONSE_LIMIT_BYTES: response budget (default just under Lambda's 6 MiB limit); for tests.
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

from logpipes.firehose_transform.batch import RESPONSE_LIMIT_BYTES, BatchResult, InputRecord, transform_batch
from logpipes.firehose_transform.reingest import Reingester, StreamTarget
from logpipes.firehose_transform.transform import OutputFormat

logger = Logger()
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "logpipes"))

# Log at most this many failed records one by one per invocation; the rest are counted.
_MAX_LOGGED_FAILURES = 20


@cache
def _client(service: str, region: str) -> Any:
    import boto3  # only re-ingestion needs it: keeps it out of the cold start

    return boto3.client(service, region_name=region)


def _settings() -> tuple[OutputFormat, int, int]:
    output_format = os.environ.get("OUTPUT_FORMAT", OutputFormat.RAW.value)
    try:
        return (
            OutputFormat(output_format),
            int(os.environ.get("RESPONSE_LIMIT_BYTES", RESPONSE_LIMIT_BYTES)),
            int(os.environ.get("REINGEST_MAX_ATTEMPTS", "10")),
        )
    except ValueError as error:
        raise RuntimeError(f"bad configuration: {error}") from error


def _record_metrics(result: BatchResult, records_in: int) -> None:
    for name, value in (
        ("RecordsIn", records_in),
        ("RecordsOk", result.count("Ok")),
        (
            "RecordsDropped",
            result.count("Dropped") - len(result.reingested_record_ids) - len(result.split_record_ids),
        ),
        ("RecordsFailed", result.count("ProcessingFailed")),
        ("RecordsReingested", len(result.reingest)),
        ("RecordsSplit", len(result.split_record_ids)),
    ):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    metrics.add_metric(name="BytesIn", unit=MetricUnit.Bytes, value=result.bytes_in)
    metrics.add_metric(name="BytesOut", unit=MetricUnit.Bytes, value=result.bytes_out)


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
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
    result = transform_batch(records, output_format, response_limit)

    failures = [record for record in result.records if record.result == "ProcessingFailed"]
    for record in failures[:_MAX_LOGGED_FAILURES]:
        logger.warning(
            "record failed processing", extra={"record_id": record.record_id, "reason": record.reason}
        )

    if result.reingest:
        target = StreamTarget(source_arn or firehose_event.delivery_stream_arn)
        reingester = Reingester(
            target, _client("kinesis" if target.is_kinesis else "firehose", target.region), max_attempts
        )
        # Raises when records cannot be put back: Firehose then retries the whole batch, so no record
        # is marked Dropped without being safely in the stream again.
        reingester.put(result.reingest)
        logger.info(
            "re-ingested records that did not fit the response",
            extra={
                "target": target.arn,
                "records_reingested": len(result.reingest),
                "as_is": len(result.reingested_record_ids),
                "split_from": result.split_record_ids,
                "retries": reingester.retries,
            },
        )
    _record_metrics(result, len(records))

    response = KinesisFirehoseDataTransformationResponse()
    for record in result.records:
        response.add_record(
            KinesisFirehoseDataTransformationRecord(record.record_id, record.result, record.data)
        )  # type: ignore[arg-type]
    return response.asdict()
