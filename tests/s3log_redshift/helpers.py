"""Events and sample data for the s3log_redshift tests."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

S3_ACCESS_LOGS = "s3_access_logs"
# The powertools sample of an S3 notification delivered through SQS: the shape every event here copies.
SQS_S3_EVENT = "lambda_events/powertools-lambda-python/s3SqsEvent.json"


def sample_lines(shared_data: Path) -> list[str]:
    """Every line of every real S3 access log sample, in file order."""
    return [
        line
        for path in sorted((shared_data / S3_ACCESS_LOGS).glob("*.log"))
        for line in path.read_text().splitlines()
    ]


def s3_notification(bucket: str, key: str, size: int = 0, event_name: str = "ObjectCreated:Put") -> str:
    """The JSON body S3 sends to SQS for one new object (key URL-encoded, as S3 does)."""
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": "2024-03-03T12:55:00.000Z",
        "eventName": event_name,
        "userIdentity": {"principalId": "AWS:AROAEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "192.0.2.3"},
        "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "example"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "access-logs",
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": "A1"},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": {
                "key": quote_plus(key, safe="/"),
                "size": size,
                "eTag": "0123abcd",
                "sequencer": "0A1",
            },
        },
    }
    return json.dumps({"Records": [record]})


def sqs_event(
    bodies: list[str], queue_arn: str = "arn:aws:sqs:us-east-1:123456789012:access-logs"
) -> dict[str, Any]:
    """An SQS event for Lambda with one message per body."""
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": f"handle-{index}",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1709470500000",
                    "SenderId": "AIDAEXAMPLE",
                    "ApproximateFirstReceiveTimestamp": "1709470500000",
                },
                "messageAttributes": {},
                "md5OfBody": "0" * 32,
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for index, body in enumerate(bodies)
        ]
    }
