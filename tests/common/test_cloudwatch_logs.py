"""The one decoder of CloudWatch Logs subscription data: real formats, hostile input, properties.

Whatever the input, the decoder returns a whole payload or raises InvalidSubscriptionData: never
another exception, never part of a payload.
"""

from __future__ import annotations

import base64
import gzip
import json
import zlib
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from logpipes.common.cloudwatch_logs import (
    MAX_LEGITIMATE_INFLATED_BYTES,
    InvalidSubscriptionData,
    SubscriptionDataTooLarge,
    decode,
    decode_base64,
    inflate,
    inflated_limit,
)

LIMIT = MAX_LEGITIMATE_INFLATED_BYTES

messages = st.text(st.characters(codec="utf-8"), max_size=200)  # any Unicode scalar, controls too
events = st.lists(
    st.fixed_dictionaries(
        {
            "id": st.from_regex(r"\A[0-9]{56}\Z"),
            "timestamp": st.integers(0, 2**41),
            "message": messages,
        }
    ),
    max_size=30,
)
documents = st.builds(
    lambda log_group, log_stream, log_events, control: {
        "messageType": "CONTROL_MESSAGE" if control else "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": log_group,
        "logStream": log_stream,
        "subscriptionFilters": ["f"],
        "logEvents": log_events,
    },
    st.text(min_size=1, max_size=40),
    st.text(max_size=40),
    events,
    st.booleans(),
)


def _members(data: bytes, cuts: list[int], level: int) -> bytes:
    """data gzipped as consecutive members, cut at the given offsets."""
    points = sorted({min(cut, len(data)) for cut in cuts})
    pieces = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    return b"".join(gzip.compress(piece, compresslevel=level) for piece in pieces)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(documents, st.lists(st.integers(0, 5000), max_size=3), st.integers(0, 9), st.booleans())
def test_every_payload_round_trips_whatever_its_members(
    document: dict[str, Any], cuts: list[int], level: int, ascii_only: bool
) -> None:
    encoded = json.dumps(document, ensure_ascii=ascii_only).encode()
    data = base64.b64encode(_members(encoded, cuts, level)).decode()
    assert decode(decode_base64(data), LIMIT) == document


@settings(max_examples=300)
@given(st.binary(max_size=400))
@example(b"\x1f\x8b")
@example(gzip.compress(b"{}"))
@example(gzip.compress(b'{"messageType": "DATA_MESSAGE", "logEvents": {}}'))
@example(zlib.compress(b'{"messageType": "CONTROL_MESSAGE"}'))
def test_arbitrary_bytes_decode_or_raise_the_documented_error(data: bytes) -> None:
    try:
        document = decode(data, LIMIT)
    except InvalidSubscriptionData:
        return
    assert document["messageType"] in {"DATA_MESSAGE", "CONTROL_MESSAGE"}


@settings(max_examples=300)
@given(st.text(max_size=200))
@example("YWJj")
@example("YWJjZA")  # unpadded
@example("YW Jj")
@example("YWJj\n")
def test_arbitrary_text_is_strict_base64_or_the_documented_error(text: str) -> None:
    try:
        decoded = decode_base64(text)
    except InvalidSubscriptionData:
        return
    assert base64.b64encode(decoded).decode() == text  # only canonical, padded base64 gets through


@settings(max_examples=150)
@given(documents, st.data())
def test_a_damaged_payload_fails_whole(document: dict[str, Any], data: st.DataObject) -> None:
    """Cut anywhere, extended by anything, or with one byte changed: the payload as it was, or the
    documented error; never a part of it, never another document."""
    compressed = gzip.compress(json.dumps(document).encode())
    damage = data.draw(st.sampled_from(["truncate", "append", "flip"]))
    at = -1
    if damage == "truncate":
        damaged = compressed[: data.draw(st.integers(0, len(compressed) - 1))]
    elif damage == "append":
        damaged = compressed + data.draw(st.binary(min_size=1, max_size=30))
    else:
        at = data.draw(st.integers(0, len(compressed) - 1))
        damaged = (
            compressed[:at] + bytes([compressed[at] ^ data.draw(st.integers(1, 255))]) + compressed[at + 1 :]
        )
    try:
        decoded = decode(damaged, LIMIT)
    except InvalidSubscriptionData:
        return
    # Only a flip no check covers leaves it readable, and then unchanged: the header's MTIME, XFL or
    # OS bytes (4-9), or padding bits after the last deflate block's end code (found by hypothesis:
    # a flip in the last deflate byte, still inflating to the same bytes, so the CRC matches).
    assert damage == "flip" and decoded == document
    assert 4 <= at <= 9 or at == len(compressed) - 9


@settings(max_examples=100)
@given(st.binary(max_size=3000), st.integers(0, 4000), st.lists(st.integers(0, 3000), max_size=3))
def test_inflation_never_exceeds_the_limit(payload: bytes, limit: int, cuts: list[int]) -> None:
    compressed = _members(payload, cuts, 6)
    try:
        inflated = inflate(compressed, limit)
    except SubscriptionDataTooLarge:
        assert len(payload) > limit
        return
    assert inflated == payload and len(inflated) <= limit


def test_a_gzip_bomb_stops_at_the_limit() -> None:
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)  # 64 MiB in 64 KB
    with pytest.raises(SubscriptionDataTooLarge, match=f"more than {LIMIT} bytes"):
        inflate(bomb, LIMIT)
    many_members = gzip.compress(b"\0" * (LIMIT // 2 + 1)) * 2  # over the limit only together
    with pytest.raises(SubscriptionDataTooLarge):
        inflate(many_members, LIMIT)


@pytest.mark.parametrize(
    ("memory_mb", "limit"),
    [
        (None, MAX_LEGITIMATE_INFLATED_BYTES),  # not in Lambda
        ("10240", MAX_LEGITIMATE_INFLATED_BYTES),
        ("1024", MAX_LEGITIMATE_INFLATED_BYTES),
        ("512", MAX_LEGITIMATE_INFLATED_BYTES),
        ("256", 5 * 1024 * 1024),
        ("128", 1024 * 1024),
        ("96", 64 * 1024),  # never below a floor
        ("lots", MAX_LEGITIMATE_INFLATED_BYTES),
    ],
)
def test_inflated_limit_from_the_function_memory(memory_mb: str | None, limit: int) -> None:
    environ = {} if memory_mb is None else {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": memory_mb}
    assert inflated_limit(environ) == limit


def test_the_limit_holds_the_largest_legitimate_payload() -> None:
    """A full PutLogEvents batch (10,000 events, 1,048,576 bytes with their 26-byte overheads), every
    message byte a control character: the worst JSON escaping there is."""
    size = (1_048_576 - 26 * 10_000) // 10_000
    document = {
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": "/" + "g" * 511,
        "logStream": "s" * 512,
        "subscriptionFilters": ["f"],
        "logEvents": [
            {"id": f"{10**55 + i:056d}", "timestamp": 1_700_000_000_000 + i, "message": "\x01" * size}
            for i in range(10_000)
        ],
    }
    encoded = json.dumps(document, separators=(",", ":")).encode()
    assert len(encoded) <= MAX_LEGITIMATE_INFLATED_BYTES
    assert decode(gzip.compress(encoded), LIMIT) == document
