"""The handler from its built image context (build/s3log_redshift/package), in an isolated
interpreter as Lambda runs it: it imports with the locked dependencies only (no psycopg), acknowledges
S3's test event, and reports an unreadable message."""

from __future__ import annotations

import json

from devtools.lambda_runtime import ensure_built, invoke_from_context

from .helpers import sqs_event


def test_built_context_handles_a_test_event_and_reports_a_bad_message() -> None:
    ensure_built("s3log_redshift")
    test_event = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "photo-service-logs"})
    event = sqs_event([test_event, "not a notification"])
    env = {
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",  # both, as Lambda sets them
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "STAGING_BUCKET": "photo-service-log-staging",
        "REDSHIFT_CLUSTER_IDENTIFIER": "analytics",
        "REDSHIFT_COPY_ROLE_ARN": "arn:aws:iam::123456789012:role/copy",
    }

    result = invoke_from_context("s3log_redshift", event, env=env)

    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}
