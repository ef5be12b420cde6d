"""Pure functions: CloudWatch Logs subscription records in, Firehose transformation results out.

A Firehose record sent by a CloudWatch Logs subscription filter is base64 of gzip of a JSON document
(``messageType``, ``owner``, ``logGroup``, ``logStream``, ``subscriptionFilters``, ``logEvents``),
decoded by the one decoder of such data, :mod:`logpipes.common.cloudwatch_logs`. These functions
render its events in the configured output format, and split a payload into
smaller payloads by log events when its output is too big for one response.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import orjson
from isal import igzip

from logpipes.common import cloudwatch_logs
from logpipes.common.cloudwatch_logs import DATA_MESSAGE, InvalidSubscriptionData


class OutputFormat(StrEnum):
    """What Firehose writes for each log event (OUTPUT_FORMAT)."""

    RAW = "raw"  # each event's message plus a newline: what the AWS blueprint writes
    JSON = "json"  # one JSON object per event, with its origin and an ISO-8601 UTC timestamp


class InvalidRecord(InvalidSubscriptionData):
    """The record's events cannot be delivered (malformed, or too big); the message says why."""


@dataclass(frozen=True)
class Payload:
    """A decoded CloudWatch Logs subscription payload."""

    document: dict[str, Any]

    @property
    def is_data(self) -> bool:
        """A DATA_MESSAGE (log events to deliver); else a CONTROL_MESSAGE (nothing to deliver)."""
        return self.document["messageType"] == DATA_MESSAGE

    @property
    def events(self) -> list[dict[str, Any]]:
        """The document's ``logEvents`` list itself (not a copy)."""
        return self.document["logEvents"]


def decode_payload(compressed: bytes, inflated_limit: int) -> Payload:
    """gzip bytes -> Payload; raises InvalidSubscriptionData (see logpipes.common.cloudwatch_logs)."""
    return Payload(cloudwatch_logs.decode(compressed, inflated_limit))


def iso_utc(epoch_millis: int) -> str:
    """1510109208016 -> '2017-11-08T02:46:48.016Z'."""
    return datetime.fromtimestamp(epoch_millis / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def render_events(payload: Payload, events: list[dict[str, Any]], output_format: OutputFormat) -> bytes:
    """The bytes Firehose writes for these events of the payload (every line ends with a newline).

    Raises InvalidRecord for an event that is not an object with a string message (and, for the
    json format, an id and an epoch-milliseconds timestamp).
    """
    if not events:
        return b""
    try:
        if output_format is OutputFormat.RAW:
            messages = [event["message"] for event in events]
            messages.append("")
            return "\n".join(messages).encode()
        return _render_json_lines(payload.document, events)
    except (KeyError, TypeError, ValueError, OverflowError, OSError) as error:
        raise InvalidRecord(f"malformed log event: {error!r}") from None


def _render_json_lines(document: dict[str, Any], events: list[dict[str, Any]]) -> bytes:
    origin = {
        "owner": document.get("owner"),
        "logGroup": document.get("logGroup"),
        "logStream": document.get("logStream"),
    }
    lines = []
    for event in events:
        message = event["message"]
        if not isinstance(message, str):
            raise TypeError(f"message is a {type(message).__name__}")
        line = {
            **origin,
            "id": str(event["id"]),  # moto sends integers; CloudWatch Logs sends strings
            "timestamp": iso_utc(event["timestamp"]),
            "message": message,
        }
        lines.append(orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE))
    return b"".join(lines)


def encode_payload(payload: Payload, events: list[dict[str, Any]]) -> bytes:
    """A gzip subscription payload with the same envelope and only these events (for re-ingestion)."""
    return igzip.compress(orjson.dumps({**payload.document, "logEvents": events}), compresslevel=2, mtime=0)


def split_events(
    payload: Payload, output_format: OutputFormat, max_output_bytes: int, max_event_bytes: int
) -> Iterator[list[dict[str, Any]]]:
    """Group the payload's events, in order, so that each group renders (base64-encoded) within
    max_output_bytes, or is a single event. An event is never split; one that renders to more than
    max_event_bytes (what an empty response holds) raises InvalidRecord: it could never be
    delivered, and re-ingesting it would bring it back forever."""
    group: list[dict[str, Any]] = []
    group_size = 0
    for index, event in enumerate(payload.events):
        size = base64_length(len(render_events(payload, [event], output_format)))
        if size > max_event_bytes:
            raise InvalidRecord(
                f"log event {index} renders to {size} bytes of base64, more than a response holds"
            )
        if group and group_size + size > max_output_bytes:
            yield group
            group, group_size = [], 0
        group.append(event)
        group_size += size
    if group:
        yield group


def base64_length(raw_length: int) -> int:
    """The length of the padded base64 of ``raw_length`` bytes."""
    return 4 * ((raw_length + 2) // 3)
