"""The fault matrix of the Load step: every S3 and ``_bulk`` call fails in turn, then Step Functions
retries the chunk as the state machine's definition says, and every input line is accounted for.

Each case plans a real file (NASA-HTTP lines, plus unparsable, blank and one over-long line), plain
and gzip, runs every chunk through the real ``handler`` the way the Distributed Map does (re-invoking
it when the error matches LoadChunk's ``Retry``, up to its ``MaxAttempts``), then audits every
non-blank input line by its ``_id``:

- indexed: stored once in the stub (ids are deterministic: a re-run overwrites, it cannot double);
- parked: in the chunk's dead-letter objects, with its data (the document, or the line's bytes);
- in a failed chunk: the chunk failed after the retries, the line is in the source object only,
  and the execution fails (the ``executions-failed`` alarm);
- lost: none of those. Doubled: stored under more than one (index, id), or indexed and parked.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError, ResponseStreamingError

from devtools.lambda_runtime import FakeLambdaContext
from devtools.moto_server import MotoServer
from devtools.opensearch_stub import OpenSearchStub
from logpipes.es_bulk_loader import bulk, handlers, objects
from logpipes.es_bulk_loader.documents import document_id
from logpipes.es_bulk_loader.opensearch import OpenSearchHttp
from logpipes.es_bulk_loader.plan import parse_request, plan
from logpipes.es_bulk_loader.settings import PlanSettings

pytestmark = pytest.mark.moto

REPO = Path(__file__).resolve().parents[2]
BUCKET = "logs"
DEAD_LETTER_PREFIX = "loader/dead-letter/"
CHUNK_BYTES = 32 * 1024
BULK_BYTES = 16 * 1024
SETTINGS = PlanSettings(
    source_bucket=BUCKET,
    work_bucket=BUCKET,
    work_prefix="loader/work/",
    chunk_bytes=CHUNK_BYTES,
    default_index_pattern="nasa-logs-%Y.%m.%d",
    excluded_prefixes=("loader/",),
)


# -- Step Functions' retry of the chunk, read from the module's definition ---------------------------
def load_chunk_retriers() -> list[tuple[frozenset[str], int]]:
    """(ErrorEquals, MaxAttempts) of every Retry of the LoadChunk state, in order."""
    source = (REPO / "modules" / "es-bulk-loader" / "state_machine.tf").read_text()
    rule = r"ErrorEquals\s*=\s*\[(?P<errors>[^\]]*)\].*?MaxAttempts\s*=\s*(?P<max>\d+)"

    def retrier(text: str) -> tuple[frozenset[str], int]:
        found = re.search(rule, text, re.S)
        assert found is not None, text
        return frozenset(re.findall(r'"([^"]+)"', found["errors"])), int(found["max"])

    lambda_retry = re.search(r"lambda_retry = \{(.*?)\n  \}", source, re.S)
    load_chunk = re.search(r"LoadChunk = \{.*?Retry = \[(.*?)\n\s*\]", source, re.S)
    assert lambda_retry is not None and load_chunk is not None
    entries = re.findall(r"local\.lambda_retry|\{[^{}]*\}", re.sub(r"#[^\n]*", "", load_chunk[1]))
    return [retrier(lambda_retry[1] if entry == "local.lambda_retry" else entry) for entry in entries]


RETRIERS = load_chunk_retriers()


def test_the_definition_retries_the_error_the_load_step_raises_for_transient_faults() -> None:
    assert (frozenset({"BulkUnavailable"}), 3) in RETRIERS


@dataclass
class ChunkRun:
    result: dict[str, Any] | None
    error: str | None  # the error of the last invocation, when the chunk failed for good
    invocations: int


def run_as_step_functions(chunk: dict[str, Any]) -> ChunkRun:
    """Invoke the Load handler for one Map item, retrying as LoadChunk's Retry rules say."""
    used = Counter[int]()
    invocations = 0
    while True:
        invocations += 1
        try:
            return ChunkRun(handlers.handler(chunk, FakeLambdaContext()), None, invocations)
        except Exception as error:  # any error fails the task, as in Lambda
            name = type(error).__name__
            matching = [
                i for i, (errors, _) in enumerate(RETRIERS) if name in errors or "States.ALL" in errors
            ]
            if not matching or used[matching[0]] >= RETRIERS[matching[0]][1]:
                return ChunkRun(None, name, invocations)
            used[matching[0]] += 1


# -- S3 faults -------------------------------------------------------------------------------------------
def client_error(code: str, status: int, operation: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "injected"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        operation,
    )


class BrokenBody:
    """A GetObject body whose connection drops after the first block."""

    def __init__(self, body: Any) -> None:
        self.body = body

    def iter_chunks(self, size: int) -> Iterator[bytes]:
        blocks = self.body.iter_chunks(min(size, 4096))
        yield next(blocks)
        raise ResponseStreamingError(error="Connection broken: IncompleteRead")

    def close(self) -> None:
        self.body.close()


@dataclass
class FaultyS3:
    """The moto client, with the next calls of chosen operations failing (``faults[operation]``)."""

    client: Any
    faults: dict[str, list[BaseException | str]] = field(default_factory=dict)
    injected: Counter[str] = field(default_factory=Counter)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.client, name)
        if not callable(attribute) or name.startswith("get_paginator"):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            queue = self.faults.get(name)
            if queue:
                fault = queue.pop(0)
                self.injected[name] += 1
                if fault == "break-stream":
                    response = attribute(*args, **kwargs)
                    return {**response, "Body": BrokenBody(response["Body"])}
                assert isinstance(fault, BaseException)
                raise fault
            return attribute(*args, **kwargs)

        return call


# -- the data and the audit -------------------------------------------------------------------------------
def input_object(shared_data: Path) -> bytes:
    nasa = (shared_data / "nasa_http" / "NASA_access_log_Jul95.first2000.log").read_bytes()
    lines = nasa.splitlines(keepends=True)[:800]
    long_line = (
        b'host - - [01/Jul/1995:00:00:09 -0400] "GET /' + b"z" * (BULK_BYTES + 5000) + b' HTTP/1.0" 200 1\n'
    )
    return b"".join(
        [
            *lines[:400],
            b"\n",
            b"not an apache line \xff\xfe\n",
            long_line,
            b"   \r\n",
            *lines[400:],
            b"last, no newline",
        ]
    )


def expected_lines(data: bytes, key: str) -> dict[str, bytes]:
    """{_id: raw line} of every line the loader must account for (blank ones are skipped)."""
    lines, offset = {}, 0
    for raw in data.split(b"\n"):
        if raw.strip():
            lines[document_id(BUCKET, key, offset)] = raw
        offset += len(raw) + 1
    return lines


def line_text(raw: bytes) -> str:
    text = raw.decode("utf-8", "backslashreplace")
    return text[:-1] if text.endswith("\r") else text


@dataclass
class Audit:
    lines: int = 0
    indexed: int = 0
    parked: int = 0
    in_failed_chunks: int = 0
    lost: int = 0
    doubled: int = 0
    reindexed: int = 0  # stored with version > 1: a retry overwrote it (never a second copy)

    def row(self) -> str:
        return " ".join(f"{name}={value}" for name, value in self.__dict__.items())


def audit(
    s3: Any,
    stub: OpenSearchStub,
    files: dict[str, bytes],
    runs: dict[tuple[str, int], ChunkRun],
    chunks: list[dict[str, Any]],
) -> Audit:
    stored = Counter(doc_id for _, doc_id in stub.all_documents())
    versions = {doc_id: doc.version for docs in stub.indices.values() for doc_id, doc in docs.items()}
    parked: Counter[str] = Counter()
    listing = s3.list_objects_v2(Bucket=BUCKET, Prefix=DEAD_LETTER_PREFIX).get("Contents", [])
    expected = {key: expected_lines(data, key) for key, data in files.items()}
    for item in listing:
        if not item["Key"].endswith(".ndjson"):
            continue
        for line in s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read().splitlines():
            record = json.loads(line)
            raw = expected[record["key"]][record["id"]]
            if "line_object" in record:  # an over-long line: its exact bytes in an object of its own
                bucket, _, key = record["line_object"].removeprefix("s3://").partition("/")
                assert s3.get_object(Bucket=bucket, Key=key)["Body"].read().rstrip(b"\n") == raw
            else:
                assert record["document"]["message"] == line_text(raw), "parked without its data"
            parked[record["id"]] += 1
    failed_ids = set()
    for chunk in chunks:
        if runs[(chunk["key"], chunk["offset"])].error is not None:
            size = chunk["end"] - chunk["start"]
            failed_ids |= {
                doc_id
                for doc_id in expected[chunk["key"]]
                if chunk["offset"] <= int(doc_id[20:]) < chunk["offset"] + size
            }
    result = Audit()
    for lines in expected.values():
        for doc_id in lines:
            result.lines += 1
            count = stored[doc_id] + parked[doc_id]
            result.indexed += stored[doc_id] == 1
            result.parked += parked[doc_id] == 1
            result.doubled += count > 1
            result.reindexed += versions.get(doc_id, 1) > 1
            if count == 0:
                if doc_id in failed_ids:
                    result.in_failed_chunks += 1
                else:
                    result.lost += 1
    all_expected = set().union(*expected.values())
    assert set(stored) <= all_expected, "documents that are no input line"
    return result


# -- the cases --------------------------------------------------------------------------------------------
ALL = 10**6
Fault = Callable[[FaultyS3, OpenSearchStub], None]


def s3_faults(operation: str, *faults: BaseException | str) -> Fault:
    def inject(s3: FaultyS3, stub: OpenSearchStub) -> None:
        s3.faults[operation] = list(faults)

    return inject


def rejected(index: str, doc_id: str | None, source: dict[str, Any] | None) -> bool:
    """The documents a mapping refuses every time (so a retried chunk dead-letters them again)."""
    return doc_id is not None and int(doc_id[20:]) % 41 == 0


def reject_some(s3: FaultyS3, stub: OpenSearchStub) -> None:
    stub.inject_item_errors(400, "mapper_parsing_exception", count=ALL, matches=rejected)


def with_item_rejections(fault: Fault) -> Fault:
    """Make some documents dead letters too, so that the dead-letter PutObject happens."""

    def inject(s3: FaultyS3, stub: OpenSearchStub) -> None:
        reject_some(s3, stub)
        fault(s3, stub)

    return inject


def stub_fault(method: str, *args: Any, **kwargs: Any) -> Fault:
    def inject(s3: FaultyS3, stub: OpenSearchStub) -> None:
        getattr(stub, method)(*args, **kwargs)

    return inject


def cap_requests(s3: FaultyS3, stub: OpenSearchStub) -> None:
    stub.max_content_length = 6 * 1024  # below BULK_BYTES: every full request is split


def slow_beyond_the_timeout(s3: FaultyS3, stub: OpenSearchStub) -> None:
    stub.inject_slow_responses(1.5, count=2)  # applied, but the answer comes after the read timeout


NO_ANSWER = ReadTimeoutError(endpoint_url="https://s3.amazonaws.com/logs")
# (name, fault, chunks expected to fail after Step Functions' retries, lines expected parked)
CASES: list[tuple[str, Fault, bool, str]] = [
    ("none", lambda s3, stub: None, False, "long"),
    (
        "GetObject SlowDown 503",
        s3_faults("get_object", client_error("SlowDown", 503, "GetObject")),
        False,
        "long",
    ),
    (
        "GetObject 500",
        s3_faults("get_object", *[client_error("InternalError", 500, "GetObject")] * 3),
        False,
        "long",
    ),
    ("GetObject timeout", s3_faults("get_object", NO_ANSWER, NO_ANSWER), False, "long"),
    ("GetObject drops mid-body", s3_faults("get_object", "break-stream", "break-stream"), False, "long"),
    (
        "GetObject AccessDenied",
        s3_faults("get_object", *[client_error("AccessDenied", 403, "GetObject")] * ALL),
        True,
        "none",
    ),
    (
        "GetObject throttled past the retries",
        s3_faults("get_object", *[client_error("SlowDown", 503, "GetObject")] * ALL),
        True,
        "none",
    ),
    (
        "PutObject SlowDown 503",
        with_item_rejections(s3_faults("put_object", client_error("SlowDown", 503, "PutObject"))),
        False,
        "long+rejected",
    ),
    (
        "PutObject 500",
        with_item_rejections(s3_faults("put_object", client_error("InternalError", 500, "PutObject"))),
        False,
        "long+rejected",
    ),
    ("PutObject timeout", with_item_rejections(s3_faults("put_object", NO_ANSWER)), False, "long+rejected"),
    (
        "PutObject AccessDenied",
        with_item_rejections(
            s3_faults("put_object", *[client_error("AccessDenied", 403, "PutObject")] * ALL)
        ),
        True,
        "none",
    ),
    (
        "UploadPartCopy SlowDown 503",
        s3_faults("upload_part_copy", client_error("SlowDown", 503, "UploadPartCopy")),
        False,
        "long",
    ),
    ("_bulk 429 x3", stub_fault("inject_request_errors", 429, count=3), False, "long"),
    ("_bulk 500 x3", stub_fault("inject_request_errors", 500, count=3), False, "long"),
    ("_bulk 503 x3", stub_fault("inject_request_errors", 503, count=3), False, "long"),
    ("_bulk 503 always", stub_fault("inject_request_errors", 503, count=ALL), False, "all"),
    ("_bulk 413 (cap below BULK_BYTES)", cap_requests, False, "long"),
    ("_bulk disconnects x3", stub_fault("inject_disconnects", 3), False, "long"),
    ("_bulk answers after the timeout", slow_beyond_the_timeout, False, "long"),
    ("_bulk items 400", reject_some, False, "long+rejected"),
    (
        "_bulk items 429 x2",
        stub_fault("inject_item_errors", 429, "es_rejected_execution_exception", count=2 * 40),
        False,
        "long",
    ),
    (
        "_bulk items 503 always",
        stub_fault("inject_item_errors", 503, "unavailable_shards_exception", count=ALL),
        False,
        "all",
    ),
]


@pytest.fixture
def environment(
    aws: MotoServer, stub: OpenSearchStub, http: OpenSearchHttp, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FaultyS3]:
    s3 = FaultyS3(aws.client("s3"))
    s3.client.create_bucket(Bucket=BUCKET)
    monkeypatch.setattr(handlers, "_s3", lambda: s3)
    monkeypatch.setattr(handlers, "_opensearch", lambda: http)
    monkeypatch.setattr(bulk, "READ_TIMEOUT", 1.0)  # so that "answers after the timeout" is quick
    monkeypatch.setattr(
        handlers, "BulkClient", partial(bulk.BulkClient, backoff=bulk.Backoff(base_seconds=0.001))
    )
    # Small reads: the over-long line spans blocks, as a line over BULK_BYTES (5 MiB) always does.
    monkeypatch.setattr(objects, "READ_BLOCK", 4096)
    for name, value in {
        "DEAD_LETTER_BUCKET": BUCKET,
        "DEAD_LETTER_PREFIX": DEAD_LETTER_PREFIX,
        "BULK_BYTES": str(BULK_BYTES),
        "BULK_MAX_ATTEMPTS": "4",
    }.items():
        monkeypatch.setenv(name, value)
    level = handlers.logger.log_level
    handlers.logger.setLevel("WARNING")  # one "chunk loaded" line per invocation would drown the output
    yield s3
    handlers.logger.setLevel(level)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "fault", "chunks_fail", "parked"), CASES, ids=[c[0] for c in CASES])
def test_every_line_is_indexed_once_or_parked_under_each_fault(
    environment: FaultyS3,
    stub: OpenSearchStub,
    shared_data: Path,
    name: str,
    fault: Fault,
    chunks_fail: bool,
    parked: str,
) -> None:
    s3 = environment
    data = input_object(shared_data)
    files = {"nasa/Jul95.log": data, "nasa/Jul95.log.gz": data}
    s3.client.put_object(Bucket=BUCKET, Key="nasa/Jul95.log", Body=data)
    s3.client.put_object(Bucket=BUCKET, Key="nasa/Jul95.log.gz", Body=gzip.compress(data))
    planned = plan(
        s3.client, parse_request({"bucket": BUCKET, "prefix": "nasa/"}, "exec", SETTINGS), SETTINGS
    )
    manifest = planned["manifest"]
    chunks = json.loads(s3.client.get_object(Bucket=manifest["bucket"], Key=manifest["key"])["Body"].read())
    assert len(chunks) >= 6

    fault(s3, stub)
    runs = {(chunk["key"], chunk["offset"]): run_as_step_functions(chunk) for chunk in chunks}
    result = audit(s3.client, stub, files, runs, chunks)
    print(f"\nFAULT {name}: {result.row()} invocations={sum(r.invocations for r in runs.values())} "
          f"injected={dict(s3.injected)}")  # fmt: skip

    assert result.lines == 2 * 803
    assert (result.lost, result.doubled) == (0, 0)
    assert result.indexed + result.parked + result.in_failed_chunks == result.lines
    failed = [run for run in runs.values() if run.error is not None]
    assert bool(failed) == chunks_fail
    rejections = sum(rejected("", doc_id, {}) for key in files for doc_id in expected_lines(files[key], key))
    expected_parked = {"none": 0, "long": 2, "long+rejected": 2 + rejections, "all": result.lines}[parked]
    if not chunks_fail:
        assert result.parked == expected_parked
    # What the chunks report adds up to what the audit found.
    reports = [run.result for run in runs.values() if run.result is not None]
    assert all(r["lines"] == r["indexed"] + r["dead_lettered"] for r in reports)
    if name.startswith("_bulk 413"):
        assert sum(r["split_requests"] for r in reports) > 0
    if name == "_bulk answers after the timeout":
        assert result.reindexed > 0  # applied, unanswered, sent again: overwritten, not doubled
    if not failed:
        assert sum(r["indexed"] for r in reports) == result.indexed
        assert sum(r["dead_lettered"] for r in reports) == result.parked
