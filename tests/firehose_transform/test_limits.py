"""Hostile and oversized records: each one ends alone, as ProcessingFailed, in bounded memory.

Issue 11, defects 3 (an event too big for any response looped forever), 4 (unbounded inflation)
and 5 (a second gzip member was ignored, and trailing garbage accepted).
"""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import pytest

from logpipes.common.cloudwatch_logs import MAX_LEGITIMATE_INFLATED_BYTES
from logpipes.firehose_transform import app, handler
from tests.firehose_transform.helpers import (
    cwl_payload,
    decoded,
    encode,
    firehose_event,
    gzip_bomb,
    peak_memory_mb,
)

GOOD = encode(cwl_payload(["good line"]))


class RecordingClient:
    """A Firehose client that accepts every record, and keeps them."""

    def __init__(self) -> None:
        self.records: list[bytes] = []

    def put_record_batch(self, DeliveryStreamName: str, Records: list[dict[str, bytes]]) -> dict[str, Any]:
        self.records += [record["Data"] for record in Records]
        return {"FailedPutCount": 0, "RequestResponses": [{"RecordId": "r"} for _ in Records]}


@pytest.fixture
def stream(monkeypatch: pytest.MonkeyPatch) -> RecordingClient:
    client = RecordingClient()
    monkeypatch.setattr(app, "_client", lambda service, region: client)
    return client


def _results(response: dict[str, Any]) -> list[str]:
    return [record["result"] for record in response["records"]]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# Defect 3 ---------------------------------------------------------------------------------------


def test_a_single_event_bigger_than_any_response_fails_instead_of_looping(
    stream: RecordingClient, lambda_context
) -> None:
    giant = "x" * (7 * 1024 * 1024)  # 7 MiB: renders to more than the 6 MiB response holds
    response = handler(
        firehose_event([GOOD, encode(cwl_payload(["before", giant, "after"])), GOOD]), lambda_context
    )
    assert _results(response) == ["Ok", "ProcessingFailed", "Ok"]
    assert stream.records == []  # nothing re-ingested: nothing comes back to loop


def test_control_characters_that_escaping_inflates_past_the_response_fail(
    stream: RecordingClient, lambda_context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUTPUT_FORMAT", "json")
    controls = "\x01" * (1024 * 1024)  # 1 MiB of text, 6 MiB once JSON-escaped as \u0001
    response = handler(firehose_event([encode(cwl_payload([controls])), GOOD]), lambda_context)
    assert _results(response) == ["ProcessingFailed", "Ok"]
    assert stream.records == []


def test_an_event_that_fits_an_empty_response_is_split_out_and_then_delivered(
    stream: RecordingClient, lambda_context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bound is the response, not the split piece: a 600 KB event (CloudWatch Logs now allows
    events of up to 1 MB) goes back alone, and is Ok when it comes back."""
    monkeypatch.setenv("RESPONSE_LIMIT_BYTES", str(1024 * 1024))
    big = "y" * 600_000
    response = handler(firehose_event([encode(cwl_payload(["a" * 400_000, big, "b"]))]), lambda_context)
    assert _results(response) == ["Dropped"]
    pieces = [json.loads(gzip.decompress(data)) for data in stream.records]
    assert [[e["message"] for e in p["logEvents"]] for p in pieces] == [["a" * 400_000], [big], ["b"]]
    back = handler(firehose_event([_b64(data) for data in stream.records]), lambda_context)
    assert _results(back)[0] == "Ok" and decoded(back["records"][0]) == b"a" * 400_000 + b"\n"


# Defect 4 ---------------------------------------------------------------------------------------


def test_a_gzip_bomb_fails_alone(stream: RecordingClient, lambda_context) -> None:
    bomb = gzip_bomb(MAX_LEGITIMATE_INFLATED_BYTES + 1, prefix=b'{"messageType":"DATA_MESSAGE","logEvents":[')
    response = handler(firehose_event([GOOD, _b64(bomb), GOOD]), lambda_context)
    assert _results(response) == ["Ok", "ProcessingFailed", "Ok"]


def test_a_payload_of_the_largest_legitimate_size_is_delivered(
    stream: RecordingClient, lambda_context
) -> None:
    events = ["z" * 100_000] * 10  # 1 MB of messages: a full PutLogEvents batch
    response = handler(firehose_event([encode(cwl_payload(events))]), lambda_context)
    assert _results(response) == ["Ok"]


@pytest.mark.slow
def test_peak_memory_of_a_gzip_bomb_is_bounded() -> None:
    """Before the fix a 100 KB record inflating to 100 MB peaked at over 200 MB: now the decoder
    stops at the limit (about 8 MB)."""
    setup = """
        import base64
        from devtools.lambda_runtime import FakeLambdaContext
        from logpipes.firehose_transform import handler
        from tests.firehose_transform.helpers import firehose_event, gzip_bomb
        prefix = b'{"messageType":"DATA_MESSAGE","logEvents":[{"id":"1","timestamp":1,"message":"'
        event = firehose_event([base64.b64encode(gzip_bomb(100 * 1024 * 1024, prefix, b"a")).decode()])
    """
    run = """
        result = handler(event, FakeLambdaContext())
        assert [r["result"] for r in result["records"]] == ["ProcessingFailed"], result
    """
    assert peak_memory_mb(setup, run) < 40


def test_the_inflation_limit_follows_the_function_memory(
    stream: RecordingClient, lambda_context, monkeypatch
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")  # (128 - 96) MiB / 32: 1 MiB
    fits = encode(cwl_payload(["m" * 900_000]))
    too_big = encode(cwl_payload(["m" * 1_100_000]))
    assert _results(handler(firehose_event([fits, too_big]), lambda_context)) == ["Ok", "ProcessingFailed"]


# Defect 5 ---------------------------------------------------------------------------------------


def test_a_payload_split_across_gzip_members_is_read_whole(lambda_context) -> None:
    document = json.dumps(cwl_payload(["first", "second", "third"])).encode()
    members = gzip.compress(document[:100]) + gzip.compress(document[100:])
    response = handler(firehose_event([_b64(members)]), lambda_context)
    assert _results(response) == ["Ok"]
    assert decoded(response["records"][0]) == b"first\nsecond\nthird\n"


def test_a_second_member_is_never_ignored(lambda_context) -> None:
    """Two whole documents in two members are not one payload: the record fails, not half of it Ok."""
    first, second = (json.dumps(cwl_payload([m])).encode() for m in ("half", "other half"))
    response = handler(firehose_event([_b64(gzip.compress(first) + gzip.compress(second))]), lambda_context)
    assert _results(response) == ["ProcessingFailed"]


@pytest.mark.parametrize("trailer", [b"garbage", b"\x00" * 8, b"\x1f", b"\x1f\x8b"])
def test_trailing_data_after_the_gzip_stream_fails_the_record(trailer: bytes, lambda_context) -> None:
    data = gzip.compress(json.dumps(cwl_payload(["x"])).encode()) + trailer
    response = handler(firehose_event([GOOD, _b64(data)]), lambda_context)
    assert _results(response) == ["Ok", "ProcessingFailed"]


# Base64 and UTF-8 rules -------------------------------------------------------------------------


def test_unpadded_base64_is_rejected(lambda_context) -> None:
    unpadded = GOOD.rstrip("=")
    assert unpadded != GOOD
    response = handler(firehose_event([unpadded, GOOD]), lambda_context)
    assert _results(response) == ["ProcessingFailed", "Ok"]


@pytest.mark.parametrize(
    "bad", [b"\xff\xfe", b"\xed\xa0\x80", b"\\ud800"], ids=["bytes", "surrogate", "escape"]
)
def test_invalid_utf8_fails_its_record_alone(bad: bytes, lambda_context) -> None:
    document = json.dumps(cwl_payload(["MARK"])).encode().replace(b"MARK", b"ok " + bad)
    response = handler(firehose_event([GOOD, _b64(gzip.compress(document)), GOOD]), lambda_context)
    assert _results(response) == ["Ok", "ProcessingFailed", "Ok"]
