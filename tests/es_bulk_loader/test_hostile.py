"""Hostile input: arbitrary bytes through the line parser, the chunk planner and the Load step's
line accounting; and memory and time bounds on a giant line and on millions of tiny lines.

The properties: nothing raises but the documented errors (``CorruptGzip`` for a bad gzip stream),
and every non-blank line comes out exactly once, as a document or as a dead letter.
"""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from devtools.moto_server import MotoServer
from devtools.opensearch_stub import OpenSearchStub
from logpipes.es_bulk_loader.bulk import BulkClient, BulkResult
from logpipes.es_bulk_loader.chunks import (
    CorruptGzip,
    gunzip,
    line_aligned_pieces,
    line_aligned_ranges,
    newline_end,
)
from logpipes.es_bulk_loader.documents import BulkRenderer, document_id, document_id_prefix
from logpipes.es_bulk_loader.load import index_lines, load_chunk
from logpipes.es_bulk_loader.settings import DeadLetterSettings
from logpipes.es_bulk_loader.template import mapping

PATTERN = "logs-%Y.%m.%d"
FIELDS = set(mapping(index_message=False)["properties"])
MIB = 1024 * 1024
VALID = b'199.72.81.55 - - [01/Jul/1995:00:00:01 -0400] "GET /history/apollo/ HTTP/1.0" 200 6245\n'

# Bytes that look like log lines often enough to reach the parser's deeper branches.
log_like = st.lists(
    st.one_of(
        st.binary(max_size=40),
        st.sampled_from(
            [
                VALID,
                b"\n",
                b"\r\n",
                b" ",
                b"\t",
                b"[",
                b"]",
                b'"',
                b"\\",
                b"-",
                b"\xff",
                b"\xc3",
                b"\x00",
                b"200 ",
            ]
        ),
        st.just(VALID[:-1]),
    ),
    max_size=40,
).map(b"".join)


def lines_of(data: bytes) -> list[tuple[int, bytes]]:
    """(offset, line without LF) of every LF-ended line, and of a last one without it."""
    return [(m.start(), m[0].rstrip(b"\n")) for m in re.finditer(rb"[^\n]*\n|[^\n]+$", data)]


def is_blank(raw: bytes) -> bool:
    text = raw.decode("utf-8", "backslashreplace")
    text = text[:-1] if text.endswith("\r") else text
    return not text or text.isspace()


@settings(max_examples=400, deadline=None)
@given(log_like)
@example(b"")
@example(b"\r")
@example(b"\xff\xfe\n\n \r\n")
@example(
    VALID.replace(b"6245", b"99999999999999999999")
)  # bytes beyond a long: the cluster rejects it, alone
@example(VALID.replace(b"[01/Jul/1995", b"[01/Jux/1995"))
@example(b'h - - [01/Jul/1995:00:00:01 -0400] "GET /\\"q\\" HTTP/1.0" 200 1\n')
def test_any_bytes_render_to_one_well_formed_entry_per_non_blank_line(data: bytes) -> None:
    entries: list[str] = []
    stats = BulkRenderer("b", "k", PATTERN).render(data, 0, entries)

    expected = [(offset, raw) for offset, raw in lines_of(data) if not is_blank(raw)]
    assert stats.lines == len(entries) == len(expected)
    # An empty block is one empty line to the renderer (the loader never renders one).
    assert stats.blank_lines == len(lines_of(data)) - len(expected) + (data == b"")
    for entry, (offset, raw) in zip(entries, expected, strict=True):
        assert entry.isascii() and entry.endswith("\n") and entry.count("\n") == 2
        action_line, source_line, _ = entry.split("\n")
        action = json.loads(action_line)["index"]
        document = json.loads(source_line)
        assert action["_id"] == document_id("b", "k", offset)
        text = raw.decode("utf-8", "backslashreplace")
        assert document["message"] == (text[:-1] if text.endswith("\r") else text)
        assert set(document) <= FIELDS  # the template is `dynamic: strict`
        assert ("parse_error" in document) == action["_index"].startswith("logs-unparsed")


def plain_chunks(data: bytes, chunk_bytes: int) -> list[bytes]:
    ranges = line_aligned_ranges(len(data), chunk_bytes, lambda p: newline_end(data[p:], p) or len(data))
    return [data[r.start : r.end] for r in ranges]


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=5000) | log_like, chunk_bytes=st.integers(1, 3000), block=st.integers(1, 4000))
def test_any_object_is_planned_into_chunks_that_hold_every_line_once(
    data: bytes, chunk_bytes: int, block: int
) -> None:
    plain = plain_chunks(data, chunk_bytes)
    compressed = gzip.compress(data)
    blocks = (compressed[i : i + block] for i in range(0, len(compressed), block))
    inflated = [
        b"".join(fragments) for _, fragments in line_aligned_pieces(gunzip(blocks, out_bytes=97), chunk_bytes)
    ]
    assert inflated == plain and b"".join(plain) == data
    assert [line for chunk in plain for line in lines_of(chunk)] == [
        (offset - start, line)
        for start, chunk in zip([sum(map(len, plain[:i])) for i in range(len(plain))], plain, strict=True)
        for offset, line in lines_of(data)
        if start <= offset < start + len(chunk)
    ]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
@example(b"\x1f\x8b")
@example(gzip.compress(b"a\n")[:-4])  # truncated trailer
@example(gzip.compress(b"a\n") + b"garbage")
def test_any_bytes_as_a_gzip_stream_inflate_or_raise_corrupt_gzip(data: bytes) -> None:
    for stream in (data, b"\x1f\x8b" + data):
        try:
            inflated = b"".join(gunzip([stream]))
        except CorruptGzip:
            continue
        assert isinstance(inflated, bytes)


class DiscardingClient(BulkClient):
    """Takes every entry as indexed, without a cluster (what is measured is the loader alone)."""

    def __init__(self) -> None:
        """No HTTP session: ``send`` is all the loader calls."""

    def send(self, entries: list[str]) -> BulkResult:
        return BulkResult(indexed=len(entries), requests=1)


class CountingClient(DiscardingClient):
    """Also remembers the ids it was sent."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    def send(self, entries: list[str]) -> BulkResult:
        self.ids.extend(json.loads(entry.partition("\n")[0])["index"]["_id"] for entry in entries)
        return super().send(entries)


@settings(max_examples=300, deadline=None)
@given(
    data=log_like
    | st.lists(st.sampled_from([VALID, b"x" * 700, b"\n", b"\xff" * 300]), max_size=30).map(b"".join),
    bulk_bytes=st.integers(200, 3000),
    block=st.integers(1, 2000),
)
def test_the_load_step_accounts_for_every_line_of_any_input(data: bytes, bulk_bytes: int, block: int) -> None:
    client = CountingClient()
    blocks = (data[i : i + block] for i in range(0, len(data), block))
    counts = index_lines(blocks, 0, BulkRenderer("b", "k", PATTERN), client, bulk_bytes)

    expected = {document_id("b", "k", offset): raw for offset, raw in lines_of(data) if not is_blank(raw)}
    dead = [json.loads(d.entry.partition("\n")[0])["index"]["_id"] for d in counts.dead_letters]
    long_ids = [document_id("b", "k", letter.offset) for letter in counts.long_lines]
    accounted = client.ids + dead + long_ids
    assert sorted(accounted) == sorted(expected)  # each once: none lost, none doubled
    assert counts.lines == counts.indexed + counts.dead_lettered == len(expected)
    for letter in counts.long_lines:
        line = data[letter.offset : letter.offset + letter.length]
        assert line.rstrip(b"\n") == expected[document_id("b", "k", letter.offset)]
        assert len(line) > bulk_bytes


# -- memory and time bounds -------------------------------------------------------------------------------
def peak_and_seconds(run: Callable[[], Any]) -> tuple[int, float, Any]:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result = run()
        return tracemalloc.get_traced_memory()[1], time.perf_counter() - started, result
    finally:
        tracemalloc.stop()


def blocks_of(data: bytes, size: int = MIB) -> Iterator[bytes]:
    return (data[i : i + size] for i in range(0, len(data), size))


@pytest.mark.slow
def test_a_giant_line_is_read_past_in_bounded_memory_and_linear_time() -> None:
    """One 128 MiB line: dead-lettered as a long line, never held (the old loader joined it)."""
    bulk_bytes = 5 * MIB
    results = {}
    for size in (32 * MIB, 128 * MIB):
        data = b"z" * size
        peak, seconds, counts = peak_and_seconds(
            lambda data=data: index_lines(
                blocks_of(data), 0, BulkRenderer("b", "k", PATTERN), DiscardingClient(), bulk_bytes
            )
        )
        assert [(letter.offset, letter.length) for letter in counts.long_lines] == [(0, size)]
        results[size] = (peak, seconds)
        print(f"\ngiant line of {size // MIB} MiB: peak {peak / MIB:.1f} MiB, {seconds:.2f} s")
        # The bound: the start of a line kept until it is known to be long (BULK_BYTES), and a block.
        assert peak < bulk_bytes + 3 * MIB
    assert results[128 * MIB][1] < 4 * results[32 * MIB][1] * 2 + 0.5  # linear (4x the bytes, slack 2x)


TINY_LINES = """
import sys, time
from devtools.memory import peak_rss_kib
from logpipes.es_bulk_loader.bulk import BulkResult
from logpipes.es_bulk_loader.documents import BulkRenderer
from logpipes.es_bulk_loader.load import index_lines

class Discarding:
    def send(self, entries):
        return BulkResult(indexed=len(entries), requests=1)

count = int(sys.argv[1])
data = b"x\\n\\n" * count  # a tiny non-blank line (a parse error document) and a blank one
blocks = [data[i : i + 2**20] for i in range(0, len(data), 2**20)]
before = peak_rss_kib()
started = time.perf_counter()
counts = index_lines(iter(blocks), 0, BulkRenderer("b", "k", "logs-%Y"), Discarding(), 5 * 2**20)
seconds = time.perf_counter() - started
assert (counts.lines, counts.indexed, counts.blank_lines) == (count, count, count), counts
print((peak_rss_kib() - before) * 1024, seconds)
"""


def growth_and_seconds(count: int) -> tuple[int, float]:
    """Peak RSS growth (bytes) and time of loading ``2 * count`` tiny lines, in a fresh interpreter."""
    output = subprocess.run(
        [sys.executable, "-c", TINY_LINES, str(count)],
        cwd=Path(__file__).resolve().parents[2],  # the repository: devtools is importable
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout.split()
    return int(output[0]), float(output[1])


@pytest.mark.slow
def test_millions_of_tiny_lines_take_linear_time_and_bounded_memory() -> None:
    growth = {}
    timings = {}
    for count in (250_000, 1_000_000):
        growth[count], timings[count] = growth_and_seconds(count)
        print(
            f"\n{2 * count} tiny lines: peak RSS growth {growth[count] / MIB:.1f} MiB, {timings[count]:.2f} s"
        )
    # A request's worth of entries (5 MiB of them, ~7 MiB as str objects), the entries of one
    # 64 KiB piece of lines (~5 MiB for these tiny lines), a block, and the allocator's slack.
    assert growth[1_000_000] < 32 * MIB
    assert timings[1_000_000] < 4 * timings[250_000] * 2 + 0.5  # linear: 4x the lines, slack 2x


@pytest.mark.slow
@pytest.mark.moto
def test_loading_a_chunk_that_is_one_giant_line_copies_it_to_the_dead_letters(
    aws: MotoServer, stub: OpenSearchStub, client: BulkClient
) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="logs")
    size = 48 * MIB
    s3.put_object(Bucket="logs", Key="huge.log", Body=VALID + b"q" * size + b"\n" + VALID)
    chunk = {
        "bucket": "logs", "key": "huge.log", "chunk_bucket": "logs", "chunk_key": "huge.log",
        "start": 0, "end": 2 * len(VALID) + size + 1, "offset": 0, "index_pattern": PATTERN,
    }  # fmt: skip
    settings = DeadLetterSettings("logs", "dead/")
    peak, seconds, result = peak_and_seconds(lambda: load_chunk(s3, chunk, client, 1 * MIB, settings))  # type: ignore[arg-type]
    print(f"\nload of a {size // MIB} MiB line: peak {peak / MIB:.1f} MiB, {seconds:.2f} s")

    assert (result["lines"], result["indexed"], result["dead_lettered"], result["too_large"]) == (3, 2, 1, 1)
    (record,) = [
        json.loads(line)
        for line in s3.get_object(Bucket="logs", Key="dead/logs/huge.log/0.ndjson")["Body"].iter_lines()
    ]
    assert record["offset"] == len(VALID) and record["id"].startswith(document_id_prefix("logs", "huge.log"))
    line = s3.get_object(Bucket="logs", Key=f"dead/logs/huge.log/{len(VALID)}.line")["Body"].read()
    assert line == b"q" * size + b"\n" and record["line_bytes"] == size + 1
    assert peak < 1 * MIB + 4 * MIB  # BULK_BYTES of carry, a block or two: not the 48 MiB line
