"""Stand-ins for what moto does not run around a Kinesis consumer: the event source mapping that
reads shards and invokes the handler, and the fluentd/KPL producer side."""

from __future__ import annotations

import base64
import io
import json
import uuid as uuid_module
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from aws_kinesis_agg.aggregator import RecordAggregator

from devtools.moto_server import MotoServer
from logpipes.common.apache import parse_line

Invoke = Callable[[dict[str, Any]], dict[str, Any]]


# --- The event source mapping, as far as the handler can tell ---

# Lambda caps the payload of a synchronous invocation at 6 MB, and so the batches it reads.
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
# The bytes of a delivered record besides its base64 data (eventID, ARNs, sequence number...).
RECORD_OVERHEAD_BYTES = 600


class FunctionError(Exception):
    """What a test's invoke callable raises for a failed invocation (an error, a timeout)."""


# What _invoke returns when Lambda takes the invocation as a complete failure.
COMPLETE_FAILURE = "complete failure"


def lambda_record(record: dict[str, Any], shard_id: str, stream_arn: str, region: str) -> dict[str, Any]:
    """A GetRecords record in the shape Lambda's Kinesis event source mapping delivers it."""
    sequence = record["SequenceNumber"]
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": record["PartitionKey"],
            "sequenceNumber": sequence,
            "data": base64.b64encode(record["Data"]).decode(),
            "approximateArrivalTimestamp": round(record["ApproximateArrivalTimestamp"].timestamp(), 3),
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard_id}:{sequence}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": f"arn:aws:iam::{stream_arn.split(':')[4]}:role/esm",
        "awsRegion": region,
        "eventSourceARN": stream_arn,
    }


@dataclass
class Delivery:
    """What the stand-in event source mapping did."""

    invocations: int = 0
    records: int = 0  # records the mapping is done with: acknowledged, or given up on
    retries: int = 0
    bisections: int = 0
    given_up: list[str] = field(default_factory=list)  # first sequence numbers of abandoned batches
    shards: Counter[str] = field(default_factory=Counter)


class OnFailureDestination(Protocol):
    def send(self, key: str, invocation_record: dict[str, Any]) -> None: ...


@dataclass
class MemoryDestination:
    """An on-failure destination that keeps the invocation records, by object key."""

    records: dict[str, dict[str, Any]] = field(default_factory=dict)

    def send(self, key: str, invocation_record: dict[str, Any]) -> None:
        self.records[key] = invocation_record


@dataclass
class EventSourceMapping:
    """Lambda's event source mapping for one Kinesis shard, as the Lambda developer guide documents it.

    "Configuring partial batch response with Kinesis Data Streams and Lambda"
    (https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-batchfailurereporting.html):

    1. "by default Lambda checkpoints to the highest sequence number of a batch only when the batch
       is a complete success. Lambda treats all other results as a complete failure and retries
       processing the batch up to the retry limit."
    2. With ReportBatchItemFailures: "If the batchItemFailures array contains multiple items, Lambda
       uses the record with the lowest sequence number as the checkpoint. Lambda then retries all
       records starting from that checkpoint."
    3. An empty or null batchItemFailures list, or an empty or null response, is a complete
       success; an empty or null itemIdentifier, or one under a wrong key name, a complete failure.
       (An identifier that names no record of the batch is taken as a complete failure too.)
    4. "If the invocation fails and BisectBatchOnFunctionError is turned on, the batch is bisected
       regardless of your ReportBatchItemFailures setting."
    5. "When a partial batch success response is received and both BisectBatchOnFunctionError and
       ReportBatchItemFailures are turned on, the batch is bisected at the returned sequence number
       and Lambda retries only the remaining records." So with bisection on, a partial failure
       retries exactly the records of the batch from the checkpoint on (the whole batch when the
       first record is reported); with it off, Lambda reads again from the checkpoint, a batch of
       up to batch_size records that may reach past the failed one's end.

    "Retain discarded batch records for a Kinesis Data Streams event source in Lambda"
    (https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html):

    6. "If the function is invoked but returns an error, Lambda retries until the records expire,
       exceed the maximum age, or reach the configured retry quota (MaximumRetryAttempts)."
       BisectBatchOnFunctionError "splits a failed batch into two smaller batches ... Splitting
       batches doesn't consume the retry quota." Here both halves keep the batch's count of
       retries, the first half is processed first, and a batch of one record is not split.
    7. "If the error handling measures fail, Lambda discards the records and continues processing
       batches from the stream", sending the batch to the on-failure destination. "For Amazon S3
       destinations, Lambda also sends the entire invocation record along with the metadata", in
       an object named ``aws/lambda/<ESM-UUID>/<shardID>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<Random UUID>``.

    Record age (MaximumRecordAgeInSeconds) and the stream's retention are not simulated: records
    never expire here, so a failing batch ends at the retry quota. A retry counts every new attempt
    at a failed batch's records, after a complete failure or a partial one.
    """

    invoke: Invoke  # the handler: returns its response, or raises FunctionError (any exception)
    shard_id: str
    stream_arn: str = "arn:aws:kinesis:us-east-1:123456789012:stream/stand-in"
    batch_size: int = 100
    bisect_batch_on_function_error: bool = True
    maximum_retry_attempts: int = 10
    destination: OnFailureDestination | None = None
    uuid: str = field(default_factory=lambda: str(uuid_module.uuid4()))
    function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:stand-in"
    delivery: Delivery = field(default_factory=Delivery)

    def consume(self, records: list[dict[str, Any]]) -> Delivery:
        """Deliver every record (GetRecords-shaped: SequenceNumber, Data, PartitionKey,
        ApproximateArrivalTimestamp) of the shard, in order, until each is acknowledged or given up."""
        region = self.stream_arn.split(":")[3]
        events = [lambda_record(r, self.shard_id, self.stream_arn, region) for r in records]
        position = 0
        while position < len(events):
            batch = self._read(events, position)
            position = self._process(events, position, batch)
        return self.delivery

    def _read(self, events: list[dict[str, Any]], start: int) -> list[dict[str, Any]]:
        """A batch from ``start``: at most batch_size records and MAX_PAYLOAD_BYTES (at least one)."""
        batch: list[dict[str, Any]] = []
        size = 0
        for event in events[start : start + self.batch_size]:
            size += len(event["kinesis"]["data"]) + RECORD_OVERHEAD_BYTES
            if batch and size > MAX_PAYLOAD_BYTES:
                break
            batch.append(event)
        return batch

    def _process(self, events: list[dict[str, Any]], start: int, batch: list[dict[str, Any]]) -> int:
        """Retry and bisect the batch read at ``start`` until it is done; returns the next position."""
        # Pending batches of the stream's records, in order: [first index, records, retries so far].
        pending: list[tuple[int, list[dict[str, Any]], int]] = [(start, batch, 0)]
        end = start + len(batch)
        while pending:
            first, records, retries = pending.pop(0)
            outcome = self._invoke(records)
            if outcome is None:  # complete success: checkpoint at its last record
                self._done(records)
                continue
            if outcome == COMPLETE_FAILURE and self.bisect_batch_on_function_error and len(records) > 1:
                self.delivery.bisections += 1
                half = len(records) // 2
                pending[:0] = [(first, records[:half], retries), (first + half, records[half:], retries)]
                continue
            checkpoint = 0 if outcome == COMPLETE_FAILURE else outcome
            self._done(records[:checkpoint])
            remaining = records[checkpoint:]
            if retries >= self.maximum_retry_attempts:
                self._give_up(remaining, retries)
                continue
            self.delivery.retries += 1
            if outcome != COMPLETE_FAILURE and not self.bisect_batch_on_function_error:
                # Read again from the checkpoint: the new batch may reach past this one's end.
                reread = self._read(events, first + checkpoint)
                end = max(end, first + checkpoint + len(reread))
                pending.insert(0, (first + checkpoint, reread, retries + 1))
            else:
                pending.insert(0, (first + checkpoint, remaining, retries + 1))
        return end

    def _invoke(self, records: list[dict[str, Any]]) -> int | str | None:
        """None for a complete success; the index of the checkpoint for a partial failure;
        COMPLETE_FAILURE for a function error or a response that Lambda takes as one."""
        self.delivery.invocations += 1
        try:
            response = self.invoke({"Records": records})
        except Exception:  # any exception is a function error to Lambda
            return COMPLETE_FAILURE
        failures = (response or {}).get("batchItemFailures") or []
        if not failures:
            return None
        sequence_numbers = [r["kinesis"]["sequenceNumber"] for r in records]
        identifiers = [item.get("itemIdentifier") if isinstance(item, dict) else None for item in failures]
        if any(identifier not in sequence_numbers for identifier in identifiers):
            return COMPLETE_FAILURE
        return min(sequence_numbers.index(identifier) for identifier in identifiers)

    def _done(self, records: list[dict[str, Any]]) -> None:
        self.delivery.records += len(records)
        self.delivery.shards[self.shard_id] += len(records)

    def _give_up(self, records: list[dict[str, Any]], retries: int) -> None:
        if not records:
            return
        self._done(records)
        first, last = records[0]["kinesis"], records[-1]["kinesis"]
        self.delivery.given_up.append(first["sequenceNumber"])
        if self.destination is None:
            return
        now = datetime.now(UTC)
        invocation_record = {
            "requestContext": {
                "requestId": str(uuid_module.uuid4()),
                "functionArn": self.function_arn,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": retries + 1,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "version": "1.0",
            "timestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "KinesisBatchInfo": {
                "shardId": self.shard_id,
                "startSequenceNumber": first["sequenceNumber"],
                "endSequenceNumber": last["sequenceNumber"],
                "approximateArrivalOfFirstRecord": first["approximateArrivalTimestamp"],
                "approximateArrivalOfLastRecord": last["approximateArrivalTimestamp"],
                "batchSize": len(records),
                "streamArn": self.stream_arn,
            },
            "payload": json.dumps({"Records": records}),
        }
        key = (
            f"aws/lambda/{self.uuid}/{self.shard_id}/{now:%Y/%m/%d}/"
            f"{now:%Y-%m-%dT%H.%M.%S}-{uuid_module.uuid4()}"
        )
        self.destination.send(key, invocation_record)


def shard_records(kinesis: Any, stream_name: str, shard_id: str) -> list[dict[str, Any]]:
    """Every record of a shard, from TRIM_HORIZON, with GetRecords."""
    iterator = kinesis.get_shard_iterator(
        StreamName=stream_name, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records: list[dict[str, Any]] = []
    while True:
        response = kinesis.get_records(ShardIterator=iterator, Limit=10_000)
        if not response["Records"]:
            return records
        records += response["Records"]
        iterator = response["NextShardIterator"]


def deliver(
    kinesis: Any,
    stream_name: str,
    invoke: Invoke,
    batch_size: int = 100,
    max_retries: int = 2,
    bisect: bool = True,
    destination: OnFailureDestination | None = None,
) -> Delivery:
    """Read every shard of a (moto) stream and deliver its records to ``invoke`` as the event
    source mapping would (EventSourceMapping), one shard after the other."""
    stream_arn = kinesis.describe_stream_summary(StreamName=stream_name)["StreamDescriptionSummary"][
        "StreamARN"
    ]
    delivery = Delivery()
    for shard in kinesis.list_shards(StreamName=stream_name)["Shards"]:
        mapping = EventSourceMapping(
            invoke,
            shard["ShardId"],
            stream_arn=stream_arn,
            batch_size=batch_size,
            bisect_batch_on_function_error=bisect,
            maximum_retry_attempts=max_retries,
            destination=destination,
            delivery=delivery,
        )
        mapping.consume(shard_records(kinesis, stream_name, shard["ShardId"]))
    return delivery


def let_moto_accept_records(moto: MotoServer, function_name: str) -> None:
    """Work around moto 5.2.5: it runs the Lambda of a Kinesis event source mapping on every
    PutRecord(s), and for an image function (no code digest, no runtime in moto) that fails the put
    with a 500. Given a placeholder zip package and runtime, moto's attempt fails quietly instead,
    for want of a Docker engine. ``deliver`` runs the real handler."""
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("placeholder.py", "")
    client = moto.client("lambda")
    client.update_function_code(FunctionName=function_name, ZipFile=package.getvalue())
    client.update_function_configuration(
        FunctionName=function_name, Runtime="python3.12", Handler="placeholder.handler"
    )


# --- The producer, as td-agent's kinesis_streams_aggregated would send ---


def fluentd_json(line: str) -> bytes:
    """What fluentd's apache2 parser, the JSON formatter and <inject> time_key time send for a line
    (the Kinesis plugin's default time format, %Y-%m-%dT%H:%M:%S.%N%z)."""
    record = parse_line(line)
    offset = record.time[19:].replace(":", "")
    document = {
        "host": record.host,
        "user": record.user,
        "method": record.method,
        "path": record.path,
        "code": record.status,
        "size": record.size,
        "referer": record.referer,
        "agent": record.agent,
        "time": f"{record.time[:19]}.000000000{offset}",
    }
    return json.dumps(document, separators=(",", ":")).encode()


def aggregates(user_records: list[bytes], max_bytes: int = 51_200) -> Iterator[bytes]:
    """KPL aggregated records of at most max_bytes (the KPL's default size) with aws-kinesis-agg."""
    aggregator = RecordAggregator(max_size=max_bytes)
    for data in user_records:
        full = aggregator.add_user_record("fluentd", data)
        if full is not None:
            yield full.get_contents()[2]
    if aggregator.get_num_user_records():
        yield aggregator.clear_and_get().get_contents()[2]
