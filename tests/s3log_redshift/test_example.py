"""examples/s3-access-logs-to-redshift applied against moto, then a delivered log object loaded
through the real wiring: S3 notification -> SQS -> the handler (configured from the deployed
function's environment, pointed at PostgreSQL) -> rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devtools.lambda_runtime import FakeLambdaContext
from devtools.moto_server import MotoServer
from devtools.terraform import applied_example
from logpipes.s3log_redshift import app, handler
from logpipes.s3log_redshift.parser import parse_line

from .conftest import Database
from .helpers import S3_ACCESS_LOGS

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/logpipes/s3log_redshift:test"
LOG_FILE = "awsdocs_LogFormat_2020-03_awsexamplebucket-us-west-1.log"


def lambda_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """What the event source mapping hands the function for messages received from the queue."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for message in messages
        ]
    }


@pytest.mark.moto
@pytest.mark.terraform
@pytest.mark.slow
def test_example_applies_and_a_delivered_log_object_is_loaded(
    aws: MotoServer, shared_data: Path, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # moto has no Redshift Serverless API: the example loads into a named cluster instead of creating one.
    variables = {"image_uris": {"s3log_redshift": IMAGE}, "redshift_cluster_identifier": "photo-analytics"}
    with applied_example("s3-access-logs-to-redshift", aws, variables) as out:
        s3, sqs, lambda_ = aws.client("s3"), aws.client("sqs"), aws.client("lambda")
        queue = sqs.get_queue_attributes(QueueUrl=out["queue_url"], AttributeNames=["All"])["Attributes"]
        dead_letter = sqs.get_queue_attributes(
            QueueUrl=out["dead_letter_queue_url"], AttributeNames=["QueueArn"]
        )
        assert queue["SqsManagedSseEnabled"] == "true"
        redrive = json.loads(queue["RedrivePolicy"])
        assert redrive["deadLetterTargetArn"] == dead_letter["Attributes"]["QueueArn"]
        assert int(redrive["maxReceiveCount"]) == 5
        assert int(queue["VisibilityTimeout"]) == 6 * 300 + 60
        notifications = s3.get_bucket_notification_configuration(Bucket=out["log_bucket"])
        [rule] = notifications["QueueConfigurations"]
        assert rule["QueueArn"] == queue["QueueArn"]
        [prefix] = rule["Filter"]["Key"]["FilterRules"]
        assert (prefix["Name"].lower(), prefix["Value"]) == ("prefix", out["log_prefix"])
        logging = s3.get_bucket_logging(Bucket=out["photos_bucket"])["LoggingEnabled"]
        assert (logging["TargetBucket"], logging["TargetPrefix"]) == (out["log_bucket"], out["log_prefix"])
        function = lambda_.get_function_configuration(FunctionName=out["lambda_function_name"])
        assert "VpcConfig" not in function or not function["VpcConfig"].get("SubnetIds")
        mappings = lambda_.list_event_source_mappings(EventSourceArn=queue["QueueArn"])["EventSourceMappings"]
        [mapping] = mappings
        assert mapping["FunctionArn"] == function["FunctionArn"]
        assert mapping["EventSourceArn"] == queue["QueueArn"]
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]

        # moto would itself receive the notifications for the mapping and try to run the image
        # function (which it cannot); stand in for the mapping instead.
        lambda_.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)

        # S3 delivers an access log object; its notification reaches the queue.
        text = (shared_data / S3_ACCESS_LOGS / LOG_FILE).read_text()
        key = f"{out['log_prefix']}2024-03-03-12-52-26-3B1E5C9F0D2A4F67"
        s3.put_object(Bucket=out["log_bucket"], Key=key, Body=text.encode())
        messages = sqs.receive_message(QueueUrl=out["queue_url"], MaxNumberOfMessages=10, WaitTimeSeconds=2)
        event = lambda_event(messages["Messages"], queue["QueueArn"])

        # The deployed function's configuration, with the database swapped for PostgreSQL.
        environment = function["Environment"]["Variables"]
        assert environment["REDSHIFT_CLUSTER_IDENTIFIER"] == "photo-analytics"
        assert environment["LOADER_BACKEND"] == "redshift-data"
        for name, value in {
            **environment,
            "LOADER_BACKEND": "postgresql",
            "POSTGRES_DSN": database.dsn,
            "TARGET_SCHEMA": database.schema,
        }.items():
            monkeypatch.setenv(name, value)
        try:
            response = handler(event, FakeLambdaContext(function_name=out["lambda_function_name"]))
        finally:
            app._loader_for.cache_clear()

        assert response == {"batchItemFailures": []}
        rows = database.query(
            "SELECT source_key, source_line, request_id FROM {schema}.s3_access_log ORDER BY 2"
        )
        lines = text.splitlines()
        assert rows == [(key, n, parse_line(line).request_id) for n, line in enumerate(lines, start=1)]  # type: ignore[union-attr]
        staged = [item["Key"] for item in s3.list_objects_v2(Bucket=out["staging_bucket"])["Contents"]]
        # The object's rows, the batch's ledger rows, and one COPY manifest for each.
        assert sorted(key.rsplit("/", 1)[-1].split(".", 1)[-1] for key in staged) == [
            "csv.gz", "csv.gz", "manifest", "manifest",
        ]  # fmt: skip
