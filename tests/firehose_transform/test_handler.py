"""The transform handler on real CloudWatch Logs payloads and on every kind of bad record."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from logpipes.common.settings import ConfigurationError
from logpipes.firehose_transform import handler
from tests.firehose_transform.helpers import cwl_payload, decoded, encode, firehose_event

SAM_EVENT = (
    "lambda_events/aws-sam-cli_generated_sample_events/kinesis_KinesisFirehoseCloudwatchLogsProcessor.json"
)


def _results(response: dict) -> list[str]:
    return [record["result"] for record in response["records"]]


def test_sam_cloudwatch_logs_processor_event(shared_data: Path, lambda_context) -> None:
    event = json.loads((shared_data / SAM_EVENT).read_text())
    response = handler(event, lambda_context)

    assert [r["recordId"] for r in response["records"]] == [r["recordId"] for r in event["records"]]
    assert _results(response) == ["Dropped", "Ok", "Ok", "Ok"]  # the first record is a CONTROL_MESSAGE
    for source, result in zip(event["records"][1:], response["records"][1:], strict=True):
        payload = json.loads(gzip.decompress(base64.b64decode(source["data"])))
        expected = "".join(e["message"] + "\n" for e in payload["logEvents"]).encode()
        assert decoded(result) == expected


def test_powertools_cloudwatch_logs_payload_in_a_firehose_record(shared_data: Path, lambda_context) -> None:
    awslogs = json.loads(
        (shared_data / "lambda_events/powertools-lambda-python/cloudWatchLogEvent.json").read_text()
    )
    response = handler(firehose_event([awslogs["awslogs"]["data"]]), lambda_context)
    payload = json.loads(gzip.decompress(base64.b64decode(awslogs["awslogs"]["data"])))
    assert _results(response) == ["Ok"]
    assert decoded(response["records"][0]).decode().splitlines() == [
        e["message"] for e in payload["logEvents"]
    ]


def test_zlib_payload_is_not_gzip(shared_data: Path, lambda_context) -> None:
    # This sample's awslogs.data is zlib (78 DA), not the gzip CloudWatch Logs sends.
    awslogs = json.loads(
        (
            shared_data / "lambda_events/powertools-lambda-python/cloudWatchLogEventWithPolicyLevel.json"
        ).read_text()
    )
    response = handler(firehose_event([awslogs["awslogs"]["data"]]), lambda_context)
    assert _results(response) == ["ProcessingFailed"]


def test_json_output_format(monkeypatch: pytest.MonkeyPatch, lambda_context) -> None:
    monkeypatch.setenv("OUTPUT_FORMAT", "json")
    payload = cwl_payload(
        ['127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326', "second"]
    )
    response = handler(firehose_event([encode(payload)]), lambda_context)
    lines = [json.loads(line) for line in decoded(response["records"][0]).decode().splitlines()]
    assert lines == [
        {
            "owner": "123456789012",
            "logGroup": "/logpipes/app/access",
            "logStream": "i-0123456789abcdef0",
            "id": payload["logEvents"][0]["id"],
            "timestamp": "2023-11-14T22:13:20.000Z",
            "message": '127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326',
        },
        {
            "owner": "123456789012",
            "logGroup": "/logpipes/app/access",
            "logStream": "i-0123456789abcdef0",
            "id": payload["logEvents"][1]["id"],
            "timestamp": "2023-11-14T22:13:20.001Z",
            "message": "second",
        },
    ]


@pytest.mark.parametrize(
    "bad_event",
    [{"id": "1", "timestamp": "yesterday", "message": "m"}, {"id": "1", "message": "m"}, {"timestamp": 1}],
)
def test_json_output_format_fails_a_malformed_event_alone(
    bad_event: dict[str, Any], monkeypatch: pytest.MonkeyPatch, lambda_context
) -> None:
    monkeypatch.setenv("OUTPUT_FORMAT", "json")
    bad = encode({**cwl_payload(["x"]), "logEvents": [bad_event]})
    response = handler(firehose_event([GOOD, bad]), lambda_context)
    assert _results(response) == ["Ok", "ProcessingFailed"]


def test_bad_configuration_fails_loudly(monkeypatch: pytest.MonkeyPatch, lambda_context) -> None:
    monkeypatch.setenv("OUTPUT_FORMAT", "xml")
    with pytest.raises(ConfigurationError, match="OUTPUT_FORMAT"):
        handler(firehose_event([encode(cwl_payload(["x"]))]), lambda_context)


GOOD = encode(cwl_payload(["good line"]))
TRUNCATED = base64.b64encode(gzip.compress(json.dumps(cwl_payload(["x" * 500])).encode())[:-20]).decode()
BAD_RECORDS = {
    "not base64": "!!!not base64!!!",
    "not gzip": base64.b64encode(b'{"messageType": "DATA_MESSAGE"}').decode(),
    "truncated gzip": TRUNCATED,
    "not JSON": base64.b64encode(gzip.compress(b"\x00\x01 not json")).decode(),
    "JSON without messageType": base64.b64encode(gzip.compress(b'{"logEvents": []}')).decode(),
    "JSON array": base64.b64encode(gzip.compress(b"[1, 2]")).decode(),
    "unknown messageType": encode(cwl_payload(["x"], message_type="SURPRISE")),
    "DATA_MESSAGE without logEvents": base64.b64encode(
        gzip.compress(b'{"messageType": "DATA_MESSAGE"}')
    ).decode(),
    "event without message": encode({**cwl_payload(["x"]), "logEvents": [{"id": "1", "timestamp": 1}]}),
    "message not a string": encode(
        {**cwl_payload(["x"]), "logEvents": [{"id": "1", "timestamp": 1, "message": 5}]}
    ),
    "event not an object": encode({**cwl_payload(["x"]), "logEvents": ["x"]}),
}


@pytest.mark.parametrize("kind", BAD_RECORDS)
def test_a_bad_record_fails_alone(kind: str, lambda_context) -> None:
    response = handler(firehose_event([GOOD, BAD_RECORDS[kind], GOOD]), lambda_context)
    assert _results(response) == ["Ok", "ProcessingFailed", "Ok"]
    assert [r["recordId"] for r in response["records"]] == ["record-0000", "record-0001", "record-0002"]
    assert decoded(response["records"][2]) == b"good line\n"


def test_empty_log_events_are_dropped(lambda_context) -> None:
    response = handler(firehose_event([encode(cwl_payload([]))]), lambda_context)
    assert _results(response) == ["Dropped"]


def test_non_ascii_text_is_kept_byte_for_byte(lambda_context) -> None:
    messages = ["日本語のログ", "emoji 🚀 ok", 'quote " and backslash \\ and tab \t', "Ünïcödé"]
    response = handler(firehose_event([encode(cwl_payload(messages))]), lambda_context)
    assert decoded(response["records"][0]) == ("\n".join(messages) + "\n").encode()


def test_256_kb_event(lambda_context) -> None:
    big = "x" * (256 * 1024 - 26)  # CloudWatch Logs' maximum event size, minus its 26-byte overhead
    response = handler(firehose_event([encode(cwl_payload([big, "after"]))]), lambda_context)
    assert decoded(response["records"][0]) == (big + "\nafter\n").encode()


def test_moto_subscription_payload(lambda_context) -> None:
    """The exact bytes moto's CloudWatch Logs -> Firehose delivery produces (gzip of compact JSON)."""
    data = {
        "logEvents": [{"id": "0", "timestamp": 1_700_000_000_000, "message": "hello from moto"}],
        "logGroup": "/logpipes/app/access",
        "logStream": "s1",
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "subscriptionFilters": ["app-to-firehose"],
    }
    compact = gzip.compress(json.dumps(data, separators=(",", ":")).encode())
    response = handler(firehose_event([base64.b64encode(compact).decode()]), lambda_context)
    assert decoded(response["records"][0]) == b"hello from moto\n"
