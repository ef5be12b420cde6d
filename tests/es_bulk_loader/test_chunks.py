"""Chunking: every line of an object is in exactly one chunk, for plain and gzip objects."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logpipes.es_bulk_loader.chunks import (
    CorruptGzip,
    LongLine,
    bounded_lines,
    gunzip,
    line_aligned_pieces,
    line_aligned_ranges,
    newline_end,
)

KIB = 1024


def plain_chunks(data: bytes, chunk_bytes: int) -> list[tuple[int, bytes]]:
    """Byte-range chunking with the line-end finder reading from ``data`` like the S3 prober."""

    def line_end_after(position: int) -> int:
        return newline_end(data[position:], position) or len(data)

    return [
        (r.start, data[r.start : r.end]) for r in line_aligned_ranges(len(data), chunk_bytes, line_end_after)
    ]


def blocks_of(data: bytes, size: int) -> Iterator[bytes]:
    return (data[i : i + size] for i in range(0, len(data), size))


def gzip_chunks(data: bytes, chunk_bytes: int, block: int = 7 * KIB) -> list[tuple[int, bytes]]:
    pieces = line_aligned_pieces(gunzip(blocks_of(gzip.compress(data), block)), chunk_bytes)
    return [(offset, b"".join(fragments)) for offset, fragments in pieces]


def assert_chunked(data: bytes, chunks: list[tuple[int, bytes]], chunk_bytes: int) -> None:
    """The chunks tile the object, end on line ends, and are long enough; lines are in exactly one."""
    assert b"".join(piece for _, piece in chunks) == data
    offset = 0
    for index, (start, piece) in enumerate(chunks):
        assert start == offset and piece
        offset += len(piece)
        last = index == len(chunks) - 1
        if not last:
            assert piece.endswith(b"\n") and len(piece) >= chunk_bytes
            # Minimal: the chunk ends at the first line end at or after chunk_bytes.
            assert b"\n" not in piece[chunk_bytes - 1 : -1]
    lines = [line for _, piece in chunks for line in piece.splitlines()]
    assert lines == data.splitlines()


@pytest.mark.parametrize(
    "name",
    [
        "NASA_access_log_Jul95.first2000.log",
        "variants/COM6012_NASA_Aug95_100.no-final-newline.txt",
        "variants/apache.access.log_small.CRLF.log",
    ],
)
@pytest.mark.parametrize("chunk_bytes", [1 * KIB, 3 * KIB + 17, 64 * KIB, 8 * 1024 * KIB])
def test_real_files_chunk_on_line_boundaries(shared_data: Path, name: str, chunk_bytes: int) -> None:
    data = (shared_data / "nasa_http" / name).read_bytes()
    plain = plain_chunks(data, chunk_bytes)
    assert_chunked(data, plain, chunk_bytes)
    assert gzip_chunks(data, chunk_bytes) == plain  # the same rule for both kinds of objects
    if chunk_bytes >= len(data):
        assert len(plain) == 1


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(st.binary(max_size=3000).map(lambda b: b.replace(b"\n", b"")), max_size=60),
    line_end=st.sampled_from([b"\n", b"\r\n"]),
    final_newline=st.booleans(),
    chunk_bytes=st.integers(1, 20 * KIB),
    block=st.integers(1, 9 * KIB),
)
def test_any_content_is_chunked_the_same_way_plain_and_gzip(
    lines: list[bytes], line_end: bytes, final_newline: bool, chunk_bytes: int, block: int
) -> None:
    data = line_end.join(lines) + (line_end if final_newline and lines else b"")
    plain = plain_chunks(data, chunk_bytes)
    assert_chunked(data, plain, chunk_bytes)
    assert gzip_chunks(data, chunk_bytes, block) == plain


def test_a_line_longer_than_a_chunk_makes_one_longer_chunk() -> None:
    data = b"short\n" + b"x" * 5000 + b"\nend\n"
    chunks = plain_chunks(data, 1 * KIB)
    assert [len(piece) for _, piece in chunks] == [5007, 4]
    assert gzip_chunks(data, 1 * KIB, block=100) == chunks


def test_concatenated_gzip_members_are_one_stream() -> None:
    first, second = b"a\nb\n", b"c\nd\n"
    data = gzip.compress(first) + gzip.compress(second)
    assert b"".join(gunzip(blocks_of(data, 5))) == first + second


def test_corrupt_and_truncated_gzip_are_errors() -> None:
    data = gzip.compress(b"line\n" * 1000)
    with pytest.raises(CorruptGzip, match="truncated"):
        b"".join(gunzip([data[: len(data) // 2]]))
    with pytest.raises(CorruptGzip):
        b"".join(gunzip([data[:10] + b"\x00" * 50 + data[60:]]))


def lines_of(data: bytes) -> list[bytes]:
    """Lines as the loader counts them: ended by LF only (with it), the last one maybe without."""
    return re.findall(rb"[^\n]*\n|[^\n]+$", data)


def regroup(data: bytes, block: int, max_line_bytes: int) -> tuple[list[bytes], list[bytes]]:
    """(blocks of whole lines, long lines joined back) that ``bounded_lines`` makes of ``data``."""
    whole, long_lines, current = [], [], b""
    for piece in bounded_lines(blocks_of(data, block), max_line_bytes):
        if isinstance(piece, LongLine):
            assert len(piece.fragment) <= max(block, max_line_bytes)  # never joined
            current += piece.fragment
            if piece.ends_line:
                long_lines.append(current)
                current = b""
        else:
            assert current == b"", "a block of lines in the middle of a long line"
            whole.append(piece)
    assert current == b""
    return whole, long_lines


def test_bounded_lines_regroups_blocks_at_line_ends() -> None:
    data = b"one\ntwo\nthree\nfour"
    for size in range(1, len(data) + 1):
        whole, long_lines = regroup(data, size, max_line_bytes=100)
        assert b"".join(whole) == data and long_lines == []
        assert all(group.endswith(b"\n") for group in whole[:-1])


def test_a_line_over_the_limit_comes_in_fragments_the_others_whole() -> None:
    data = b"short\n" + b"x" * 5000 + b"\nmiddle\n" + b"y" * 3000
    whole, long_lines = regroup(data, 100, max_line_bytes=1000)
    assert long_lines == [b"x" * 5000 + b"\n", b"y" * 3000]
    assert b"".join(whole) == b"short\nmiddle\n"


@settings(max_examples=300, deadline=None)
@given(
    data=st.lists(st.sampled_from([b"\n", b"a", b"bb" * 50, b"\r\n", b"\x00" * 700]), max_size=80).map(
        b"".join
    ),
    block=st.integers(1, 2000),
    max_line_bytes=st.integers(1, 1500),
)
def test_bounded_lines_keeps_every_byte_and_splits_only_lines_over_the_limit(
    data: bytes, block: int, max_line_bytes: int
) -> None:
    whole, long_lines = regroup(data, block, max_line_bytes)
    lines = data.splitlines(keepends=True)
    # Every line is either in a block of whole lines or is one long line, in order, once.
    assert sorted(
        long_lines + [line for group in whole for line in group.splitlines(keepends=True)]
    ) == sorted(lines)
    assert all(len(line) > max_line_bytes for line in long_lines)
    for group in whole:
        # A block of lines is at most one input block plus the limit.
        assert len(group) <= block + max_line_bytes


def test_gunzip_returns_bounded_blocks_of_a_bomb() -> None:
    bomb = gzip.compress(b"\0" * (64 * 1024 * KIB), 9)  # 64 KiB that inflate to 64 MiB
    sizes = [len(block) for block in gunzip([bomb], out_bytes=1024 * KIB)]
    assert sum(sizes) == 64 * 1024 * KIB and max(sizes) <= 1024 * KIB


def test_chunk_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        line_aligned_ranges(10, 0, lambda position: position)
    with pytest.raises(ValueError, match="positive"):
        list(line_aligned_pieces([b"x"], 0))
