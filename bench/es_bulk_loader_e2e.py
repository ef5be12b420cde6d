"""End-to-end benchmark of the es_bulk_loader: a big file from S3 into the local endpoint, with the
endpoint's own ceiling measured in the same run, so that the loader's number is the loader's.

1. The endpoint alone: the SigV4-checking OpenSearch stub (devtools/opensearch_stub.py, in processes
   of its own, ``--stubs``), fed pre-built 5 MB ``_bulk`` bodies (NASA lines rendered by the loader's
   renderer, signed per request as the loader signs them) by ``--loaders`` parallel client processes:
   its ceiling in requests/s and lines/s.
2. The loader: a file of >= 1,000,000 NASA lines in S3 (a local moto server), planned into 8 MiB
   chunks and loaded by ``--loaders`` concurrent chunk loaders (processes running the Load step's
   code) into the same stub processes, 5 MB bulk requests. Each loader reports its lines per second
   of wall time and per second of its own CPU time (the second is what one Lambda would do against
   an endpoint that never makes it wait).

RESULT: the endpoint's ceiling over the loaders' combined demand, lines/s of the loader per CPU
second times the loaders that can run at once (min(loaders, cores)); >= 1x means the endpoint
could keep up with the loaders if it had the machine to itself, so the end-to-end rate is the
loader's, bounded by the cores it shares with the endpoint, S3 and the clients.

Usage: .venv/bin/python bench/es_bulk_loader_e2e.py [--quick] [--lines N] [--loaders L] [--stubs S]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path
from typing import Any

import boto3

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "functions")]

from _harness import add_round_options, report  # noqa: E402

from devtools.moto_server import MotoServer  # noqa: E402
from devtools.opensearch_stub import OpenSearchStub  # noqa: E402
from logpipes.es_bulk_loader.bulk import NDJSON, RESPONSE_FILTER, BulkClient  # noqa: E402
from logpipes.es_bulk_loader.documents import BulkRenderer  # noqa: E402
from logpipes.es_bulk_loader.load import load_chunk  # noqa: E402
from logpipes.es_bulk_loader.opensearch import OpenSearchHttp, sigv4_auth  # noqa: E402
from logpipes.es_bulk_loader.plan import parse_request, plan  # noqa: E402
from logpipes.es_bulk_loader.settings import MIB, DeadLetterSettings, PlanSettings  # noqa: E402

NASA = REPO.parent / "shared" / "data" / "nasa_http" / "NASA_access_log_Aug95.first20000.log"
PATTERN = "nasa-logs-%Y.%m.%d"
BULK_BYTES = 5 * 1000 * 1000
CREDENTIALS = {"testing": "testing"}  # moto's dummy keys, which the stub also accepts
TARGET_HEADROOM = 1.0


def session() -> boto3.Session:
    return boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )


def run_stub(ready: Any, stop: Any) -> None:
    """One endpoint process: checks every signature and document line, keeps no _source."""
    with OpenSearchStub(CREDENTIALS, keep_sources=False) as stub:
        ready.put(stub.url)
        stop.wait()


def bulk_bodies(lines: int) -> list[tuple[bytes, int]]:
    """(body, documents) of BULK_BYTES requests holding ``lines`` NASA lines, as the loader builds them."""
    source = NASA.read_bytes()
    entries: list[str] = []
    renderer = BulkRenderer("bench", "ceiling.log", PATTERN)
    while len(entries) < lines:
        renderer.render(source, len(entries) * len(source), entries)
    bodies, batch, size = [], [], 0
    for entry in entries[:lines]:
        if batch and size + len(entry) > BULK_BYTES:
            bodies.append(("".join(batch).encode(), len(batch)))
            batch, size = [], 0
        batch.append(entry)
        size += len(entry)
    bodies.append(("".join(batch).encode(), len(batch)))
    return bodies


def ceiling_client(arguments: tuple[str, list[tuple[bytes, int]]]) -> int:
    """POST pre-built bodies to one endpoint process, signed like the loader; the documents indexed."""
    url, bodies = arguments
    http = OpenSearchHttp(url, sigv4_auth("es", "us-east-1", session()))
    indexed = 0
    for body, documents in bodies:
        answer = http.request("POST", "/_bulk", body, params=RESPONSE_FILTER, content_type=NDJSON).json()
        if answer["errors"] or len(answer["items"]) != documents:
            raise RuntimeError(f"the endpoint did not index a pre-built body: {str(answer)[:300]}")
        indexed += documents
    return indexed


def endpoint_ceiling(context: Any, urls: list[str], clients: int, lines: int) -> float:
    bodies = bulk_bodies(lines)
    shares = [(urls[i % len(urls)], bodies[i::clients]) for i in range(clients)]
    with context.Pool(clients) as pool:
        pool.map(len, [[]] * clients)  # the clients' interpreters start before the clock does
        started = time.perf_counter()
        indexed = sum(pool.map(ceiling_client, shares))
        elapsed = time.perf_counter() - started
    print(
        f"1. the endpoint alone ({len(urls)} stub processes, {clients} clients, pre-built bodies): "
        f"{len(bodies)} requests, {indexed:,} documents in {elapsed:.1f} s: "
        f"{len(bodies) / elapsed:.1f} requests/s, {indexed / elapsed:,.0f} lines/s"
    )
    return indexed / elapsed


def load_worker(arguments: tuple[str, str, dict[str, Any]]) -> dict[str, Any]:
    """One chunk loader (a process, as each Lambda is): the Load step's code on one chunk, timed."""
    moto_url, opensearch_url, chunk = arguments
    wall, cpu = time.perf_counter(), time.process_time()
    client = BulkClient(OpenSearchHttp(opensearch_url, sigv4_auth("es", "us-east-1", session())))
    s3 = session().client("s3", endpoint_url=moto_url)
    result = load_chunk(s3, chunk, client, BULK_BYTES, DeadLetterSettings("bench", "dead/"))
    return result | {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}


def loader_run(context: Any, urls: list[str], loaders: int, line_count: int) -> float:
    """Load ``line_count`` lines end to end; returns the loader's lines per CPU second per process."""
    source = NASA.read_bytes().splitlines(keepends=True)
    body = b"".join(source[i % len(source)] for i in range(line_count))
    with MotoServer() as moto:
        s3 = moto.client("s3")
        s3.create_bucket(Bucket="bench")
        s3.put_object(Bucket="bench", Key="nasa/big.log", Body=body)
        settings = PlanSettings("bench", "bench", "work/", 8 * MIB, PATTERN, ("work/", "dead/"))
        with context.Pool(loaders) as pool:
            pool.map(len, [[]] * loaders)
            started = time.perf_counter()
            planned = plan(
                s3, parse_request({"bucket": "bench", "keys": ["nasa/big.log"]}, "bench", settings), settings
            )
            manifest = planned["manifest"]
            chunks = json.loads(s3.get_object(Bucket=manifest["bucket"], Key=manifest["key"])["Body"].read())
            planned_at = time.perf_counter()
            work = [(moto.endpoint_url, urls[i % len(urls)], chunk) for i, chunk in enumerate(chunks)]
            results = pool.map(load_worker, work, chunksize=1)
            elapsed = time.perf_counter() - started
    indexed = sum(r["indexed"] for r in results)
    lines = sum(r["lines"] for r in results)
    requests = sum(r["bulk_requests"] for r in results)
    wall_rate = lines / sum(r["wall"] for r in results)
    cpu_rate = lines / sum(r["cpu"] for r in results)
    print(
        f"2. the loader: {line_count:,} lines ({len(body) / MIB:.0f} MiB) in S3 (moto), {len(chunks)} chunks "
        f"of 8 MiB planned in {planned_at - started:.1f} s, {loaders} concurrent chunk loaders, "
        f"{requests} bulk requests"
    )
    print(f"   {lines:,} lines read, {indexed:,} indexed in {elapsed:.1f} s: {lines / elapsed:,.0f} lines/s")
    print(
        f"   per loader process: {wall_rate:,.0f} lines/s of wall time, {cpu_rate:,.0f} lines/s of its "
        f"own CPU time ({os.cpu_count()} cores shared by the loaders, the endpoint, moto and S3 reads)"
    )
    if indexed != line_count:
        raise RuntimeError(f"expected {line_count} documents, {indexed} were indexed")
    return cpu_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_round_options(parser, default_rounds=1)
    parser.add_argument("--lines", type=int, default=1_000_000, help="loaded end to end (--quick: 40,000)")
    parser.add_argument("--ceiling-lines", type=int, default=200_000, help="sent to the endpoint alone")
    parser.add_argument("--loaders", type=int, default=4)
    parser.add_argument("--stubs", type=int, default=2, help="endpoint processes")
    arguments = parser.parse_args()
    line_count = min(arguments.lines, 40_000) if arguments.quick else arguments.lines
    ceiling_lines = min(arguments.ceiling_lines, 40_000) if arguments.quick else arguments.ceiling_lines
    context = multiprocessing.get_context("spawn")
    ready, stop = context.Queue(), context.Event()
    stubs = [
        context.Process(target=run_stub, args=(ready, stop), daemon=True) for _ in range(arguments.stubs)
    ]
    for stub in stubs:
        stub.start()
    urls = [ready.get(timeout=60) for _ in stubs]
    headroom = []
    try:
        for _ in range(1 if arguments.quick else max(1, arguments.rounds)):
            ceiling = endpoint_ceiling(context, urls, arguments.loaders, ceiling_lines)
            per_process = loader_run(context, urls, arguments.loaders, line_count)
            demand = per_process * min(arguments.loaders, os.cpu_count() or 1)
            print(f"   endpoint ceiling / loaders' demand ({demand:,.0f} lines/s): {ceiling / demand:.2f}x")
            headroom.append(ceiling / demand)
    finally:
        stop.set()
        for stub in stubs:
            stub.join(timeout=30)
    print(report("es_bulk_loader.e2e_endpoint_headroom", headroom, TARGET_HEADROOM))


if __name__ == "__main__":
    main()
