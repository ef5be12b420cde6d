"""Time and memory bounds of normalising one log object on hostile input (issue 11, defect 2 and the
bounds): a giant single line, millions of tiny lines, gzip bytes where text is expected.

Objects are generated as a stream of 1 MiB chunks, as ``StreamingBody.iter_chunks`` gives them, so
the test itself never holds them whole. Peak memory is what ``tracemalloc`` sees allocated by Python
while one object is normalised (the staged files go to a sink that only counts bytes).
"""

from __future__ import annotations

import gzip
import io
import json
import time
import tracemalloc
from collections.abc import Iterator

import pytest

from logpipes.s3log_redshift.normalize import ObjectCounts, normalize
from logpipes.s3log_redshift.parser import MAX_LINE_CHARS

from .test_parser import VALID

MiB = 1024 * 1024
CHUNK = MiB


class Sink(io.RawIOBase):
    """A write-only file that keeps the first bytes written and counts the rest."""

    def __init__(self, keep: int = 4 * MiB) -> None:
        self.kept = bytearray()
        self.size = 0
        self._keep = keep

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if len(self.kept) < self._keep:
            self.kept += data[: self._keep - len(self.kept)]
        self.size += len(data)
        return len(data)


def long_line_object(line_bytes: int, after: str = VALID) -> Iterator[bytes]:
    """One line of ``line_bytes`` bytes (a valid line's start, padded in its User-Agent), then ``after``."""
    head = VALID.encode()
    yield head
    remaining = line_bytes - len(head)
    filler = b"A" * CHUNK
    while remaining > 0:
        yield filler[: min(remaining, CHUNK)]
        remaining -= CHUNK
    yield b"\n" + after.encode() + b"\n"


def measure(chunks: Iterator[bytes]) -> tuple[ObjectCounts, float, int, Sink, Sink]:
    """Normalise one object; return its counts, the seconds taken and the peak traced bytes."""
    rows, rejects = Sink(), Sink()
    tracemalloc.start()
    started = time.perf_counter()
    counts = normalize(chunks, "logs", "big-object", rows, rejects)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return counts, seconds, peak, rows, rejects


def _seconds(measured: tuple[ObjectCounts, float, int, Sink, Sink]) -> float:
    return measured[1]


def test_an_over_long_line_is_rejected_with_its_reason_and_the_next_line_loads() -> None:
    counts, _, _, rows, rejects = measure(long_line_object(3 * MiB))
    assert (counts.lines, counts.rows, counts.rejected) == (2, 1, 1)
    assert rows.kept.startswith(b"big-object\t2\t")
    record = json.loads(rejects.kept)
    assert record["line_number"] == 1
    assert record["reason"] == f"line longer than {MAX_LINE_CHARS} characters: no valid line is"
    assert record["line"].startswith(VALID[:100]) and len(record["line"]) == 16_384


def test_time_is_linear_in_line_length_and_memory_bounded() -> None:
    """Before the fix, the pending line was copied for every chunk: 8x the length took ~30x the time
    (0.1 s and 2.9 s here) and the peak grew with it (41 and 321 MiB)."""
    _, small_seconds, small_peak, _, _ = min(
        (measure(long_line_object(8 * MiB)) for _ in range(3)), key=_seconds
    )
    counts, big_seconds, big_peak, _, _ = min(
        (measure(long_line_object(64 * MiB)) for _ in range(3)), key=_seconds
    )
    assert counts.rejected == 1 and counts.rows == 1
    # Linear is 8x; the floor keeps timer noise on millisecond runs from failing it.
    assert big_seconds < max(16 * small_seconds, 0.5), (small_seconds, big_seconds)
    # A few chunks in flight, whatever the line length (the line itself is never assembled).
    assert big_peak < 8 * MiB, big_peak
    assert small_peak < 8 * MiB, small_peak


@pytest.mark.slow
@pytest.mark.parametrize("size_mib", [128, 256])
def test_giant_single_line_objects(size_mib: int) -> None:
    """The issue's worst inputs: 128 MiB took ~26 s and 256 MiB ~96 s before the fix."""
    counts, seconds, peak, _, _ = measure(long_line_object(size_mib * MiB))
    assert (counts.lines, counts.rows, counts.rejected) == (2, 1, 1)
    assert seconds < size_mib / 16, seconds  # at least 16 MiB/s, traced, on a shared core
    assert peak < 8 * MiB, peak
    print(f"{size_mib} MiB single line: {seconds:.2f} s, peak {peak / MiB:.1f} MiB traced")


@pytest.mark.slow
def test_millions_of_tiny_lines_are_each_counted_and_rejected() -> None:
    """2 Mi one-character lines, each a reject: the time untraced, then the peak memory traced."""
    block = b"x\n" * (CHUNK // 2)

    def tiny(blocks: int) -> Iterator[bytes]:
        for _ in range(blocks):
            yield block

    rows, rejects = Sink(), Sink()
    started = time.perf_counter()
    counts = normalize(tiny(4), "logs", "tiny-lines", rows, rejects)
    seconds = time.perf_counter() - started
    lines = 4 * CHUNK // 2
    assert (counts.lines, counts.rows, counts.rejected) == (lines, 0, lines)
    assert rows.size == 0 and rejects.size > lines * 100  # one JSON record per line
    assert seconds < 45, seconds
    # Traced (several times slower): an eighth of a block is enough to see memory grow per line.
    counts, _, peak, _, _ = measure(iter([block[: CHUNK // 8]]))
    assert counts.rejected == CHUNK // 16
    assert peak < 8 * MiB, peak
    print(f"{lines} tiny lines: {seconds:.2f} s untraced; peak {peak / MiB:.1f} MiB traced on {CHUNK // 16}")


def test_gzip_bomb_object_is_not_inflated() -> None:
    """Access log objects are plain text; a gzip object is read as the bytes it is, never inflated."""
    bomb = gzip.compress(b"\0" * (256 * MiB), compresslevel=9)  # 256 MiB of zeros in ~250 KiB
    counts, _, peak, _, _ = measure(iter([bomb[i : i + CHUNK] for i in range(0, len(bomb), CHUNK)]))
    assert counts.rows == 0 and counts.rejected >= 1
    assert counts.lines == bomb.count(b"\n") + (not bomb.endswith(b"\n"))
    assert peak < 8 * MiB, peak
