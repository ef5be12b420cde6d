"""Build Kinesis Lambda events the way the event source mapping delivers them, and read outputs back."""

from __future__ import annotations

import gzip
import json
from base64 import b64encode
from collections.abc import Iterable, Sequence
from typing import Any

from aws_kinesis_agg.aggregator import RecordAggregator

SHARD_ID = "shardId-000000000006"
STREAM_ARN = "arn:aws:kinesis:us-east-2:123456789012:stream/lambda-stream"
# Sequence numbers as Kinesis writes them: 56 digits, increasing within a shard.
FIRST_SEQUENCE = 49590338271490256608559692538361571095921575989136588898
ARRIVAL = 1545084650.987  # 2018-12-17T22:10:50.987Z


def sequence_number(index: int) -> str:
    return str(FIRST_SEQUENCE + index * 10**20)


def event_record(
    data: bytes, index: int, shard_id: str = SHARD_ID, arrival: float = ARRIVAL
) -> dict[str, Any]:
    """One record of a Kinesis event, in the shape of the Lambda console/SAM samples."""
    sequence = sequence_number(index)
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": "1",
            "sequenceNumber": sequence,
            "data": b64encode(data).decode(),
            "approximateArrivalTimestamp": arrival,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard_id}:{sequence}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": "arn:aws:iam::123456789012:role/lambda-role",
        "awsRegion": "us-east-2",
        "eventSourceARN": STREAM_ARN,
    }


def kinesis_event(blobs: Sequence[bytes], first_index: int = 0, **kwargs: Any) -> dict[str, Any]:
    return {"Records": [event_record(blob, first_index + i, **kwargs) for i, blob in enumerate(blobs)]}


def aggregate(payloads: Iterable[bytes], max_size: int = 51_200, partition_key: str = "pk") -> list[bytes]:
    """Pack user records into KPL aggregated records with aws-kinesis-agg's aggregator."""
    aggregator = RecordAggregator(max_size=max_size)
    blobs: list[bytes] = []
    for payload in payloads:
        full = aggregator.add_user_record(partition_key, payload)
        if full is not None:
            blobs.append(full.get_contents()[2])
    if aggregator.get_num_user_records():
        blobs.append(aggregator.clear_and_get().get_contents()[2])
    return blobs


def json_lines(body: bytes) -> list[dict[str, Any]]:
    """The documents of a gzip JSON-lines object (every line must be a JSON object)."""
    text = gzip.decompress(body).decode()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]
