"""The 6 MB response limit and re-ingestion, against Firehose and Kinesis on the moto server."""

from __future__ import annotations

import base64
import gzip
import json
import random
import string
from typing import Any

import pytest
from botocore.exceptions import ClientError

from devtools.firehose import split_gzip_members
from devtools.moto_server import MotoServer
from logpipes.common.backoff import Backoff
from logpipes.firehose_transform import app, handler
from logpipes.firehose_transform.batch import RESPONSE_LIMIT_BYTES, InputRecord, transform_batch
from logpipes.firehose_transform.reingest import Reingester, ReingestRecord, StreamTarget
from logpipes.firehose_transform.transform import OutputFormat, format_renderer
from tests.firehose_transform.helpers import cwl_payload, decoded, encode, firehose_event

RAW = format_renderer(OutputFormat.RAW)

LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024


def _create_stream(moto: MotoServer, name: str = "app-logs") -> str:
    moto.client("s3").create_bucket(Bucket="raw-records")
    moto.client("iam")
    return moto.client("firehose").create_delivery_stream(
        DeliveryStreamName=name,
        ExtendedS3DestinationConfiguration={
            "RoleARN": "arn:aws:iam::123456789012:role/firehose",
            "BucketARN": "arn:aws:s3:::raw-records",
            "Prefix": "pending/",
        },
    )["DeliveryStreamARN"]


def _reingested_payloads(moto: MotoServer) -> list[dict[str, Any]]:
    s3 = moto.client("s3")
    payloads = []
    for item in s3.list_objects_v2(Bucket="raw-records").get("Contents", []):
        blob = s3.get_object(Bucket="raw-records", Key=item["Key"])["Body"].read()
        payloads += [json.loads(gzip.decompress(member)) for member in split_gzip_members(blob)]
    return payloads


def _random_lines(count: int, length: int, seed: int) -> list[str]:
    rng = random.Random(seed)  # incompressible text, so payloads are as big as their output
    return ["".join(rng.choices(string.ascii_letters + string.digits, k=length)) for _ in range(count)]


@pytest.fixture(autouse=True)
def _fresh_clients() -> None:
    app._client.cache_clear()  # clients are per endpoint: each test's moto environment


def test_response_stays_under_6_mb_and_the_rest_is_reingested(aws: MotoServer, lambda_context) -> None:
    _create_stream(aws)
    datas = [encode(cwl_payload(_random_lines(20, 2_000, seed), start_ms=seed * 1000)) for seed in range(200)]
    event = firehose_event(datas)  # ~8 MB of output: cannot fit one response

    response = handler(event, lambda_context)

    assert len(json.dumps(response)) <= LAMBDA_RESPONSE_LIMIT
    assert [r["recordId"] for r in response["records"]] == [r["recordId"] for r in event["records"]]
    ok = [i for i, r in enumerate(response["records"]) if r["result"] == "Ok"]
    dropped = [i for i, r in enumerate(response["records"]) if r["result"] == "Dropped"]
    assert ok and dropped and len(ok) + len(dropped) == 200
    # Every dropped record is back in the stream, byte for byte the original payload.
    reingested = _reingested_payloads(aws)
    assert sorted(json.dumps(p, sort_keys=True) for p in reingested) == sorted(
        json.dumps(json.loads(gzip.decompress(base64.b64decode(datas[i]))), sort_keys=True) for i in dropped
    )


def test_response_budget_boundary(aws: MotoServer, lambda_context, monkeypatch: pytest.MonkeyPatch) -> None:
    _create_stream(aws)
    datas = [encode(cwl_payload(_random_lines(1, 3_000, seed))) for seed in range(5)]
    one = len(handler(firehose_event(datas[:1]), lambda_context)["records"][0]["data"])
    # Room for the five records' envelopes, and exactly three records' data.
    monkeypatch.setenv("RESPONSE_LIMIT_BYTES", str(5 * (64 + len("record-0000")) + 3 * one))
    response = handler(firehose_event(datas), lambda_context)
    assert [r["result"] for r in response["records"]] == ["Ok", "Ok", "Ok", "Dropped", "Dropped"]
    assert len(_reingested_payloads(aws)) == 2


def test_a_record_too_big_for_any_response_is_split_by_events(
    aws: MotoServer, lambda_context, monkeypatch
) -> None:
    _create_stream(aws)
    monkeypatch.setenv("RESPONSE_LIMIT_BYTES", "200000")
    lines = _random_lines(300, 1_000, seed=7)  # ~400 KB base64 output: more than the whole budget
    response = handler(firehose_event([encode(cwl_payload(lines))]), lambda_context)
    assert [r["result"] for r in response["records"]] == ["Dropped"]

    pieces = _reingested_payloads(aws)
    assert len(pieces) > 1
    assert [e["message"] for piece in pieces for e in piece["logEvents"]] == lines  # nothing lost, order kept
    assert all(piece["logGroup"] == "/logpipes/app/access" for piece in pieces)

    # When Firehose hands the pieces back, each fits: the record cannot loop forever.
    back = handler(firehose_event([encode(piece) for piece in pieces[:1]]), lambda_context)
    assert [r["result"] for r in back["records"]] == ["Ok"]


def test_kinesis_source_reingests_into_the_stream(aws: MotoServer, lambda_context, monkeypatch) -> None:
    kinesis = aws.client("kinesis")
    kinesis.create_stream(StreamName="source", ShardCount=1)
    stream_arn = kinesis.describe_stream(StreamName="source")["StreamDescription"]["StreamARN"]
    # Three envelopes (3 x 75 bytes), and the data of two small records (12 bytes each).
    monkeypatch.setenv("RESPONSE_LIMIT_BYTES", "255")
    datas = [encode(cwl_payload([f"line {i}"])) for i in range(3)]
    response = handler(firehose_event(datas, source_kinesis_arn=stream_arn), lambda_context)
    assert [r["result"] for r in response["records"]] == ["Ok", "Ok", "Dropped"]  # budget holds two

    shard = kinesis.describe_stream(StreamName="source")["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(
        StreamName="source", ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )
    records = kinesis.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    assert [
        (r["PartitionKey"], json.loads(gzip.decompress(r["Data"]))["logEvents"][0]["message"])
        for r in records
    ] == [("pk-2", "line 2")]


class FlakyFirehose:
    """A real moto client that first throttles, then rejects some records, like a busy stream."""

    def __init__(self, client: Any, throttles: int, partial_failures: int) -> None:
        self.client, self.throttles, self.partial_failures = client, throttles, partial_failures
        self.calls = 0

    def put_record_batch(self, DeliveryStreamName: str, Records: list[dict[str, bytes]]) -> dict[str, Any]:
        self.calls += 1
        if self.throttles:
            self.throttles -= 1
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "PutRecordBatch"
            )
        if self.partial_failures and len(Records) > 1:
            self.partial_failures -= 1
            accepted, rejected = Records[::2], Records[1::2]
            self.client.put_record_batch(DeliveryStreamName=DeliveryStreamName, Records=accepted)
            responses = []
            for index in range(len(Records)):
                if index % 2:
                    responses.append(
                        {"ErrorCode": "ServiceUnavailableException", "ErrorMessage": "Slow down."}
                    )
                else:
                    responses.append({"RecordId": "accepted"})
            return {"FailedPutCount": len(rejected), "RequestResponses": responses}
        return self.client.put_record_batch(DeliveryStreamName=DeliveryStreamName, Records=Records)


def test_throttled_and_partially_failed_puts_are_retried_until_all_are_in(aws: MotoServer) -> None:
    stream_arn = _create_stream(aws)
    flaky = FlakyFirehose(aws.client("firehose"), throttles=2, partial_failures=2)
    delays: list[float] = []
    reingester = Reingester(
        StreamTarget(stream_arn), flaky, max_attempts=10, backoff=Backoff(0.1, 5.0, sleep=delays.append)
    )
    records = [ReingestRecord(gzip.compress(json.dumps(cwl_payload([f"r{i}"])).encode())) for i in range(10)]

    assert reingester.put(records) == [None] * 10

    messages = sorted(p["logEvents"][0]["message"] for p in _reingested_payloads(aws))
    assert messages == sorted(f"r{i}" for i in range(10))  # each exactly once
    assert flaky.calls == 5 and reingester.retries == 4
    assert all(0 <= d <= 5.0 for d in delays) and len(delays) == 4


def test_reingestion_that_never_succeeds_fails_its_records_not_the_invocation(
    aws: MotoServer, lambda_context, monkeypatch
) -> None:
    stream_arn = _create_stream(aws)
    always = FlakyFirehose(aws.client("firehose"), throttles=10**6, partial_failures=0)
    errors = Reingester(
        StreamTarget(stream_arn), always, max_attempts=3, backoff=Backoff(sleep=lambda _: None)
    ).put([ReingestRecord(b"x"), ReingestRecord(b"y" * (1_000 * 1024 + 1))])
    assert "after" not in errors[0] and "3 attempts: An error occurred (ThrottlingException)" in errors[0]
    assert "exceeds the 1024000 byte limit" in errors[1]
    # Through the handler: the record that cannot be put back is ProcessingFailed, and it returns.
    monkeypatch.setenv("RESPONSE_LIMIT_BYTES", "50")
    monkeypatch.setenv("REINGEST_MAX_ATTEMPTS", "2")
    monkeypatch.setattr(app, "_client", lambda service, region: always)
    monkeypatch.setattr("time.sleep", lambda _: None)
    response = handler(firehose_event([encode(cwl_payload(["does not fit"]))]), lambda_context)
    assert [r["result"] for r in response["records"]] == ["ProcessingFailed"]


def test_no_attempt_starts_when_the_invocation_is_about_to_time_out(aws: MotoServer) -> None:
    stream_arn = _create_stream(aws)
    flaky = FlakyFirehose(aws.client("firehose"), throttles=1, partial_failures=0)
    clock = iter([100.0, 3.0])  # first attempt: 100 s left; the retry: 3 s left
    reingester = Reingester(
        StreamTarget(stream_arn),
        flaky,
        backoff=Backoff(sleep=lambda _: None),
        seconds_left=lambda: next(clock),
        reserve_seconds=5,
    )
    (error,) = reingester.put([ReingestRecord(b"x")])
    assert error is not None and "time ran out" in error and flaky.calls == 1


def test_default_budget_is_below_lambdas_limit() -> None:
    assert RESPONSE_LIMIT_BYTES < LAMBDA_RESPONSE_LIMIT


def test_every_reingested_piece_fits_firehose_record_limit(aws: MotoServer, lambda_context) -> None:
    _create_stream(aws)
    lines = _random_lines(10, 200_000, seed=3)  # ten ~200 KB incompressible events: ~2.7 MB of output
    event = firehose_event([encode(cwl_payload(lines))])
    assert len(base64.b64decode(event["records"][0]["data"])) < 1_000 * 1024 * 3
    response = handler(event, lambda_context)
    assert len(json.dumps(response)) <= LAMBDA_RESPONSE_LIMIT
    pieces = _reingested_payloads(aws)
    if response["records"][0]["result"] == "Dropped":
        assert [e["message"] for p in pieces for e in p["logEvents"]] == lines
    else:
        assert decoded(response["records"][0]) == ("\n".join(lines) + "\n").encode()


def test_once_the_response_is_full_later_records_go_back_as_they_came() -> None:
    """Decoding stops at the first record that does not fit: it and every later record are
    re-ingested byte for byte, even one that would still fit and one that is no payload at all
    (the invocation that gets it back fails it); only a record that is not base64 cannot go back."""
    big = [encode(cwl_payload(_random_lines(1, 3_000, seed))) for seed in range(2)]
    small = encode(cwl_payload(["tiny"]))
    not_a_payload = base64.b64encode(b"not gzip at all").decode()
    records = [InputRecord(f"record-{i}", data) for i, data in enumerate([*big, small, not_a_payload, "!!!"])]
    envelopes = sum(64 + len(record.record_id) for record in records)
    room_for_one = len(transform_batch(records[:1], RAW).records[0].data) + envelopes + 10

    result = transform_batch(records, RAW, response_limit=room_for_one)

    assert [r.result for r in result.records] == ["Ok", "Dropped", "Dropped", "Dropped", "ProcessingFailed"]
    assert result.reingested_record_ids == ["record-1", "record-2", "record-3"]
    assert [r.data for r in result.reingest] == [base64.b64decode(d) for d in (big[1], small, not_a_payload)]
    assert "not base64" in result.records[4].reason


class FailsAfter:
    """A Firehose client whose first ``good_calls`` PutRecordBatch calls succeed (into moto), and
    every later one is throttled."""

    def __init__(self, client: Any, good_calls: int) -> None:
        self.client, self.good_calls, self.calls = client, good_calls, 0

    def put_record_batch(self, DeliveryStreamName: str, Records: list[dict[str, bytes]]) -> dict[str, Any]:
        self.calls += 1
        if self.calls > self.good_calls:
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "PutRecordBatch"
            )
        return self.client.put_record_batch(DeliveryStreamName=DeliveryStreamName, Records=Records)


def test_reingestion_failing_part_way_neither_duplicates_nor_loses(
    aws: MotoServer, lambda_context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 11, defect 6: the first PutRecordBatch (500 records) goes in, the second exhausts its
    attempts. The invocation returns: the 500 are Dropped (they come back through the stream), the
    rest are ProcessingFailed (Firehose writes them, with their data, under the error prefix)."""
    _create_stream(aws)
    client = FailsAfter(aws.client("firehose"), good_calls=1)
    monkeypatch.setattr(app, "_client", lambda service, region: client)
    monkeypatch.setattr("time.sleep", lambda _: None)
    monkeypatch.setenv("REINGEST_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("RESPONSE_LIMIT_BYTES", "2000")  # room for a few records: the rest overflow
    datas = [encode(cwl_payload([f"line {i}"])) for i in range(700)]

    response = handler(firehose_event(datas), lambda_context)

    results = [r["result"] for r in response["records"]]
    ok = {i for i, result in enumerate(results) if result == "Ok"}
    dropped = {i for i, result in enumerate(results) if result == "Dropped"}
    failed = {i for i, result in enumerate(results) if result == "ProcessingFailed"}
    reingested = sorted(int(p["logEvents"][0]["message"].split()[1]) for p in _reingested_payloads(aws))
    assert len(dropped) == 500 and sorted(dropped) == reingested  # each back in exactly once
    assert ok | dropped | failed == set(range(700)) and len(ok) + len(dropped) + len(failed) == 700
    assert len(failed) == 700 - 500 - len(ok) > 0
    assert client.calls == 1 + 3


def test_the_envelopes_of_every_record_are_reserved_before_any_data() -> None:
    """A big record first, then many small ones: the small ones' envelopes (recordId, result) are in
    the response whatever their result, so the big one may not take their room: a response over
    Lambda's limit fails the invocation, and Firehose re-runs (and re-ingests) the whole batch."""
    big = InputRecord("record-big", encode(cwl_payload(_random_lines(1, 30_000, seed=1))))
    small = [InputRecord(f"record-{i:04d}", encode(cwl_payload([f"s{i}"]))) for i in range(300)]
    big_output = len(transform_batch([big], RAW).records[0].data)
    limit = big_output + 64 + len(big.record_id) + 100  # room for the big one's data and envelope only

    result = transform_batch([big, *small], RAW, response_limit=limit)

    envelopes = sum(64 + len(r.record_id) for r in result.records)
    assert sum(len(r.data) for r in result.records) + envelopes <= max(limit, envelopes)
    assert result.records[0].result == "Dropped"  # it goes back, and fits an emptier response


class RejectsSecond:
    """Accepts every record but the second one it is ever sent, which it rejects every time."""

    def __init__(self) -> None:
        self.accepted: list[bytes] = []
        self.rejected: bytes | None = None

    def put_record_batch(self, DeliveryStreamName: str, Records: list[dict[str, bytes]]) -> dict[str, Any]:
        if self.rejected is None and len(Records) > 1:
            self.rejected = Records[1]["Data"]
        codes = ["ServiceUnavailableException" if r["Data"] == self.rejected else None for r in Records]
        self.accepted += [r["Data"] for r, code in zip(Records, codes, strict=True) if not code]
        return {
            "FailedPutCount": sum(1 for code in codes if code),
            "RequestResponses": [{"ErrorCode": code} if code else {} for code in codes],
        }


def test_a_split_record_whose_pieces_go_back_only_in_part_fails_whole(
    lambda_context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its error-prefix copy then also holds the events of the pieces that are back in the stream:
    the one case where an event can be both delivered and parked (the log names the record)."""
    client = RejectsSecond()
    monkeypatch.setattr(app, "_client", lambda service, region: client)
    monkeypatch.setattr("time.sleep", lambda _: None)
    monkeypatch.setenv("RESPONSE_LIMIT_BYTES", "200000")
    monkeypatch.setenv("REINGEST_MAX_ATTEMPTS", "2")
    lines = _random_lines(300, 1_000, seed=7)
    response = handler(firehose_event([encode(cwl_payload(lines))]), lambda_context)
    assert [r["result"] for r in response["records"]] == ["ProcessingFailed"]
    assert len(client.accepted) >= 1  # the first piece is in: delivered, and parked with the record
