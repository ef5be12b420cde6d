"""Faults injected into every AWS call the handler makes (S3 PutObject), with Lambda's retries
(from the checkpoint, bisected) replayed by the event source mapping stand-in: every user record is
in S3 exactly once, or parked with its data; none is lost, none doubled."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devtools.kinesis import EventSourceMapping, MemoryDestination, lambda_record
from devtools.lambda_runtime import FakeLambdaContext
from devtools.moto_server import MotoServer
from logpipes.kinesis_kpl import app
from logpipes.kinesis_kpl.aggregation import MAGIC
from logpipes.kinesis_kpl.app import process_event
from logpipes.kinesis_kpl.sink import MemorySink, S3Sink

from .faults import FAULTS, SETTINGS, SHARD, FaultyS3, ids_in, outcome, run, shard_stream
from .kinesis_events import SHARD_ID, kinesis_event, sequence_number

USER_RECORDS = 195


def fails_once_at(call: int, fault: str) -> Callable[[int], Exception | None]:
    return lambda number: FAULTS[fault]() if number == call else None


def test_put_object_failing_mid_batch_duplicates_nothing() -> None:
    """Defect 7: the invocation failed, Lambda bisected the batch, and the halves wrote what was
    already written again under other keys (65 of these 195 user records were doubled)."""
    records = shard_stream(USER_RECORDS, per_aggregate=5, plain_every=7)
    s3 = FaultyS3(fail=fails_once_at(2, "internal-error"))

    result, destination, delivery = run(records, s3)

    assert delivery.given_up == [] and destination.records == {}
    assert result.doubled() == []
    assert result.lost(range(USER_RECORDS)) == []
    assert sorted(result.in_s3) == list(range(USER_RECORDS))


def test_data_that_is_not_base64_is_dead_lettered_with_its_reason() -> None:
    event = kinesis_event([b"good line", b"also good"])
    event["Records"][1]["kinesis"]["data"] = "not base64!"
    sink = MemorySink()

    response, summary = process_event(event, SETTINGS, sink)

    assert response == {"batchItemFailures": []}
    letter = sink.objects[f"dead-letter/dt=2018-12-17/{SHARD_ID}_{sequence_number(1)}.b64"]
    assert letter.body == b"not base64!"
    assert letter.metadata["reason"].startswith("data is not valid base64")
    assert letter.metadata["sequence-number"] == sequence_number(1)
    assert summary.invalid_records == 1 and summary.dead_letters == 0
    (data_key,) = [key for key in sink.objects if key.startswith("logs/")]  # the good record
    assert data_key.endswith(f"{SHARD_ID}_{sequence_number(0)}-0.json.gz")


def test_too_little_time_left_reports_the_batch_instead_of_timing_out() -> None:
    event = kinesis_event([b"one", b"two"])
    clock = iter([120_000, 20_000])  # at the start; then less than the margin (30 s of 120 s)
    sink = MemorySink()

    response, summary = process_event(event, SETTINGS, sink, lambda: next(clock))

    assert response == {"batchItemFailures": [{"itemIdentifier": sequence_number(i)} for i in (0, 1)]}
    assert sink.objects == {} and summary.failed_shards == [SHARD_ID]


class _Body:
    def __init__(self, content: bytes) -> None:
        self.content = content

    def stream(self, **_: Any) -> Any:
        yield self.content


@pytest.mark.moto
def test_s3_throttling_through_botocore_and_moto(aws: MotoServer, lambda_context: FakeLambdaContext) -> None:
    """503 SlowDown as S3 sends it, on the wire: botocore retries it (S3_CONFIG: 3 attempts), the
    handler reports the batch, Lambda retries it; every user record lands once in the real bucket."""
    s3 = boto3.client("s3", endpoint_url=aws.endpoint_url, config=app.S3_CONFIG)
    s3.create_bucket(Bucket="sink")
    throttled = [4]  # four sends of PutObject: more than botocore's 3 attempts for the first object

    def slow_down(request: Any, **_: Any) -> AWSResponse | None:
        if request.method != "PUT" or throttled[0] == 0:
            return None
        throttled[0] -= 1
        body = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
        return AWSResponse(request.url, 503, {}, _Body(body))

    s3.meta.events.register("before-send.s3.PutObject", slow_down)
    records = shard_stream(60, per_aggregate=4, plain_every=5)
    sink = S3Sink("sink", s3)
    delivery = EventSourceMapping(
        lambda event: process_event(event, SETTINGS, sink, lambda_context.get_remaining_time_in_millis)[0],
        SHARD,
        batch_size=8,
    ).consume(records)

    assert throttled == [0] and delivery.retries == 1 and delivery.given_up == []
    ids = [
        json.loads(line)["id"]
        for item in s3.list_objects_v2(Bucket="sink", Prefix="logs/")["Contents"]
        for line in gzip.decompress(s3.get_object(Bucket="sink", Key=item["Key"])["Body"].read()).splitlines()
    ]
    assert sorted(ids) == list(range(60))


class Killed(Exception):
    """The function dies during a PutObject (a timeout, out of memory): a function error to Lambda."""


def schedule(faults: dict[int, str], denied_from: int | None = None) -> Callable[[int], Exception | None]:
    """fail(call_number) for FaultyS3: the fault planned for that PutObject call, if any; from
    call ``denied_from`` on, every call is denied (a permission revoked for good)."""

    def fail(number: int) -> Exception | None:
        if denied_from is not None and number >= denied_from:
            return FAULTS["access-denied"]()
        kind = faults.get(number)
        if kind is None:
            return None
        return Killed() if kind == "killed" else FAULTS[kind]()

    return fail


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    user_records=st.integers(1, 150),
    per_aggregate=st.integers(1, 9),
    plain_every=st.integers(0, 6),
    batch_size=st.sampled_from([1, 4, 17, 100]),
    bisect=st.booleans(),
    faults=st.dictionaries(st.integers(1, 80), st.sampled_from([*FAULTS, "killed"]), max_size=25),
    denied_from=st.none() | st.integers(1, 40),
)
def test_any_sequence_of_failures_loses_and_doubles_nothing(
    user_records: int,
    per_aggregate: int,
    plain_every: int,
    batch_size: int,
    bisect: bool,
    faults: dict[int, str],
    denied_from: int | None,
) -> None:
    """Faults on any PutObject calls ("killed": the function dies during the call), Lambda's retries
    as documented (module defaults: retries 10, bisection on; or off), then the parked batches
    replayed: never a record twice in S3, never one neither in S3 nor parked; after the replay,
    every record in S3 exactly once."""
    records = shard_stream(user_records, per_aggregate, plain_every)
    s3 = FaultyS3(fail=schedule(faults, denied_from))

    result, destination, delivery = run(
        records, s3, batch_size=batch_size, bisect_batch_on_function_error=bisect
    )

    assert result.doubled() == []
    assert result.lost(range(user_records)) == []
    if not delivery.given_up:
        assert sorted(result.in_s3) == list(range(user_records)) and not result.parked
    # Replaying what was parked (as the module's README says) completes S3, still without doubles.
    replay = FaultyS3(objects=s3.objects)
    sink = S3Sink(SETTINGS.bucket, replay)
    for invocation_record in destination.records.values():
        response, _ = process_event(json.loads(invocation_record["payload"]), SETTINGS, sink)
        assert response == {"batchItemFailures": []}
    final = outcome(replay, MemoryDestination())
    assert final.doubled() == [] and sorted(final.in_s3) == list(range(user_records))


def _stream_with_dead_letters() -> tuple[list[dict[str, Any]], int]:
    """195 countable user records, one of whose aggregates is corrupt; and that record's index."""
    records = shard_stream(USER_RECORDS, per_aggregate=5, plain_every=7)
    index = next(i for i, r in enumerate(records) if r["Data"].startswith(MAGIC) and i > 2)
    corrupt = bytearray(records[index]["Data"])
    corrupt[-1] ^= 1  # the MD5 no longer matches
    records[index] = records[index] | {"Data": bytes(corrupt)}
    return records, index


@pytest.mark.slow
@pytest.mark.parametrize("persistent", [False, True], ids=["once", "from-then-on"])
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_matrix(fault: str, persistent: bool) -> None:
    """Each PutObject call of a clean delivery fails in turn (once, or from then on), with Lambda's
    retries replayed (module defaults, batches of 10): no record lost, none doubled; a fault that
    passes leaves every record in S3 exactly once, one that persists parks the rest with its data."""
    records, corrupt = _stream_with_dead_letters()
    clean = FaultyS3()
    run(records, clean, batch_size=10)
    calls = clean.calls
    data_ids = set(range(USER_RECORDS)) - set(_corrupt_ids(corrupt))
    for call in range(1, calls + 1):
        if persistent:
            fail = schedule({}, denied_from=call) if fault == "access-denied" else _from(call, fault)
        else:
            fail = fails_once_at(call, fault)
        s3 = FaultyS3(fail=fail)
        result, destination, delivery = run(records, s3, batch_size=10)
        assert result.doubled() == [], (fault, call)
        assert result.lost(data_ids) == [], (fault, call)
        letters = [key for key in s3.objects if key.startswith(SETTINGS.dead_letter_prefix)]
        parked_sequences = {
            r["kinesis"]["sequenceNumber"]
            for parked in destination.records.values()
            for r in json.loads(parked["payload"])["Records"]
        }
        # The corrupt aggregate is a dead letter, or parked with the batch it came in.
        assert len(letters) == 1 or records[corrupt]["SequenceNumber"] in parked_sequences, (fault, call)
        if not persistent:
            assert delivery.given_up == [] and set(result.in_s3) == data_ids, (fault, call)


def _from(call: int, fault: str) -> Callable[[int], Exception | None]:
    return lambda number: FAULTS[fault]() if number >= call else None


def _corrupt_ids(index: int) -> list[int]:
    """The user records of the aggregate _stream_with_dead_letters corrupts (not data any more)."""
    original = shard_stream(USER_RECORDS, per_aggregate=5, plain_every=7)[index]
    return ids_in([lambda_record(original, SHARD, "arn:aws:kinesis:us-east-1:1:stream/s", "us-east-1")])
