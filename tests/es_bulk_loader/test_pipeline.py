"""Whole executions of the state machine Terraform renders, under moto's ASL interpreter, with the real
handlers run in this process.

The definition and the functions' configuration (handler, environment) come from applying
modules/es-bulk-loader (devtools.step_functions.rendered_es_bulk_loader); moto's interpreter runs
the definition (Retry, the Distributed Map with its ItemReader, ResultWriter and tolerated
failures, with the gaps devtools/asl_moto.py closes); each Lambda task runs the handler its function
names. S3 is moto in this process; OpenSearch is the local SigV4-checking endpoint, or the cluster
at ``OPENSEARCH_URL`` when that is set (an OpenSearch without the security plugin, e.g.
``docker run -e discovery.type=single-node -e DISABLE_SECURITY_PLUGIN=true opensearchproject/opensearch``:
it ignores the signature the loader sends with the test's dummy credentials). The same assertions
run against both, through the same HTTP API: every line is a document exactly once, with the
``_id`` its file and byte offset give it.
"""

from __future__ import annotations

import gzip
import json
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto.core.botocore_stubber import MockRawResponse

from devtools import asl_moto
from devtools.opensearch_stub import OpenSearchStub
from devtools.step_functions import (
    RenderedStateMachine,
    history_summary,
    in_process_step_functions,
    run_execution,
)
from logpipes.common.apache import parse_line
from logpipes.es_bulk_loader import handlers
from logpipes.es_bulk_loader.documents import document_id, index_name
from logpipes.es_bulk_loader.opensearch import OpenSearchHttp, sigv4_auth

from .conftest import KEY_ID, REGION, SECRET, signing_session

pytestmark = [pytest.mark.moto, pytest.mark.terraform, pytest.mark.slow]

BUCKET = "nasa-http-logs"  # the rendered variants' source bucket
DEAD_LETTER_PREFIX = "es-bulk-loader/dead-letter/"  # the module's default
JUL = "NASA_access_log_Jul95.first2000.log"  # one chunk at the variants' 256 KiB
AUG = "NASA_access_log_Aug95.first20000.log"  # nine chunks


@dataclass
class Cluster:
    url: str
    stub: OpenSearchStub | None  # None: a real cluster (OPENSEARCH_URL)
    index_prefix: str

    @property
    def pattern(self) -> str:
        return f"{self.index_prefix}-%Y.%m.%d"

    def http(self) -> OpenSearchHttp:
        return OpenSearchHttp(self.url, sigv4_auth("es", REGION, signing_session()))


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    url = os.environ.get("OPENSEARCH_URL")
    if url:
        # A fresh index family per test on a shared cluster; removed afterwards.
        found = Cluster(url.rstrip("/"), None, f"logpipes-test-{uuid.uuid4().hex[:8]}")
        yield found
        http = found.http()
        http.request("DELETE", f"/{found.index_prefix}-*")
        http.request("DELETE", f"/_index_template/logpipes-{found.index_prefix}")
        return
    with OpenSearchStub({KEY_ID: SECRET}, region=REGION, service="es") as stub:
        yield Cluster(stub.url, stub, "nasa-logs")  # the rendered INDEX_PATTERN's family


@dataclass
class Loader:
    """One deployed state machine, in moto in this process."""

    arn: str
    cluster: Cluster

    @property
    def s3(self) -> Any:
        return boto3.client("s3")

    @property
    def sfn(self) -> Any:
        return boto3.client("stepfunctions")

    def execute(self, execution_input: dict[str, Any]) -> dict[str, Any]:
        """Run one execution to its end; describe_execution's answer."""
        if self.cluster.stub is None:
            execution_input = {**execution_input, "index_pattern": self.cluster.pattern}
        return run_execution(self.sfn, self.arn, execution_input)

    def report(self, execution_input: dict[str, Any]) -> dict[str, Any]:
        """Run one execution that must succeed; its output, the Report."""
        described = self.execute(execution_input)
        assert described["status"] == "SUCCEEDED", described
        return dict(json.loads(described["output"]))

    def upload(self, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=body)


@pytest.fixture
def deploy(rendered: dict[str, RenderedStateMachine], cluster: Cluster) -> Iterator[Callable[[str], Loader]]:
    """deploy(variant): that rendered state machine in moto in this process, its bucket created."""
    overrides = {
        "OPENSEARCH_ENDPOINT": cluster.url,
        # The credentials the handlers sign with, which the local endpoint checks.
        "AWS_ACCESS_KEY_ID": KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_SESSION_TOKEN": "testing",
        "AWS_MAX_ATTEMPTS": "1",  # S3 errors reach the handler (DeadLetterWriteRefusals)
    }
    asl_moto.RETRY_WAITS.clear()
    with ExitStack() as stack:

        def deployed(variant: str) -> Loader:
            # Clients are cached per execution environment; each deployment is a new one.
            handlers._s3.cache_clear()
            handlers._opensearch.cache_clear()
            arn = stack.enter_context(in_process_step_functions(rendered[variant], overrides))
            boto3.client("s3").create_bucket(Bucket=BUCKET)
            return Loader(arn, cluster)

        yield deployed
    handlers._s3.cache_clear()
    handlers._opensearch.cache_clear()


def expected_documents(bucket: str, key: str, data: bytes, pattern: str) -> dict[tuple[str, str], str]:
    """{(index, _id): line} for every line of a file, from first principles."""
    expected, offset = {}, 0
    for raw in data.split(b"\n"):
        line = raw.decode().rstrip("\r")
        if line:
            index = index_name(pattern, parse_line(line).time)
            expected[(index, document_id(bucket, key, offset))] = line
        offset += len(raw) + 1
    return expected


def fetch(cluster: Cluster, wanted: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    http = cluster.http()
    http.request("POST", f"/{cluster.index_prefix}-*/_refresh")
    found = {}
    for start in range(0, len(wanted), 1000):
        docs = [{"_index": index, "_id": doc_id} for index, doc_id in wanted[start : start + 1000]]
        response = http.request("POST", "/_mget", json.dumps({"docs": docs}).encode()).json()
        found.update({(d["_index"], d["_id"]): d["_source"] for d in response["docs"] if d.get("found")})
    return found


def count(cluster: Cluster) -> int:
    http = cluster.http()
    http.request("POST", f"/{cluster.index_prefix}-*/_refresh")
    return int(http.request("GET", f"/{cluster.index_prefix}-*/_count").json()["count"])


def test_every_line_is_loaded_exactly_once_with_its_expected_id(
    deploy: Callable[[str], Loader], cluster: Cluster, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    loader = deploy("domain")
    jul = (shared_data / "nasa_http" / JUL).read_bytes()
    aug = (shared_data / "nasa_http" / AUG).read_bytes()
    loader.upload("nasa/Jul95.log", jul)
    loader.upload("nasa/Aug95.log.gz", gzip.compress(aug))
    expected = expected_documents(BUCKET, "nasa/Jul95.log", jul, cluster.pattern) | expected_documents(
        BUCKET, "nasa/Aug95.log.gz", aug, cluster.pattern
    )
    assert len(expected) == 22000

    described = loader.execute({"bucket": BUCKET, "prefix": "nasa/"})

    assert described["status"] == "SUCCEEDED", described
    report = json.loads(described["output"])
    files = {f["key"]: f for f in report["files"]}
    assert (files["nasa/Jul95.log"]["lines"], files["nasa/Aug95.log.gz"]["lines"]) == (2000, 20000)
    assert files["nasa/Aug95.log.gz"]["gzip"] and files["nasa/Aug95.log.gz"]["chunks"] == 9
    total = report["total"]
    assert (total["lines"], total["indexed"], total["dead_lettered"], total["chunks_failed"]) == (
        22000,
        22000,
        0,
        0,
    )
    assert total["chunks"] == 10 and total["seconds"] > 0
    # The totals are published as CloudWatch metrics (embedded metric format on stdout).
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert emf and emf[-1]["DocumentsIndexed"] == [22000] and emf[-1]["LinesRead"] == [22000]
    assert emf[-1]["DocumentsDeadLettered"] == [0] and emf[-1]["ChunksFailed"] == [0]
    # The definition's path through the states, and one Map Run with an item per chunk.
    summary = history_summary(loader.sfn, described["executionArn"])
    assert summary["states_entered"] == ["Prepare", "Plan", "Load", "Report"]
    (map_run,) = summary["map_runs"]
    assert map_run["status"] == "SUCCEEDED" and map_run["items"]["succeeded"] == 10
    assert summary["retries"] == {}

    assert count(cluster) == 22000
    found = fetch(cluster, list(expected))
    assert len(found) == 22000
    assert all(found[name]["message"] == line for name, line in expected.items())
    if cluster.stub is not None:
        assert cluster.stub.rejected_requests == []
        assert set(cluster.stub.all_documents()) == set(expected)


def test_an_execution_run_again_with_the_same_input_indexes_nothing_twice(
    deploy: Callable[[str], Loader], cluster: Cluster, shared_data: Path
) -> None:
    loader = deploy("domain")
    loader.upload("nasa/Jul95.log", (shared_data / "nasa_http" / JUL).read_bytes())
    execution_input = {"bucket": BUCKET, "keys": ["nasa/Jul95.log"]}

    first = loader.report(execution_input)
    again = loader.report(execution_input)

    assert first["total"]["indexed"] == again["total"]["indexed"] == 2000
    assert count(cluster) == 2000  # the same _ids: overwritten, not added


def test_rejected_and_persistently_throttled_documents_are_dead_lettered_in_s3(
    deploy: Callable[[str], Loader], cluster: Cluster, shared_data: Path
) -> None:
    if cluster.stub is None:
        pytest.skip("needs the local endpoint to inject item errors")
    loader = deploy("domain")
    data = (shared_data / "nasa_http" / JUL).read_bytes()
    loader.upload("nasa/Jul95.log", data)
    starts = [0, *(i + 1 for i, byte in enumerate(data) if byte == ord("\n"))]
    throttled = {document_id(BUCKET, "nasa/Jul95.log", starts[line]) for line in (10, 1500)}
    cluster.stub.inject_item_errors(
        400, "mapper_parsing_exception", count=5, reason="failed to parse field [bytes]"
    )
    cluster.stub.inject_item_errors(429, "es_rejected_execution_exception", count=99,
                                    matches=lambda index, doc_id, source: doc_id in throttled)  # fmt: skip

    report = loader.report({"bucket": BUCKET, "keys": ["nasa/Jul95.log"]})

    total = report["total"]
    assert (total["lines"], total["indexed"], total["dead_lettered"], total["failed"]) == (2000, 1993, 7, 2)
    s3 = loader.s3
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=DEAD_LETTER_PREFIX)["Contents"]]
    records = [
        json.loads(line)
        for key in keys
        for line in s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode().splitlines()
    ]
    assert len(records) == 7
    assert {r["id"] for r in records if r["transient"]} == throttled
    rejected = [r for r in records if not r["transient"]]
    assert {(r["status"], r["error"]["type"]) for r in rejected} == {(400, "mapper_parsing_exception")}
    for record in records:
        assert record["key"] == "nasa/Jul95.log" and record["id"] == document_id(
            BUCKET, record["key"], record["offset"]
        )
        line_end = data.index(b"\n", record["offset"])
        assert record["document"]["message"] == data[record["offset"] : line_end].decode()
    assert len(cluster.stub.all_documents()) == 1993


class DeadLetterWriteRefusals:
    """Answers S3 PutObject under the dead-letter prefix with 503 SlowDown, ``count`` times.

    A transient S3 failure makes Load give up the chunk with BulkUnavailable, the error the
    definition's LoadChunk Retry matches (the handlers' S3 client does not retry: AWS_MAX_ATTEMPTS=1).
    """

    def __init__(self, count: int) -> None:
        self.remaining = count
        self.refused = 0

    def __call__(self, request: Any, **kwargs: Any) -> AWSResponse | None:
        if f"/{DEAD_LETTER_PREFIX}" not in request.url or not self.remaining:
            return None
        self.remaining -= 1
        self.refused += 1
        body = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
        return AWSResponse(request.url, 503, {}, MockRawResponse(body))


def refuse_dead_letter_writes(count: int) -> DeadLetterWriteRefusals:
    """Refuse the next ``count`` dead-letter writes of the clients created from now on."""
    refusals = DeadLetterWriteRefusals(count)
    assert boto3.DEFAULT_SESSION is not None  # deploy() created it
    boto3.DEFAULT_SESSION.events.register_first("before-send.s3.PutObject", refusals)
    return refusals


def reject_first_line_of(cluster: Cluster, keys: list[str], data: bytes) -> None:
    """OpenSearch rejects the first line of each of ``keys`` every time: each chunk has a dead letter."""
    assert cluster.stub is not None
    rejected = {document_id(BUCKET, key, 0) for key in keys}
    cluster.stub.inject_item_errors(400, "mapper_parsing_exception", count=10**6, reason="failed to parse",
                                    matches=lambda index, doc_id, source: doc_id in rejected)  # fmt: skip


def bulk_unavailable_retry(rendered: RenderedStateMachine) -> dict[str, Any]:
    """The definition's Retry of LoadChunk for BulkUnavailable."""
    load_chunk = rendered.states()["Load"]["ItemProcessor"]["States"]["LoadChunk"]
    (retrier,) = (r for r in load_chunk["Retry"] if r["ErrorEquals"] == ["BulkUnavailable"])
    return dict(retrier)


def test_a_chunk_s3_fails_for_a_while_is_loaded_again_by_the_definitions_retry(
    deploy: Callable[[str], Loader], cluster: Cluster, shared_data: Path, rendered: dict[str, Any]
) -> None:
    if cluster.stub is None:
        pytest.skip("needs the local endpoint to inject item errors")
    loader = deploy("domain")
    data = (shared_data / "nasa_http" / JUL).read_bytes()
    loader.upload("nasa/Jul95.log", data)
    reject_first_line_of(cluster, ["nasa/Jul95.log"], data)
    refusals = refuse_dead_letter_writes(1)  # the first Load invocation raises BulkUnavailable

    described = loader.execute({"bucket": BUCKET, "keys": ["nasa/Jul95.log"]})

    assert described["status"] == "SUCCEEDED", described
    report = json.loads(described["output"])
    assert refusals.refused == 1
    total = report["total"]
    assert (total["indexed"], total["dead_lettered"], total["chunks_failed"]) == (1999, 1, 0)
    assert report["failed_chunks"] == []
    # One retry, after the definition's first interval (jitter at its maximum).
    assert asl_moto.RETRY_WAITS == [bulk_unavailable_retry(rendered["domain"])["IntervalSeconds"]] == [30]
    assert count(cluster) == 1999  # the second run overwrote what the first indexed


def test_a_chunk_s3_keeps_failing_fails_the_execution_with_the_documented_error(
    deploy: Callable[[str], Loader], cluster: Cluster, shared_data: Path, rendered: dict[str, Any]
) -> None:
    if cluster.stub is None:
        pytest.skip("needs the local endpoint to inject item errors")
    loader = deploy("domain")  # no tolerated failures
    data = (shared_data / "nasa_http" / JUL).read_bytes()
    loader.upload("nasa/Jul95.log", data)
    reject_first_line_of(cluster, ["nasa/Jul95.log"], data)
    retry = bulk_unavailable_retry(rendered["domain"])
    refusals = refuse_dead_letter_writes(10**6)

    described = loader.execute({"bucket": BUCKET, "keys": ["nasa/Jul95.log"]})

    assert described["status"] == "FAILED"
    assert described["error"] == "States.ExceedToleratedFailureThreshold"
    assert refusals.refused == 1 + retry["MaxAttempts"]  # the first invocation and every retry
    # The backoff the definition asks for: IntervalSeconds, times BackoffRate after each retry.
    assert (
        asl_moto.RETRY_WAITS
        == [retry["IntervalSeconds"] * retry["BackoffRate"] ** n for n in range(retry["MaxAttempts"])]
        == [30, 60, 120]
    )
    summary = history_summary(loader.sfn, described["executionArn"])
    assert summary["states_entered"] == ["Prepare", "Plan", "Load"]  # no Report
    (map_run,) = summary["map_runs"]
    assert map_run["status"] == "FAILED" and map_run["items"]["failed"] == 1


def test_a_tolerated_failed_chunk_is_reported_and_the_rest_is_loaded(
    deploy: Callable[[str], Loader], cluster: Cluster, shared_data: Path, rendered: dict[str, Any]
) -> None:
    if cluster.stub is None:
        pytest.skip("needs the local endpoint to inject item errors")
    assert rendered["tolerant"].states()["Load"]["ToleratedFailurePercentage"] == 50
    loader = deploy("tolerant")
    data = (shared_data / "nasa_http" / JUL).read_bytes()
    loader.upload("nasa/a/Jul95.log", data)
    loader.upload("nasa/b/Jul95.log", data)
    reject_first_line_of(cluster, ["nasa/a/Jul95.log"], data)  # only a's chunk writes dead letters
    refuse_dead_letter_writes(10**6)

    report = loader.report({"bucket": BUCKET, "prefix": "nasa/"})

    (failure,) = report["failed_chunks"]  # 1 of 2 chunks: 50 %, not more than tolerated
    assert (failure["key"], failure["offset"], failure["error"]) == ("nasa/a/Jul95.log", 0, "BulkUnavailable")
    assert "S3" in failure["cause"]
    files = {f["key"]: f for f in report["files"]}
    assert files["nasa/a/Jul95.log"]["chunks_failed"] == 1 and files["nasa/a/Jul95.log"]["indexed"] == 0
    assert files["nasa/b/Jul95.log"]["chunks_failed"] == 0 and files["nasa/b/Jul95.log"]["indexed"] == 2000
    assert (report["total"]["chunks"], report["total"]["chunks_failed"]) == (2, 1)


def test_failures_above_the_tolerated_percentage_fail_the_execution(
    deploy: Callable[[str], Loader], cluster: Cluster, shared_data: Path
) -> None:
    if cluster.stub is None:
        pytest.skip("needs the local endpoint to inject item errors")
    loader = deploy("tolerant")
    data = (shared_data / "nasa_http" / JUL).read_bytes()
    for key in ("nasa/a/Jul95.log", "nasa/b/Jul95.log", "nasa/c/Jul95.log"):
        loader.upload(key, data)
    reject_first_line_of(cluster, ["nasa/a/Jul95.log", "nasa/b/Jul95.log"], data)  # 2 of 3: 67 % > 50 %
    refuse_dead_letter_writes(10**6)

    described = loader.execute({"bucket": BUCKET, "prefix": "nasa/"})

    assert described["status"] == "FAILED"
    assert described["error"] == "States.ExceedToleratedFailureThreshold"


def test_a_bad_execution_input_fails_before_anything_is_loaded(
    deploy: Callable[[str], Loader], cluster: Cluster
) -> None:
    loader = deploy("domain")

    described = loader.execute({"bucket": BUCKET})

    assert described["status"] == "FAILED"
    cause = json.loads(described["cause"])  # Lambda's error payload of the Plan step
    assert described["error"] == cause["errorType"] and "exactly one of" in cause["errorMessage"]
    summary = history_summary(loader.sfn, described["executionArn"])
    assert summary["states_entered"] == ["Prepare", "Plan"] and summary["map_runs"] == []
    assert summary["retries"] == {}  # an error in the input is not retried
    if cluster.stub is not None:
        assert cluster.stub.all_documents() == {}
