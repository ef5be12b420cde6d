"""Hostile input for the S3 access log line parser and the object normaliser (issue 11).

Whatever the text or bytes (invalid UTF-8, NUL, lone surrogates, control characters, quotes and
brackets in odd places, real lines cut or spliced), the documented outcomes only: a row that fits
the schema, or an ``Unparsed`` with a reason; per object, every non-blank line is a row or a reject
record, never silently dropped, and nothing raises.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from logpipes.s3log_redshift.normalize import normalize
from logpipes.s3log_redshift.parser import FIELD_NAMES, S3AccessLogRecord, Unparsed, csv_row, parse_line
from logpipes.s3log_redshift.schema import FIELD_COLUMNS, INTEGER_RANGES, REQUEST_TIME_RANGE, Kind

from .helpers import sample_lines
from .test_parser import VALID, read_back

# Pieces an access log line is made of, so that generated text gets past the first checks often.
_PIECES = st.sampled_from(
    [" ", '"', "\\", "[", "]", "-", "+0000]", "[06/Feb/2019:00:00:38", "\t", "\r", "\x00", "é", "\udc80",
     "\ud800", "99999", "0", "2147483648", "9223372036854775808", '"GET / HTTP/1.1"', "\u2028", "\x85"]
)  # fmt: skip
_TEXT = st.lists(st.text(max_size=8) | _PIECES, max_size=40).map("".join)


def assert_fits_schema(record: S3AccessLogRecord) -> None:
    """What the database would refuse is never a parsed record."""
    for name, value in zip(FIELD_NAMES, record, strict=True):
        column = FIELD_COLUMNS[name]
        if value is None:
            continue
        if column.kind is Kind.TEXT:
            assert len(str(value).encode("utf-8", "surrogatepass")) <= column.length, name
        elif column.kind is Kind.TIMESTAMPTZ:
            assert REQUEST_TIME_RANGE[0] <= value < REQUEST_TIME_RANGE[1]
        else:
            low, high = INTEGER_RANGES[column.kind]
            assert low <= value <= high, name


def check_line(line: str) -> None:
    row, record = csv_row(line), parse_line(line)
    if isinstance(row, Unparsed):
        assert record == row and row.reason
        return
    assert isinstance(record, S3AccessLogRecord)
    assert "\x00" not in row
    fields = read_back(row)
    assert len(fields) == len(FIELD_NAMES)
    assert_fits_schema(record)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_TEXT)
@example("")
@example(VALID + " ")
@example(VALID.replace(" 200 ", " 99999 "))
@example(VALID.replace("06/Feb/2019", "31/Dec/9999").replace("+0000", "-2359"))
@example(VALID.replace("06/Feb/2019", "01/Jan/0001").replace("+0000", "+2359"))
@example(VALID.replace(" 10 10 ", " " + "0" * 5000 + " 10 "))
@example(VALID.replace("curl/8.0", "\udc80\ud800"))
def test_any_text_is_a_checked_row_or_a_reason(line: str) -> None:
    check_line(line)


@st.composite
def mutated_lines(draw: st.DrawFn) -> str:
    """A real line with a piece inserted, replaced or cut somewhere."""
    line = draw(st.sampled_from(_REAL_LINES))
    start = draw(st.integers(0, len(line)))
    end = draw(st.integers(start, min(len(line), start + 20)))
    return line[:start] + draw(_TEXT) + line[end:]


_REAL_LINES: list[str] = []


@pytest.fixture(scope="module", autouse=True)
def _real_lines(shared_data: Path) -> None:
    _REAL_LINES[:] = sample_lines(shared_data)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_lines())
def test_mutated_real_lines_are_a_checked_row_or_a_reason(line: str) -> None:
    check_line(line)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.binary(max_size=300) | st.sampled_from([b"\n", b"\r\n", b"\xff", b"\xc3", VALID.encode()])),
    st.integers(1, 64),
)
def test_any_bytes_every_line_is_a_row_or_a_reject(pieces: list[bytes], chunk_size: int) -> None:
    data = b"".join(pieces)
    rows, rejects = io.BytesIO(), io.BytesIO()
    chunks = [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)]
    counts = normalize(chunks, "logs", "hostile", rows, rejects)

    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()  # the newline ends the last line
    text_lines = [line.decode("utf-8", "surrogateescape") for line in lines]
    blank = sum(1 for line in text_lines if not line.strip())
    assert counts.lines == len(lines)
    assert counts.rows + counts.rejected + blank == counts.lines  # nothing dropped silently
    loaded = list(csv.reader(io.StringIO(rows.getvalue().decode()), delimiter="\t"))
    assert len(loaded) == counts.rows
    assert all(len(row) == 2 + len(FIELD_NAMES) for row in loaded)
    records = [json.loads(line) for line in rejects.getvalue().splitlines()]
    assert len(records) == counts.rejected and all(record["reason"] for record in records)
    numbers = sorted([int(row[1]) for row in loaded] + [record["line_number"] for record in records])
    assert numbers == [n for n, line in enumerate(text_lines, 1) if line.strip()]
