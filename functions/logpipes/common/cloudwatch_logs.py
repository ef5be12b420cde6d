"""The one decoder of CloudWatch Logs subscription data: base64 → gzip → JSON document.

CloudWatch Logs sends every subscription delivery (to Lambda as ``awslogs.data``, to Kinesis and
Firehose as the record's data) as "base64 encoded and compressed with the gzip format" (CloudWatch
Logs user guide, "Real-time processing of log data with subscriptions"). So this decoder accepts
exactly that and nothing looser:

- base64: the standard alphabet, padded, no whitespace (what AWS sends); anything else, including
  unpadded base64, is rejected rather than guessed at.
- gzip framing only (wbits 31): a zlib or raw deflate stream is not what CloudWatch Logs sends, and
  one decoder for both functions must not accept in one what the other rejects. Every member of a
  multi-member stream is read (concatenated members are valid gzip, RFC 1952 §2.2); a truncated
  member or anything after the last member (trailing garbage, even zeros) fails the payload: never
  half a payload as success.
- inflation is bounded by :func:`inflated_limit`: a gzip bomb fails alone instead of killing the
  function and its whole batch.
- JSON: orjson, which rejects invalid UTF-8 and lone surrogates, so a payload with a message that is
  not valid Unicode fails as a whole (its data is kept where the caller parks failures).
"""

from __future__ import annotations

import binascii
import os
from collections.abc import Mapping
from typing import Any

import orjson
import pybase64
from isal import isal_zlib

DATA_MESSAGE = "DATA_MESSAGE"
CONTROL_MESSAGE = "CONTROL_MESSAGE"  # sent when a subscription is created: carries no log events

# The largest legitimate payload, from the PutLogEvents limits (CloudWatch Logs API reference): a
# batch holds at most 10,000 events and 1,048,576 bytes (UTF-8 messages plus 26 bytes per event).
# In the payload's JSON a message byte takes at most 6 bytes (a control character escaped as
# \u00XX), and an event's envelope (a 56-digit id, a 13-digit timestamp, the keys) under 160 bytes;
# logGroup and logStream are at most 512 characters each.
MAX_BATCH_BYTES = 1_048_576
MAX_BATCH_EVENTS = 10_000
MAX_LEGITIMATE_INFLATED_BYTES = 6 * MAX_BATCH_BYTES + 160 * MAX_BATCH_EVENTS + 4096  # 7,895,552
# Peak memory of decoding one payload, per inflated byte, on the worst JSON shape: an array of
# empty objects ("[{},{},...]") makes a 64-byte dict of every 3 bytes (measured: 29.5x); plus what
# the interpreter and the libraries hold before the first byte (a handler imported: ~70 MB).
PEAK_BYTES_PER_INFLATED_BYTE = 32
BASELINE_MEMORY_MB = 96


class InvalidSubscriptionData(ValueError):
    """The data is not a CloudWatch Logs subscription payload; the message says why."""


class SubscriptionDataTooLarge(InvalidSubscriptionData):
    """The data inflates to more than the limit: not a legitimate payload (or a gzip bomb)."""


def inflated_limit(environ: Mapping[str, str] = os.environ) -> int:
    """How many bytes one payload may inflate to in this function.

    The largest legitimate payload, unless the function's memory (AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    which Lambda sets) cannot hold the worst case of that many bytes: then what it can hold.
    """
    try:
        memory_mb = int(environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "0"))
    except ValueError:
        memory_mb = 0
    if memory_mb <= 0:  # not in Lambda (tests, tools): the legitimate maximum
        return MAX_LEGITIMATE_INFLATED_BYTES
    affordable = (memory_mb - BASELINE_MEMORY_MB) * 1024 * 1024 // PEAK_BYTES_PER_INFLATED_BYTE
    return max(64 * 1024, min(MAX_LEGITIMATE_INFLATED_BYTES, affordable))


def decode_base64(data: str | bytes) -> bytes:
    """Strict base64 (standard alphabet, padded); raises InvalidSubscriptionData."""
    if len(data) % 4:
        raise InvalidSubscriptionData(f"not base64: {len(data)} characters is not padded base64")
    try:
        return pybase64.b64decode(data, validate=True)  # SIMD: 25x the standard library's speed
    except (binascii.Error, ValueError) as error:
        raise InvalidSubscriptionData(f"not base64: {error}") from None


def inflate(compressed: bytes, limit: int) -> bytes:
    """Every gzip member of ``compressed``, inflated, at most ``limit`` bytes in all.

    Raises SubscriptionDataTooLarge past the limit (having inflated no more than limit + 1 bytes),
    and InvalidSubscriptionData for anything but one or more whole gzip members.
    """
    if not compressed:
        raise InvalidSubscriptionData("not gzip: no data")
    parts: list[bytes] = []
    remaining = limit
    while True:
        # ISA-L inflates the same streams as zlib, about 1.7x as fast: the hot path's biggest cost.
        decompressor = isal_zlib.decompressobj(wbits=31)
        try:
            part = decompressor.decompress(compressed, remaining + 1)
        except isal_zlib.error as error:
            raise InvalidSubscriptionData(f"not gzip: {error}") from None
        if len(part) > remaining:
            raise SubscriptionDataTooLarge(f"inflates to more than {limit} bytes")
        if not decompressor.eof:
            raise InvalidSubscriptionData("not gzip: truncated stream")
        parts.append(part)
        remaining -= len(part)
        compressed = decompressor.unused_data
        if not compressed:
            return parts[0] if len(parts) == 1 else b"".join(parts)
        if compressed[:2] != b"\x1f\x8b":
            raise InvalidSubscriptionData(f"not gzip: {len(compressed)} bytes of trailing data")


def load_document(inflated: bytes) -> dict[str, Any]:
    """The JSON document of a subscription payload, its messageType and logEvents checked.

    Returns a DATA_MESSAGE (with a logEvents list) or a CONTROL_MESSAGE; raises
    InvalidSubscriptionData for anything else.
    """
    try:
        # orjson parses about 2.5x as fast as json, and rejects invalid UTF-8 and lone surrogates.
        document = orjson.loads(inflated)
    except orjson.JSONDecodeError as error:
        raise InvalidSubscriptionData(f"not JSON: {error}") from None
    if not isinstance(document, dict) or "messageType" not in document:
        raise InvalidSubscriptionData("not a CloudWatch Logs subscription payload: no messageType")
    message_type = document["messageType"]
    if message_type == DATA_MESSAGE:
        if not isinstance(document.get("logEvents"), list):
            raise InvalidSubscriptionData("DATA_MESSAGE without a logEvents list")
    elif message_type != CONTROL_MESSAGE:
        raise InvalidSubscriptionData(f"unknown messageType {message_type!r}")
    return document


def decode(compressed: bytes, limit: int) -> dict[str, Any]:
    """gzip bytes → the payload's JSON document (see :func:`inflate` and :func:`load_document`)."""
    return load_document(inflate(compressed, limit))
