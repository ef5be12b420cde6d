"""Benchmark of the es_bulk_loader's bulk-body build (the Load step's hot loop).

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
The chunk is 2 MiB because the recipe works on ``split -b 2m`` pieces. The recipe's time depends on
the allocator: the first run in a fresh process takes ~10x longer (every new string is fresh mmap'd
memory, page-faulted in); here it runs after a render, as in a warm Lambda, the faster and fairer
baseline. End to end (S3 -> loader -> endpoint): bench/es_bulk_loader_e2e.py.

Usage: .venv/bin/python bench/es_bulk_loader.py [--rounds R] [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "functions")]

from _harness import add_round_options, interleave, report, rounds_of, slowdowns, speedups, timed  # noqa: E402

from logpipes.common.apache import ApacheParseError, parse_line  # noqa: E402
from logpipes.es_bulk_loader.documents import BulkRenderer  # noqa: E402
from logpipes.es_bulk_loader.settings import MIB  # noqa: E402

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_round_options(parser, default_rounds=5)
    arguments = parser.parse_args()
    print("\n".join(bench_body_build(rounds_of(arguments))))


if __name__ == "__main__":
    main()
