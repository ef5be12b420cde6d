"""The Plan step against S3 (moto): chunk lists for plain and gzip objects, by keys or by prefix."""

from __future__ import annotations

import dataclasses
import gzip
import json
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devtools.moto_server import MotoServer
from logpipes.es_bulk_loader import objects
from logpipes.es_bulk_loader.plan import InvalidRequest, parse_request, plan
from logpipes.es_bulk_loader.settings import PlanSettings

pytestmark = pytest.mark.moto

BUCKET = "nasa-logs"
SETTINGS = PlanSettings(
    source_bucket=BUCKET,
    work_bucket=BUCKET,
    work_prefix="loader/work/",
    chunk_bytes=64 * 1024,
    default_index_pattern="nasa-logs-%Y.%m.%d",
    excluded_prefixes=("loader/work/", "loader/dead-letter/"),
)


def chunk_bytes_of(s3: Any, chunk: dict[str, Any]) -> bytes:
    return b"".join(
        objects.stream(s3, chunk["chunk_bucket"], chunk["chunk_key"], chunk["start"], chunk["end"])
    )


@pytest.fixture
def s3(aws: MotoServer) -> Any:
    client = aws.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


def test_plain_and_gzip_objects_are_cut_into_chunks_that_hold_every_line_once(
    s3: Any, shared_data: Path
) -> None:
    aug = (shared_data / "nasa_http" / "NASA_access_log_Aug95.first20000.log").read_bytes()
    crlf = (shared_data / "nasa_http" / "variants" / "apache.access.log_small.CRLF.log").read_bytes()
    s3.put_object(Bucket=BUCKET, Key="raw/Aug95.log", Body=aug)
    s3.put_object(Bucket=BUCKET, Key="raw/Aug95.gz", Body=gzip.compress(aug))  # same content, gzip
    s3.put_object(Bucket=BUCKET, Key="raw/small-crlf.log", Body=crlf)
    s3.put_object(Bucket=BUCKET, Key="raw/empty.log", Body=b"")

    request = parse_request({"bucket": BUCKET, "prefix": "raw/"}, "exec-1", SETTINGS)
    planned = plan(s3, request, SETTINGS)

    files = {f["key"]: f for f in planned["files"]}
    assert set(files) == {"raw/Aug95.log", "raw/Aug95.gz", "raw/small-crlf.log", "raw/empty.log"}
    assert files["raw/Aug95.gz"]["gzip"] and not files["raw/Aug95.log"]["gzip"]
    assert files["raw/empty.log"]["chunks"] == 0
    manifest = planned["manifest"]
    chunks = json.loads(s3.get_object(Bucket=manifest["bucket"], Key=manifest["key"])["Body"].read())
    assert manifest["key"] == "loader/work/manifests/exec-1.json" and len(chunks) == planned["chunks"]

    by_file: dict[str, list[dict[str, Any]]] = {}
    for chunk in chunks:
        by_file.setdefault(chunk["key"], []).append(chunk)
    for key, original in (("raw/Aug95.log", aug), ("raw/Aug95.gz", aug), ("raw/small-crlf.log", crlf)):
        pieces = sorted(by_file[key], key=lambda c: c["offset"])
        # Every chunk but the last is at least 64 KiB, and ends at the first line end after that.
        assert len(pieces) == files[key]["chunks"]
        assert len(original) // (64 * 1024 + 500) <= len(pieces) <= -(-len(original) // (64 * 1024))
        contents = [chunk_bytes_of(s3, c) for c in pieces]
        assert b"".join(contents) == original
        assert [c["offset"] for c in pieces] == [sum(map(len, contents[:i])) for i in range(len(contents))]
        assert all(piece.endswith(b"\n") for piece in contents)
        assert all(c["index_pattern"] == "nasa-logs-%Y.%m.%d" and c["bucket"] == BUCKET for c in pieces)
    # Plain objects are read in place, by byte range; gzip objects were decompressed into chunk objects.
    assert {c["chunk_key"] for c in by_file["raw/Aug95.log"]} == {"raw/Aug95.log"}
    assert all(c["chunk_key"].startswith("loader/work/chunks/exec-1/") for c in by_file["raw/Aug95.gz"])
    assert [(c["offset"], c["end"] - c["start"]) for c in by_file["raw/Aug95.gz"]] == [
        (c["offset"], c["end"] - c["start"]) for c in by_file["raw/Aug95.log"]
    ]


def test_planning_a_prefix_skips_the_loaders_own_objects(s3: Any) -> None:
    line = b'h - - [01/Jul/1995:00:00:01 -0400] "GET / HTTP/1.0" 200 1\n'
    for key in ("a.log", "loader/work/chunks/old/1.log", "loader/dead-letter/x.ndjson", "folder/"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=line if not key.endswith("/") else b"")
    planned = plan(s3, parse_request({"bucket": BUCKET, "prefix": ""}, "e", SETTINGS), SETTINGS)
    assert [f["key"] for f in planned["files"]] == ["a.log"]


def test_explicit_keys_and_the_index_pattern_come_from_the_input(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="x.log", Body=b"one line without a newline")
    request = parse_request(
        {"bucket": BUCKET, "keys": ["x.log"], "index_pattern": "web-%Y.%m"}, "e", SETTINGS
    )
    planned = plan(s3, request, SETTINGS)
    assert planned["index_pattern"] == "web-%Y.%m" and planned["chunks"] == 1


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"bucket": "other-bucket", "keys": ["a"]}, "bucket must be 'nasa-logs'"),
        ({"bucket": BUCKET}, "exactly one of"),
        ({"bucket": BUCKET, "keys": ["a"], "prefix": "p"}, "exactly one of"),
        ({"bucket": BUCKET, "keys": []}, "non-empty list"),
        ({"bucket": BUCKET, "keys": "a.log"}, "non-empty list"),
        ({"bucket": BUCKET, "prefix": 3}, "must be a string"),
        ({"bucket": BUCKET, "prefix": "", "index_pattern": "UPPER-%Y"}, "index pattern"),
    ],
)
def test_bad_requests_are_refused_with_the_reason(event: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        parse_request(event, "e", SETTINGS)


def test_missing_objects_fail_the_plan(s3: Any) -> None:
    with pytest.raises(s3.exceptions.ClientError, match=r"404|Not Found"):
        plan(s3, parse_request({"bucket": BUCKET, "keys": ["nope.log"]}, "e", SETTINGS), SETTINGS)


def test_an_execution_started_by_the_s3_trigger_loads_the_new_object(s3: Any, shared_data: Path) -> None:
    """The execution input is EventBridge's "Object Created" event, whose key is URL-encoded."""
    event_file = (
        shared_data
        / "lambda_events"
        / "powertools-lambda-python"
        / "s3EventBridgeNotificationObjectCreatedEvent.json"
    )
    event = json.loads(event_file.read_text())
    event["detail"]["bucket"]["name"] = BUCKET
    event["detail"]["object"]["key"] = "incoming/access+log+%281%29.log"
    s3.put_object(Bucket=BUCKET, Key="incoming/access log (1).log", Body=b"one line\n")

    request = parse_request(event, "e", SETTINGS)

    assert (request.keys, request.index_pattern) == (("incoming/access log (1).log",), "nasa-logs-%Y.%m.%d")
    assert plan(s3, request, SETTINGS)["chunks"] == 1


MIB = 1024 * 1024
# plan.py's documented bound with 1 MiB chunks: an 8 MiB upload part, botocore's copy of it while it
# is sent, and a few 1 MiB read/inflate blocks.
PLAN_MEMORY_BOUND = 24 * MIB


def peak_python_memory(run: Callable[[], object]) -> int:
    """Peak bytes allocated by Python (objects, bytes buffers, zlib output) while ``run`` runs."""
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("key", "body"),
    [
        ("bomb-no-newline.gz", gzip.compress(b"\0" * (48 * MIB), 9)),  # ~48 KB that inflate to 48 MiB
        ("bomb-newlines.gz", gzip.compress(b"\n" * (48 * MIB), 9)),  # 48 Mi empty lines
        ("one-line.log", b"x" * (48 * MIB)),  # a plain object that is a single line
    ],
)
def test_planning_memory_is_bounded_by_the_chunk_size_whatever_the_object_holds(
    s3: Any, key: str, body: bytes
) -> None:
    """Defect 9: the plan step held the whole inflated object (and a copy of it) in memory."""
    settings = dataclasses.replace(SETTINGS, chunk_bytes=1 * MIB)
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    del body
    planned: dict[str, Any] = {}
    peak = peak_python_memory(
        lambda: planned.update(
            plan(s3, parse_request({"bucket": BUCKET, "keys": [key]}, "e", settings), settings)
        )
    )

    print(f"plan {key}: peak {peak / MIB:.1f} MiB")
    assert peak < PLAN_MEMORY_BOUND, f"peak {peak / MIB:.1f} MiB"
    (file,) = planned["files"]
    manifest = planned["manifest"]
    chunks = json.loads(s3.get_object(Bucket=manifest["bucket"], Key=manifest["key"])["Body"].read())
    # Nothing was lost on the way: the chunks still tile the 48 MiB of content.
    assert sum(c["end"] - c["start"] for c in chunks) == 48 * MIB
    assert file["chunks"] == len(chunks) == (48 if key == "bomb-newlines.gz" else 1)
