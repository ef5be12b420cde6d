"""Cut log objects into line-aligned chunks (pure: callers supply the bytes).

The rule is the same for plain and gzip objects: a chunk starts where the previous one ended and
ends just after the first newline at or beyond ``chunk_bytes`` bytes, or at the end of the object.
So every chunk holds whole lines, is at least ``chunk_bytes`` long unless it is the last one, and
every line of the object is in exactly one chunk (a line longer than a chunk makes a longer chunk).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Iterator
from itertools import groupby
from operator import itemgetter
from typing import NamedTuple

GZIP_MAGIC = b"\x1f\x8b"
INFLATE_BLOCK = 1024 * 1024  # the most that one decompression call may return
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


def gunzip(blocks: Iterable[bytes], out_bytes: int = INFLATE_BLOCK) -> Iterator[bytes]:
    """Decompress a gzip stream (one or more members) into blocks of at most ``out_bytes``.

    Memory stays bounded whatever the ratio: zlib is never asked for more than ``out_bytes`` at a
    time (a 1 MB block of a gzip bomb would otherwise inflate to 1 GB in one call).
    """
    decompressor = zlib.decompressobj(_GZIP_WBITS)
    inside_member = False
    try:
        for block in blocks:
            data = block
            while data:
                inside_member = True
                output = decompressor.decompress(data, out_bytes)
                if output:
                    yield output
                if decompressor.unconsumed_tail:
                    data = decompressor.unconsumed_tail
                    continue
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


def line_aligned_pieces(blocks: Iterable[bytes], chunk_bytes: int) -> Iterator[tuple[int, Iterator[bytes]]]:
    """Regroup a stream of bytes into chunks that follow the module's rule, without joining them.

    Yields (offset, fragments) per chunk, like ``itertools.groupby``: consume a chunk's fragments
    before asking for the next chunk. Fragments are slices of the incoming blocks, so a chunk of
    any length (one 10 GB line) costs no more memory than a block.
    """
    if chunk_bytes <= 0:
        raise ValueError("chunk_bytes must be positive")
    for offset, group in groupby(_fragments_by_chunk(blocks, chunk_bytes), key=itemgetter(0)):
        yield offset, (fragment for _, fragment in group)


def _fragments_by_chunk(blocks: Iterable[bytes], chunk_bytes: int) -> Iterator[tuple[int, bytes]]:
    """(offset of its chunk, fragment) for every non-empty fragment of the stream."""
    chunk_start = 0
    in_chunk = 0  # bytes of the current chunk seen so far
    for block in blocks:
        position = 0
        while position < len(block):
            # The chunk may end at the first newline at or after its chunk_bytes-th byte.
            search_from = position + max(0, chunk_bytes - 1 - in_chunk)
            newline = block.find(b"\n", search_from) if search_from < len(block) else -1
            if newline < 0:
                yield chunk_start, block[position:]
                in_chunk += len(block) - position
                break
            yield chunk_start, block[position : newline + 1]
            chunk_start += in_chunk + newline + 1 - position
            in_chunk = 0
            position = newline + 1


class LongLine(NamedTuple):
    """A fragment of a line longer than the limit given to ``bounded_lines``."""

    fragment: bytes | bytearray
    ends_line: bool  # the line's last fragment (it ends with its newline, or the stream ends)


def bounded_lines(blocks: Iterable[bytes], max_line_bytes: int) -> Iterator[bytes | LongLine]:
    """Regroup a stream into blocks of whole lines, except lines longer than ``max_line_bytes``.

    Blocks of whole lines end with a newline (the stream's last one may not) and are at most a block
    plus ``max_line_bytes`` long. A line that grows beyond ``max_line_bytes`` across blocks comes as
    ``LongLine`` fragments instead of being joined: its length does not decide the memory used.
    """
    carry = bytearray()  # the start of a line that continues in the next block
    inside_long_line = False
    for block in blocks:
        position = 0
        if inside_long_line:
            newline = block.find(b"\n")
            if newline < 0:
                yield LongLine(block, ends_line=False)
                continue
            yield LongLine(block[: newline + 1], ends_line=True)
            inside_long_line = False
            position = newline + 1
        cut = block.rfind(b"\n", position) + 1
        if cut > position:
            yield bytes(carry) + block[position:cut] if carry else block[position:cut]
            carry.clear()
            position = cut
        rest = len(block) - position
        if len(carry) + rest > max_line_bytes:
            if carry:
                yield LongLine(carry, ends_line=False)  # handed over, not copied
                carry = bytearray()
            yield LongLine(block[position:], ends_line=False)
            inside_long_line = True
        else:
            carry += block[position:]
    if inside_long_line:
        yield LongLine(b"", ends_line=True)
    elif carry:
        yield bytes(carry)


def line_blocks(block: bytes, size: int) -> Iterator[bytes]:
    """Cut a block of whole lines after the first newline at or beyond every ``size`` bytes.

    Rendering a block costs ~70 times its size for tiny lines (one str per entry): rendering it in
    pieces of ``size`` bounds that, whatever the lines are like.
    """
    start = 0
    while len(block) - start > size:
        newline = block.find(b"\n", start + size - 1)
        if newline < 0:
            break
        yield block[start : newline + 1]
        start = newline + 1
    if start < len(block):
        yield block[start:]
