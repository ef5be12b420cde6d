"""Stand-ins for what moto does not run around a Kinesis consumer: the event source mapping that
reads shards and invokes the handler, and the fluentd/KPL producer side."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aws_kinesis_agg.aggregator import RecordAggregator

from devtools.moto_server import MotoServer
from logpipes.common.apache import parse_line

Invoke = Callable[[dict[str, Any]], dict[str, Any]]


# --- The event source mapping, as far as the handler can tell ---


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
    records: int = 0
    retries: int = 0
    given_up: list[str] = field(default_factory=list)  # first sequence numbers of abandoned batches
    shards: Counter[str] = field(default_factory=Counter)


def deliver(
    kinesis: Any, stream_name: str, invoke: Invoke, batch_size: int = 100, max_retries: int = 2
) -> Delivery:
    """Read every shard from TRIM_HORIZON in batches of at most batch_size records, invoke the
    handler with each batch, and, on a partial failure response, read again from the lowest
    reported sequence number (up to max_retries times, then skip the batch as Lambda does)."""
    summary = kinesis.describe_stream_summary(StreamName=stream_name)["StreamDescriptionSummary"]
    stream_arn, region = summary["StreamARN"], summary["StreamARN"].split(":")[3]
    delivery = Delivery()
    for shard in kinesis.list_shards(StreamName=stream_name)["Shards"]:
        shard_id = shard["ShardId"]
        position: dict[str, str] = {"ShardIteratorType": "TRIM_HORIZON"}
        attempts = 0
        while True:
            iterator = kinesis.get_shard_iterator(StreamName=stream_name, ShardId=shard_id, **position)
            records = kinesis.get_records(ShardIterator=iterator["ShardIterator"], Limit=batch_size)[
                "Records"
            ]
            if not records:
                break
            event = {"Records": [lambda_record(r, shard_id, stream_arn, region) for r in records]}
            response = invoke(event)
            delivery.invocations += 1
            failures = [item["itemIdentifier"] for item in (response or {}).get("batchItemFailures", [])]
            if failures and attempts < max_retries:
                attempts += 1
                delivery.retries += 1
                checkpoint = min(failures, key=int)
                position = {"ShardIteratorType": "AT_SEQUENCE_NUMBER", "StartingSequenceNumber": checkpoint}
                acknowledged = sum(int(r["SequenceNumber"]) < int(checkpoint) for r in records)
                delivery.records += acknowledged
                delivery.shards[shard_id] += acknowledged
                continue
            if failures:
                delivery.given_up.append(records[0]["SequenceNumber"])
            delivery.records += len(records)
            delivery.shards[shard_id] += len(records)
            attempts = 0
            position = {
                "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
                "StartingSequenceNumber": records[-1]["SequenceNumber"],
            }
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
