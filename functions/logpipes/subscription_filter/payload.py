"""Decode the payload a CloudWatch Logs subscription filter sends to Lambda.

The event is ``{"awslogs": {"data": <base64 of gzip of JSON>}}``; the JSON holds the log group,
the log stream and the log events. Anything else is an :class:`InvalidPayloadError`, raised so that
Lambda retries the invocation and finally parks the event in the on-failure destination.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.data_classes import CloudWatchLogsEvent

from logpipes.common import cloudwatch_logs
from logpipes.common.cloudwatch_logs import CONTROL_MESSAGE, DATA_MESSAGE


class InvalidPayloadError(ValueError):
    """The event is not a CloudWatch Logs subscription payload."""


# (id, timestamp in milliseconds since the epoch UTC, message): a plain tuple, the cheapest
# thing to build for every event of a delivery.
LogEvent = tuple[str, int, str]


@dataclass(frozen=True, slots=True)
class LogBatch:
    """The DATA_MESSAGE of one delivery: events of one log stream of one log group, by column
    (``ids[i]``, ``timestamps[i]`` and ``messages[i]`` are event i's)."""

    log_group: str
    log_stream: str
    ids: list[str]
    timestamps: list[int]
    messages: list[str]

    @property
    def events(self) -> list[LogEvent]:
        """The events as (id, timestamp ms, message) tuples, built anew on each access."""
        return list(zip(self.ids, self.timestamps, self.messages, strict=True))


def encode_subscription_event(
    log_group: str, log_stream: str, events: Sequence[LogEvent], owner: str = "123456789012"
) -> dict[str, Any]:
    """The Lambda event CloudWatch Logs sends for (id, timestamp ms, message) events: a DATA_MESSAGE
    as compact JSON, gzipped, base64-encoded. The inverse of decode_subscription_event, used to
    build deliveries in the demo, the benchmark and the tests."""
    document = {
        "messageType": DATA_MESSAGE,
        "owner": owner,
        "logGroup": log_group,
        "logStream": log_stream,
        "subscriptionFilters": ["logpipes"],
        "logEvents": [{"id": event_id, "timestamp": t, "message": m} for event_id, t, m in events],
    }
    compressed = gzip.compress(json.dumps(document, separators=(",", ":")).encode(), mtime=0)
    return {"awslogs": {"data": base64.b64encode(compressed).decode("ascii")}}


def decode_subscription_event(event: Mapping[str, Any]) -> LogBatch | None:
    """Decode a Lambda event from a subscription filter; None for a CONTROL_MESSAGE.

    Raises InvalidPayloadError when the data is not what CloudWatch Logs sends (strict padded
    base64 of one or more whole gzip members of a JSON document: see
    :mod:`logpipes.common.cloudwatch_logs`), inflates past the function's limit, or is not shaped
    like a subscription payload.
    """
    try:
        raw_data = CloudWatchLogsEvent(dict(event)).raw_logs_data
    except (KeyError, TypeError) as error:
        raise InvalidPayloadError("the event has no awslogs.data: not a CloudWatch Logs payload") from error
    if not isinstance(raw_data, str):
        raise InvalidPayloadError(f"awslogs.data is a {type(raw_data).__name__}, not a base64 string")
    try:
        compressed = cloudwatch_logs.decode_base64(raw_data)
        document = cloudwatch_logs.decode(compressed, cloudwatch_logs.inflated_limit())
    except cloudwatch_logs.InvalidSubscriptionData as error:
        raise InvalidPayloadError(f"awslogs.data: {error}") from error
    return _to_batch(document)


def _to_batch(document: dict[str, Any]) -> LogBatch | None:
    """The LogBatch of a decoded DATA_MESSAGE (its logEvents already a list); None for a CONTROL_MESSAGE."""
    if document["messageType"] == CONTROL_MESSAGE:
        return None
    log_group, log_stream = document.get("logGroup"), document.get("logStream")
    if not isinstance(log_group, str) or not log_group or not isinstance(log_stream, str):
        raise InvalidPayloadError("the payload has no logGroup/logStream")
    return LogBatch(log_group, log_stream, *_event_columns(document["logEvents"]))


def _event_columns(raw_events: list[Any]) -> tuple[list[str], list[int], list[str]]:
    # Read and validated a column at a time with comprehensions and C-level map and set calls,
    # not event by event: this runs for every event of every delivery (the hot path).
    try:
        ids = [event["id"] for event in raw_events]
        timestamps = [event["timestamp"] for event in raw_events]
        messages = [event["message"] for event in raw_events]
    except (KeyError, TypeError) as error:
        raise InvalidPayloadError(f"a log event lacks id, timestamp or message: {error!r}") from error
    if not raw_events:
        return ids, timestamps, messages
    if int in set(map(type, ids)):  # AWS sends strings of digits; moto sends the number itself
        ids = [str(event_id) if type(event_id) is int else event_id for event_id in ids]
    if set(map(type, ids)) != {str} or "" in ids:
        raise InvalidPayloadError("a log event has an empty or non-string id")
    if set(map(type, messages)) != {str}:
        raise InvalidPayloadError("a log event has a non-string message")
    # type(), not isinstance(): True is not a timestamp.
    if not_int := set(map(type, timestamps)) - {int}:
        names = ", ".join(sorted(kind.__name__ for kind in not_int))
        raise InvalidPayloadError(f"a log event has a timestamp that is not an integer but {names}")
    return ids, timestamps, messages
