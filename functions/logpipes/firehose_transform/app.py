"""Lambda handler: Firehose data transformation for CloudWatch Logs subscription records.

Configuration (environment variables set by the Terraform module), read and checked at cold start
(a bad value: ConfigurationError on every invocation, naming the variable):
- OUTPUT_FORMAT: ``raw`` (default): each event's message plus a newline; ``json``: one JSON object
  per event with its origin and ISO-8601 UTC timestamp; ``columns``: one JSON object per event with
  the COLUMNS; ``csv``: the COLUMNS as one RFC 4180 row per event, no header; ``custom``: the lines
  of TRANSFORM_FUNCTION (logpipes.firehose_transform.columns and .extension say how).
- COLUMNS (columns, csv; optional with custom): a JSON list of ``{"name", "type", "source"}``;
  type: string, int, bigint, double, boolean or timestamp; source: ``logGroup``, ``logStream``,
  ``owner``, ``id``, ``timestamp``, ``message``, a JSON path into the message (``$.user.id``,
  ``$["a key"]``, ``$.items[0]``), ``apache.<field>`` (logpipes.common.apache's ApacheRecord
  fields) or ``regex.<group>``.
- MESSAGE_REGEX: a pattern with named groups, matched against the whole message (its line end
  stripped); needed by regex.<group> sources.
- ON_UNPARSED: ``keep_raw`` (default): an event whose message does not parse for its sources
  gets a row with its parsed columns NULL and the message in a last column ``_raw``; ``drop``: no
  row. Counted either way (EventsUnparsedKept, EventsUnparsedDropped).
- TRANSFORM_FUNCTION (custom only): ``package.module:function``, the user's transform.
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
from logpipes.common.settings import ConfigurationError, choice, integer
from logpipes.firehose_transform.batch import RESPONSE_LIMIT_BYTES, BatchResult, InputRecord, transform_batch
from logpipes.firehose_transform.columns import (
    ColumnRenderer,
    OnUnparsed,
    compile_message_regex,
    parse_columns,
)
from logpipes.firehose_transform.extension import CustomRenderer, load_transform
from logpipes.firehose_transform.reingest import Reingester, StreamTarget
from logpipes.firehose_transform.transform import OutputFormat, Renderer, format_renderer

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


def _settings() -> tuple[Renderer, int, int]:
    """The render hook (OUTPUT_FORMAT and what it needs), RESPONSE_LIMIT_BYTES,
    REINGEST_MAX_ATTEMPTS; raises ConfigurationError."""
    environ = os.environ
    return (
        _renderer(
            environ.get("OUTPUT_FORMAT", ""),
            environ.get("COLUMNS", ""),
            environ.get("MESSAGE_REGEX", ""),
            environ.get("ON_UNPARSED", ""),
            environ.get("TRANSFORM_FUNCTION", ""),
        ),
        integer(environ, "RESPONSE_LIMIT_BYTES", RESPONSE_LIMIT_BYTES, minimum=1),
        integer(environ, "REINGEST_MAX_ATTEMPTS", 10, minimum=1),
    )


@cache  # once per configuration (a cold start): COLUMNS parsed, the regex compiled, the transform imported
def _renderer(
    output_format: str, columns: str, message_regex: str, on_unparsed: str, transform_function: str
) -> Renderer:
    """The render hook of this configuration; raises ConfigurationError (not cached: every
    invocation of a misconfigured function fails the same way)."""
    chosen = choice({"OUTPUT_FORMAT": output_format}, "OUTPUT_FORMAT", OutputFormat.RAW)
    if (chosen is OutputFormat.CUSTOM) != bool(transform_function):
        raise ConfigurationError(
            "OUTPUT_FORMAT=custom and TRANSFORM_FUNCTION go together (the variables `output_format` "
            f"and `transform_function`): OUTPUT_FORMAT={output_format!r}, "
            f"TRANSFORM_FUNCTION={transform_function!r}"
        )
    if chosen in (OutputFormat.RAW, OutputFormat.JSON):
        return format_renderer(chosen)
    regex = compile_message_regex(message_regex) if message_regex else None
    if chosen is OutputFormat.CUSTOM:
        return CustomRenderer(
            load_transform(transform_function), parse_columns(columns, regex) if columns else None
        )
    if not columns:
        raise ConfigurationError(f"OUTPUT_FORMAT={output_format} needs COLUMNS (the variable `columns`)")
    return ColumnRenderer(
        parse_columns(columns, regex),
        csv=chosen is OutputFormat.CSV,
        on_unparsed=choice({"ON_UNPARSED": on_unparsed}, "ON_UNPARSED", OnUnparsed.KEEP_RAW),
        message_regex=regex,
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
        ("RecordsFailedByTransform", result.tally.records_failed_by_transform),
        ("ValuesNotConverted", result.tally.values_not_converted),
        ("EventsUnparsedKept", result.tally.events_unparsed_kept),
        ("EventsUnparsedDropped", result.tally.events_unparsed_dropped),
        ("EventsFilteredByTransform", result.tally.events_filtered_by_transform),
    ):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    metrics.add_metric(name="BytesIn", unit=MetricUnit.Bytes, value=result.bytes_in)
    metrics.add_metric(name="BytesOut", unit=MetricUnit.Bytes, value=result.bytes_out)


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Transform one Firehose batch; what does not fit the response is re-ingested (Dropped) or failed."""
    render, response_limit, max_attempts = _settings()
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
    result = transform_batch(records, render, response_limit, inflated_limit=inflated_limit())
    reingest_failures = _reingest(
        result, source_arn or firehose_event.delivery_stream_arn, max_attempts, context
    )

    failures = [record for record in result.records if record.result == "ProcessingFailed"]
    for record in failures[:_MAX_LOGGED_FAILURES]:
        logger.warning(
            "record failed processing", extra={"record_id": record.record_id, "reason": record.reason}
        )
    if result.tally.values_not_converted:
        logger.warning(
            "values did not convert to their column types: NULL",
            extra={"values": result.tally.values_not_converted, "samples": result.tally.conversion_samples},
        )
    _record_metrics(result, len(records), reingest_failures)

    response = KinesisFirehoseDataTransformationResponse()
    for record in result.records:
        response.add_record(
            KinesisFirehoseDataTransformationRecord(record.record_id, record.result, record.data)
        )  # type: ignore[arg-type]
    return response.asdict()
