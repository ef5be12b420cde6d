"""Stand in for the part of Firehose that moto does not run: the Lambda transform and its delivery.

moto accepts records (from PutRecordBatch or a CloudWatch Logs subscription) and writes each batch,
untransformed, under the stream's literal prefix (``logs/!{timestamp:yyyy/MM/dd}/YYYY/MM/DD/HH/...``).
``deliver`` takes those pending records, calls the transform with the event Firehose would send,
checks the response contract, and writes what Firehose would write: Ok records concatenated and
gzipped under the resolved prefix, ProcessingFailed records as JSON lines under the error prefix.
Records the transform re-ingests land in moto again and are picked up by the next round.
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


@dataclass
class Delivery:
    invocations: int = 0
    records_in: int = 0
    results: dict[str, int] = field(default_factory=lambda: {"Ok": 0, "Dropped": 0, "ProcessingFailed": 0})
    keys: list[str] = field(default_factory=list)


def deliver(moto: MotoServer, stream_name: str, invoke: Invoke, max_rounds: int = 20) -> Delivery:
    """Run the transform over every pending record of the stream until none is left."""
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
        _invoke_once(s3, bucket, prefix, error_prefix, description, records, invoke, delivery)
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
    response = invoke(event)
    delivery.invocations += 1
    delivery.records_in += len(records)
    returned = [record["recordId"] for record in response["records"]]
    expected = [record["recordId"] for record in event["records"]]
    if sorted(returned) != sorted(expected):
        raise AssertionError("the transform must return every recordId exactly once")
    by_id = {record["recordId"]: record for record in event["records"]}
    ok_data: list[bytes] = []
    failed_lines: list[str] = []
    for record in response["records"]:
        delivery.results[record["result"]] += 1
        if record["result"] == "Ok":
            ok_data.append(base64.b64decode(record["data"]))
        elif record["result"] == "ProcessingFailed":
            failed_lines.append(
                json.dumps(
                    {
                        "attemptsMade": 1,
                        "arrivalTimestamp": arrival,
                        "errorCode": "Lambda.ProcessingFailed",
                        "errorMessage": "The data record's result is ProcessingFailed.",
                        "rawData": by_id[record["recordId"]]["data"],
                    }
                )
            )
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
