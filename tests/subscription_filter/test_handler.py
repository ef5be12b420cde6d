"""The Lambda handler: real payloads in, lines in day files out; errors raised and logged."""

from __future__ import annotations

import base64
import io
import json
import os
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import boto3
import pytest
from moto import mock_aws

from devtools.lambda_runtime import FakeLambdaContext
from logpipes.subscription_filter import app, handler
from logpipes.subscription_filter.payload import InvalidPayloadError
from tests.subscription_filter.payloads import CANONICAL_SAMPLES, load_sample, wrap_subscription_record


def _log_records(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """What the handler's Powertools logger writes (its stream is bound when the module is imported)."""
    stream = io.StringIO()
    previous = app.logger.registered_handler.setStream(stream)
    yield stream
    app.logger.registered_handler.setStream(previous)


def test_real_sample_is_archived_in_tokyo_time(
    archive_root: Path, shared_data: Path, lambda_context: FakeLambdaContext
) -> None:
    result = handler(load_sample(shared_data, CANONICAL_SAMPLES[0]), lambda_context)
    assert result == {
        "log_group": "testLogGroup",
        "written": 2,
        "duplicates": 0,
        "late": 0,
        "files": ["testLogGroup/2015-08-25.log"],
        "sealed": [],
    }
    # 1440442987000 ms is 2015-08-24T19:03:07Z: already the 25th in Tokyo.
    assert (archive_root / "testLogGroup/2015-08-25.log").read_text() == (
        "billing,prod,2015-08-25T04:03:07.000+09:00,testLogStream,[ERROR] First test message\n"
        "billing,prod,2015-08-25T04:03:07.001+09:00,testLogStream,[ERROR] Second test message\n"
    )


def test_metrics_count_archived_and_duplicate_events(
    archive_root: Path,
    shared_data: Path,
    lambda_context: FakeLambdaContext,
    capsys: pytest.CaptureFixture[str],
) -> None:
    event = load_sample(shared_data, CANONICAL_SAMPLES[1])
    handler(event, lambda_context)
    handler(event, lambda_context)
    emf = [record for record in _log_records(capsys.readouterr().out) if "_aws" in record]
    assert [(m["EventsArchived"], m["DuplicateEventsSkipped"]) for m in emf] == [
        ([2.0], [0.0]),
        ([0.0], [2.0]),
    ]
    assert emf[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "logpipes"


@pytest.mark.parametrize(
    "event",
    [{"awslogs": {"data": "not base64 at all!"}}, {"Records": [{"eventSource": "aws:sqs"}]}],
    ids=["bad data", "not a subscription event"],
)
def test_invalid_payload_raises_and_is_logged_with_the_request_id(
    archive_root: Path,
    lambda_context: FakeLambdaContext,
    log_output: io.StringIO,
    capsys: pytest.CaptureFixture[str],
    event: dict[str, Any],
) -> None:
    with pytest.raises(InvalidPayloadError):
        handler(event, lambda_context)
    (error,) = [
        r for r in _log_records(log_output.getvalue()) if r["message"] == "invalid CloudWatch Logs payload"
    ]
    assert error["level"] == "ERROR"
    assert error["function_request_id"] == lambda_context.aws_request_id
    assert "InvalidPayloadError" in error["exception"]
    assert any(r.get("InvalidPayloads") == [1.0] for r in _log_records(capsys.readouterr().out))
    assert list(archive_root.iterdir()) == []


def test_control_message_writes_nothing(
    archive_root: Path, shared_data: Path, lambda_context: FakeLambdaContext
) -> None:
    sample = load_sample(
        shared_data, "aws-sam-cli_generated_sample_events/kinesis_KinesisFirehoseCloudwatchLogsProcessor.json"
    )
    control = wrap_subscription_record(base64.b64decode(sample["records"][0]["data"]))
    assert handler(control, lambda_context) == {"control_message": True}
    assert list(archive_root.iterdir()) == []


# The event EventBridge sends for a schedule rule (AWS docs, "Amazon EventBridge events" example).
SCHEDULED_EVENT = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2015-10-08T16:53:06Z",
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/my-scheduled-rule"],
    "detail": {},
}


def test_scheduled_event_seals_days_that_are_over(
    archive_root: Path, shared_data: Path, lambda_context: FakeLambdaContext
) -> None:
    handler(load_sample(shared_data, CANONICAL_SAMPLES[2]), lambda_context)
    day = archive_root / "testLogGroup/2015-08-25.log"
    assert handler(SCHEDULED_EVENT, lambda_context) == {"sealed": []}  # just written: retries may come
    os.utime(day, (day.stat().st_mtime - 3600, day.stat().st_mtime - 3600))
    assert handler(SCHEDULED_EVENT, lambda_context) == {"sealed": ["testLogGroup/2015-08-25.log.gz"]}
    assert not day.exists()


@pytest.fixture
def in_process_moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("MOTO_LAMBDA_STUB_ECR", "TRUE")
    with mock_aws():
        yield


def test_payload_moto_sends_to_a_subscribed_lambda(
    archive_root: Path, in_process_moto: None, lambda_context: FakeLambdaContext
) -> None:
    """Subscribe a log group to a Lambda function in moto, put events, archive what moto invokes it with."""
    iam, lambda_, logs = (boto3.client(name, region_name="us-east-1") for name in ("iam", "lambda", "logs"))
    role = iam.create_role(RoleName="archiver", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    function = lambda_.create_function(
        FunctionName="archiver",
        Role=role,
        PackageType="Image",
        Code={"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/logpipes/subscription_filter:latest"},
    )["FunctionArn"]
    logs.create_log_group(logGroupName="/app/payments")
    logs.create_log_stream(logGroupName="/app/payments", logStreamName="web-1")
    logs.put_subscription_filter(
        logGroupName="/app/payments", filterName="archive", filterPattern="", destinationArn=function
    )
    # moto, like CloudWatch Logs, drops events older than 14 days: use the last midnight in Tokyo.
    tokyo = ZoneInfo("Asia/Tokyo")
    midnight = datetime.combine(datetime.now(tokyo).date(), time(), tzinfo=tokyo)
    before, after = (midnight - timedelta(milliseconds=1)).date(), midnight.date()
    invocations: list[dict[str, Any]] = []
    with mock.patch(
        "moto.awslambda.models.LambdaFunction.invoke",
        lambda self, body, *args: invocations.append(json.loads(body)) or b"",
    ):
        logs.put_log_events(
            logGroupName="/app/payments",
            logStreamName="web-1",
            logEvents=[
                {"timestamp": int(midnight.timestamp() * 1000) - 1, "message": "payment 1 captured"},
                {"timestamp": int(midnight.timestamp() * 1000), "message": "payment 2 captured"},
            ],
        )
    assert len(invocations) == 1 and set(invocations[0]) == {"awslogs"}
    result = handler(invocations[0], lambda_context)
    assert result["written"] == 2
    assert (archive_root / f"app/payments/{before}.log").read_text() == (
        f"billing,prod,{before}T23:59:59.999+09:00,web-1,payment 1 captured\n"
    )
    assert (archive_root / f"app/payments/{after}.log").read_text() == (
        f"billing,prod,{after}T00:00:00.000+09:00,web-1,payment 2 captured\n"
    )
