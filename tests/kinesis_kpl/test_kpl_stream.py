"""Records put into a Kinesis stream on moto, read back the way the event source mapping delivers
them (demo.kinesis_kpl.deliver), through the handler, into S3."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools.kinesis import aggregates, deliver, fluentd_json
from devtools.lambda_runtime import FakeLambdaContext
from devtools.moto_server import MotoServer
from logpipes.common.apache import parse_line
from logpipes.kinesis_kpl import app, handler
from logpipes.kinesis_kpl import batch as batch_module
from logpipes.kinesis_kpl.records import METADATA_KEYS, decode

from .kinesis_events import json_lines

pytestmark = pytest.mark.moto

POISON = b"a user record that fails once"
NASA_AUG = "nasa_http/NASA_access_log_Aug95.first20000.log"
NASA_JUL = "nasa_http/NASA_access_log_Jul95.first2000.log"
ELASTIC = "apache_combined/elastic-examples_apache_logs.log"
METADATA_NULLS = dict.fromkeys(METADATA_KEYS)


@pytest.fixture
def stream(aws: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A 2-shard stream and a sink bucket on moto; the handler's settings point at the bucket."""
    app._s3_client.cache_clear()  # a client for this test's moto environment
    aws.client("kinesis").create_stream(StreamName="web", ShardCount=2)
    aws.client("s3").create_bucket(Bucket="sink")
    monkeypatch.setenv("SINK_BUCKET", "sink")
    monkeypatch.setenv("SINK_PREFIX", "apache/")
    yield "web"
    app._s3_client.cache_clear()


def put(aws: MotoServer, stream: str, blobs: list[bytes]) -> None:
    kinesis = aws.client("kinesis")
    for index, blob in enumerate(blobs):
        kinesis.put_record(StreamName=stream, Data=blob, PartitionKey=f"producer-{index}")


def written(aws: MotoServer) -> list[dict[str, Any]]:
    s3 = aws.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="sink", Prefix="apache/").get("Contents", [])]
    return [doc for key in keys for doc in json_lines(s3.get_object(Bucket="sink", Key=key)["Body"].read())]


def origin(doc: dict[str, Any]) -> tuple[str, str, int | None]:
    # moto numbers each shard's records from 1: a record is known by its shard and sequence number.
    return doc["kinesis_shard_id"], doc["kinesis_sequence_number"], doc["kinesis_sub_sequence_number"]


def in_process(context: FakeLambdaContext) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda event: handler(event, context)


def test_stream_records_end_up_in_s3(
    aws: MotoServer, stream: str, shared_data: Path, lambda_context: FakeLambdaContext
) -> None:
    nasa = (shared_data / NASA_AUG).read_bytes().splitlines(keepends=True)[:3000]
    elastic = (shared_data / ELASTIC).read_text().splitlines()[:500]
    fluentd = [fluentd_json(line) for line in elastic]
    blobs = [*aggregates(nasa), *aggregates(fluentd), b"plain text, not aggregated"]
    put(aws, stream, blobs)

    delivery = deliver(aws.client("kinesis"), stream, in_process(lambda_context), batch_size=3)

    assert delivery.records == len(blobs) and delivery.given_up == [] and len(delivery.shards) == 2
    assert delivery.invocations >= 3  # batches of at most 3 records
    docs = written(aws)
    assert len(docs) == len(nasa) + len(fluentd) + 1
    parsed = [parse_line(line.decode()) for line in nasa]
    from_nasa = [d for d in docs if d.get("time", "").startswith("1995-")]
    assert sorted(
        (d["time"], d["request"] if d["method"] is None else d["path"]) for d in from_nasa
    ) == sorted((r.time, r.request if r.method is None else r.path) for r in parsed)
    from_fluentd = [d for d in docs if d.get("time", "").startswith("2015-")]
    assert sorted(json.dumps(d | METADATA_NULLS, sort_keys=True) for d in from_fluentd) == sorted(
        json.dumps(json.loads(data) | METADATA_NULLS, sort_keys=True) for data in fluentd
    )
    assert {d["kinesis_shard_id"] for d in docs} == set(delivery.shards)
    assert [d["message"] for d in docs if "message" in d] == ["plain text, not aggregated"]
    assert len(set(map(origin, docs))) == len(docs)


def test_partial_failure_is_redelivered_from_the_failed_record(
    aws: MotoServer,
    stream: str,
    shared_data: Path,
    lambda_context: FakeLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    failures = [1]

    def decode_failing_once(data: bytes) -> tuple[str, str | None, str]:
        if data == POISON and failures[0]:
            failures[0] -= 1
            raise RuntimeError("transient failure")
        return decode(data)

    monkeypatch.setattr(batch_module, "decode", decode_failing_once)
    lines = (
        (shared_data / "nasa_http/NASA_access_log_Jul95.first2000.log").read_bytes().splitlines(True)[:400]
    )
    blobs = list(aggregates([*lines[:200], POISON, *lines[200:]], max_bytes=4000))
    kinesis = aws.client("kinesis")
    for blob in blobs:  # one shard, so that the poison sits in the middle of a batch
        kinesis.put_record(StreamName=stream, Data=blob, PartitionKey="one", ExplicitHashKey="0")

    delivery = deliver(kinesis, stream, in_process(lambda_context), batch_size=100)

    assert delivery.retries == 1 and delivery.given_up == [] and delivery.records == len(blobs)
    docs = written(aws)
    assert len(docs) == len(lines) + 1  # every record exactly once, the poison included
    assert len(set(map(origin, docs))) == len(docs)
    assert sum(d.get("message") == POISON.decode() for d in docs) == 1
