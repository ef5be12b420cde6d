"""Benchmark of the es_bulk_loader's bulk-body build, and of loading a big file end to end.

1. On the same 2 MB chunk of NASA-HTTP lines (../shared/data), in one run:
   - ours: ``BulkRenderer.render`` (the Load step's hot loop: split, parse with the shared Apache
     parser, typed document, daily index from the UTC date, deterministic ``_id``) and the body;
   - the recipe's loop as written: ``jsonstring = jsonstring + meta + json.dumps({"message": line}) + "\\n"``
     (quadratic: every line copies the whole body so far);
   - the same loop made linear: the parts joined once, still no parsing;
   - the floor: splitting the chunk into lines, nothing else;
   - parse_line alone over the same lines, for the breakdown.
   All five run interleaved, several rounds (bench/_harness.py). Targets (issues 5 and 13): ours
   >= 100x the recipe's loop, and >= 0.7x the linear loop, in the worst round.
2. End to end: a file of >= 1,000,000 NASA lines in S3 (a local moto server), planned into 8 MiB
   chunks and loaded by 4 concurrent chunk loaders (processes running the Load step's code) into the
   local SigV4-checking OpenSearch endpoint (a process of its own), 5 MB bulk requests.

Usage: .venv/bin/python bench/es_bulk_loader.py [--rounds R] [--quick] [--lines N] [--skip-e2e]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import boto3

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "functions")]

from _harness import add_round_options, interleave, report, rounds_of, slowdowns, speedups, timed  # noqa: E402

from devtools.moto_server import MotoServer  # noqa: E402
from devtools.opensearch_stub import OpenSearchStub  # noqa: E402
from logpipes.common.apache import ApacheParseError, parse_line  # noqa: E402
from logpipes.es_bulk_loader.bulk import BulkClient  # noqa: E402
from logpipes.es_bulk_loader.documents import BulkRenderer  # noqa: E402
from logpipes.es_bulk_loader.load import load_chunk  # noqa: E402
from logpipes.es_bulk_loader.opensearch import OpenSearchHttp, sigv4_auth  # noqa: E402
from logpipes.es_bulk_loader.plan import parse_request, plan  # noqa: E402
from logpipes.es_bulk_loader.settings import MIB, DeadLetterSettings, PlanSettings  # noqa: E402

NASA = REPO.parent / "shared" / "data" / "nasa_http" / "NASA_access_log_Aug95.first20000.log"
CHUNK_BYTES = 2 * 1024 * 1024
PATTERN = "nasa-logs-%Y.%m.%d"
RECIPE_META = '{"index": {"_index": "nasa-logs"}}\n'
TARGET_VS_RECIPE = 100.0
TARGET_VS_LINEAR = 0.7
CREDENTIALS = {"testing": "testing"}  # moto's dummy keys, which the stub also accepts


def nasa_chunk() -> bytes:
    data = NASA.read_bytes()[:CHUNK_BYTES]
    return data[: data.rfind(b"\n") + 1]


# --- 1. the bulk-body build, on one chunk ---


def ours(chunk: bytes) -> bytes:
    entries: list[str] = []
    BulkRenderer("nasa-http-logs", "NASA_access_log_Aug95", PATTERN).render(chunk, 0, entries)
    return "".join(entries).encode()


def recipe(chunk: bytes) -> bytes:
    jsonstring = ""
    for line in chunk.decode().splitlines():
        jsonstring = jsonstring + RECIPE_META + json.dumps({"message": line}) + "\n"
    return jsonstring.encode()


def linear(chunk: bytes) -> bytes:
    parts = [RECIPE_META + json.dumps({"message": line}) + "\n" for line in chunk.decode().splitlines()]
    return "".join(parts).encode()


def floor(chunk: bytes) -> list[str]:
    return chunk.decode().splitlines()


def parse_only(chunk: bytes) -> int:
    parsed = 0
    for line in chunk.decode().splitlines():
        try:
            parse_line(line)
        except ApacheParseError:
            continue
        parsed += 1
    return parsed


def bench_body_build(rounds: int) -> list[str]:
    chunk = nasa_chunk()
    lines = chunk.count(b"\n")
    print(f"1. bulk body of one {len(chunk) / MIB:.1f} MiB chunk, {lines} NASA-HTTP lines, {rounds} rounds")
    assert len(ours(chunk).splitlines()) == 2 * lines  # one action and one document per line
    seconds = interleave(
        {
            "recipe's loop (quadratic)": timed(partial(recipe, chunk)),
            "floor (split lines only)": timed(partial(floor, chunk)),
            "parse_line alone": timed(partial(parse_only, chunk)),
            # The linear loop right before ours: the pair the 0.7x target compares.
            "linear loop, no parsing": timed(partial(linear, chunk)),
            "ours: parse + typed bulk body": timed(partial(ours, chunk)),
        },
        rounds,
    )
    for name, spent in seconds.items():
        print(f"   {name:32s} {lines / statistics.median(spent):>12,.0f} lines/s (median)")
    parse_share = statistics.median(
        slowdowns(seconds["linear loop, no parsing"], seconds["parse_line alone"])
    )
    print(f"   parse_line alone takes {parse_share:.2f}x the time of the whole linear loop")
    mine = seconds["ours: parse + typed bulk body"]
    return [
        report(
            "es_bulk_loader.vs_linear", speedups(seconds["linear loop, no parsing"], mine), TARGET_VS_LINEAR
        ),
        report(
            "es_bulk_loader.vs_recipe", speedups(seconds["recipe's loop (quadratic)"], mine), TARGET_VS_RECIPE
        ),
    ]


# --- 2. end to end ---


def run_stub(ready: Any, stop: Any) -> None:
    with OpenSearchStub(CREDENTIALS, keep_sources=False) as stub:
        ready.put(stub.url)
        stop.wait()


def load_worker(arguments: tuple[str, str, dict[str, Any]]) -> dict[str, Any]:
    """One chunk loader (a process, as each Lambda is): the Load step's code on one chunk."""
    moto_url, opensearch_url, chunk = arguments
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    client = BulkClient(OpenSearchHttp(opensearch_url, sigv4_auth("es", "us-east-1", session)))
    s3 = session.client("s3", endpoint_url=moto_url)
    return load_chunk(s3, chunk, client, 5 * 1000 * 1000, DeadLetterSettings("bench", "dead/"))


def bench_end_to_end(line_count: int, loaders: int) -> None:
    source = NASA.read_bytes().splitlines(keepends=True)
    body = b"".join(source[i % len(source)] for i in range(line_count))
    print(f"\n2. end to end: {line_count:,} lines ({len(body) / MIB:.0f} MiB), S3 (moto) -> local endpoint")
    context = multiprocessing.get_context("spawn")
    ready, stop = context.Queue(), context.Event()
    stub_process = context.Process(target=run_stub, args=(ready, stop), daemon=True)
    stub_process.start()
    opensearch_url = ready.get(timeout=60)
    try:
        with MotoServer() as moto:
            s3 = moto.client("s3")
            s3.create_bucket(Bucket="bench")
            s3.put_object(Bucket="bench", Key="nasa/big.log", Body=body)
            settings = PlanSettings("bench", "bench", "work/", 8 * MIB, PATTERN, ("work/", "dead/"))
            started = time.perf_counter()
            planned = plan(
                s3, parse_request({"bucket": "bench", "keys": ["nasa/big.log"]}, "bench", settings), settings
            )
            manifest = planned["manifest"]
            chunks = json.loads(s3.get_object(Bucket=manifest["bucket"], Key=manifest["key"])["Body"].read())
            planned_at = time.perf_counter()
            with context.Pool(loaders) as pool:
                results = pool.map(load_worker, [(moto.endpoint_url, opensearch_url, c) for c in chunks])
            elapsed = time.perf_counter() - started
        indexed = sum(r["indexed"] for r in results)
        lines = sum(r["lines"] for r in results)
        print(f"   plan: {len(chunks)} chunks of 8 MiB in {planned_at - started:.1f} s (ranged reads only)")
        requests = sum(r["bulk_requests"] for r in results)
        print(f"   load: {loaders} concurrent chunk loaders, {requests} bulk requests")
        print(
            f"   {lines:,} lines read, {indexed:,} indexed in {elapsed:.1f} s: {lines / elapsed:,.0f} lines/s"
        )
        if indexed != line_count:
            raise RuntimeError(f"expected {line_count} documents, {indexed} were indexed")
    finally:
        stop.set()
        stub_process.join(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_round_options(parser, default_rounds=5)
    parser.add_argument("--lines", type=int, default=1_000_000, help="end to end (--quick: 20,000)")
    parser.add_argument("--loaders", type=int, default=4)
    parser.add_argument("--skip-e2e", action="store_true")
    arguments = parser.parse_args()
    results = bench_body_build(rounds_of(arguments))
    if not arguments.skip_e2e:
        bench_end_to_end(
            min(arguments.lines, 20_000) if arguments.quick else arguments.lines, arguments.loaders
        )
    print("\n".join(results))


if __name__ == "__main__":
    main()
