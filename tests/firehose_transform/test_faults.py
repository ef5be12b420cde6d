"""The fault matrix of the Firehose transform: every AWS call it makes fails in turn, and Firehose's
own retry is replayed as documented (devtools.firehose). Every log event is counted: delivered
exactly once under the prefix, or parked with its data under the error prefix; never lost, never
doubled.

The transform's only AWS calls are PutRecordBatch (Direct PUT streams) and PutRecords (streams that
read from a Kinesis Data Stream), made when the response is full and records are put back.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from devtools.firehose import deliver
from devtools.moto_server import MotoServer
from logpipes.firehose_transform import app, handler
from tests.firehose_transform.helpers import cwl_payload, encode, firehose_event

RECORDS, EVENTS_PER_RECORD = 1100, 2
PADDING = "x" * 200  # after each event's name in its message
MAX_ATTEMPTS = 3

pytestmark = pytest.mark.slow  # about 2 s a case, 40 cases per output format


def _error(code: str, status: int, operation: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, operation
    )


def _partial(put: Callable[[list[Any]], Any], records: list[Any], code_key: str) -> dict[str, Any]:
    """Every other record accepted (really put), the others rejected, as a busy stream answers."""
    put(records[::2])
    responses = [{code_key: "ServiceUnavailableException"} if i % 2 else {} for i in range(len(records))]
    return {"failed": len(records) // 2, "responses": responses}


# kind -> what a failing call does: raise, or a partial failure.
FAULTS: dict[str, Callable[[str], ClientError | ReadTimeoutError | None]] = {
    "throttling": lambda op: _error("ThrottlingException", 400, op),
    "500": lambda op: _error("InternalFailure", 500, op),
    "503": lambda op: _error("ServiceUnavailableException", 503, op),
    "access denied": lambda op: _error("AccessDeniedException", 403, op),
    "timeout": lambda op: ReadTimeoutError(endpoint_url="https://firehose.us-east-1.amazonaws.com"),
    "partial FailedPutCount": lambda op: None,
}
# schedule -> which calls (numbered from 1, across every invocation) fail.
SCHEDULES: dict[str, Callable[[int], bool]] = {
    "transient (calls 2-3)": lambda call: call in (2, 3),
    "one batch exhausts its attempts (calls 2-4)": lambda call: 2 <= call <= 1 + MAX_ATTEMPTS,
    "outage (every call)": lambda call: True,
}


class FaultyFirehose:
    """moto's Firehose, with the calls the schedule picks failing the way the fault says."""

    def __init__(self, client: Any, fault: str, fails: Callable[[int], bool]) -> None:
        self.client, self.fault, self.fails, self.calls = client, fault, fails, 0

    def put_record_batch(self, DeliveryStreamName: str, Records: list[dict[str, bytes]]) -> dict[str, Any]:
        self.calls += 1

        def put(records: list[dict[str, bytes]]) -> Any:
            return self.client.put_record_batch(DeliveryStreamName=DeliveryStreamName, Records=records)

        if not self.fails(self.calls):
            return put(Records)
        if error := FAULTS[self.fault]("PutRecordBatch"):
            raise error
        partial = _partial(put, Records, "ErrorCode")
        return {"FailedPutCount": partial["failed"], "RequestResponses": partial["responses"]}


class FaultyKinesis:
    def __init__(self, client: Any, fault: str, fails: Callable[[int], bool]) -> None:
        self.client, self.fault, self.fails, self.calls = client, fault, fails, 0

    def put_records(self, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls += 1

        def put(records: list[dict[str, Any]]) -> Any:
            return self.client.put_records(StreamName=StreamName, Records=records)

        if not self.fails(self.calls):
            return put(Records)
        if error := FAULTS[self.fault]("PutRecords"):
            raise error
        partial = _partial(put, Records, "ErrorCode")
        return {"FailedRecordCount": partial["failed"], "Records": partial["responses"]}


def _event_ids(record_data: bytes) -> list[str]:
    return [f"{e['id']}" for e in json.loads(gzip.decompress(record_data))["logEvents"]]


def _stream(aws: MotoServer) -> None:
    aws.client("s3").create_bucket(Bucket="logs")
    aws.client("firehose").create_delivery_stream(
        DeliveryStreamName="app-logs",
        ExtendedS3DestinationConfiguration={
            "RoleARN": "arn:aws:iam::123456789012:role/firehose",
            "BucketARN": "arn:aws:s3:::logs",
            "Prefix": "logs/!{timestamp:yyyy/MM/dd}/",
            "ErrorOutputPrefix": "errors/!{firehose:error-output-type}/",
        },
    )


def _put_source_records(aws: MotoServer) -> set[str]:
    """RECORDS subscription payloads into the stream, each event's message its unique id."""
    firehose = aws.client("firehose")
    ids = set()
    for start in range(0, RECORDS, 500):
        records = []
        for r in range(start, min(start + 500, RECORDS)):
            names = [f"event-{r}-{e}" for e in range(EVENTS_PER_RECORD)]
            payload = cwl_payload([f"{name} {PADDING}" for name in names])
            for event, name in zip(payload["logEvents"], names, strict=True):
                event["id"] = name
            ids.update(names)
            records.append({"Data": gzip.compress(json.dumps(payload).encode())})
        firehose.put_record_batch(DeliveryStreamName="app-logs", Records=records)
    return ids


def _count(aws: MotoServer) -> tuple[Counter[str], Counter[str], Counter[str]]:
    """Events delivered (lines under logs/), parked (rawData under errors/), and their error codes."""
    s3 = aws.client("s3")
    delivered: Counter[str] = Counter()
    parked: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    for item in s3.list_objects_v2(Bucket="logs").get("Contents", []):
        body = gzip.decompress(s3.get_object(Bucket="logs", Key=item["Key"])["Body"].read()).decode()
        if item["Key"].startswith("errors/processing-failed/"):
            for line in body.splitlines():
                document = json.loads(line)
                codes[document["errorCode"]] += 1
                parked.update(_event_ids(base64.b64decode(document["rawData"])))
        else:
            assert item["Key"].startswith("logs/"), item["Key"]
            delivered.update(line.split(" ")[0] for line in body.splitlines())
    return delivered, parked, codes


def _assert_exactly_once(ids: set[str], delivered: Counter[str], parked: Counter[str]) -> None:
    assert max(delivered.values(), default=1) == 1, "an event was delivered twice"
    assert max(parked.values(), default=1) == 1, "an event was parked twice"
    assert not set(delivered) & set(parked), "an event was both delivered and parked"
    assert set(delivered) | set(parked) == ids, "an event was lost"


# Every output path shares the record accounting, response budget and re-ingestion under test; each
# writes an event's whole message as its line, so the lines are counted the same way in every case.
OUTPUT_SETTINGS: dict[str, dict[str, str]] = {
    "raw": {"OUTPUT_FORMAT": "raw"},
    "csv columns": {
        "OUTPUT_FORMAT": "csv",
        "COLUMNS": json.dumps([{"name": "line", "type": "string", "source": "regex.line"}]),
        "MESSAGE_REGEX": "^(?P<line>.*)$",
    },
    "custom transform": {
        "OUTPUT_FORMAT": "custom",
        "TRANSFORM_FUNCTION": "tests.firehose_transform.sample_transforms:message_as_line",
    },
}


@pytest.fixture(params=OUTPUT_SETTINGS)
def transform(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, lambda_context
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    for name, value in OUTPUT_SETTINGS[request.param].items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("REINGEST_MAX_ATTEMPTS", str(MAX_ATTEMPTS))
    # Every record's envelope (~84 bytes), and the data of ~400 records (~560 bytes each): the first
    # invocation re-ingests ~700 in two calls, and every one delivers some.
    monkeypatch.setenv("RESPONSE_LIMIT_BYTES", "316000")
    monkeypatch.setattr("time.sleep", lambda _: None)
    return lambda event: handler(event, lambda_context)


@pytest.mark.parametrize("schedule", SCHEDULES)
@pytest.mark.parametrize("fault", FAULTS)
def test_put_record_batch_faults(
    fault: str, schedule: str, aws: MotoServer, transform: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stream(aws)
    ids = _put_source_records(aws)
    faulty = FaultyFirehose(aws.client("firehose"), fault, SCHEDULES[schedule])
    monkeypatch.setattr(app, "_client", lambda service, region: faulty)

    delivery = deliver(aws, "app-logs", transform, max_rounds=40)

    delivered, parked, codes = _count(aws)
    _assert_exactly_once(ids, delivered, parked)
    assert delivery.failed_invocations == 0  # a failing put fails records, never the invocation
    assert set(codes) <= {"Lambda.ProcessingFailed"}
    if schedule.startswith("transient"):
        assert not parked
    else:
        assert parked
    print(f"{fault} / {schedule}: {len(ids)} events, {len(delivered)} delivered, {len(parked)} parked")


@pytest.mark.parametrize("schedule", SCHEDULES)
@pytest.mark.parametrize("fault", FAULTS)
def test_put_records_faults_kinesis_source(
    fault: str, schedule: str, aws: MotoServer, transform: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a Kinesis Data Stream source, records go back into that stream: each Dropped record is
    in it exactly once, each ProcessingFailed one is not (Firehose parks it with its data)."""
    kinesis = aws.client("kinesis")
    kinesis.create_stream(StreamName="source", ShardCount=1)
    stream_arn = kinesis.describe_stream(StreamName="source")["StreamDescription"]["StreamARN"]
    datas = [
        encode(
            {
                **cwl_payload([f"event-{r}"]),
                "logEvents": [{"id": f"event-{r}", "timestamp": 1, "message": f"event-{r}"}],
            }
        )
        for r in range(RECORDS)
    ]
    faulty = FaultyKinesis(kinesis, fault, SCHEDULES[schedule])
    monkeypatch.setattr(app, "_client", lambda service, region: faulty)
    # Every record's envelope (75 bytes) and the data of ~400 (16 bytes each): ~700 go back, in two calls.
    monkeypatch.setenv("RESPONSE_LIMIT_BYTES", "89000")

    response = transform(firehose_event(datas, source_kinesis_arn=stream_arn))

    results = {f"event-{i}": r["result"] for i, r in enumerate(response["records"])}
    shard = kinesis.describe_stream(StreamName="source")["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(
        StreamName="source", ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )
    in_stream: Counter[str] = Counter()
    iterator_id = iterator["ShardIterator"]
    while iterator_id:
        page = kinesis.get_records(ShardIterator=iterator_id, Limit=10000)
        in_stream.update(i for r in page["Records"] for i in _event_ids(r["Data"]))
        iterator_id = page.get("NextShardIterator") if page["Records"] else None
    assert max(in_stream.values(), default=1) == 1
    assert set(in_stream) == {i for i, result in results.items() if result == "Dropped"}
    failed = {i for i, result in results.items() if result == "ProcessingFailed"}
    assert bool(failed) == (not schedule.startswith("transient"))
    assert Counter(results.values())["Ok"] + len(in_stream) + len(failed) == RECORDS
    ok = Counter(results.values())["Ok"]
    print(
        f"{fault} / {schedule} (PutRecords): {RECORDS} events, {ok} Ok, "
        f"{len(in_stream)} re-ingested once, {len(failed)} parked"
    )


@pytest.mark.parametrize("failing_attempts", [1, 3, 4])
def test_invocation_failures_are_retried_then_the_batch_is_parked(
    failing_attempts: int, aws: MotoServer, transform: Any
) -> None:
    """Firehose retries a failed invocation three times with the same records, then writes every
    record of the batch under the error prefix (Lambda.FunctionError)."""
    _stream(aws)
    ids = _put_source_records(aws)
    attempts = 0

    def crashes_first(event: dict[str, Any]) -> dict[str, Any]:
        nonlocal attempts
        attempts += 1
        if attempts <= failing_attempts:
            raise TimeoutError("Task timed out after 120.00 seconds")
        return transform(event)

    delivery = deliver(aws, "app-logs", crashes_first, max_rounds=40)

    delivered, parked, codes = _count(aws)
    _assert_exactly_once(ids, delivered, parked)
    assert delivery.failed_invocations == failing_attempts
    if failing_attempts == 4:  # 1 attempt + 3 retries: the first batch is skipped, whole
        assert delivery.skipped_batches == 1 and codes["Lambda.FunctionError"] == RECORDS
        assert set(parked) == ids
    else:
        assert not parked


def test_an_invocation_lost_after_it_reingested_duplicates_only_those_records(
    aws: MotoServer, transform: Any
) -> None:
    """The one documented source of duplicates: an invocation that re-ingests and then dies (a
    timeout, an out-of-memory kill) before Firehose gets its answer. Firehose retries the batch, and
    what that invocation had put back goes in again. Nothing is lost."""
    _stream(aws)
    ids = _put_source_records(aws)
    attempts = 0
    reingested_by_lost_attempt: set[str] = set()

    def dies_after_first_attempt(event: dict[str, Any]) -> dict[str, Any]:
        nonlocal attempts
        attempts += 1
        response = transform(event)
        if attempts == 1:
            by_id = {r["recordId"]: r for r in event["records"]}
            for record in response["records"]:
                if record["result"] == "Dropped":
                    reingested_by_lost_attempt.update(
                        _event_ids(base64.b64decode(by_id[record["recordId"]]["data"]))
                    )
            raise TimeoutError("Task timed out after 120.00 seconds")
        return response

    deliver(aws, "app-logs", dies_after_first_attempt, max_rounds=40)

    delivered, parked, _ = _count(aws)
    assert not parked and set(delivered) == ids
    doubled = {event_id for event_id, count in delivered.items() if count > 1}
    assert doubled and doubled <= reingested_by_lost_attempt
    assert max(delivered.values()) == 2
