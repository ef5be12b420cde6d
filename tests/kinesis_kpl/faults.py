"""Fault injection for the kinesis-kpl handler: an S3 client whose PutObject fails on schedule, a
stream of countable user records, and the count of where each one ended up."""

from __future__ import annotations

import base64
import gzip
import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aws_kinesis_agg.deaggregator import iter_deaggregate_records
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from devtools.kinesis import EventSourceMapping, MemoryDestination
from logpipes.kinesis_kpl.aggregation import MAGIC
from logpipes.kinesis_kpl.app import process_event
from logpipes.kinesis_kpl.settings import Settings
from logpipes.kinesis_kpl.sink import S3Sink

from .kinesis_events import FIRST_SEQUENCE, aggregate

SETTINGS = Settings(bucket="sink", prefix="logs/", dead_letter_prefix="dead-letter/")
SHARD = "shardId-000000000003"


def _client_error(code: str, status: int, message: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "PutObject",
    )


# What a PutObject raises, once botocore has used up its own retries, for each kind of fault.
FAULTS: dict[str, Callable[[], Exception]] = {
    "throttling": lambda: _client_error("SlowDown", 503, "Please reduce your request rate."),
    "internal-error": lambda: _client_error("InternalError", 500, "We encountered an internal error."),
    "access-denied": lambda: _client_error("AccessDenied", 403, "Access Denied"),
    "read-timeout": lambda: ReadTimeoutError(endpoint_url="https://sink.s3.amazonaws.com/logs"),
    "connection": lambda: EndpointConnectionError(endpoint_url="https://sink.s3.amazonaws.com"),
}


@dataclass
class FaultyS3:
    """The PutObject of an S3 client, over a dict; ``fail(call_number)`` returns the fault to raise."""

    fail: Callable[[int], Exception | None] = lambda _: None
    objects: dict[str, bytes] = field(default_factory=dict)
    calls: int = 0

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, **_: Any) -> dict[str, Any]:
        self.calls += 1
        fault = self.fail(self.calls)
        if fault is not None:
            raise fault
        self.objects[Key] = Body
        return {"ETag": '"0"'}


def user_record(number: int) -> bytes:
    """A countable fluentd-style JSON record; numbers alternate over three event hours."""
    return json.dumps({"id": number, "time": f"2026-01-01T{number % 3:02d}:30:00Z"}).encode()


def shard_stream(user_records: int, per_aggregate: int, plain_every: int = 0) -> list[dict[str, Any]]:
    """GetRecords-shaped records holding user records 0..n-1: KPL aggregates of per_aggregate user
    records, and every plain_every-th user record sent alone, not aggregated."""
    payloads: list[bytes] = []
    pending: list[bytes] = []
    for number in range(user_records):
        if plain_every and number % plain_every == plain_every - 1:
            payloads.append(user_record(number))
            continue
        pending.append(user_record(number))
        if len(pending) == per_aggregate:
            payloads += aggregate(pending)
            pending = []
    if pending:
        payloads += aggregate(pending)
    arrival = datetime(2026, 1, 1, 3, tzinfo=UTC)
    return [
        {
            "SequenceNumber": str(FIRST_SEQUENCE + index * 10**20),
            "Data": data,
            "PartitionKey": "pk",
            "ApproximateArrivalTimestamp": arrival,
        }
        for index, data in enumerate(payloads)
    ]


@dataclass
class Outcome:
    """Where every user record ended up."""

    in_s3: Counter[int]
    parked: Counter[int]
    dead_letters: int

    def lost(self, expected: Iterable[int]) -> list[int]:
        return [n for n in expected if n not in self.in_s3 and n not in self.parked]

    def doubled(self) -> list[int]:
        return sorted(n for n, count in self.in_s3.items() if count > 1)


def ids_in(records: list[dict[str, Any]]) -> list[int]:
    """The user record numbers in records of a Lambda event (aggregated or not), by aws-kinesis-agg
    (which passes a corrupt aggregate on as one record: it holds no countable user record)."""
    numbers = []
    for user in iter_deaggregate_records(records):
        data = base64.b64decode(user["kinesis"]["data"])
        if not data.startswith(MAGIC):
            numbers.append(json.loads(data)["id"])
    return numbers


def outcome(s3: FaultyS3, destination: MemoryDestination, prefix: str = SETTINGS.prefix) -> Outcome:
    in_s3: Counter[int] = Counter()
    for key, body in s3.objects.items():
        if key.startswith(prefix):
            in_s3.update(json.loads(line)["id"] for line in gzip.decompress(body).splitlines())
    parked: Counter[int] = Counter()
    for invocation_record in destination.records.values():
        parked.update(ids_in(json.loads(invocation_record["payload"])["Records"]))
    dead = sum(1 for key in s3.objects if key.startswith(SETTINGS.dead_letter_prefix))
    return Outcome(in_s3, parked, dead)


def run(
    records: list[dict[str, Any]],
    s3: FaultyS3,
    **mapping: Any,
) -> tuple[Outcome, MemoryDestination, Any]:
    """Deliver the shard's records through the stand-in event source mapping (module defaults
    unless overridden) to the handler's process_event writing with ``s3``."""
    destination = MemoryDestination()
    sink = S3Sink(SETTINGS.bucket, s3)

    def invoke(event: dict[str, Any]) -> Any:
        return process_event(event, SETTINGS, sink)[0]

    settings = {"batch_size": 100, "bisect_batch_on_function_error": True, "maximum_retry_attempts": 10}
    esm = EventSourceMapping(invoke, SHARD, destination=destination, **(settings | mapping))
    delivery = esm.consume(records)
    return outcome(s3, destination), destination, delivery
