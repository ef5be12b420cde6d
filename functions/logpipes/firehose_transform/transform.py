"""Pure functions: CloudWatch Logs subscription records in, Firehose transformation results out.

A Firehose record sent by a CloudWatch Logs subscription filter is base64 of gzip of a JSON document
(``messageType``, ``owner``, ``logGroup``, ``logStream``, ``subscriptionFilters``, ``logEvents``). These
functions decode it, render its events in the configured output format, and split a payload into
smaller payloads by log events when its output is too big for one response.
"""

from __future__ import annotations

import binascii
import gzip
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import orjson


class OutputFormat(StrEnum):
    RAW = "raw"  # each event's message plus a newline: what the AWS blueprint writes
    JSON = "json"  # one JSON object per event, with its origin and an ISO-8601 UTC timestamp


class InvalidRecord(ValueError):
    """The record is not a CloudWatch Logs subscription payload; the message says why."""


@dataclass(frozen=True)
class Payload:
    """A decoded CloudWatch Logs subscription payload."""

    document: dict[str, Any]

    @property
    def message_type(self) -> str:
        return str(self.document.get("messageType"))

    @property
    def events(self) -> list[dict[str, Any]]:
        return self.document["logEvents"]


def _inflate_gzip(raw: bytes) -> bytes:
    # wbits=31: gzip framing only (a zlib or raw deflate stream is not what CloudWatch Logs sends).
    decompressor = zlib.decompressobj(wbits=31)
    try:
        inflated = decompressor.decompress(raw)
    except zlib.error as error:
        raise InvalidRecord(f"not gzip: {error}") from None
    if not decompressor.eof:
        raise InvalidRecord("not gzip: truncated stream")
    return inflated


def decode_base64(data: str | bytes) -> bytes:
    try:
        return binascii.a2b_base64(data, strict_mode=True)
    except (binascii.Error, ValueError) as error:
        raise InvalidRecord(f"not base64: {error}") from None


def decode_payload(compressed: bytes) -> Payload:
    """gzip bytes -> Payload. Raises InvalidRecord for anything that is not a subscription payload."""
    inflated = _inflate_gzip(compressed)
    try:
        document = orjson.loads(inflated)
    except orjson.JSONDecodeError as error:
        raise InvalidRecord(f"not JSON: {error}") from None
    if not isinstance(document, dict) or "messageType" not in document:
        raise InvalidRecord("not a CloudWatch Logs subscription payload: no messageType")
    if document["messageType"] == "DATA_MESSAGE" and not isinstance(document.get("logEvents"), list):
        raise InvalidRecord("DATA_MESSAGE without a logEvents list")
    return Payload(document)


def iso_utc(epoch_millis: int) -> str:
    """1510109208016 -> '2017-11-08T02:46:48.016Z'."""
    return datetime.fromtimestamp(epoch_millis / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def render_events(payload: Payload, events: list[dict[str, Any]], output_format: OutputFormat) -> bytes:
    """The bytes Firehose writes for these events of the payload (every line ends with a newline)."""
    if not events:
        return b""
    if output_format is OutputFormat.RAW:
        messages = [event["message"] for event in events]
        messages.append("")
        return "\n".join(messages).encode()
    document = payload.document
    origin = {
        "owner": document.get("owner"),
        "logGroup": document.get("logGroup"),
        "logStream": document.get("logStream"),
    }
    return b"".join(
        orjson.dumps(
            {
                **origin,
                "id": str(event["id"]),  # moto sends integers; CloudWatch Logs sends strings
                "timestamp": iso_utc(event["timestamp"]),
                "message": event["message"],
            },
            option=orjson.OPT_APPEND_NEWLINE,
        )
        for event in events
    )


def encode_payload(payload: Payload, events: list[dict[str, Any]]) -> bytes:
    """A gzip subscription payload with the same envelope and only these events (for re-ingestion)."""
    return gzip.compress(orjson.dumps({**payload.document, "logEvents": events}), compresslevel=6, mtime=0)


def split_events(
    payload: Payload, output_format: OutputFormat, max_output_bytes: int
) -> Iterator[list[dict[str, Any]]]:
    """Group the payload's events, in order, so that each group renders (base64-encoded) within
    max_output_bytes. A single event is never split: CloudWatch Logs caps events at 256 KB."""
    group: list[dict[str, Any]] = []
    group_size = 0
    for event in payload.events:
        size = base64_length(len(render_events(payload, [event], output_format)))
        if group and group_size + size > max_output_bytes:
            yield group
            group, group_size = [], 0
        group.append(event)
        group_size += size
    if group:
        yield group


def base64_length(raw_length: int) -> int:
    return 4 * ((raw_length + 2) // 3)
