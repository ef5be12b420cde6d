"""Hostile input: arbitrary bytes as KPL aggregates and as Kinesis record data. The decoder raises
only CorruptAggregateError; the handler turns every record into data or a dead letter of its own,
never fails a batch for it, and never drops a record."""

from __future__ import annotations

import gzip
import hashlib
import json
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from logpipes.kinesis_kpl.aggregation import MAGIC, CorruptAggregateError, user_records
from logpipes.kinesis_kpl.app import process_event
from logpipes.kinesis_kpl.sink import MemorySink

from .faults import SETTINGS
from .kinesis_events import aggregate, json_lines, kinesis_event

REAL = aggregate([b"GET /a HTTP/1.0", b"", b"\xff\xfe not utf-8", b'{"time": 1e400}'] * 3)[0]


def with_digest(body: bytes) -> bytes:
    """MAGIC + body + its MD5: what the protobuf parser gets to see."""
    return MAGIC + body + hashlib.md5(body).digest()


def mutated(data: bytes, flips: list[tuple[int, int]]) -> bytes:
    """A real aggregate's protobuf with bytes replaced, its digest made to match again."""
    body = bytearray(data[len(MAGIC) : -16])
    for position, value in flips:
        body[position % len(body)] = value
    return with_digest(bytes(body))


hostile_aggregates = (
    st.binary(max_size=2000)
    | st.binary(max_size=2000).map(lambda b: MAGIC + b)
    | st.binary(max_size=2000).map(with_digest)
    | st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=8).map(
        lambda flips: mutated(REAL, flips)
    )
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_aggregates)
@example(with_digest(b"\x1a\x00"))  # a user record without its required fields
@example(with_digest(b"\x0b" * 200))  # unterminated groups
@example(with_digest(b"\x1a\xff\xff\xff\xff\x0f"))  # a length past the end
def test_any_bytes_are_user_records_or_a_corrupt_aggregate(data: bytes) -> None:
    try:
        records = user_records(data)
    except CorruptAggregateError as error:
        assert str(error)  # says why
        return
    assert records and all(isinstance(r, bytes) for r in records)


def _expected_lines(data: bytes) -> int | None:
    """User records a record's data holds; None when it is a corrupt aggregate (a dead letter)."""
    if not data.startswith(MAGIC):
        return 1
    try:
        return len(user_records(data))
    except CorruptAggregateError:
        return None


record_data = st.one_of(
    st.binary(max_size=500),
    st.text(max_size=200).map(str.encode),
    hostile_aggregates,
    st.just(REAL),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(record_data, min_size=1, max_size=12),
    st.lists(st.integers(0, 11), max_size=3),
    st.sampled_from(["not base64!", "ünïcode", "QUJ", "====", "QUJD\n"]),
)
def test_any_record_data_is_written_or_dead_lettered_alone(
    blobs: list[bytes], not_base64: list[int], bad_field: str
) -> None:
    event = kinesis_event(blobs)
    records: list[dict[str, Any]] = event["Records"]
    invalid = {i for i in not_base64 if i < len(records)}
    for i in invalid:
        records[i]["kinesis"]["data"] = bad_field
    sink = MemorySink()

    response, summary = process_event(event, SETTINGS, sink)

    assert response == {"batchItemFailures": []}
    lines = [
        doc for key, obj in sink.objects.items() if key.startswith("logs/") for doc in json_lines(obj.body)
    ]
    letters = [key for key in sink.objects if key.startswith("dead-letter/")]
    expected = {i: _expected_lines(blob) for i, blob in enumerate(blobs) if i not in invalid}
    per_record = {
        i: sum(d["kinesis_sequence_number"] == records[i]["kinesis"]["sequenceNumber"] for d in lines)
        for i in range(len(records))
    }
    for i, count in expected.items():
        assert per_record[i] == (count or 0), i  # every user record of it, none of a dead letter
    assert len(letters) == len(invalid) + sum(count is None for count in expected.values())
    assert summary.invalid_records == len(invalid)
    for i in invalid:
        assert per_record[i] == 0
    assert all(json.dumps(d) for d in lines)


def test_unicode_line_separators_stay_inside_their_line() -> None:
    """Found by the property above: U+0085 (and U+2028, U+2029) went out raw, and a reader that
    splits on Unicode line boundaries read one record as two broken ones."""
    text = "a\u0085b\u2028c\u2029d"
    sink = MemorySink()
    process_event(kinesis_event([text.encode(), b"next"]), SETTINGS, sink)
    (obj,) = sink.objects.values()
    body = gzip.decompress(obj.body)
    assert body.isascii() and len(body.decode().splitlines()) == 2
    assert [doc["message"] for doc in json_lines(obj.body)] == [text, "next"]
