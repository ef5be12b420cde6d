"""examples/cloudwatch-to-athena applied to moto: log events in, transformed gzip objects out in S3."""

from __future__ import annotations

import gzip
import json
import time

import pytest

from devtools.firehose import deliver
from devtools.lambda_runtime import ensure_built, invoke_from_context
from devtools.moto_server import MotoServer
from devtools.terraform import applied_example

pytestmark = [pytest.mark.terraform, pytest.mark.moto, pytest.mark.slow]


def test_log_events_come_out_transformed_in_s3(aws: MotoServer) -> None:
    image_uri = ensure_built("firehose_transform")
    with applied_example(
        "cloudwatch-to-athena", aws, {"image_uris": {"firehose_transform": image_uri}}
    ) as outputs:
        logs = aws.client("logs")
        group = outputs["log_group_name"]
        logs.create_log_stream(logGroupName=group, logStreamName="web-1")
        now = int(time.time() * 1000)
        messages = [
            '10.0.0.1 - - [21/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 512',
            "日本語のメッセージ",
            '{"level": "error", "msg": "a JSON log line"}',
        ]
        logs.put_log_events(
            logGroupName=group,
            logStreamName="web-1",
            logEvents=[{"timestamp": now + i, "message": m} for i, m in enumerate(messages)],
        )

        delivery = deliver(
            aws,
            outputs["delivery_stream_name"],
            lambda event: invoke_from_context(
                "firehose_transform", event, env={**aws.env(), "OUTPUT_FORMAT": "json"}
            ),
        )

        assert delivery.results == {"Ok": 1, "Dropped": 0, "ProcessingFailed": 0}
        s3 = aws.client("s3")
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=outputs["bucket_name"])["Contents"]]
        assert keys == delivery.keys and keys[0].startswith(time.strftime("logs/%Y/%m/%d/", time.gmtime()))
        body = gzip.decompress(s3.get_object(Bucket=outputs["bucket_name"], Key=keys[0])["Body"].read())
        lines = [json.loads(line) for line in body.decode().splitlines()]
        assert [line["message"] for line in lines] == messages
        assert {line["logGroup"] for line in lines} == {group}
        assert {line["logStream"] for line in lines} == {"web-1"}
