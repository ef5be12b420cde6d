"""The parser on every real S3 access log line, on generated lines (every field round trips), on bad lines."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logpipes.s3log_redshift import parser
from logpipes.s3log_redshift.parser import FIELD_NAMES, S3AccessLogRecord, Unparsed, csv_row, parse_line

from .helpers import S3_ACCESS_LOGS, sample_lines

DOCS_2019 = "awsdocs_LogFormat_2019-06_awsexamplebucket.log"
OLD_FORMAT = "awsdocs_LogFormat_2018-12_old-format_mybucket.log"
WORKSHOP_2024 = "HUNG-rushb_FCJ-Workshop-2_logging-workshop.log"
HOMEWORK = "HYF-AWS-serverless-course_week2-vsc.log"


def read_back(row: str) -> list[str | None]:
    """A staging CSV row as COPY reads it: tab-delimited, RFC 4180 quotes, ``-`` for NULL.

    (The rows never hold a quoted ``-``: a value of ``-`` is NULL in S3's own format.)
    """
    return [None if field == "-" else field for field in next(csv.reader([row], delimiter="\t"))]


def first_line(shared_data: Path, name: str) -> str:
    return (shared_data / S3_ACCESS_LOGS / name).read_text().splitlines()[0]


def test_every_real_line_parses(shared_data: Path) -> None:
    lines = sample_lines(shared_data)
    records = [parse_line(line) for line in lines]
    assert [r for r in records if isinstance(r, Unparsed)] == []
    assert len(records) == 31
    # The samples hold the 18-, 24-, 25- and 26-field formats; fields a line predates are None.
    field_counts = [17 + len(line.rsplit('" ', 1)[1].split(" ")) for line in lines]
    assert Counter(field_counts) == {18: 8, 24: 16, 25: 5, 26: 2}
    for count, record in zip(field_counts, records, strict=True):
        assert record[count:-1] == (None,) * (27 - count)
    assert all(isinstance(r, S3AccessLogRecord) and r.extra_fields is None for r in records)


def test_field_values_of_the_2019_documentation_line(shared_data: Path) -> None:
    record = parse_line(first_line(shared_data, DOCS_2019))
    owner = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
    assert record == S3AccessLogRecord(
        bucket_owner=owner,
        bucket="awsexamplebucket",
        request_time=datetime(2019, 2, 6, 0, 0, 38, tzinfo=UTC),
        remote_ip="192.0.2.3",
        requester=owner,
        request_id="3E57427F3EXAMPLE",
        operation="REST.GET.VERSIONING",
        key=None,
        request_uri="GET /awsexamplebucket?versioning HTTP/1.1",
        http_status=200,
        error_code=None,
        bytes_sent=113,
        object_size=None,
        total_time_ms=7,
        turn_around_time_ms=None,
        referer=None,
        user_agent="S3Console/0.4",
        version_id=None,
        host_id="s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234=",
        signature_version="SigV2",
        cipher_suite="ECDHE-RSA-AES128-GCM-SHA256",
        authentication_type="AuthHeader",
        host_header="awsexamplebucket.s3.amazonaws.com",
        tls_version="TLSV1.1",
        access_point_arn=None,
        acl_required=None,
        source_region=None,
        extra_fields=None,
    )


def test_old_18_field_line_has_none_for_later_fields(shared_data: Path) -> None:
    lines = (shared_data / S3_ACCESS_LOGS / OLD_FORMAT).read_text().splitlines()
    put = parse_line(lines[4])
    assert isinstance(put, S3AccessLogRecord)
    assert (put.operation, put.key, put.http_status, put.bytes_sent, put.object_size) == (
        "REST.PUT.OBJECT", "s3-dg.pdf", 200, None, 4406583,
    )  # fmt: skip
    assert (put.total_time_ms, put.turn_around_time_ms, put.version_id, put.host_id) == (
        41754,
        28,
        None,
        None,
    )
    assert put[FIELD_NAMES.index("host_id") :] == (None,) * 10


def test_2024_line_with_26_fields_and_an_iam_requester(shared_data: Path) -> None:
    record = parse_line(first_line(shared_data, WORKSHOP_2024))
    assert isinstance(record, S3AccessLogRecord)
    assert record.requester == "arn:aws:iam::928738046450:user/hung"
    assert record.request_time == datetime(2024, 3, 3, 12, 52, 26, tzinfo=UTC)
    assert (record.total_time_ms, record.turn_around_time_ms) == (53, 53)
    assert record.user_agent is not None and record.user_agent.startswith(
        "S3Console/0.4, aws-internal/3 aws-sdk"
    )
    assert (record.tls_version, record.access_point_arn, record.acl_required) == ("TLSv1.2", None, None)


def test_line_without_remote_ip_and_with_an_error(shared_data: Path) -> None:
    record = parse_line(first_line(shared_data, HOMEWORK))
    assert isinstance(record, S3AccessLogRecord)
    assert (record.remote_ip, record.requester, record.http_status, record.error_code) == (
        None, "svc:s3.amazonaws.com", 403, "AccessDenied",
    )  # fmt: skip
    assert (record.bytes_sent, record.object_size, record.referer, record.user_agent) == (
        243,
        462,
        None,
        None,
    )


def test_newest_documented_fields_and_unknown_extra_fields() -> None:
    # The 27-field example of the current S3 documentation, plus two fields S3 might add later.
    owner = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
    line = (
        f"{owner} amzn-s3-demo-bucket1 [06/Feb/2019:00:00:38 +0000] 192.0.2.3 {owner} 3E57427F3EXAMPLE "
        'REST.GET.VERSIONING - "GET /amzn-s3-demo-bucket1?versioning HTTP/1.1" 200 - 113 - 7 - "-" '
        '"S3Console/0.4" - s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234= '
        "SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader amzn-s3-demo-bucket1.s3.us-west-1.amazonaws.com "
        "TLSV1.2 arn:aws:s3:us-west-1:123456789012:accesspoint/example-AP Yes us-east-1"
    )
    record = parse_line(line)
    assert isinstance(record, S3AccessLogRecord)
    assert record.access_point_arn == "arn:aws:s3:us-west-1:123456789012:accesspoint/example-AP"
    assert (record.acl_required, record.source_region, record.extra_fields) == ("Yes", "us-east-1", None)
    extended = parse_line(line + " future-field - another")
    assert isinstance(extended, S3AccessLogRecord)
    assert extended[:-1] == record[:-1]
    assert extended.extra_fields == "future-field - another"
    row = csv_row(line + " future-field - another")
    assert isinstance(row, str) and row.endswith("\tus-east-1\tfuture-field - another")


def test_quoted_fields_keep_spaces_and_escaped_quotes() -> None:
    line = (
        "owner bucket [06/Feb/2019:00:00:38 +0000] 192.0.2.3 - REQ REST.GET.OBJECT a%20b.txt "
        r'"GET /bucket/a%20b.txt?x=\"1\" HTTP/1.1" 200 - 10 10 3 2 "https://example.com/a b" '
        r'"Mozilla/5.0 (X11; \"quoted\" \\ backslash)" - hostid SigV4 cipher AuthHeader host TLSv1.3'
    )
    record = parse_line(line)
    assert isinstance(record, S3AccessLogRecord)
    assert record.request_uri == 'GET /bucket/a%20b.txt?x="1" HTTP/1.1'
    assert record.referer == "https://example.com/a b"
    assert record.user_agent == 'Mozilla/5.0 (X11; "quoted" \\ backslash)'
    assert record.tls_version == "TLSv1.3"
    row = csv_row(line)
    assert isinstance(row, str)
    assert read_back(row)[FIELD_NAMES.index("user_agent")] == record.user_agent


def test_time_is_converted_to_utc() -> None:
    line = 'o b [01/Jan/2024:01:30:00 +0200] ip - id OP - "-" 200 - - - - - "-" "-" -'
    record = parse_line(line)
    assert isinstance(record, S3AccessLogRecord)
    assert record.request_time == datetime(2023, 12, 31, 23, 30, tzinfo=UTC)
    assert record.request_uri is None  # a bare "-" where a quoted field belongs
    assert csv_row(line) == "\t".join(
        ["o", "b", "2023-12-31 23:30:00+00:00", "ip", "-", "id", "OP", "-", "-", "200"] + ["-"] * 18
    )


def test_line_endings_are_ignored(shared_data: Path) -> None:
    line = first_line(shared_data, DOCS_2019)
    assert parse_line(line + "\r\n") == parse_line(line + "\n") == parse_line(line + "\r") == parse_line(line)


VALID = (
    'o b [06/Feb/2019:00:00:38 +0000] 192.0.2.3 - id REST.GET.OBJECT k "GET /k HTTP/1.1" 200 - 10 10 3 2 '
    '"-" "curl/8.0" -'
)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("", "empty line"),
        ("   ", "empty line"),
        ("GET /index.html 200", "no [time] field"),
        (
            VALID.replace("[06/Feb/2019:00:00:38 +0000]", "[06/Feb/2019:00:00:38]"),
            "not the S3 server access log",
        ),
        (VALID.replace("06/Feb/2019", "06/Fev/2019"), "bad time [06/Fev/2019:00:00:38 +0000]"),
        (VALID.replace("06/Feb/2019", "31/Feb/2019"), "day is out of range for month"),
        (VALID.replace(" 200 ", " OK "), "http_status is not a number: 'OK'"),
        (VALID.replace(" 10 10 ", " 10 -10 "), "object_size is not a number: '-10'"),
        (VALID.replace(" 10 10 ", " 10 \u0661\u0660 "), "object_size is not a number"),  # Arabic-Indic 10
        (VALID.replace(' "curl/8.0" -', ' "curl/8.0"'), "fewer than 18 fields"),
        (VALID.replace('"curl/8.0"', '"curl/8.0'), "unterminated quoted field"),
        (VALID.replace('"curl/8.0"', "curl/8.0"), "fewer than 3 quoted fields"),
        (VALID.replace("curl/8.0", "curl\x00"), "NUL character"),
        # Apache combined log format: close, but not an S3 line.
        (
            '192.0.2.3 - - [06/Feb/2019:00:00:38 +0000] "GET / HTTP/1.1" 200 10 "-" "curl/8.0"',
            "not the S3 server access log layout (12 space-separated tokens)",
        ),
    ],
)
def test_broken_lines_return_a_reason(line: str, reason: str) -> None:
    assert isinstance(parse_line(VALID), S3AccessLogRecord)
    result = parse_line(line)
    assert isinstance(result, Unparsed)
    assert reason in result.reason
    assert csv_row(line) == result


def test_both_tokenizing_paths_agree_on_every_real_line(shared_data: Path) -> None:
    """The fast segment path and the general expression give the same row for each real line."""
    for line in sample_lines(shared_data):
        fast = parser._fast_row(line)
        assert fast is not None, line
        assert fast == parser._general_row(line)


# --- generated lines: every field survives line -> record and line -> CSV row -----------------

_TOKEN_CHARS = st.characters(
    blacklist_categories=("Cs",), blacklist_characters=' "\n\r\x00\x0b\x0c\x1c\x1d\x1e\x1f\x85\u2028\u2029'
)
# At most 4 bytes a character: 12 characters fit every column of 64 bytes or more, 2 fit all of them.
_token = st.text(_TOKEN_CHARS, min_size=1, max_size=12).filter(lambda t: t != "-" and not t.isspace())
_short_token = st.text(_TOKEN_CHARS, min_size=1, max_size=2).filter(lambda t: t != "-" and not t.isspace())
_quoted = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r\x00"), min_size=1, max_size=30
).filter(lambda t: t != "-")
_optional_token = st.none() | _token
_number = st.none() | st.integers(min_value=0, max_value=2**63 - 1)
_milliseconds = st.none() | st.integers(min_value=0, max_value=2**31 - 1)
_time = st.datetimes(min_value=datetime(2006, 1, 1), max_value=datetime(2099, 12, 31)).map(
    lambda t: t.replace(microsecond=0, tzinfo=UTC)
)


@st.composite
def records(draw: st.DrawFn) -> S3AccessLogRecord:
    count = draw(st.sampled_from([18, 24, 25, 26, 27]))
    trailing = [draw(st.none() | _short_token) for _ in range(count - 17)] + [None] * (27 - count)
    extra = draw(st.none() | st.lists(_token, min_size=1, max_size=3).map(" ".join)) if count == 27 else None
    return S3AccessLogRecord(
        draw(_token), draw(_token), draw(_time), *(draw(_optional_token) for _ in range(5)),
        draw(st.none() | _quoted), draw(st.none() | st.integers(100, 599)), draw(_optional_token),
        draw(_number), draw(_number), draw(_milliseconds), draw(_milliseconds),
        draw(st.none() | _quoted), draw(st.none() | _quoted), *trailing, extra,
    )  # fmt: skip


def render(record: S3AccessLogRecord) -> str:
    """The line S3 would write for ``record`` (the inverse of parse_line)."""

    def token(value: Any) -> str:
        return "-" if value is None else str(value)

    def quoted(value: str | None) -> str:
        return '"-"' if value is None else '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

    values = list(record)
    last = max([17] + [i for i in range(17, 27) if values[i] is not None])
    fields = [token(v) for v in values[:2]]
    fields.append(record.request_time.strftime("[%d/%b/%Y:%H:%M:%S +0000]"))
    fields += [token(v) for v in values[3:8]]
    fields.append(quoted(record.request_uri))
    fields += [token(v) for v in values[9:15]]
    fields += [quoted(record.referer), quoted(record.user_agent)]
    fields += [token(v) for v in values[17 : last + 1]]
    if record.extra_fields is not None:
        fields += ["-"] * (27 - len(fields))  # every documented field comes before the extra ones
        fields.append(record.extra_fields)
    return " ".join(fields)


def csv_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S+00:00")
    return str(value)


@settings(max_examples=400, deadline=None)
@given(records())
def test_generated_lines_round_trip(record: S3AccessLogRecord) -> None:
    line = render(record)
    assert parse_line(line) == record
    row = csv_row(line)
    assert isinstance(row, str)
    assert read_back(row) == [csv_text(value) for value in record]


@pytest.mark.parametrize("trailing", [" ", "  ", "   "])
def test_trailing_whitespace_is_no_field_on_either_path(trailing: str) -> None:
    """Absent is NULL: spaces after the last field add no field, on the fast and the general path
    (before the fix, one trailing space made the next field '' on the fast path, NULL on the other)."""
    escaped = VALID.replace('"curl/8.0"', '"curl \\"8\\""')  # an escaped quote: the general path
    for line in (VALID, escaped):
        record = parse_line(line)
        assert isinstance(record, S3AccessLogRecord)
        assert parse_line(line + trailing) == record
        assert csv_row(line + trailing) == csv_row(line)
        assert record.version_id is None and record.host_id is None
