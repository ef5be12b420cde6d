"""The fault matrix of the Load step: every S3 and ``_bulk`` call fails in turn, then Step Functions
retries the chunk as the state machine's definition says, and every input line is accounted for.

Each case loads a real file (NASA-HTTP lines, plus unparsable, blank and one over-long line), plain
and gzip, with one execution of the state machine Terraform renders (the ``domain`` variant, no
failure tolerated), under moto's ASL interpreter (devtools.step_functions), the real handlers run in
this process. The faults are injected into the Load step's calls only; whether a failed chunk is
invoked again, how often and after what wait is the definition's Retry, as the interpreter runs it
(the waits are recorded, not slept). Then every non-blank input line is audited by its ``_id``:

- indexed: stored once in the stub (ids are deterministic: a re-run overwrites, it cannot double);
- parked: in the chunk's dead-letter objects, with its data (the document, or the line's bytes);
- in a failed chunk: the chunk failed after the retries, the line is in the source object only,
  and the execution fails (the ``executions-failed`` alarm);
- lost: none of those. Doubled: stored under more than one (index, id), or indexed and parked.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError, ResponseStreamingError

from devtools import asl_moto
from devtools.opensearch_stub import OpenSearchStub
from devtools.step_functions import RenderedStateMachine, in_process_step_functions, run_execution
from logpipes import es_bulk_loader
from logpipes.es_bulk_loader import bulk, handlers, objects
from logpipes.es_bulk_loader.documents import document_id
from logpipes.es_bulk_loader.opensearch import OpenSearchHttp

pytestmark = [pytest.mark.moto, pytest.mark.terraform]

BUCKET = "nasa-http-logs"  # the rendered variants' source bucket, also their work and dead-letter bucket
DEAD_LETTER_PREFIX = "es-bulk-loader/dead-letter/"  # the module's defaults
MANIFESTS_PREFIX = "es-bulk-loader/work/manifests/"
CHUNK_BYTES = 32 * 1024
BULK_BYTES = 16 * 1024


# -- the Load step's invocations, as the state machine makes them ---------------------------------------
LOADING = threading.local()  # set while the Load handler runs on this thread: faults are for it only


@dataclass
class ChunkRun:
    result: dict[str, Any] | None
    error: str | None  # the error of the last invocation, when the chunk failed for good
    invocations: int


@dataclass
class LoadInvocations:
    """Every invocation of the Load handler by the execution, per chunk (key, offset).

    Step Functions decides whether to invoke it again (LoadChunk's Retry); this only records. The
    faults are armed at the first invocation, so that Prepare and Plan run unharmed.
    """

    arm: Callable[[], None]
    runs: dict[tuple[str, int], ChunkRun] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    armed: bool = False

    def wrap(self, load: Callable[[dict[str, Any], Any], dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        def invoke(chunk: dict[str, Any], context: Any) -> dict[str, Any]:
            with self.lock:
                if not self.armed:
                    self.arm()
                    self.armed = True
            LOADING.active = True
            result, error = None, None
            try:
                result = load(chunk, context)
                return result
            except Exception as raised:
                error = getattr(raised, "error_type", type(raised).__name__)
                raise
            finally:
                LOADING.active = False
                with self.lock:
                    previous = self.runs.get((chunk["key"], chunk["offset"]))
                    calls = previous.invocations if previous else 0
                    self.runs[(chunk["key"], chunk["offset"])] = ChunkRun(result, error, calls + 1)

        return invoke


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
            queue = self.faults.get(name) if getattr(LOADING, "active", False) else None
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


@dataclass
class Environment:
    """The rendered state machine deployed in moto in this process, its bucket, and its Load's S3 client."""

    arn: str
    s3: FaultyS3
    load_invocations: Callable[[Callable[[], None]], LoadInvocations]


@pytest.fixture
def environment(
    rendered: dict[str, RenderedStateMachine],
    stub: OpenSearchStub,
    http: OpenSearchHttp,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Environment]:
    overrides = {  # small chunks and requests: many of each from a small file
        "CHUNK_BYTES": str(CHUNK_BYTES),
        "BULK_BYTES": str(BULK_BYTES),
        "BULK_MAX_ATTEMPTS": "4",
    }
    monkeypatch.setattr(handlers, "_opensearch", lambda: http)
    monkeypatch.setattr(bulk, "READ_TIMEOUT", 1.0)  # so that "answers after the timeout" is quick
    monkeypatch.setattr(
        handlers, "BulkClient", partial(bulk.BulkClient, backoff=bulk.Backoff(base_seconds=0.001))
    )
    # Small reads: the over-long line spans blocks, as a line over BULK_BYTES (5 MiB) always does.
    monkeypatch.setattr(objects, "READ_BLOCK", 4096)
    asl_moto.RETRY_WAITS.clear()
    level = handlers.logger.log_level
    handlers.logger.setLevel("WARNING")  # one "chunk loaded" line per invocation would drown the output
    with in_process_step_functions(rendered["domain"], overrides) as arn:
        s3 = FaultyS3(boto3.client("s3"))
        s3.client.create_bucket(Bucket=BUCKET)
        monkeypatch.setattr(handlers, "_s3", lambda: s3)

        def load_invocations(arm: Callable[[], None]) -> LoadInvocations:
            invocations = LoadInvocations(arm)
            # The function's image command names the package's ``handler``: the runner looks it up there.
            monkeypatch.setattr(es_bulk_loader, "handler", invocations.wrap(es_bulk_loader.handler))
            return invocations

        yield Environment(arn, s3, load_invocations)
    handlers.logger.setLevel(level)


def bulk_unavailable_retry(rendered: RenderedStateMachine) -> dict[str, Any]:
    """LoadChunk's Retry for BulkUnavailable, as Terraform rendered it."""
    load_chunk = rendered.states()["Load"]["ItemProcessor"]["States"]["LoadChunk"]
    (retry,) = (r for r in load_chunk["Retry"] if r["ErrorEquals"] == ["BulkUnavailable"])
    return dict(retry)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "fault", "chunks_fail", "parked"), CASES, ids=[c[0] for c in CASES])
def test_every_line_is_indexed_once_or_parked_under_each_fault(
    environment: Environment,
    rendered: dict[str, RenderedStateMachine],
    stub: OpenSearchStub,
    shared_data: Path,
    name: str,
    fault: Fault,
    chunks_fail: bool,
    parked: str,
) -> None:
    s3 = environment.s3
    data = input_object(shared_data)
    files = {"nasa/Jul95.log": data, "nasa/Jul95.log.gz": data}
    s3.client.put_object(Bucket=BUCKET, Key="nasa/Jul95.log", Body=data)
    s3.client.put_object(Bucket=BUCKET, Key="nasa/Jul95.log.gz", Body=gzip.compress(data))
    loads = environment.load_invocations(lambda: fault(s3, stub))
    sfn = boto3.client("stepfunctions")

    described = run_execution(sfn, environment.arn, {"bucket": BUCKET, "prefix": "nasa/"})

    (manifest,) = s3.client.list_objects_v2(Bucket=BUCKET, Prefix=MANIFESTS_PREFIX)["Contents"]
    chunks = json.loads(s3.client.get_object(Bucket=BUCKET, Key=manifest["Key"])["Body"].read())
    assert len(chunks) >= 6
    runs = loads.runs
    assert set(runs) == {(chunk["key"], chunk["offset"]) for chunk in chunks}, "every chunk was loaded"
    result = audit(s3.client, stub, files, runs, chunks)
    print(f"\nFAULT {name}: {result.row()} invocations={sum(r.invocations for r in runs.values())} "
          f"injected={dict(s3.injected)} retry_waits={asl_moto.RETRY_WAITS}")  # fmt: skip

    assert result.lines == 2 * 803
    assert (result.lost, result.doubled) == (0, 0)
    assert result.indexed + result.parked + result.in_failed_chunks == result.lines
    failed = [run for run in runs.values() if run.error is not None]
    assert bool(failed) == chunks_fail
    # Each invocation after a chunk's first is a retry the interpreter made, after a wait of the
    # definition's backoff (IntervalSeconds x BackoffRate^n, jitter at its maximum); a chunk that
    # still fails with BulkUnavailable was tried 1 + MaxAttempts times, one failing otherwise once.
    retry = bulk_unavailable_retry(rendered["domain"])
    backoff = {retry["IntervalSeconds"] * retry["BackoffRate"] ** n for n in range(retry["MaxAttempts"])}
    assert len(asl_moto.RETRY_WAITS) == sum(run.invocations - 1 for run in runs.values())
    assert set(asl_moto.RETRY_WAITS) <= backoff
    for run in failed:
        assert run.invocations == (1 + retry["MaxAttempts"] if run.error == "BulkUnavailable" else 1), run
    rejections = sum(rejected("", doc_id, {}) for key in files for doc_id in expected_lines(files[key], key))
    expected_parked = {"none": 0, "long": 2, "long+rejected": 2 + rejections, "all": result.lines}[parked]
    # What the chunks report adds up to what the audit found.
    reports = [run.result for run in runs.values() if run.result is not None]
    assert all(r["lines"] == r["indexed"] + r["dead_lettered"] for r in reports)
    if name.startswith("_bulk 413"):
        assert sum(r["split_requests"] for r in reports) > 0
    if name == "_bulk answers after the timeout":
        assert result.reindexed > 0  # applied, unanswered, sent again: overwritten, not doubled
    if chunks_fail:  # no failure is tolerated by default: the execution fails (executions-failed alarm)
        assert described["status"] == "FAILED", described
        assert described["error"] == "States.ExceedToleratedFailureThreshold"
        return
    assert described["status"] == "SUCCEEDED", described
    assert result.parked == expected_parked
    assert sum(r["indexed"] for r in reports) == result.indexed
    assert sum(r["dead_lettered"] for r in reports) == result.parked
    total = json.loads(described["output"])["total"]  # the execution's Report
    assert (total["lines"], total["indexed"], total["dead_lettered"], total["chunks_failed"]) == (
        result.lines,
        result.indexed,
        result.parked,
        0,
    )
