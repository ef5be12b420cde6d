"""The handler: mixed batches, dead letters, partial failures, retries, S3 output."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from devtools.lambda_runtime import FakeLambdaContext
from devtools.moto_server import MotoServer
from logpipes.common.settings import ConfigurationError
from logpipes.kinesis_kpl import batch as batch_module
from logpipes.kinesis_kpl import handler
from logpipes.kinesis_kpl.aggregation import MAGIC
from logpipes.kinesis_kpl.app import process_event
from logpipes.kinesis_kpl.records import decode
from logpipes.kinesis_kpl.settings import Settings
from logpipes.kinesis_kpl.sink import MemorySink

from .kinesis_events import SHARD_ID, aggregate, json_lines, kinesis_event, sequence_number

SETTINGS = Settings(bucket="sink", prefix="logs/", dead_letter_prefix="dead-letter/")
NASA_JUL = "nasa_http/NASA_access_log_Jul95.first2000.log"
JAVA_SAMPLE_EVENT = "kpl_aggregated/kinesis-aggregation_java_KinesisDeaggregator_SampleLambdaEvent.json"
POWERTOOLS_EVENT = "lambda_events/powertools-lambda-python/kinesisStreamEvent.json"
POISON = b"poison user record"


@pytest.fixture
def nasa_lines(shared_data: Path) -> list[bytes]:
    return (shared_data / NASA_JUL).read_bytes().splitlines(keepends=True)


def documents(sink: MemorySink, prefix: str = "logs/") -> list[dict[str, Any]]:
    """Every JSON line written under prefix, in (sequence, sub-sequence) order."""
    selected = [obj for key, obj in sink.objects.items() if key.startswith(prefix)]
    docs = [doc for obj in selected for doc in json_lines(obj.body)]
    return sorted(
        docs, key=lambda d: (int(d["kinesis_sequence_number"]), d["kinesis_sub_sequence_number"] or 0)
    )


def origin(doc: dict[str, Any]) -> tuple[str, int | None]:
    return doc["kinesis_sequence_number"], doc["kinesis_sub_sequence_number"]


@pytest.fixture
def poisoned(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """Make decoding of the POISON user record raise, the first ``times`` times."""

    def install(times: int = 10**9) -> None:
        remaining = [times]

        def decode_or_raise(data: bytes) -> tuple[str, str | None, str]:
            if data == POISON and remaining[0] > 0:
                remaining[0] -= 1
                raise RuntimeError("simulated failure")
            return decode(data)

        monkeypatch.setattr(batch_module, "decode", decode_or_raise)

    return install


def test_mixed_aggregated_and_plain_batch(nasa_lines: list[bytes]) -> None:
    first, second = aggregate(nasa_lines[:30], max_size=1500)[:2]
    plain = nasa_lines[100]
    fluentd = b'{"host":"a.example","code":200,"time":"1995-07-01T08:00:00.000000000+0000"}'
    event = kinesis_event([first, plain, second, fluentd, b"not a log line"])
    sink = MemorySink()

    response, summary = process_event(event, SETTINGS, sink)

    assert response == {"batchItemFailures": []}
    first_count, second_count = len(batch_module.user_records(first)), len(batch_module.user_records(second))
    docs = documents(sink)
    assert [origin(d) for d in docs] == [
        *[(sequence_number(0), i) for i in range(first_count)],
        (sequence_number(1), None),
        *[(sequence_number(2), i) for i in range(second_count)],
        (sequence_number(3), None),
        (sequence_number(4), None),
    ]
    apache = [d for d in docs if "path" in d]
    expected_lines = [*nasa_lines[:first_count], plain, *nasa_lines[first_count : first_count + second_count]]
    assert [d["path"] for d in apache] == [line.split(b" ")[6].decode() for line in expected_lines]
    assert docs[-2] == {
        "host": "a.example",
        "code": 200,
        "time": "1995-07-01T08:00:00.000000000+0000",
        "kinesis_shard_id": SHARD_ID,
        "kinesis_sequence_number": sequence_number(3),
        "kinesis_arrival_time": "2018-12-17T22:10:50.987Z",
        "kinesis_sub_sequence_number": None,
    }
    assert docs[-1]["message"] == "not a log line"
    # Each object is named after the first user record of its partition.
    assert sorted(sink.objects) == [
        f"logs/dt=1995-07-01/hour=04/{SHARD_ID}_{sequence_number(0)}-0.json.gz",  # NASA lines, 00:xx -0400
        f"logs/dt=1995-07-01/hour=08/{SHARD_ID}_{sequence_number(3)}-0.json.gz",  # the fluentd record
        f"logs/dt=2018-12-17/hour=22/{SHARD_ID}_{sequence_number(4)}-0.json.gz",  # no event time: arrival
    ]
    assert summary.kinds == {"apache": first_count + second_count + 1, "json": 1, "message": 1}
    assert (summary.aggregated_records, summary.user_records, summary.objects) == (2, len(docs), 3)


def test_partition_by_event_time_spans_hours(nasa_lines: list[bytes]) -> None:
    late = b'1.2.3.4 - - [01/Jul/1995:23:59:59 -0400] "GET / HTTP/1.0" 200 7\n'
    sink = MemorySink()
    process_event(kinesis_event(aggregate([nasa_lines[0], late])), SETTINGS, sink)
    by_hour = {key.split("/")[2]: json_lines(obj.body) for key, obj in sink.objects.items()}
    assert {hour: [d["time"] for d in docs] for hour, docs in by_hour.items()} == {
        "hour=04": ["1995-07-01T00:00:01-04:00"],
        "hour=03": ["1995-07-01T23:59:59-04:00"],
    }
    assert sorted(key.split("/")[1] for key in sink.objects) == ["dt=1995-07-01", "dt=1995-07-02"]
    # Each object is named after its own first user record: sub-sequence 0 and 1 of the aggregate.
    assert sorted(key.rsplit("-", 1)[1] for key in sink.objects) == ["0.json.gz", "1.json.gz"]


def _md5_flipped(blob: bytes) -> bytes:
    corrupt = bytearray(blob)
    corrupt[40] ^= 0xFF
    return bytes(corrupt)


def _truncated_protobuf(blob: bytes) -> bytes:
    body = blob[len(MAGIC) : -16][:-9]
    return MAGIC + body + hashlib.md5(body).digest()


@pytest.mark.parametrize(
    ("corrupt", "reason"),
    [
        (_md5_flipped, "MD5 digest does not match the protobuf body"),
        (_truncated_protobuf, "protobuf does not parse"),
        (lambda _: MAGIC + hashlib.md5(b"").digest(), "aggregate holds no user records"),
    ],
    ids=["md5", "truncated-protobuf", "empty"],
)
def test_corrupt_aggregate_goes_to_the_dead_letter_prefix(
    nasa_lines: list[bytes], corrupt: Callable[[bytes], bytes], reason: str
) -> None:
    good, bad_source = aggregate(nasa_lines[:40], max_size=1500)[:2]
    bad = corrupt(bad_source)
    sink = MemorySink()

    response, summary = process_event(kinesis_event([good, bad, nasa_lines[500]]), SETTINGS, sink)

    assert response == {"batchItemFailures": []}
    letter = sink.objects.pop(f"dead-letter/dt=2018-12-17/{SHARD_ID}_{sequence_number(1)}.kpl")
    assert letter.body == bad
    assert letter.metadata["reason"].startswith(reason)
    assert letter.metadata | {"reason": ""} == {
        "shard-id": SHARD_ID,
        "sequence-number": sequence_number(1),
        "arrival-time": "2018-12-17T22:10:50.987Z",
        "reason": "",
    }
    docs = documents(sink)
    assert {d["kinesis_sequence_number"] for d in docs} == {sequence_number(0), sequence_number(2)}
    assert len(docs) == len(batch_module.user_records(good)) + 1
    assert not any("message" in d for d in docs)  # nothing of the corrupt aggregate became data
    assert summary.dead_letters == 1


def test_failing_record_in_the_middle_reports_its_sequence_number(
    nasa_lines: list[bytes], poisoned: Callable[..., None]
) -> None:
    poisoned()
    blobs = aggregate([*nasa_lines[:20], POISON, *nasa_lines[20:40]], max_size=800)
    poison_index = next(i for i, blob in enumerate(blobs) if POISON in batch_module.user_records(blob))
    assert 0 < poison_index < len(blobs) - 1
    sink = MemorySink()

    response, summary = process_event(kinesis_event(blobs), SETTINGS, sink)

    # The failing record first; every later one is reported too: none of them was written.
    assert response["batchItemFailures"] == [
        {"itemIdentifier": sequence_number(i)} for i in range(poison_index, len(blobs))
    ]
    written = documents(sink)
    committed = [r for blob in blobs[:poison_index] for r in batch_module.user_records(blob)]
    assert [d["path"] for d in written] == [line.split(b" ")[6].decode() for line in committed]
    (key,) = sink.objects
    assert key.endswith(f"_{sequence_number(0)}-0.json.gz")
    assert summary.failed_records == len(blobs) - poison_index


def test_retry_from_the_checkpoint_writes_every_record_exactly_once(
    nasa_lines: list[bytes], poisoned: Callable[..., None]
) -> None:
    poisoned(times=1)  # a transient failure: the retry succeeds
    payloads = [*nasa_lines[:25], POISON, *nasa_lines[25:60]]
    blobs = aggregate(payloads, max_size=800)
    sink = MemorySink()

    response, _ = process_event(kinesis_event(blobs), SETTINGS, sink)
    # Lambda redelivers from the lowest reported sequence number.
    checkpoint = next(
        i
        for i in range(len(blobs))
        if sequence_number(i) == response["batchItemFailures"][0]["itemIdentifier"]
    )
    retry, _ = process_event(kinesis_event(blobs[checkpoint:], first_index=checkpoint), SETTINGS, sink)

    assert retry == {"batchItemFailures": []}
    docs = documents(sink)
    assert len(docs) == len(payloads)
    assert len({origin(d) for d in docs}) == len(payloads)
    assert [d.get("path", d.get("message")) for d in docs] == [
        line.split(b" ")[6].decode() if line != POISON else POISON.decode() for line in payloads
    ]


def test_retried_batch_gives_the_same_keys_and_bytes(nasa_lines: list[bytes]) -> None:
    event = kinesis_event([*aggregate(nasa_lines[:300], max_size=10_000), b"plain"])
    first, second = MemorySink(), MemorySink()
    process_event(event, SETTINGS, first)
    process_event(json.loads(json.dumps(event)), SETTINGS, second)
    assert len(first.objects) == 2
    assert {k: o.body for k, o in first.objects.items()} == {k: o.body for k, o in second.objects.items()}


def test_every_record_failing_raises_and_writes_nothing(poisoned: Callable[..., None]) -> None:
    poisoned()
    sink = MemorySink()
    with pytest.raises(BatchProcessingError):
        process_event(kinesis_event([POISON, b"fine", POISON]), SETTINGS, sink)
    assert sink.objects == {}


def test_settings_from_environment() -> None:
    assert Settings.from_env({"SINK_BUCKET": "b"}) == Settings("b", "", "dead-letter/", 2)
    env = {"SINK_BUCKET": "b", "SINK_PREFIX": "p/", "DEAD_LETTER_PREFIX": "d/", "GZIP_LEVEL": "1"}
    assert Settings.from_env(env) == Settings("b", "p/", "d/", 1)
    for level in ("0", "6"):  # the module offers ISA-L's levels 1 to 3
        with pytest.raises(ConfigurationError, match="GZIP_LEVEL"):
            Settings.from_env({"SINK_BUCKET": "b", "GZIP_LEVEL": level})
    with pytest.raises(ConfigurationError, match="SINK_BUCKET is not set"):
        Settings.from_env({})


@pytest.mark.moto
def test_handler_writes_sample_events_to_s3(
    aws: MotoServer,
    shared_data: Path,
    lambda_context: FakeLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="sink")
    monkeypatch.setenv("SINK_BUCKET", "sink")
    monkeypatch.setenv("SINK_PREFIX", "apache/")
    # Real events: the aws-kinesis-agg Java sample (one aggregate of 100 records) and Powertools'
    # plain-text Kinesis event.
    aggregated = json.loads((shared_data / JAVA_SAMPLE_EVENT).read_text())
    plain = json.loads((shared_data / POWERTOOLS_EVENT).read_text())

    assert handler(aggregated, lambda_context) == {"batchItemFailures": []}
    assert handler(plain, lambda_context) == {"batchItemFailures": []}

    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="sink")["Contents"])
    assert keys == [
        "apache/dt=2015-04-09/hour=00/shardId-000000000000_49545115243490985018280067714973144582180062593244200961-0"
        ".json.gz",
        "apache/dt=2018-12-17/hour=22/shardId-000000000006_49590338271490256608559692538361571095921575989136588898-0"
        ".json.gz",
    ]
    bodies = [json_lines(s3.get_object(Bucket="sink", Key=key)["Body"].read()) for key in keys]
    assert [d["message"] for d in bodies[0]] == [
        "abcdefghijklmnopqrstuvwxyz",
        "zyxwvutsrqponmlkjihgfedcba",
    ] * 50
    assert [d["message"] for d in bodies[1]] == ["Hello, this is a test.", "This is only a test."]
    assert [d["kinesis_arrival_time"] for d in bodies[1]] == [
        "2018-12-17T22:10:50.987Z",
        "2018-12-17T22:11:51.166Z",
    ]
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    names = ("UserRecords", "AggregatedRecords", "UnparsedRecords", "CorruptAggregates")
    assert [[m[name] for name in names] for m in metrics] == [[[100], [1], [100], [0]], [[2], [0], [2], [0]]]
