"""Decoding subscription payloads: real samples, moto's variant, and every kind of bad input."""

from __future__ import annotations

import base64
import gzip
import json
import zlib
from pathlib import Path

import pytest

from logpipes.subscription_filter.payload import (
    InvalidPayloadError,
    LogEvent,
    decode_subscription_event,
    encode_subscription_event,
)
from tests.subscription_filter.payloads import (
    CANONICAL_SAMPLES,
    awslogs_event,
    load_sample,
    wrap_subscription_record,
)

CANONICAL_EVENTS: list[LogEvent] = [
    ("eventId1", 1440442987000, "[ERROR] First test message"),
    ("eventId2", 1440442987001, "[ERROR] Second test message"),
]


@pytest.mark.parametrize("sample", CANONICAL_SAMPLES)
def test_canonical_samples_decode(shared_data: Path, sample: str) -> None:
    batch = decode_subscription_event(load_sample(shared_data, sample))
    assert batch is not None
    assert (batch.log_group, batch.log_stream) == ("testLogGroup", "testLogStream")
    assert batch.events == CANONICAL_EVENTS


def test_payloads_captured_from_aws_through_kinesis(shared_data: Path) -> None:
    """Two real subscription payloads (AWS account 231436140809) with 56-digit ids and Lambda log lines."""
    sample = load_sample(shared_data, "powertools-lambda-python/kinesisStreamCloudWatchLogsEvent.json")
    batches = [
        decode_subscription_event(wrap_subscription_record(base64.b64decode(record["kinesis"]["data"])))
        for record in sample["Records"]
    ]
    assert all(batch is not None for batch in batches)
    first = batches[0]
    assert first is not None
    assert first.log_group == "/aws/lambda/pt-1488-DummyLogDataFunction-gnWXPvL6jJyG"
    assert [event_id for event_id, _, _ in first.events] == [
        "37199717562907174288355125807040114704837640994633613312",
        "37199717563107880995141901415313936169291476248187437057",
        "37199717563107880995141901415313936169291476248187437058",
    ]
    assert first.events[1][2] == "END RequestId: 06e46194-f277-454e-88d3-1dd7e3860eaa\n"


def test_control_message_is_ignored(shared_data: Path) -> None:
    """The first record of the SAM Firehose sample is CloudWatch Logs' health check."""
    sample = load_sample(
        shared_data, "aws-sam-cli_generated_sample_events/kinesis_KinesisFirehoseCloudwatchLogsProcessor.json"
    )
    records = [wrap_subscription_record(base64.b64decode(r["data"])) for r in sample["records"]]
    assert decode_subscription_event(records[0]) is None
    data_batches = [decode_subscription_event(record) for record in records[1:]]
    assert [len(batch.events) for batch in data_batches if batch] == [3, 3, 3]


def test_moto_numeric_ids_become_strings() -> None:
    """moto puts the event id as a JSON number; AWS sends a string of digits."""
    event = awslogs_event(
        {
            "messageType": "DATA_MESSAGE",
            "owner": "123456789012",
            "logGroup": "/app",
            "logStream": "s",
            "subscriptionFilters": ["f"],
            "logEvents": [{"id": 0, "timestamp": 1, "message": "m"}],
        }
    )
    batch = decode_subscription_event(event)
    assert batch is not None and batch.events == [("0", 1, "m")]


def _document(**changes: object) -> dict[str, object]:
    document: dict[str, object] = {
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": "/app",
        "logStream": "s",
        "subscriptionFilters": ["f"],
        "logEvents": [{"id": "1", "timestamp": 1, "message": "m"}],
    }
    document.update(changes)
    return document


def _raw(data: str) -> dict[str, object]:
    return {"awslogs": {"data": data}}


GZIPPED_TEXT = base64.b64encode(gzip.compress(b"this is not json")).decode()
BAD_EVENTS = {
    "no awslogs key": {"Records": []},
    "awslogs not an object": {"awslogs": "x"},
    "data not a string": _raw(42),  # type: ignore[arg-type]
    "not base64": _raw("this is *not* base64!"),
    "base64 of plain text": _raw(base64.b64encode(b"plain text, not gzip").decode()),
    "truncated gzip": _raw(base64.b64encode(gzip.compress(json.dumps(_document()).encode())[:-12]).decode()),
    "gzip of non-JSON": _raw(GZIPPED_TEXT),
    "gzip of non-UTF-8": _raw(base64.b64encode(gzip.compress(b"\xff\xfe\xfa")).decode()),
    "JSON array": awslogs_event([]),  # type: ignore[arg-type]
    "unknown messageType": awslogs_event(_document(messageType="DATA")),
    "no logGroup": awslogs_event(_document(logGroup=None)),
    "logEvents not a list": awslogs_event(_document(logEvents={"id": "1"})),
    "event without id": awslogs_event(_document(logEvents=[{"timestamp": 1, "message": "m"}])),
    "event with empty id": awslogs_event(_document(logEvents=[{"id": "", "timestamp": 1, "message": "m"}])),
    "string timestamp": awslogs_event(_document(logEvents=[{"id": "1", "timestamp": "1", "message": "m"}])),
    "message not a string": awslogs_event(_document(logEvents=[{"id": "1", "timestamp": 1, "message": 5}])),
}


@pytest.mark.parametrize("event", BAD_EVENTS.values(), ids=BAD_EVENTS.keys())
def test_bad_payloads_raise_a_clear_error(event: dict[str, object]) -> None:
    with pytest.raises(InvalidPayloadError) as raised:
        decode_subscription_event(event)
    assert str(raised.value)


def test_zlib_raw_deflate_without_header_is_rejected() -> None:
    raw_deflate = zlib.compressobj(wbits=-15)
    data = raw_deflate.compress(json.dumps(_document()).encode()) + raw_deflate.flush()
    with pytest.raises(InvalidPayloadError, match="not gzip"):
        decode_subscription_event(_raw(base64.b64encode(data).decode()))


def test_encoded_deliveries_decode_to_their_events() -> None:
    events = [("1", 1_711_897_199_999, "first"), ("2", 1_711_897_200_000, '日本語, "quoted"\n')]
    event = encode_subscription_event("/app", "web-1", events)
    assert gzip.decompress(base64.b64decode(event["awslogs"]["data"]))[:1] == b"{"
    batch = decode_subscription_event(event)
    assert batch is not None and batch.events == events


# Issue 11: the one decoder (logpipes.common.cloudwatch_logs) behind this function -------------


def test_zlib_is_not_what_cloudwatch_logs_sends(shared_data: Path) -> None:
    """Powertools' sample is zlib (78 DA): CloudWatch Logs sends gzip, and both functions now read
    exactly that (the Firehose transform always rejected it)."""
    event = load_sample(shared_data, "powertools-lambda-python/cloudWatchLogEventWithPolicyLevel.json")
    with pytest.raises(InvalidPayloadError, match="not gzip"):
        decode_subscription_event(event)


def test_a_payload_split_across_gzip_members_is_read_whole() -> None:
    document = json.dumps(
        _document(logEvents=[{"id": str(i), "timestamp": i, "message": "m"} for i in range(9)])
    )
    data = gzip.compress(document[:80].encode()) + gzip.compress(document[80:].encode())
    batch = decode_subscription_event(_raw(base64.b64encode(data).decode()))
    assert batch is not None and batch.ids == [str(i) for i in range(9)]


def test_a_second_member_is_never_ignored() -> None:
    one, two = (gzip.compress(json.dumps(_document(logStream=name)).encode()) for name in ("a", "b"))
    with pytest.raises(InvalidPayloadError, match="not JSON"):
        decode_subscription_event(_raw(base64.b64encode(one + two).decode()))


@pytest.mark.parametrize("trailer", [b"garbage", b"\x00\x00\x00\x00", b"\x1f\x8b"])
def test_trailing_data_after_the_gzip_stream_is_rejected(trailer: bytes) -> None:
    data = gzip.compress(json.dumps(_document()).encode()) + trailer
    with pytest.raises(InvalidPayloadError, match="not gzip"):
        decode_subscription_event(_raw(base64.b64encode(data).decode()))


def test_unpadded_base64_is_rejected() -> None:
    data = base64.b64encode(gzip.compress(json.dumps(_document()).encode())).decode()
    assert data.endswith("=")
    with pytest.raises(InvalidPayloadError, match="not base64"):
        decode_subscription_event(_raw(data.rstrip("=")))


def test_a_gzip_bomb_is_an_invalid_payload() -> None:
    from logpipes.common.cloudwatch_logs import MAX_LEGITIMATE_INFLATED_BYTES
    from tests.firehose_transform.helpers import gzip_bomb

    bomb = gzip_bomb(MAX_LEGITIMATE_INFLATED_BYTES + 1, b'{"messageType":"DATA_MESSAGE","logEvents":[]}')
    with pytest.raises(InvalidPayloadError, match="more than"):
        decode_subscription_event(_raw(base64.b64encode(bomb).decode()))


@pytest.mark.slow
def test_peak_memory_of_a_gzip_bomb_is_bounded(tmp_path: Path) -> None:
    """Before the fix, 100 KB of awslogs.data inflating to 100 MB peaked at over 200 MB."""
    from tests.firehose_transform.helpers import peak_memory_mb

    setup = """
        import base64
        from devtools.lambda_runtime import FakeLambdaContext
        from logpipes.subscription_filter import handler
        from logpipes.subscription_filter.payload import InvalidPayloadError
        from tests.firehose_transform.helpers import gzip_bomb
        prefix = b'{"messageType":"DATA_MESSAGE","logGroup":"/g","logStream":"s",'
        prefix += b'"logEvents":[{"id":"1","timestamp":1,"message":"'
        data = base64.b64encode(gzip_bomb(100 * 1024 * 1024, prefix, b"a")).decode()
        event = {"awslogs": {"data": data}}
    """
    run = """
        try:
            handler(event, FakeLambdaContext())
            raise SystemExit("the bomb was archived")
        except InvalidPayloadError:
            pass
    """
    assert peak_memory_mb(setup, run, env={"ARCHIVE_ROOT": str(tmp_path)}) < 40
