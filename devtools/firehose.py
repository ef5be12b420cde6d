"""Stand in for the part of Firehose that moto does not run: the Lambda transform and its delivery.

moto accepts records (from PutRecordBatch or a CloudWatch Logs subscription) and writes each batch,
untransformed, under the stream's literal prefix (``logs/!{timestamp:yyyy/MM/dd}/YYYY/MM/DD/HH/...``).
``deliver`` takes those pending records, calls the transform with the event Firehose would send,
checks the response contract, and writes what Firehose would write: Ok records concatenated and
gzipped under the resolved prefix, ProcessingFailed records as JSON lines under the error prefix.
Records the transform re-ingests land in moto again and are picked up by the next round.

Failures follow the Amazon Data Firehose developer guide, "Handle failure in data transformation"
(docs.aws.amazon.com/firehose/latest/dev/data-transformation-failure-handling.html): when the
invocation fails, Firehose retries it, with the same records, three times by default (the
processor's NumberOfRetries); if it still fails, Firehose skips that batch and treats every record
in it as unsuccessfully processed. Unsuccessfully processed records, and records the function marks
ProcessingFailed, are delivered to S3 under the ``processing-failed`` error output type, one JSON
document per record: attemptsMade, arrivalTimestamp, errorCode, errorMessage,
attemptEndingTimestamp, rawData (the record's original data, base64) and lambdaArn. A response over
Lambda's 6 MB synchronous payload limit is an invocation failure too ("Transform source data in
Amazon Data Firehose": the limit applies to the request and the response).
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from devtools.moto_server import MotoServer

Invoke = Callable[[dict[str, Any]], dict[str, Any]]

_JAVA_TO_STRFTIME = {"yyyy": "%Y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M"}


def resolve_prefix(prefix: str, when: datetime, error_type: str = "processing-failed") -> str:
    """Evaluate Firehose's !{timestamp:...} and !{firehose:error-output-type} expressions."""

    def timestamp(match: re.Match[str]) -> str:
        pattern = re.sub(r"yyyy|MM|dd|HH|mm", lambda m: _JAVA_TO_STRFTIME[m[0]], match[1])
        return when.strftime(pattern)

    resolved = re.sub(r"!\{timestamp:([^}]+)\}", timestamp, prefix)
    return resolved.replace("!{firehose:error-output-type}", error_type)


def split_gzip_members(blob: bytes) -> list[bytes]:
    """moto concatenates a PutRecordBatch's records; each of ours is one whole gzip member."""
    members: list[bytes] = []
    while blob:
        decompressor = zlib.decompressobj(wbits=31)
        decompressor.decompress(blob)
        if not decompressor.eof:
            raise ValueError("pending Firehose data is not a sequence of gzip records")
        consumed = len(blob) - len(decompressor.unused_data)
        members.append(blob[:consumed])
        blob = decompressor.unused_data
    return members


# Lambda's synchronous invocation payload limit, for the request and for the response.
LAMBDA_PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024
# The processor's NumberOfRetries when it is not set.
DEFAULT_INVOCATION_RETRIES = 3
LAMBDA_ARN = "arn:aws:lambda:us-east-1:123456789012:function:logpipes-firehose-transform"


@dataclass
class Delivery:
    invocations: int = 0  # invocations that returned a valid response
    failed_invocations: int = 0  # invocations that raised (each retried, or its batch skipped)
    skipped_batches: int = 0  # batches whose every attempt failed: all their records went to the error prefix
    records_in: int = 0
    results: dict[str, int] = field(default_factory=lambda: {"Ok": 0, "Dropped": 0, "ProcessingFailed": 0})
    keys: list[str] = field(default_factory=list)


def deliver(
    moto: MotoServer,
    stream_name: str,
    invoke: Invoke,
    max_rounds: int = 20,
    retries: int = DEFAULT_INVOCATION_RETRIES,
) -> Delivery:
    """Run the transform over every pending record of the stream until none is left.

    An invocation that raises (or answers more than 6 MB) is retried with the same event up to
    ``retries`` times; then its records are written under the error prefix, as Firehose does."""
    firehose, s3 = moto.client("firehose"), moto.client("s3")
    description = firehose.describe_delivery_stream(DeliveryStreamName=stream_name)[
        "DeliveryStreamDescription"
    ]
    destination = description["Destinations"][0]["ExtendedS3DestinationDescription"]
    bucket = destination["BucketARN"].split(":")[-1]
    prefix, error_prefix = destination["Prefix"], destination["ErrorOutputPrefix"]
    if "!{" not in prefix:
        raise ValueError("the emulator tells pending records from output by the !{...} in the prefix")
    delivery = Delivery()
    for _ in range(max_rounds):
        listing = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        if not listing:
            return delivery
        records = []
        for item in listing:
            blob = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            s3.delete_object(Bucket=bucket, Key=item["Key"])
            records += split_gzip_members(blob)
        _invoke_once(s3, bucket, prefix, error_prefix, description, records, invoke, delivery, retries)
    raise RuntimeError(f"records still pending after {max_rounds} rounds: the transform keeps re-ingesting")


def _invoke_once(
    s3: Any,
    bucket: str,
    prefix: str,
    error_prefix: str,
    description: dict[str, Any],
    records: list[bytes],
    invoke: Invoke,
    delivery: Delivery,
    retries: int,
) -> None:
    arrival = int(time.time() * 1000)
    event = {
        "invocationId": str(uuid.uuid4()),
        "deliveryStreamArn": description["DeliveryStreamARN"],
        "region": description["DeliveryStreamARN"].split(":")[3],
        "records": [
            {
                "recordId": f"{arrival}-{index:06d}",
                "approximateArrivalTimestamp": arrival,
                "data": base64.b64encode(data).decode(),
            }
            for index, data in enumerate(records)
        ],
    }
    delivery.records_in += len(records)
    response: dict[str, Any] | None = None
    error = ""
    attempts = 0
    while response is None and attempts <= retries:
        attempts += 1
        try:
            response = invoke(event)
        except Exception as raised:  # any function error (or timeout) is an invocation failure
            error = f"{type(raised).__name__}: {raised}"
        else:
            if len(json.dumps(response)) > LAMBDA_PAYLOAD_LIMIT_BYTES:
                response, error = None, "Function.ResponseSizeTooLarge"
        if response is None:
            delivery.failed_invocations += 1
    if response is None:  # every attempt failed: Firehose skips the batch
        delivery.skipped_batches += 1
        failed = [(record, "Lambda.FunctionError", error) for record in event["records"]]
        _write(s3, bucket, prefix, error_prefix, description, [], failed, arrival, attempts, delivery)
        return
    delivery.invocations += 1
    returned = [record["recordId"] for record in response["records"]]
    expected = [record["recordId"] for record in event["records"]]
    if sorted(returned) != sorted(expected):
        raise AssertionError("the transform must return every recordId exactly once")
    by_id = {record["recordId"]: record for record in event["records"]}
    ok_data: list[bytes] = []
    failed = []
    for record in response["records"]:
        delivery.results[record["result"]] += 1
        if record["result"] == "Ok":
            ok_data.append(base64.b64decode(record["data"]))
        elif record["result"] == "ProcessingFailed":
            failed.append(
                (
                    by_id[record["recordId"]],
                    "Lambda.ProcessingFailed",
                    "The data record's result is ProcessingFailed.",
                )
            )
    _write(s3, bucket, prefix, error_prefix, description, ok_data, failed, arrival, attempts, delivery)


def _write(
    s3: Any,
    bucket: str,
    prefix: str,
    error_prefix: str,
    description: dict[str, Any],
    ok_data: list[bytes],
    failed: list[tuple[dict[str, Any], str, str]],
    arrival: int,
    attempts: int,
    delivery: Delivery,
) -> None:
    """One object of the Ok data under the prefix, one of the failed records under the error prefix."""
    ended = int(time.time() * 1000)
    failed_lines = [
        json.dumps(
            {
                "attemptsMade": attempts,
                "arrivalTimestamp": arrival,
                "errorCode": code,
                "errorMessage": message,
                "attemptEndingTimestamp": ended,
                "rawData": record["data"],
                "lambdaArn": LAMBDA_ARN,
            }
        )
        for record, code, message in failed
    ]
    now = datetime.now(UTC)
    name = f"{description['DeliveryStreamName']}-1-{now:%Y-%m-%d-%H-%M-%S}-{uuid.uuid4()}"
    if ok_data:
        key = f"{resolve_prefix(prefix, now)}{name}.gz"
        s3.put_object(Bucket=bucket, Key=key, Body=gzip.compress(b"".join(ok_data)))
        delivery.keys.append(key)
    if failed_lines:
        key = f"{resolve_prefix(error_prefix, now)}{name}.gz"
        s3.put_object(Bucket=bucket, Key=key, Body=gzip.compress("\n".join(failed_lines).encode() + b"\n"))
        delivery.keys.append(key)
