"""Soak: 200 consecutive full chunks through the Load handler in one process, as a warm Lambda runs.

"Full" here: chunks cut at this test's CHUNK_BYTES (32 KiB of real NASA-HTTP lines, ~290 lines),
each sent as several requests at the BULK_BYTES cap (12 KiB), with some documents rejected on every
chunk so that the dead-letter path runs too. The module's defaults (8 MiB chunks, 5 MiB requests)
are the same code paths scaled up, and their memory is bounded by the tests of test_hostile.py
and test_plan.py; 200 chunks of the default size would take far longer than a test may.

The endpoint runs in a child process so that what is measured is the handler alone: between the
100th chunk (warm-up) and the 200th the resident set must not grow by 5 %, the live Python objects
(tracemalloc) by more than 32 KiB, nor the open file descriptors at all; no temporary file may be
created.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import tempfile
import tracemalloc
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools.lambda_runtime import FakeLambdaContext
from devtools.moto_server import MotoServer
from logpipes.es_bulk_loader import handlers
from logpipes.es_bulk_loader.opensearch import OpenSearchHttp, sigv4_auth
from logpipes.es_bulk_loader.plan import parse_request, plan
from logpipes.es_bulk_loader.settings import PlanSettings

from .conftest import KEY_ID, REGION, SECRET, signing_session

pytestmark = [pytest.mark.slow, pytest.mark.moto]

BUCKET = "soak"
CHUNK_BYTES = 32 * 1024
BULK_BYTES = 12 * 1024
CHUNKS = 200
WARM_UP = 100
ENDPOINT = f"""
import sys
from devtools.opensearch_stub import OpenSearchStub

stub = OpenSearchStub({{"{KEY_ID}": "{SECRET}"}}, region="{REGION}", keep_sources=False)
stub.start()
# Every 97th byte offset's document is refused by the mapping: a few dead letters per chunk.
stub.inject_item_errors(400, "mapper_parsing_exception", count=10**9,
                        matches=lambda index, doc_id, source: int(doc_id[20:]) % 97 == 0)
print(stub.url, flush=True)
sys.stdin.read()  # serve until the test closes our stdin
"""


@pytest.fixture
def endpoint() -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", ENDPOINT],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=30)


def live_memory() -> int:
    """Bytes of Python objects still reachable, less two things that would read as growth but are
    not: botocore's responses sit in reference cycles until the cyclic collector runs, and
    ``urllib.parse.urlsplit`` keeps an LRU cache of 128 URLs, which every distinct S3 key (one
    dead-letter object per chunk) enters."""
    urllib.parse.urlsplit.cache_clear()
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def resident_bytes() -> int:
    """The process's resident set (what Lambda's memory limit counts)."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_two_hundred_full_chunks_leave_memory_fds_and_temp_files_flat(
    aws: MotoServer, endpoint: str, shared_data: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    data = (shared_data / "nasa_http" / "NASA_access_log_Aug95.first20000.log").read_bytes()
    for copy in range(-(-CHUNKS * CHUNK_BYTES // len(data))):  # enough distinct files for 200 chunks
        s3.put_object(Bucket=BUCKET, Key=f"aug95/{copy}.log", Body=data)
    settings = PlanSettings(BUCKET, BUCKET, "work/", CHUNK_BYTES, "nasa-%Y.%m.%d", ("work/", "dead/"))
    planned = plan(s3, parse_request({"bucket": BUCKET, "prefix": "aug95/"}, "soak", settings), settings)
    manifest = planned["manifest"]
    chunks: list[Any] = json.loads(
        s3.get_object(Bucket=manifest["bucket"], Key=manifest["key"])["Body"].read()
    )[:CHUNKS]
    assert len(chunks) == CHUNKS

    http = OpenSearchHttp(endpoint, sigv4_auth("es", REGION, signing_session()))
    monkeypatch.setattr(handlers, "_opensearch", lambda: http)
    monkeypatch.setattr(handlers, "_s3", lambda: s3)
    for name, value in {
        "DEAD_LETTER_BUCKET": BUCKET,
        "DEAD_LETTER_PREFIX": "dead/",
        "BULK_BYTES": str(BULK_BYTES),
    }.items():
        monkeypatch.setenv(name, value)
    temp_dir = tmp_path / "tmp"
    temp_dir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp_dir))
    level = handlers.logger.log_level
    handlers.logger.setLevel("WARNING")

    totals = {"lines": 0, "indexed": 0, "dead_lettered": 0}
    tracemalloc.start()
    try:
        for number, chunk in enumerate(chunks, start=1):
            result = handlers.handler(chunk, FakeLambdaContext())
            for counter in totals:
                totals[counter] += result[counter]
            assert result["lines"] == result["indexed"] + result["dead_lettered"] > 0
            assert result["bulk_requests"] >= 3  # full requests, several per chunk
            if number == WARM_UP:
                warm_memory, warm_rss, warm_fds = live_memory(), resident_bytes(), open_fds()
        end_memory, end_rss, end_fds = live_memory(), resident_bytes(), open_fds()
    finally:
        tracemalloc.stop()
        handlers.logger.setLevel(level)

    print(
        f"\nsoak: {CHUNKS} chunks, {totals}; traced memory {warm_memory / 1024:.0f} KiB after {WARM_UP}, "
        f"{end_memory / 1024:.0f} KiB after {CHUNKS}; "
        f"RSS {warm_rss / 2**20:.1f} -> {end_rss / 2**20:.1f} MiB; "
        f"fds {warm_fds} -> {end_fds}"
    )
    assert totals["dead_lettered"] > 0 and totals["lines"] == totals["indexed"] + totals["dead_lettered"]
    assert end_rss < warm_rss * 1.05
    # And the objects the handler keeps: a leak of even 300 bytes per chunk would show here.
    assert end_memory - warm_memory < 32 * 1024
    assert end_fds <= warm_fds
    assert list(temp_dir.iterdir()) == []
