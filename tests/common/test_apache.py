"""The shared Apache access log parser, on real NASA-HTTP and Combined logs and on generated lines."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logpipes.common.apache import (
    ApacheParseError,
    ApacheRecord,
    iso_time,
    parse_line,
    split_line,
    split_plain_line,
)


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8", errors="surrogateescape").splitlines(keepends=True)


def test_every_nasa_line_parses(shared_data: Path) -> None:
    lines = _lines(shared_data / "nasa_http/NASA_access_log_Aug95.first20000.log")
    records = [parse_line(line) for line in lines]
    assert len(records) == 20_000
    assert sum(r.size is None for r in records) == 251  # '-' byte counts (SOURCES.md)
    assert sum(r.protocol is None for r in records) > 0  # requests without a protocol are kept


def test_nasa_first_line_fields(shared_data: Path) -> None:
    first = _lines(shared_data / "nasa_http/NASA_access_log_Jul95.first2000.log")[0]
    assert parse_line(first) == ApacheRecord(
        host="199.72.81.55",
        ident=None,
        user=None,
        time="1995-07-01T00:00:01-04:00",
        method="GET",
        path="/history/apollo/",
        protocol="HTTP/1.0",
        request="GET /history/apollo/ HTTP/1.0",
        status=200,
        size=6245,
        referer=None,
        agent=None,
    )


def test_crlf_and_missing_final_newline(shared_data: Path) -> None:
    crlf = _lines(shared_data / "nasa_http/variants/apache.access.log_small.CRLF.log")
    plain = _lines(shared_data / "nasa_http/NASA_access_log_Aug95.first20000.log")[: len(crlf)]
    assert [parse_line(line) for line in crlf] == [parse_line(line) for line in plain]
    last = _lines(shared_data / "nasa_http/variants/COM6012_NASA_Aug95_100.no-final-newline.txt")[-1]
    assert not last.endswith("\n") and parse_line(last).status is not None


def test_combined_log(shared_data: Path) -> None:
    lines = _lines(shared_data / "apache_combined/elastic-examples_apache_logs.log")
    failures = []
    for number, line in enumerate(lines, 1):
        try:
            parse_line(line)
        except ApacheParseError as error:
            failures.append((number, str(error)))
    # SOURCES.md: exactly one line has an unterminated user-agent quote.
    assert failures == [(8899, "unterminated quoted field")]
    record = parse_line(lines[0])
    assert record.referer and record.agent and record.time.endswith("+00:00")


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("", "empty line"),
        ("   \n", "empty line"),
        ('1.2.3.4 - - 01/Jul/1995:00:00:01 -0400 "GET / HTTP/1.0" 200 1', "no [timestamp] field"),
        ("1.2.3.4 - - [01/Jul/1995:00:00:01 -0400] GET / 200 1", "no quoted request field"),
        ('1.2.3.4 - - [01/Jul/1995:00:00:01 -0400] "GET / HTTP/1.0" OK 1', "fields after the request"),
        ('1.2.3.4 - - [01/Foo/1995:00:00:01 -0400] "GET / HTTP/1.0" 200 1', "bad timestamp"),
    ],
)
def test_bad_lines_say_why(line: str, reason: str) -> None:
    with pytest.raises(ApacheParseError, match=re.escape(reason)):
        parse_line(line)


def test_iso_time_slow_path_agrees() -> None:
    assert iso_time("31/Dec/1999:23:59:59 +0530") == "1999-12-31T23:59:59+05:30"
    with pytest.raises(ApacheParseError):
        iso_time("31/Dec/1999:23:59:59")


_token = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters='"[]\\'), min_size=1
)
_quoted = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=126, exclude_characters='"\\'), max_size=40
)


@given(
    host=_token,
    user=_token,
    day=st.integers(1, 28),
    month=st.sampled_from(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    ),
    method=st.sampled_from(["GET", "POST", "HEAD"]),
    path=_token,
    status=st.integers(100, 599),
    size=st.one_of(st.none(), st.integers(0, 10**12)),
    referer=_quoted,
    agent=_quoted,
)
def test_generated_combined_lines_round_trip(
    host: str, user: str, day: int, month: str, method: str, path: str, status: int, size: int | None,
    referer: str, agent: str,
) -> None:  # fmt: skip
    line = (
        f'{host} - {user} [{day:02d}/{month}/2001:12:34:56 +0000] "{method} {path} HTTP/1.1" '
        f'{status} {"-" if size is None else size} "{referer}" "{agent}"\n'
    )
    record = parse_line(line)
    assert (record.host, record.user, record.method, record.path, record.protocol) == (
        host, None if user == "-" else user, method, path, "HTTP/1.1",
    )  # fmt: skip
    assert (record.status, record.size) == (status, size)
    assert record.referer == (None if referer == "-" else referer)
    assert record.agent == (None if agent == "-" else agent)
    assert record.time.startswith("2001-") and record.time.endswith("T12:34:56+00:00")


@pytest.mark.parametrize("escape", ["", '\\"'], ids=["fast path", "backslash path"])
def test_only_a_lone_dash_is_absent(escape: str) -> None:
    """``-`` is an absent field; ``-x`` and ``--`` are values (both regexes agree)."""
    dashes = f'h - -x [01/Jul/1995:00:00:01 -0400] "GET /{escape} HTTP/1.0" - - "-" "--"\n'
    values = f'h -x - [01/Jul/1995:00:00:01 -0400] "GET /{escape} HTTP/1.0" 200 0 "-ref" "-"\n'
    first, second = parse_line(dashes), parse_line(values)
    assert (first.ident, first.user, first.status, first.size, first.referer, first.agent) == (
        None, "-x", None, None, None, "--",
    )  # fmt: skip
    assert (second.ident, second.user, second.status, second.size, second.referer, second.agent) == (
        "-x", None, 200, 0, "-ref", None,
    )  # fmt: skip


_PLAIN = re.compile(r"[ -!#-\[\]-~]*")  # printable ASCII but '"' and '\'
_LINE_SHAPES = st.sampled_from(
    [
        '1.2.3.4 - - [01/Jul/1995:00:00:01 -0400] "GET /a HTTP/1.0" 200 12\n',
        'h -x u [31/Dec/1999:23:59:59 +0530] "GET /a" 000 0012 "-" "agent 1.0"\r\n',
        'h - - [01/Jul/1995:00:00:01 -0400] "GET  /a  HTTP/1.0 extra" - - "ref" "-"',
        'h - - [01/Foo/1995:00:00:01 -0400] "GET / HTTP/1.0" 200 1\n',
    ]
)
_INSERTED = st.sampled_from(['"', "\\", "\t", "\x00", "\x7f", "é", "\u2028", "٣", " ", "-", "0", "\r"])


@given(shape=_LINE_SHAPES, inserts=st.lists(st.tuples(st.integers(0, 200), _INSERTED), max_size=3))
def test_plain_lines_split_as_split_line_splits_them(shape: str, inserts: list[tuple[int, str]]) -> None:
    """split_plain_line gives split_line's fields or None, and only fields that need no escaping."""
    line = shape
    for position, text in inserts:
        line = line[:position] + text + line[position:]
    try:
        expected = split_line(line)
    except ApacheParseError as error:
        try:  # a line split_line rejects is not plain, or is rejected for the same reason
            assert split_plain_line(line) is None
        except ApacheParseError as plain_error:
            assert str(plain_error) == str(error)
        return
    plain = split_plain_line(line)
    if plain is not None:
        assert plain == expected
        assert all(_PLAIN.fullmatch(value) for value in plain if value is not None)
        status, size = plain[8], plain[9]
        assert all(value.isascii() and value.isdigit() for value in (status, size) if value is not None)


def test_nearly_every_real_line_is_plain(shared_data: Path) -> None:
    lines = _lines(shared_data / "nasa_http/NASA_access_log_Aug95.first20000.log")
    lines += _lines(shared_data / "apache_combined/elastic-examples_apache_logs.log")
    plain = [split_plain_line(line) for line in lines]
    assert sum(fields is None for fields in plain) < len(lines) // 1000
    assert all(fields == split_line(line) for fields, line in zip(plain, lines, strict=True) if fields)


@pytest.mark.parametrize(
    "line",
    [
        '1.2.3.4 - - [0\u0661/Jul/1995:00:00:01 -0400] "GET / HTTP/1.0" 200 1',  # an Arabic-Indic digit
        '1.2.3.4 - - [01/Jul/1995:00:00:01 -0400] "GET / HTTP/1.0" \u0662\u0660\u0660 1',
        '1.2.3.4 - - [01/Jul/1995:00:00:01 -0400] "GET / HTTP/1.0" 200 \uff11',  # a fullwidth digit
    ],
)
def test_digits_of_other_scripts_are_rejected_not_passed_on(line: str) -> None:
    # \d matches every script's digits: such a time used to come out as an invalid ISO string,
    # which failed the whole es chunk later instead of this one line here.
    with pytest.raises(ApacheParseError):
        parse_line(line)
    assert split_plain_line(line) is None
