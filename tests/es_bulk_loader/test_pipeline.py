"""Whole executions: Prepare, Plan, the Distributed Map of Load, Report, with the real handlers.

S3 is moto; OpenSearch is the local SigV4-checking endpoint, or the cluster at ``OPENSEARCH_URL``
when that is set (an OpenSearch without the security plugin, e.g.
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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import logpipes.es_bulk_loader as loader
from devtools.lambda_runtime import FakeLambdaContext
from devtools.moto_server import MotoServer
from devtools.opensearch_stub import OpenSearchStub
from devtools.step_functions import MapRunFailed, run_state_machine
from logpipes.common.apache import parse_line
from logpipes.es_bulk_loader import handlers
from logpipes.es_bulk_loader.documents import document_id, index_name
from logpipes.es_bulk_loader.opensearch import OpenSearchHttp, sigv4_auth

from .conftest import KEY_ID, REGION, SECRET, signing_session

pytestmark = pytest.mark.moto

BUCKET = "nasa-http-logs"
WORK_PREFIX = "es-bulk-loader/work/"
DEAD_LETTER_PREFIX = "es-bulk-loader/dead-letter/"


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
        yield Cluster(stub.url, stub, "nasa-logs")


@pytest.fixture
def environment(aws: MotoServer, cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The Lambda environment the Terraform module sets, pointed at moto and the cluster."""
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    for name, value in {
        "OPENSEARCH_ENDPOINT": cluster.url,
        "OPENSEARCH_SERVICE": "es",
        "SOURCE_BUCKET": BUCKET,
        "WORK_BUCKET": BUCKET,
        "WORK_PREFIX": WORK_PREFIX,
        "DEAD_LETTER_BUCKET": BUCKET,
        "DEAD_LETTER_PREFIX": DEAD_LETTER_PREFIX,
        "INDEX_PATTERN": cluster.pattern,
        "NUMBER_OF_REPLICAS": "0",
        "CHUNK_BYTES": str(256 * 1024),
        "BULK_BYTES": str(512 * 1024),
        "BULK_MAX_ATTEMPTS": "3",
    }.items():
        monkeypatch.setenv(name, value)
    # Clients are cached per execution environment; each test is a new one.
    handlers._s3.cache_clear()
    handlers._opensearch.cache_clear()
    yield s3
    handlers._s3.cache_clear()
    handlers._opensearch.cache_clear()


def invoke(handler: str, event: dict[str, Any]) -> Any:
    return getattr(loader, handler)(event, FakeLambdaContext(function_name=f"es-bulk-loader-{handler}"))


def execute(
    s3: Any, execution_input: dict[str, Any], tolerated_failure_percentage: float = 0
) -> dict[str, Any]:
    return run_state_machine(
        invoke, execution_input, s3, BUCKET, f"{WORK_PREFIX}results", 4, tolerated_failure_percentage
    )


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
    return int(cluster.http().request("GET", f"/{cluster.index_prefix}-*/_count").json()["count"])


def test_every_line_is_loaded_exactly_once_with_its_expected_id(
    environment: Any, cluster: Cluster, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s3 = environment
    jul = (shared_data / "nasa_http" / "NASA_access_log_Jul95.first2000.log").read_bytes()
    aug = (shared_data / "nasa_http" / "NASA_access_log_Aug95.first20000.log").read_bytes()
    s3.put_object(Bucket=BUCKET, Key="nasa/Jul95.log", Body=jul)
    s3.put_object(Bucket=BUCKET, Key="nasa/Aug95.log.gz", Body=gzip.compress(aug))
    expected = expected_documents(BUCKET, "nasa/Jul95.log", jul, cluster.pattern) | expected_documents(
        BUCKET, "nasa/Aug95.log.gz", aug, cluster.pattern
    )
    assert len(expected) == 22000

    report = execute(s3, {"bucket": BUCKET, "prefix": "nasa/"})

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

    assert count(cluster) == 22000
    found = fetch(cluster, list(expected))
    assert len(found) == 22000
    assert all(found[name]["message"] == line for name, line in expected.items())
    if cluster.stub is not None:
        assert cluster.stub.rejected_requests == []
        assert set(cluster.stub.all_documents()) == set(expected)

    # Loading the same files again overwrites the same documents.
    again = execute(s3, {"bucket": BUCKET, "keys": ["nasa/Jul95.log"]})
    assert again["total"]["indexed"] == 2000
    assert count(cluster) == 22000


def test_rejected_and_persistently_throttled_documents_are_dead_lettered_in_s3(
    environment: Any, cluster: Cluster, shared_data: Path
) -> None:
    if cluster.stub is None:
        pytest.skip("needs the local endpoint to inject item errors")
    s3 = environment
    data = (shared_data / "nasa_http" / "NASA_access_log_Jul95.first2000.log").read_bytes()
    s3.put_object(Bucket=BUCKET, Key="nasa/Jul95.log", Body=data)
    starts = [0, *(i + 1 for i, byte in enumerate(data) if byte == ord("\n"))]
    throttled = {document_id(BUCKET, "nasa/Jul95.log", starts[line]) for line in (10, 1500)}
    cluster.stub.inject_item_errors(
        400, "mapper_parsing_exception", count=5, reason="failed to parse field [bytes]"
    )
    cluster.stub.inject_item_errors(429, "es_rejected_execution_exception", count=99,
                                    matches=lambda index, doc_id, source: doc_id in throttled)  # fmt: skip

    report = execute(s3, {"bucket": BUCKET, "keys": ["nasa/Jul95.log"]})

    total = report["total"]
    assert (total["lines"], total["indexed"], total["dead_lettered"], total["failed"]) == (2000, 1993, 7, 2)
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


def test_a_chunk_the_cluster_keeps_refusing_fails_the_map_run_or_is_reported(
    environment: Any, cluster: Cluster, shared_data: Path
) -> None:
    if cluster.stub is None:
        pytest.skip("needs the local endpoint to inject 503s")
    s3 = environment
    data = (shared_data / "nasa_http" / "NASA_access_log_Jul95.first2000.log").read_bytes()
    s3.put_object(Bucket=BUCKET, Key="nasa/Jul95.log", Body=data)
    cluster.stub.inject_request_errors(503, count=3)  # the first chunk's 3 attempts of its first request

    with pytest.raises(MapRunFailed, match="1 of 1 chunks failed: _bulk failed 3 times"):
        execute(s3, {"bucket": BUCKET, "keys": ["nasa/Jul95.log"]})

    cluster.stub.inject_request_errors(503, count=3)
    report = execute(s3, {"bucket": BUCKET, "keys": ["nasa/Jul95.log"]}, tolerated_failure_percentage=100)
    (failure,) = report["failed_chunks"]
    assert failure["key"] == "nasa/Jul95.log" and failure["error"] == "BulkUnavailable"
    assert report["files"][0]["chunks_failed"] == 1 and report["total"]["chunks_failed"] == 1


def test_a_bad_execution_input_fails_before_anything_is_loaded(environment: Any, cluster: Cluster) -> None:
    with pytest.raises(ValueError, match="exactly one of"):
        execute(environment, {"bucket": BUCKET})
    if cluster.stub is not None:
        assert cluster.stub.all_documents() == {}
