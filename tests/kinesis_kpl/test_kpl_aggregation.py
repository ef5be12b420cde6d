"""De-aggregation of KPL records: real aggregates, aws-kinesis-agg's aggregator, corrupt aggregates."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from aws_kinesis_agg.deaggregator import deaggregate_records
from hypothesis import given
from hypothesis import strategies as st

from logpipes.kinesis_kpl.aggregation import (
    MAGIC,
    AggregatedRecord,
    CorruptAggregateError,
    is_aggregated,
    user_records,
)

from .kinesis_events import aggregate, kinesis_event

# (file in kpl_aggregated/, user records it holds, first user record): SOURCES.md §4.
REAL_AGGREGATES = [
    ("kinesis-aggregation_java_SampleLambdaEvent_record0", 100, b"abcdefghijklmnopqrstuvwxyz"),
    (
        "kinesis-aggregation_python_test_agg_expected_agg_record_with_ehks",
        4,
        b"RECORD 22 peeobhczbzdmskboupgyq\n",
    ),
    (
        "kinesis-aggregation_python_test_agg_expected_agg_record_no_ehks",
        8,
        b"RECORD 18 iklrpsvyhxnerodfeheru\n",
    ),
    ("kinesis-aggregation_python_test_deagg_line95", 4, b"RECORD 2005 pjqrcfbxafzdndzmbgane"),
    ("aws-lambda-console-template_kinesis-analytics-kpl_record0", 2, b"40," + b"a" * 57),
]


def _with_digest(body: bytes) -> bytes:
    return MAGIC + body + hashlib.md5(body).digest()


@pytest.mark.parametrize(("name", "count", "first"), REAL_AGGREGATES, ids=[r[0] for r in REAL_AGGREGATES])
def test_real_aggregates_give_the_same_user_records_as_aws_kinesis_agg(
    shared_data: Path, name: str, count: int, first: bytes
) -> None:
    folder = shared_data / "kpl_aggregated"
    data = (folder / f"{name}.bin").read_bytes()
    assert base64.b64decode((folder / f"{name}.b64").read_text()) == data
    records = user_records(data)
    assert len(records) == count
    assert records[0].startswith(first)
    expected = [
        base64.b64decode(r["kinesis"]["data"]) for r in deaggregate_records(kinesis_event([data])["Records"])
    ]
    assert records == expected


def test_sample_lambda_event_alternates_the_alphabet(shared_data: Path) -> None:
    event = json.loads(
        (
            shared_data / "kpl_aggregated/kinesis-aggregation_java_KinesisDeaggregator_SampleLambdaEvent.json"
        ).read_text()
    )
    records = user_records(base64.b64decode(event["Records"][0]["kinesis"]["data"]))
    assert records == [b"abcdefghijklmnopqrstuvwxyz", b"zyxwvutsrqponmlkjihgfedcba"] * 50


def test_python_aggregator_round_trip_of_apache_lines(shared_data: Path) -> None:
    lines = (
        (shared_data / "nasa_http/NASA_access_log_Jul95.first2000.log").read_bytes().splitlines(keepends=True)
    )
    blobs = aggregate(lines, max_size=25_000)
    assert len(blobs) > 5 and all(is_aggregated(blob) for blob in blobs)
    assert [record for blob in blobs for record in user_records(blob)] == lines


@given(st.lists(st.binary(max_size=300), min_size=1, max_size=40))
def test_any_user_records_survive_aggregation(payloads: list[bytes]) -> None:
    (blob,) = aggregate(payloads, max_size=1024 * 1024)
    assert user_records(blob) == payloads


def test_plain_records_are_not_aggregated() -> None:
    assert not is_aggregated(b'{"host":"1.2.3.4"}')
    assert not is_aggregated(b"")
    assert not is_aggregated(MAGIC[:3])
    assert is_aggregated(MAGIC)


def test_md5_mismatch_is_corrupt(shared_data: Path) -> None:
    data = bytearray(
        (shared_data / "kpl_aggregated/kinesis-aggregation_python_test_deagg_line95.bin").read_bytes()
    )
    data[30] ^= 0x01  # one bit of a user record
    with pytest.raises(CorruptAggregateError, match="MD5"):
        user_records(bytes(data))
    # Why the library is not used to de-aggregate: it passes the corrupt aggregate on as data.
    (passed_through,) = deaggregate_records(kinesis_event([bytes(data)])["Records"])
    assert base64.b64decode(passed_through["kinesis"]["data"]) == bytes(data)


def test_digest_of_a_truncated_aggregate_is_corrupt(shared_data: Path) -> None:
    data = (shared_data / "kpl_aggregated/kinesis-aggregation_python_test_deagg_line95.bin").read_bytes()
    with pytest.raises(CorruptAggregateError, match="MD5"):
        user_records(data[:100] + data[-16:])


def test_truncated_protobuf_with_a_matching_digest_is_corrupt(shared_data: Path) -> None:
    data = (shared_data / "kpl_aggregated/kinesis-aggregation_python_test_deagg_line95.bin").read_bytes()
    body = data[len(MAGIC) : -16]
    with pytest.raises(CorruptAggregateError, match="protobuf does not parse"):
        user_records(_with_digest(body[:-7]))


def test_protobuf_missing_required_fields_is_corrupt() -> None:
    body = bytes([0x1A, 0x02, 0x10, 0x00])  # records[0] with only explicit_hash_key_index
    with pytest.raises(
        CorruptAggregateError, match=r"lacks required fields: records\[0\]\.partition_key_index, rec"
    ):
        user_records(_with_digest(body))


def test_empty_aggregate_is_corrupt() -> None:
    with pytest.raises(CorruptAggregateError, match="no user records"):
        user_records(_with_digest(b""))
    message = AggregatedRecord()
    message.partition_key_table.append("pk")
    with pytest.raises(CorruptAggregateError, match="no user records"):
        user_records(_with_digest(message.SerializeToString()))


def test_too_short_to_hold_a_digest_is_corrupt() -> None:
    with pytest.raises(CorruptAggregateError, match="truncated"):
        user_records(MAGIC + b"\x00" * 15)
