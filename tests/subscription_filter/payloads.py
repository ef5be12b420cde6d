"""Sample subscription events from ../shared/data, and payloads taken out of stream records."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

SAMPLE_EVENTS = Path("lambda_events")
# The same canonical awslogs event, copied from four unrelated repositories (SOURCES.md §3).
CANONICAL_SAMPLES = (
    "aws-lambda-go/cloudwatch-logs-event.json",
    "aws-lambda-java-libs/cloudwatchlogs_event.json",
    "aws-sam-cli_generated_sample_events/cloudwatch_CloudwatchLogs.json",
    "powertools-lambda-python/cloudWatchLogEvent.json",
)


def awslogs_event(document: Any) -> dict[str, Any]:
    """Any JSON document (valid or not as a payload) encoded the way CloudWatch Logs does."""
    return wrap_subscription_record(gzip.compress(json.dumps(document).encode()))


def load_sample(shared_data: Path, name: str) -> dict[str, Any]:
    return json.loads((shared_data / SAMPLE_EVENTS / name).read_text())


def wrap_subscription_record(data: bytes) -> dict[str, Any]:
    """A gzipped subscription payload taken from a Kinesis or Firehose record, as Lambda receives it."""
    return {"awslogs": {"data": base64.b64encode(data).decode()}}
