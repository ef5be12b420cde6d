"""Turn one log object's bytes into staged CSV rows and reject records. No AWS calls.

Streams: the object arrives in chunks, rows leave in chunk-sized writes, so an object is never held
in memory whole, nor is a line longer than any valid one (``parser.MAX_LINE_CHARS``). Each row is
``source_key<TAB>line_number<TAB>`` + the parser's ``csv_row``; each line that does not parse
becomes one JSON line in the rejects stream (object key, line number, reason, the raw line). Blank
lines are counted but neither loaded nor rejected.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO

from logpipes.s3log_redshift.parser import (
    CSV_DELIMITER,
    CSV_NULL,
    MAX_LINE_CHARS,
    Unparsed,
    csv_field,
    csv_row,
)

# Invalid UTF-8 bytes decode to lone surrogates (surrogateescape), which mark the line as a reject.
_SURROGATE = re.compile("[\udc80-\udcff]")
REJECTED_LINE_CHARS = 16_384  # a reject record keeps at most this much of its line
# iter_lines cuts a longer line to MAX_LINE_CHARS + 1 characters: it never reaches the parser.
_TOO_LONG = Unparsed(f"line longer than {MAX_LINE_CHARS} characters: no valid line is")


@dataclass
class ObjectCounts:
    """How one object's lines went: all of them (blank ones included), rows staged, lines rejected."""

    lines: int = 0  # every line, blank ones included
    rows: int = 0
    rejected: int = 0


def iter_lines(chunks: Iterable[bytes], max_chars: int = MAX_LINE_CHARS) -> Iterator[list[str]]:
    """Complete lines (without line endings, CR kept) from byte chunks, one list per chunk.

    Linear in the input: a line spanning chunks is gathered as a list of parts and joined once. A
    line longer than ``max_chars`` is cut to ``max_chars + 1`` characters (enough to tell it is too
    long, and to keep its start in the reject record): the rest is skipped as it streams past, so
    such a line is never held whole.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
    parts: list[str] = []  # the start of the line that the last chunk left open
    kept = 0  # characters in parts
    for chunk in chunks:
        text = decoder.decode(chunk)
        if "\n" not in text:
            if kept <= max_chars:
                parts.append(text[: max_chars + 1 - kept])
                kept += len(parts[-1])
            continue
        lines = text.split("\n")
        if parts:
            parts.append(lines[0][: max_chars + 1 - kept])
            lines[0] = "".join(parts)
        tail = lines.pop()
        parts, kept = [tail[: max_chars + 1]], min(len(tail), max_chars + 1)
        yield lines
    parts.append(decoder.decode(b"", final=True))
    if any(parts):
        yield ["".join(parts)[: max_chars + 1]]


def source_key_field(key: str) -> str:
    """The source_key CSV field: a key of exactly ``-`` is quoted so that COPY does not read NULL."""
    return f'"{key}"' if key == CSV_NULL else csv_field(key)


def normalize(
    chunks: Iterable[bytes], source_bucket: str, source_key: str, rows: IO[bytes], rejects: IO[bytes]
) -> ObjectCounts:
    """Write the CSV rows of one object to ``rows`` and its reject records to ``rejects``."""
    counts = ObjectCounts()
    prefix = f"{source_key_field(source_key)}{CSV_DELIMITER}"
    for lines in iter_lines(chunks):
        out: list[str] = []
        number = counts.lines
        for line in lines:
            number += 1
            row = csv_row(line) if len(line) <= MAX_LINE_CHARS else _TOO_LONG
            if type(row) is str and (line.isascii() or not _SURROGATE.search(line)):
                out.append(f"{prefix}{number}{CSV_DELIMITER}{row}\n")
            elif line.strip():
                reason = row.reason if isinstance(row, Unparsed) else "not valid UTF-8"
                rejects.write(_reject_record(source_bucket, source_key, number, reason, line))
                counts.rejected += 1
        counts.lines = number
        counts.rows += len(out)
        if out:
            rows.write("".join(out).encode())
    return counts


def _reject_record(bucket: str, key: str, number: int, reason: str, line: str) -> bytes:
    record = {
        "source_bucket": bucket,
        "source_key": key,
        "line_number": number,
        "reason": reason,
        # ensure_ascii keeps invalid bytes visible as \udcXX escapes instead of failing to encode.
        "line": line.rstrip("\r")[:REJECTED_LINE_CHARS],
    }
    return (json.dumps(record, ensure_ascii=True) + "\n").encode()
