"""Builders of real-format Firehose events carrying CloudWatch Logs subscription payloads."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

STREAM_ARN = "arn:aws:firehose:us-east-1:123456789012:deliverystream/app-logs"


def cwl_payload(
    messages: list[str], message_type: str = "DATA_MESSAGE", start_ms: int = 1_700_000_000_000
) -> dict[str, Any]:
    return {
        "messageType": message_type,
        "owner": "123456789012",
        "logGroup": "/logpipes/app/access",
        "logStream": "i-0123456789abcdef0",
        "subscriptionFilters": ["app-to-firehose"],
        "logEvents": [
            {
                "id": f"{37_000_000_000_000_000_000_000 + i:056d}",
                "timestamp": start_ms + i,
                "message": message,
            }
            for i, message in enumerate(messages)
        ],
    }


def encode(payload: dict[str, Any]) -> str:
    return base64.b64encode(gzip.compress(json.dumps(payload).encode())).decode()


def firehose_event(datas: list[str], source_kinesis_arn: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "invocationId": "invocation-1",
        "deliveryStreamArn": STREAM_ARN,
        "region": "us-east-1",
        "records": [
            {"recordId": f"record-{i:04d}", "approximateArrivalTimestamp": 1_700_000_000_000, "data": data}
            for i, data in enumerate(datas)
        ],
    }
    if source_kinesis_arn:
        event["sourceKinesisStreamArn"] = source_kinesis_arn
        for i, record in enumerate(event["records"]):
            record["kinesisRecordMetadata"] = {
                "shardId": "shardId-000000000000",
                "partitionKey": f"pk-{i}",
                "approximateArrivalTimestamp": 1_700_000_000_000,
                "sequenceNumber": str(49_000_000 + i),
                "subsequenceNumber": "",
            }
    return event


def decoded(record: dict[str, Any]) -> bytes:
    return base64.b64decode(record["data"])
