"""The KPL aggregated record format: magic bytes, a protobuf ``AggregatedRecord``, its MD5.

aws-kinesis-agg supplies the format (its constants and generated protobuf classes). Its own
de-aggregator is not used on purpose: when an aggregate's MD5 does not match or its protobuf does
not parse, it yields the raw aggregate as if it were one plain user record, so corrupt bytes land
in the sink as data. Here such a record is an error the caller parks in a dead-letter location.
It also re-encodes every user record in base64 and copies the event's metadata per user record,
which is most of its cost (see bench/kinesis_kpl.py).
"""

from __future__ import annotations

import hashlib

import aws_kinesis_agg

# The library's generated protobuf modules import each other as top-level modules; importing its
# deaggregator module first is what puts them on the import path.
from aws_kinesis_agg import deaggregator
from google.protobuf.message import DecodeError

MAGIC: bytes = aws_kinesis_agg.MAGIC
DIGEST_SIZE: int = aws_kinesis_agg.DIGEST_SIZE
AggregatedRecord = deaggregator.messages_pb2.AggregatedRecord


class CorruptAggregateError(ValueError):
    """A record that starts with the KPL magic bytes but is not a valid aggregate; says why."""


def is_aggregated(data: bytes) -> bool:
    """True when ``data`` starts with the KPL magic bytes.

    Those bytes are not valid UTF-8 (0xF3 opens a 4-byte sequence that 0xC2 cannot continue), so a
    record that starts with them is never a text or JSON user record sent as is.
    """
    return data[:4] == MAGIC


def user_records(data: bytes) -> list[bytes]:
    """The user records packed in one aggregated record, in sub-sequence order.

    Raises CorruptAggregateError when the record is too short to hold a digest, its MD5 does not
    match, its protobuf does not parse or lacks a required field (a user record's data or partition
    key index), or it holds no user records. Partition and explicit hash keys are not read: the
    output does not carry them.
    """
    if len(data) < len(MAGIC) + DIGEST_SIZE:
        raise CorruptAggregateError(f"truncated: {len(data)} bytes cannot hold the magic and an MD5 digest")
    body = data[len(MAGIC) : -DIGEST_SIZE]
    if hashlib.md5(body, usedforsecurity=False).digest() != data[-DIGEST_SIZE:]:
        raise CorruptAggregateError("MD5 digest does not match the protobuf body")
    message = AggregatedRecord()
    try:
        message.ParseFromString(body)
    except DecodeError as error:
        raise CorruptAggregateError(f"protobuf does not parse: {error}") from None
    if not message.IsInitialized():  # parsing does not check proto2 required fields
        raise CorruptAggregateError(
            f"protobuf lacks required fields: {', '.join(message.FindInitializationErrors())}"
        )
    if not message.records:
        raise CorruptAggregateError("aggregate holds no user records")
    return [record.data for record in message.records]
