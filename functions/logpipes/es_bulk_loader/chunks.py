"""Cut log objects into line-aligned chunks (pure: callers supply the bytes).

The rule is the same for plain and gzip objects: a chunk starts where the previous one ended and
ends just after the first newline at or beyond ``chunk_bytes`` bytes, or at the end of the object.
So every chunk holds whole lines, is at least ``chunk_bytes`` long unless it is the last one, and
every line of the object is in exactly one chunk (a line longer than a chunk makes a longer chunk).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple

GZIP_MAGIC = b"\x1f\x8b"
# Decompression stops at every gzip member boundary (concatenated .gz files are valid gzip).
_GZIP_WBITS = 16 + zlib.MAX_WBITS


class ByteRange(NamedTuple):
    """[start, end) in the object."""

    start: int
    end: int


class CorruptGzip(ValueError):
    """The object starts like gzip but does not decompress."""


def line_aligned_ranges(size: int, chunk_bytes: int, line_end_after: Callable[[int], int]) -> list[ByteRange]:
    """The chunks of a plain object of ``size`` bytes, as byte ranges (nothing is copied).

    ``line_end_after(position)`` returns the offset just past the first newline at or after
    ``position``, or ``size`` when there is none: for S3 it reads a small range there.
    """
    if chunk_bytes <= 0:
        raise ValueError("chunk_bytes must be positive")
    ranges = []
    start = 0
    while start < size:
        last_byte = start + chunk_bytes - 1
        end = size if last_byte >= size - 1 else line_end_after(last_byte)
        ranges.append(ByteRange(start, end))
        start = end
    return ranges


def newline_end(window: bytes, window_start: int) -> int | None:
    """Offset just past the first newline in ``window`` (which starts at ``window_start``), if any."""
    found = window.find(b"\n")
    return None if found < 0 else window_start + found + 1


def gunzip(blocks: Iterable[bytes]) -> Iterator[bytes]:
    """Decompress a gzip stream (one or more members) block by block, in bounded memory."""
    decompressor = zlib.decompressobj(_GZIP_WBITS)
    inside_member = False
    try:
        for block in blocks:
            data = block
            while data:
                inside_member = True
                yield decompressor.decompress(data)
                if not decompressor.eof:
                    break
                # A member ended: what follows is the next member.
                data = decompressor.unused_data
                decompressor = zlib.decompressobj(_GZIP_WBITS)
                inside_member = False
    except zlib.error as error:
        raise CorruptGzip(str(error)) from error
    if inside_member:
        raise CorruptGzip("the gzip stream is truncated")


def line_aligned_pieces(blocks: Iterable[bytes], chunk_bytes: int) -> Iterator[tuple[int, bytes]]:
    """Regroup a stream of bytes into (offset, chunk) pieces that follow the module's rule."""
    if chunk_bytes <= 0:
        raise ValueError("chunk_bytes must be positive")
    buffer = bytearray()
    offset = 0
    search_from = chunk_bytes - 1  # where the next newline may end the current chunk
    for block in blocks:
        buffer += block
        while len(buffer) > search_from:
            newline = buffer.find(b"\n", search_from)
            if newline < 0:
                search_from = len(buffer)  # a long line: look only at what arrives next
                break
            piece = bytes(buffer[: newline + 1])
            del buffer[: newline + 1]
            yield offset, piece
            offset += len(piece)
            search_from = chunk_bytes - 1
    if buffer:
        yield offset, bytes(buffer)


def whole_lines(blocks: Iterable[bytes]) -> Iterator[bytes]:
    """Regroup a stream of bytes into blocks that end with a newline (the last one may not)."""
    carry = b""
    for block in blocks:
        cut = block.rfind(b"\n") + 1
        if cut == 0:
            carry += block
            continue
        yield carry + block[:cut]
        carry = block[cut:]
    if carry:
        yield carry
