"""The bulk client against the local endpoint: signatures, NDJSON framing, item errors, 429s, 503s."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from devtools.lambda_runtime import FakeLambdaContext
from devtools.opensearch_stub import OpenSearchStub
from logpipes.es_bulk_loader.bulk import Backoff, BulkClient
from logpipes.es_bulk_loader.documents import BulkRenderer, document_id
from logpipes.es_bulk_loader.load import LoadCounts, index_lines, remaining_seconds
from logpipes.es_bulk_loader.opensearch import OpenSearchHttp, sigv4_auth
from logpipes.es_bulk_loader.settings import IndexSettings
from logpipes.es_bulk_loader.template import prepare

from .conftest import REGION, RecordedSleeps, signing_session

PATTERN = "nasa-logs-%Y.%m.%d"
INDEX_SETTINGS = IndexSettings(PATTERN, shards=1, replicas=0, refresh_interval="1s", index_message=False,
                               ingest_pipeline=None)  # fmt: skip


def nasa_entries(shared_data: Path, count: int = 2000) -> list[str]:
    data = (shared_data / "nasa_http" / "NASA_access_log_Jul95.first2000.log").read_bytes()
    entries: list[str] = []
    BulkRenderer("logs", "Jul95.log", PATTERN).render(data, 0, entries)
    return entries[:count]


def test_a_file_is_indexed_in_signed_bulk_requests_of_the_configured_size(
    shared_data: Path, stub: OpenSearchStub, http: OpenSearchHttp, client: BulkClient
) -> None:
    prepare(http, PATTERN, INDEX_SETTINGS, serverless=False)
    data = (shared_data / "nasa_http" / "NASA_access_log_Jul95.first2000.log").read_bytes()
    counts = index_lines([data], 0, BulkRenderer("logs", "Jul95.log", PATTERN), client, bulk_bytes=64 * 1024)

    assert (counts.lines, counts.indexed, counts.dead_lettered) == (2000, 2000, 0)
    assert stub.rejected_requests == []  # every request was signed right and framed right
    bulk_calls = [path for method, path in stub.requests if path == "/_bulk"]
    assert counts.bulk_requests == len(bulk_calls) == stub.bulk_bodies >= len(data) * 2 // (64 * 1024)
    stored = stub.all_documents()
    assert len(stored) == 2000
    second_line_offset = data.index(b"\n") + 1
    doc = stored[("nasa-logs-1995.07.01", document_id("logs", "Jul95.log", second_line_offset))]
    assert doc["clienthost"] == "unicomp6.unicomp.net" and doc["bytes"] == 3985
    # The documents fit the template's typed mapping (the endpoint checks it per item).
    assert stub.templates["logpipes-nasa-logs"]["template"]["mappings"]["properties"]["bytes"] == {
        "type": "long"
    }


def test_loading_again_overwrites_instead_of_duplicating(
    shared_data: Path, stub: OpenSearchStub, client: BulkClient
) -> None:
    entries = nasa_entries(shared_data, 300)
    assert client.send(entries).indexed == 300
    assert client.send(entries).indexed == 300
    assert len(stub.all_documents()) == 300
    assert {doc.version for docs in stub.indices.values() for doc in docs.values()} == {2}


def test_mapping_errors_are_dead_letters_and_429_items_are_retried(
    shared_data: Path, stub: OpenSearchStub, client: BulkClient, sleeps: RecordedSleeps
) -> None:
    entries = nasa_entries(shared_data, 50)
    stub.inject_item_errors(400, "mapper_parsing_exception", count=3, reason="failed to parse field [bytes]")
    stub.inject_item_errors(429, "es_rejected_execution_exception", count=5)
    result = client.send(entries)

    assert result.indexed == 47
    assert [(d.status, d.error["type"], d.transient) for d in result.dead_letters] == [
        (400, "mapper_parsing_exception", False)
    ] * 3
    assert [d.entry for d in result.dead_letters] == entries[:3]
    assert result.retried_items == 5 and result.requests == 2 and sleeps == [0.4]
    assert len(stub.all_documents()) == 47


def test_items_still_rejected_after_the_last_attempt_are_transient_dead_letters(
    shared_data: Path, stub: OpenSearchStub, client: BulkClient, sleeps: RecordedSleeps
) -> None:
    entries = nasa_entries(shared_data, 10)
    unlucky = document_id("logs", "Jul95.log", 0)
    stub.inject_item_errors(
        503, "unavailable_shards_exception", count=100, matches=lambda i, doc_id, s: doc_id == unlucky
    )
    result = client.send(entries)

    assert result.indexed == 9 and result.requests == 4
    (letter,) = result.dead_letters
    assert (letter.status, letter.transient, letter.entry) == (503, True, entries[0])
    assert sleeps == [0.4, 0.8, 1.6]  # exponential backoff between the 4 attempts


@pytest.mark.parametrize("fault", [429, 500, 502, 503, 504, "disconnect"])
def test_whole_requests_are_retried_on_429_5xx_and_lost_connections(
    shared_data: Path, stub: OpenSearchStub, client: BulkClient, fault: int | str
) -> None:
    if fault == "disconnect":
        stub.inject_disconnects(2)
    else:
        stub.inject_request_errors(int(fault), count=2)
    result = client.send(nasa_entries(shared_data, 20))
    assert (result.indexed, result.requests, result.retried_requests) == (20, 3, 2)
    assert len(stub.all_documents()) == 20


def test_requests_signed_with_the_wrong_key_are_refused_and_their_documents_dead_lettered(
    shared_data: Path, stub: OpenSearchStub
) -> None:
    for auth in (
        sigv4_auth("es", REGION, signing_session(secret="not-the-secret")),
        sigv4_auth("aoss", REGION, signing_session()),  # right key, wrong service scope
        sigv4_auth("es", "eu-west-1", signing_session()),
        None,
    ):
        client = BulkClient(OpenSearchHttp(stub.url, auth), max_attempts=1)
        result = client.send(nasa_entries(shared_data, 2))
        # Retrying cannot fix a refusal: the documents are dead letters with the cluster's answer.
        assert result.indexed == 0 and result.requests == 1
        assert [(d.status, d.transient, d.error["type"]) for d in result.dead_letters] == [
            (403, False, "security_exception")
        ] * 2
    assert len(stub.rejected_requests) == 4 and stub.all_documents() == {}


def test_a_tampered_body_does_not_match_its_signature(stub: OpenSearchStub) -> None:
    signed = requests.Request(
        "POST",
        f"{stub.url}/_bulk",
        data=b'{"index":{"_index":"a"}}\n{}\n',
        headers={"Content-Type": "application/x-ndjson"},
    ).prepare()
    sigv4_auth("es", REGION, signing_session())(signed)
    signed.body = b'{"index":{"_index":"b"}}\n{}\n'
    signed.headers["Content-Length"] = str(len(signed.body))
    response = requests.Session().send(signed, timeout=10)
    assert response.status_code == 403 and "x-amz-content-sha256" in response.text


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"index":{"_index":"a"}}\n{"f":1}', "terminated by a newline"),
        (b'{"index":{"_index":"a"}}\n{"f":1\n', "line [2]"),
        (b'{"upsert":{"_index":"a"}}\n{}\n', "Unknown action"),
        (b'{"index":{"_index":"a"}}\n', "without a source line"),
    ],
)
def test_the_endpoint_enforces_ndjson_framing(
    http: OpenSearchHttp, stub: OpenSearchStub, body: bytes, reason: str
) -> None:
    response = http.request("POST", "/_bulk", body, content_type="application/x-ndjson")
    assert response.status_code == 400 and reason in response.text
    assert http.request("POST", "/_bulk", b'{"index":{}}\n{}\n', content_type="text/plain").status_code == 406


def test_a_response_without_one_item_per_document_is_retried_then_dead_lettered(stub: OpenSearchStub) -> None:
    class TruncatingHttp(OpenSearchHttp):
        def request(self, *args: object, **kwargs: object) -> requests.Response:  # type: ignore[override]
            response = requests.Response()
            response.status_code = 200
            response._content = json.dumps({"errors": False, "items": []}).encode()
            return response

    client = BulkClient(TruncatingHttp(stub.url, None), max_attempts=2, backoff=Backoff(sleep=lambda s: None))  # type: ignore[arg-type]
    result = client.send(['{"index":{"_index":"a","_id":"x0"}}\n{}\n'])
    (letter,) = result.dead_letters
    assert letter.transient and "sent 1 documents, the response has 0 items" in letter.error["reason"]
    assert result.requests == 2 and result.indexed == 0


def load(shared_data: Path, client: BulkClient, bulk_bytes: int, data: bytes | None = None) -> LoadCounts:
    data = data or (shared_data / "nasa_http" / "NASA_access_log_Jul95.first2000.log").read_bytes()
    return index_lines([data], 0, BulkRenderer("logs", "Jul95.log", PATTERN), client, bulk_bytes)


def test_a_whole_request_500_is_retried_and_the_chunk_completes(
    shared_data: Path, stub: OpenSearchStub, client: BulkClient
) -> None:
    """Defect 8: a 500 for a whole request was final; the rest of the chunk was never sent."""
    stub.inject_request_errors(500, count=2)
    counts = load(shared_data, client, bulk_bytes=64 * 1024)
    assert (counts.lines, counts.indexed, counts.dead_lettered, counts.retried_requests) == (2000, 2000, 0, 2)
    assert len(stub.all_documents()) == 2000


def test_a_413_halves_the_request_until_it_fits(
    shared_data: Path, stub: OpenSearchStub, client: BulkClient
) -> None:
    """Defect 8: a 413 was final. The cluster's cap (here 20 KiB) is below BULK_BYTES (64 KiB)."""
    stub.max_content_length = 20 * 1024
    counts = load(shared_data, client, bulk_bytes=64 * 1024)
    assert (counts.lines, counts.indexed, counts.dead_lettered) == (2000, 2000, 0)
    assert len(stub.all_documents()) == 2000
    assert counts.split_requests > 0 and stub.rejected_requests == []


def test_a_document_larger_than_the_request_cap_is_dead_lettered_alone(
    shared_data: Path, stub: OpenSearchStub, client: BulkClient
) -> None:
    data = (shared_data / "nasa_http" / "NASA_access_log_Jul95.first2000.log").read_bytes()
    lines = data.splitlines(keepends=True)
    huge = b'h - - [01/Jul/1995:00:00:01 -0400] "GET /' + b"a" * 70_000 + b' HTTP/1.0" 200 1\n'
    counts = load(shared_data, client, bulk_bytes=64 * 1024, data=b"".join([*lines[:10], huge, *lines[10:]]))

    assert (counts.lines, counts.indexed, counts.dead_lettered, counts.failed) == (2001, 2000, 1, 0)
    (letter,) = counts.dead_letters
    assert letter.status == 413 and not letter.transient
    assert json.loads(letter.entry.split("\n")[1])["message"] == huge.decode().rstrip("\n")
    assert len(stub.all_documents()) == 2000


def test_a_single_document_the_cluster_refuses_as_too_large_is_dead_lettered_alone(
    shared_data: Path, stub: OpenSearchStub, client: BulkClient
) -> None:
    entries = nasa_entries(shared_data, 40)
    stub.max_content_length = max(len(e) for e in entries) - 1  # the longest entry cannot go through
    result = client.send(entries)
    assert result.indexed == 39 and [d.status for d in result.dead_letters] == [413]
    assert len(stub.all_documents()) == 39


def test_a_cluster_that_stays_unavailable_gets_the_rest_of_the_chunk_dead_lettered(
    shared_data: Path, stub: OpenSearchStub, client: BulkClient
) -> None:
    """Retries exhausted: the lines are dead letters marked transient (replayable as they are), never lost."""
    stub.inject_request_errors(503, count=4)  # the 4 attempts of the first request
    counts = load(shared_data, client, bulk_bytes=64 * 1024)
    assert counts.lines == 2000 and counts.indexed + counts.dead_lettered == 2000
    assert counts.indexed == 0 and counts.failed == counts.dead_lettered == 2000
    assert {(d.status, d.transient) for d in counts.dead_letters} == {(503, True)}
    assert stub.all_documents() == {}


def test_retries_stop_before_the_function_runs_out_of_time(
    shared_data: Path, stub: OpenSearchStub, http: OpenSearchHttp, sleeps: RecordedSleeps
) -> None:
    left = [100.0]  # seconds the invocation may still spend

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        left[0] -= seconds

    backoff = Backoff(base_seconds=4.0, cap_seconds=60.0, sleep=sleep, random=lambda: 1.0)
    client = BulkClient(http, max_attempts=100, backoff=backoff, time_left=lambda: left[0])
    stub.inject_request_errors(503, count=1000)
    result = client.send(nasa_entries(shared_data, 5))

    # 8 + 16 + 32 s waited; the next wait (60 s) would leave less than a request needs: stop there.
    assert sleeps == [8.0, 16.0, 32.0] and result.requests == 4
    assert [(d.status, d.transient) for d in result.dead_letters] == [(503, True)] * 5
    # The rest of the chunk is dead-lettered at once: no request, no wait.
    later = client.send(nasa_entries(shared_data, 7))
    assert (later.requests, len(later.dead_letters), len(sleeps)) == (0, 7, 3)
    assert stub.all_documents() == {}


def test_the_handler_gives_the_client_the_invocations_time_less_a_reserve() -> None:
    time_left = remaining_seconds(FakeLambdaContext(timeout_ms=30_000), reserve_seconds=10.0)
    assert 19.0 < time_left() <= 20.0
