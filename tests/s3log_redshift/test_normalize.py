"""Normalising one object: chunk boundaries, line endings, invalid UTF-8, rejects, the source columns."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from logpipes.s3log_redshift.normalize import iter_lines, normalize
from logpipes.s3log_redshift.parser import FIELD_NAMES, csv_row

from .helpers import sample_lines


def run(
    data: bytes, chunk_size: int, key: str = "logs/2024-03-03-12-52-26-ABCDEF"
) -> tuple[list[list[str]], list[dict], object]:
    rows, rejects = io.BytesIO(), io.BytesIO()
    chunks = [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)]
    counts = normalize(chunks, "logs-bucket", key, rows, rejects)
    parsed_rows = list(csv.reader(io.StringIO(rows.getvalue().decode()), delimiter="\t"))
    parsed_rejects = [json.loads(line) for line in rejects.getvalue().splitlines()]
    return parsed_rows, parsed_rejects, counts


def test_rows_are_independent_of_chunk_boundaries(shared_data: Path) -> None:
    lines = sample_lines(shared_data)
    data = ("\r\n".join(lines) + "\r\n").encode()  # CRLF, as a Windows tool would rewrite it
    expected = None
    for chunk_size in (1, 7, 64, 4096, len(data)):
        rows, rejects, _ = run(data, chunk_size)
        assert rejects == []
        if expected is None:
            expected = rows
        assert rows == expected
    assert expected is not None and len(expected) == len(lines)
    for number, (row, line) in enumerate(zip(expected, lines, strict=True), start=1):
        assert row[:2] == ["logs/2024-03-03-12-52-26-ABCDEF", str(number)]
        assert "\t".join(row[2:]) == csv_row(line)


def test_last_line_without_newline_and_blank_lines(shared_data: Path) -> None:
    lines = sample_lines(shared_data)
    rows, rejects, counts = run(f"{lines[0]}\n\n   \n{lines[1]}".encode(), 10)
    assert [row[1] for row in rows] == ["1", "4"]
    assert rejects == []
    assert (counts.lines, counts.rows, counts.rejected) == (4, 2, 0)


def test_invalid_utf8_line_is_rejected_with_its_bytes_visible(shared_data: Path) -> None:
    lines = sample_lines(shared_data)
    bad = lines[1].replace("S3Console/0.4", "S3Console\udcff").encode("utf-8", "surrogateescape")
    good_unicode = lines[2].replace("S3Console/0.4", "S3Console/0.4 (Zürich ✓)").encode()
    rows, rejects, counts = run(lines[0].encode() + b"\n" + bad + b"\n" + good_unicode + b"\n", 5)
    assert [row[1] for row in rows] == ["1", "3"]
    assert "Zürich ✓" in rows[1][2 + FIELD_NAMES.index("user_agent")]
    assert [(r["line_number"], r["reason"]) for r in rejects] == [(2, "not valid UTF-8")]
    assert "\\udcff" in json.dumps(rejects[0])
    assert (counts.lines, counts.rows, counts.rejected) == (3, 2, 1)


def test_reject_record_carries_key_line_number_reason_and_raw_line() -> None:
    rows, rejects, _ = run(b'garbage "with quotes"\r\n', 1024)
    assert rows == []
    assert rejects == [
        {
            "source_bucket": "logs-bucket",
            "source_key": "logs/2024-03-03-12-52-26-ABCDEF",
            "line_number": 1,
            "reason": "no [time] field",
            "line": 'garbage "with quotes"',
        }
    ]


def test_source_key_that_needs_quoting(shared_data: Path) -> None:
    line = sample_lines(shared_data)[0].encode() + b"\n"
    for key in ("-", 'odd\t"key"'):
        rows, _, _ = run(line, 100, key=key)
        assert rows[0][0] == key


def test_iter_lines_keeps_multibyte_characters_split_across_chunks() -> None:
    data = "é\n✓x\n".encode()
    chunks = [data[i : i + 1] for i in range(len(data))]
    assert [line for lines in iter_lines(chunks) for line in lines] == ["é", "✓x"]
