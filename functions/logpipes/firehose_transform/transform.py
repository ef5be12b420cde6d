"""Pure functions: CloudWatch Logs subscription records in, Firehose transformation results out.

A Firehose record sent by a CloudWatch Logs subscription filter is base64 of gzip of a JSON document
(``messageType``, ``owner``, ``logGroup``, ``logStream``, ``subscriptionFilters``, ``logEvents``),
decoded by the one decoder of such data, :mod:`logpipes.common.cloudwatch_logs`. These functions
render its events in the configured output format, and split a payload into
smaller payloads by log events when its output is too big for one response.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

import orjson
from isal import igzip

from logpipes.common import cloudwatch_logs
from logpipes.common.cloudwatch_logs import DATA_MESSAGE, InvalidSubscriptionData


class OutputFormat(StrEnum):
    """What Firehose writes for each log event (OUTPUT_FORMAT)."""

    RAW = "raw"  # each event's message plus a newline: what the AWS blueprint writes
    JSON = "json"  # one JSON object per event, with its origin and an ISO-8601 UTC timestamp
    COLUMNS = "columns"  # one JSON object per event with exactly the configured columns (COLUMNS)
    CSV = "csv"  # the same columns as one RFC 4180 CSV row per event, no header
    CUSTOM = "custom"  # the lines a user's own transform returns (TRANSFORM_FUNCTION)


class InvalidRecord(InvalidSubscriptionData):
    """The record's events cannot be delivered (malformed, or too big); the message says why."""


# At most this many values that did not convert are kept as samples for the logs, per invocation.
MAX_CONVERSION_SAMPLES = 5


@dataclass
class Tally:
    """What rendering counted, for the metrics: one per record while it renders, added to the
    invocation's only for a record that is done here (Ok, or Dropped with nothing to deliver), so
    that a record re-ingested, whole or in pieces, is counted once: where it is finally delivered."""

    values_not_converted: int = 0
    conversion_samples: list[dict[str, str]] = field(default_factory=list)
    events_unparsed_kept: int = 0
    events_unparsed_dropped: int = 0
    events_filtered_by_transform: int = 0
    records_failed_by_transform: int = 0

    def not_converted(self, column: str, source: str, value: object) -> None:
        """Count a value that did not convert to its column's type (and keep the first few)."""
        self.values_not_converted += 1
        if len(self.conversion_samples) < MAX_CONVERSION_SAMPLES:
            self.conversion_samples.append({"column": column, "source": source, "value": repr(value)[:200]})

    def add(self, other: Tally) -> None:
        """Add another tally's counts (and samples, up to the limit) to this one."""
        self.values_not_converted += other.values_not_converted
        room = MAX_CONVERSION_SAMPLES - len(self.conversion_samples)
        self.conversion_samples += other.conversion_samples[: max(0, room)]
        self.events_unparsed_kept += other.events_unparsed_kept
        self.events_unparsed_dropped += other.events_unparsed_dropped
        self.events_filtered_by_transform += other.events_filtered_by_transform
        self.records_failed_by_transform += other.records_failed_by_transform


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


class Renderer(Protocol):
    """The render hook: the bytes Firehose writes for these events of the payload (every line ends
    with a newline; b"" when no event yields a line). Counts what it converts, drops or filters in
    the tally. Raises InvalidRecord when the events cannot be rendered: the record then fails alone.
    The batch sizes responses and splits records through it, whatever the format."""

    def __call__(self, payload: Payload, events: list[dict[str, Any]], tally: Tally) -> bytes:
        """Render the events (see the class)."""


def iso_utc(epoch_millis: int) -> str:
    """1510109208016 -> '2017-11-08T02:46:48.016Z'."""
    return datetime.fromtimestamp(epoch_millis / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def render_events(payload: Payload, events: list[dict[str, Any]], output_format: OutputFormat) -> bytes:
    """The bytes Firehose writes for these events of the payload in the raw or json format (every
    line ends with a newline).

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


def format_renderer(output_format: OutputFormat) -> Renderer:
    """The render hook of the raw or json format (they count nothing)."""
    if output_format not in (OutputFormat.RAW, OutputFormat.JSON):
        raise ValueError(f"{output_format} renders through its own Renderer")

    def render(payload: Payload, events: list[dict[str, Any]], tally: Tally) -> bytes:
        return render_events(payload, events, output_format)

    return render


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
    payload: Payload, render: Renderer, max_output_bytes: int, max_event_bytes: int
) -> Iterator[list[dict[str, Any]]]:
    """Group the payload's events, in order, so that each group renders (base64-encoded) within
    max_output_bytes, or is a single event. An event is never split; one that renders to more than
    max_event_bytes (what an empty response holds) raises InvalidRecord: it could never be
    delivered, and re-ingesting it would bring it back forever. (The events' counts are not kept:
    the pieces are counted where they are delivered.)"""
    group: list[dict[str, Any]] = []
    group_size = 0
    for index, event in enumerate(payload.events):
        size = base64_length(len(render(payload, [event], Tally())))
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
