"""Parse Amazon S3 server access log lines into typed fields. Pure: no I/O.

A log line is space-separated, but three things make a plain split wrong: the time is
``[06/Feb/2019:00:00:38 +0000]`` (a space inside the brackets), and Request-URI, Referer and
User-Agent are double-quoted and hold spaces (and quotes, escaped with a backslash). S3 has added
fields at the end over the years: lines have 18 fields (to VersionId, before 2019), then 24
(…TLSVersion), 25 (+AccessPointArn), 26 (+aclRequired) and 27 (+Source region). Every field AWS
documents is parsed; fields S3 adds later are kept in ``extra_fields`` rather than rejected.

Two outputs, one normalisation:

- ``csv_row``: one row of the staging CSV that the loader COPYs (tab-delimited, RFC 4180 quoting
  when a value needs it, ``-`` for NULL as in the log, the time as ``YYYY-MM-DD HH:MM:SS+00:00`` in
  UTC, numbers checked to be ASCII digits). This is the hot path: a line with the usual shape is
  re-delimited segment by segment with C-level string methods, never field by field, which is
  why normalising is faster than merely splitting a line with a regular expression. Any other
  line (escaped quotes, a bare ``-`` for a quoted field, tabs) takes a regular expression that
  handles every documented form, field by field.
- ``parse_line``: an ``S3AccessLogRecord`` of Python values (int, UTC datetime, None), read back
  from that row, so the two can never disagree.

Every value is checked against its column in ``schema.py`` (integer ranges, VARCHAR widths in
bytes, the request-time window): a line whose value would fail the COPY is an ``Unparsed`` of its
own. Spaces after the last field are no field: an absent field is NULL on both paths. A line
longer than ``MAX_LINE_CHARS`` cannot hold values that fit their columns; the loader rejects it
before it reaches the parser, without assembling it.

A line that is not an access log line gives an ``Unparsed`` with the reason; nothing here raises
on bad input.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from operator import lt
from typing import NamedTuple

from logpipes.s3log_redshift.schema import FIELD_COLUMNS, INTEGER_RANGES, REQUEST_TIME_RANGE, Kind


class S3AccessLogRecord(NamedTuple):
    """One request. ``-`` and empty values are None; fields a line predates are None."""

    bucket_owner: str | None
    bucket: str | None
    request_time: datetime  # UTC
    remote_ip: str | None
    requester: str | None
    request_id: str | None
    operation: str | None
    key: str | None  # URL-encoded, as S3 logs it
    request_uri: str | None
    http_status: int | None
    error_code: str | None
    bytes_sent: int | None
    object_size: int | None
    total_time_ms: int | None
    turn_around_time_ms: int | None
    referer: str | None
    user_agent: str | None
    version_id: str | None
    host_id: str | None
    signature_version: str | None
    cipher_suite: str | None
    authentication_type: str | None
    host_header: str | None
    tls_version: str | None
    access_point_arn: str | None
    acl_required: str | None  # "Yes" when the request needed an ACL to be authorized
    source_region: str | None
    extra_fields: str | None  # any fields after Source region, space-separated as logged


class Unparsed(NamedTuple):
    """A line that is not an S3 server access log line, and why."""

    reason: str


FIELD_NAMES: tuple[str, ...] = S3AccessLogRecord._fields
DOCUMENTED_FIELDS = len(FIELD_NAMES) - 1  # 27: all but extra_fields
OLDEST_FORMAT_FIELDS = 18  # the pre-2019 lines end at VersionId
CSV_DELIMITER = "\t"
_INTEGER_POSITIONS = tuple(
    FIELD_NAMES.index(name)
    for name in ("http_status", "bytes_sent", "object_size", "total_time_ms", "turn_around_time_ms")
)
_TIME_POSITION = FIELD_NAMES.index("request_time")
if tuple(FIELD_COLUMNS) != FIELD_NAMES:  # pragma: no cover - a programming error, caught on import
    raise RuntimeError("schema.FIELD_COLUMNS and S3AccessLogRecord disagree on the fields")


# --- column limits, derived from schema.py ---------------------------------------------------------
# Per field, in row order: the most characters (TEXT: bytes; integers: digits of the largest value;
# the time: its CSV text) a value may have. Only non-negative ASCII digits reach the integer check,
# so the upper bound of the range is the one that matters.
def _width(column_kind: Kind, length: int) -> int:
    if column_kind is Kind.TEXT:
        return length
    if column_kind is Kind.TIMESTAMPTZ:
        return len("YYYY-MM-DD HH:MM:SS+00:00")
    return len(str(INTEGER_RANGES[column_kind][1]))


_COLUMNS = tuple(FIELD_COLUMNS.values())  # in row order
_WIDTHS = tuple(_width(column.kind, column.length) for column in _COLUMNS)
# The largest value of each integer column (None for the others), for a value at its width.
_MAXIMA = tuple(
    INTEGER_RANGES[column.kind][1] if column.kind in INTEGER_RANGES else None for column in _COLUMNS
)
_EARLIEST, _LATEST = REQUEST_TIME_RANGE
# No valid line is longer: every value at its width, each escaped (a backslash per character at
# worst), plus the separators, quotes and brackets around them.
MAX_LINE_CHARS = 2 * sum(_WIDTHS) + 4 * len(FIELD_NAMES)


# The common case in one C-level pass: every value shorter than these fits without a closer look
# (an integer with fewer digits than its type's maximum is below it).
_SURELY_FITS = tuple(
    width + (FIELD_COLUMNS[name].kind not in INTEGER_RANGES)
    for name, width in zip(FIELD_NAMES, _WIDTHS, strict=True)
)


# The same on a fast-path row (unquoted, tab-separated values) in one regular-expression pass.
_ROW_SURELY_FITS = re.compile(CSV_DELIMITER.join(f"[^\t]{{0,{bound - 1}}}" for bound in _SURELY_FITS))


def _check_fits(values: Sequence[str], ascii_only: bool) -> None:
    """Raise _LineError for the first value (row order, unquoted) that its column cannot hold."""
    if ascii_only and all(map(lt, map(len, values), _SURELY_FITS)):
        return
    # VARCHAR widths count bytes; surrogatepass measures even a lone surrogate instead of failing.
    sizes = (
        list(map(len, values)) if ascii_only else [len(v.encode("utf-8", "surrogatepass")) for v in values]
    )
    for value, size, width, column, maximum in zip(values, sizes, _WIDTHS, _COLUMNS, _MAXIMA, strict=True):
        if size > width and column.kind is Kind.TEXT:
            raise _LineError(f"{column.name} of {size} bytes does not fit VARCHAR({column.length})")
        if size > width:
            raise _LineError(f"{column.name} of {size} digits does not fit {column.kind.value.upper()}")
        # As many digits as the maximum: compare the values.
        if size == width and maximum is not None and int(value) > maximum:
            raise _LineError(f"{column.name} {value} does not fit {column.kind.value.upper()}")


class _LineError(ValueError):
    """Raised inside the parser; the public functions turn it into Unparsed."""


# --- tokenizer (the general path) ------------------------------------------------------------
# Returns the field texts in log order, the time in two tokens as a plain split gives it:
# [owner, bucket, "[06/Feb/2019:00:00:38", "+0000]", ip, …, key, uri, status, …, referer, agent,
# version id, …]. Quoted values come unescaped and without their quotes. Tokens are what
# str.split(" ") gives, so that both paths agree on what a token is.

_QUOTED = r'(?:"((?:[^"\\]|\\.)*+)"|(-))'
_LINE = re.compile(
    r"([^ ]+) ([^ ]+) (\[[^ \]]+) ([^ \]]+\]) ([^ ]+) ([^ ]+) ([^ ]+) ([^ ]+) ([^ ]+) "
    + _QUOTED
    + r" ([^ ]+) ([^ ]+) ([^ ]+) ([^ ]+) ([^ ]+) ([^ ]+) "
    + _QUOTED
    + " "
    + _QUOTED
    + r"(?: (.+))?"
)
_ESCAPE = re.compile(r"\\([\\\"])")


def _tokens(line: str) -> list[str]:
    match = _LINE.fullmatch(line)
    if match is None:
        raise _LineError(_diagnose(line))
    groups = match.groups()
    tokens = list(groups[:9])
    # Each quoted field is two groups: the text between the quotes, or a bare "-".
    tokens.append(_unquote(groups[9], groups[10]))
    tokens += groups[11:17]
    tokens.append(_unquote(groups[17], groups[18]))
    tokens.append(_unquote(groups[19], groups[20]))
    if groups[21] is None:
        raise _LineError(f"fewer than {OLDEST_FORMAT_FIELDS} fields: nothing after User-Agent")
    tokens += groups[21].split(" ")
    return tokens


def _unquote(quoted: str | None, bare: str | None) -> str:
    if quoted is None:
        return bare or "-"
    return _ESCAPE.sub(r"\1", quoted) if "\\" in quoted else quoted


def _diagnose(line: str) -> str:
    """Say what is wrong with a line the general expression refused (failures only)."""
    if not line.strip():
        return "empty line"
    if " [" not in line or "]" not in line:
        return "no [time] field"
    quotes = len(re.findall(r'(?<!\\)"', line))
    if quotes % 2:
        return "unterminated quoted field"
    if quotes < 6:
        return "fewer than 3 quoted fields (Request-URI, Referer, User-Agent)"
    return f"not the S3 server access log layout ({len(line.split(' '))} space-separated tokens)"


# --- time ----------------------------------------------------------------------------------------

_MONTHS = {
    "Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "May": 5, "Jun": 6,
    "Jul": 7, "Aug": 8, "Sep": 9, "Oct": 10, "Nov": 11, "Dec": 12,
}  # fmt: skip
_TIME = re.compile(r"\[(\d{2})/([A-Z][a-z]{2})/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})\]")
# A log object holds many requests per second, and the time is the costliest field to convert:
# memoise it. S3 writes +0000 (UTC) everywhere, so the first token alone is the key.
_UTC_TIMES: dict[str, tuple[datetime, str]] = {}
_UTC_TIMES_LIMIT = 100_000


def _utc_time(opening: str, closing: str) -> tuple[datetime, str]:
    """``[06/Feb/2019:00:00:38``, ``+0000]`` -> (UTC datetime, its CSV text)."""
    if closing == "+0000]":
        cached = _UTC_TIMES.get(opening)
        if cached is not None:
            return cached
    match = _TIME.fullmatch(f"{opening} {closing}")
    month = _MONTHS.get(match[2]) if match else None
    if match is None or month is None:
        raise _LineError(f"bad time {opening} {closing}"[:80])
    day, _, year, hour, minute, second, sign, offset_h, offset_m = match.groups()
    try:
        local = datetime(int(year), month, int(day), int(hour), int(minute), int(second), tzinfo=UTC)
    except ValueError as error:
        raise _LineError(f"bad time {opening} {closing}: {error}") from None
    offset = timedelta(hours=int(offset_h), minutes=int(offset_m))
    try:
        # 10:00 +0200 is 08:00 UTC.
        utc = local - offset if sign == "+" else local + offset
    except OverflowError:  # past year 1 or 9999: outside the column's range either way
        utc = local
    if not _EARLIEST <= utc < _LATEST:
        raise _LineError(
            f"request_time {utc.isoformat(' ')[:19]} UTC is outside the column's range"
            f" ({_EARLIEST.date()} to {_LATEST.date()})"
        )
    result = (utc, utc.strftime("%Y-%m-%d %H:%M:%S+00:00"))
    if closing == "+0000]":
        if len(_UTC_TIMES) >= _UTC_TIMES_LIMIT:
            _UTC_TIMES.clear()
        _UTC_TIMES[opening] = result
    return result


# --- normalising: one checked CSV row per line ----------------------------------------------------

# Status, error code, bytes sent, object size, total time, turn-around time between the quoted
# Request-URI and Referer: the four numbers must be ASCII digits or "-" (int() would also take
# "+1", "1_0" or other scripts' digits, which the database would not).
_MIDDLE = re.compile(r" (?:[0-9]+|-) [^ ]+ (?:[0-9]+|-) (?:[0-9]+|-) (?:[0-9]+|-) (?:[0-9]+|-) ")
_TRAILING_FIELDS = DOCUMENTED_FIELDS - FIELD_NAMES.index("version_id")  # 10
_HEAD_TOKENS_AFTER_TIME = 5  # remote IP, requester, request ID, operation, key
# The staging CSV keeps the log's own NULL marker: COPY loads an unquoted - as NULL.
CSV_NULL = "-"


def _fast_row(line: str) -> tuple[str, datetime] | None:
    """The row of a line with exactly the three quoted fields and nothing to escape, else None.

    Works on whole segments with C-level string methods instead of field by field: the segments
    around the quoted values are re-delimited with tabs and the time is swapped for its UTC text.
    Safe because no value holds a tab, a quote or a backslash here.
    """
    parts = line.split('"')
    if (
        len(parts) != 7
        or parts[4] != " "
        or "\\" in line
        or "\t" in line
        or "\r" in line
        or "\n" in line  # a line break inside: only the general path quotes it
        or "\x00" in line
    ):
        return None
    head, uri, middle, referer, _, agent, tail = parts
    head_tokens = head.split(" ", 4)
    if (
        len(head_tokens) != 5
        or head_tokens[4].count(" ") != _HEAD_TOKENS_AFTER_TIME
        or tail[:1] != " "
        or "  " in head  # an empty token: let the general path judge the line
        or "  " in tail
        or _MIDDLE.fullmatch(middle) is None
    ):
        return None
    owner, bucket, opening, closing, rest = head_tokens
    when, when_text = _utc_time(opening, closing)
    trailing = tail.count(" ")
    if trailing > _TRAILING_FIELDS:
        # Fields S3 may add after Source region stay together, space-separated, in extra_fields.
        tail = "\t" + "\t".join(tail[1:].split(" ", _TRAILING_FIELDS))
    else:
        tail = tail.replace(" ", "\t") + "\t-" * (_TRAILING_FIELDS + 1 - trailing)
    row = "".join(
        (
            owner, "\t", bucket, "\t", when_text, "\t", rest.replace(" ", "\t"), uri or CSV_NULL,
            middle.replace(" ", "\t"), referer or CSV_NULL, "\t", agent or CSV_NULL, tail,
        )
    )  # fmt: skip
    ascii_only = line.isascii()  # then characters are bytes
    if not (ascii_only and _ROW_SURELY_FITS.fullmatch(row)):
        _check_fits(row.split(CSV_DELIMITER), ascii_only)
    return row, when


def _general_row(line: str) -> tuple[str, datetime]:
    """The row of any other line, field by field, quoting the values that need it."""
    if "\x00" in line:
        raise _LineError("NUL character (databases cannot store it in text)")
    tokens = _tokens(line)
    when, when_text = _utc_time(tokens[2], tokens[3])
    tokens[2:4] = [when_text]
    for position in _INTEGER_POSITIONS:
        value = tokens[position]
        if not (value.isdigit() and value.isascii()) and value != "-":
            raise _LineError(f"{FIELD_NAMES[position]} is not a number: {value[:40]!r}")
    count = len(tokens)
    if count < OLDEST_FORMAT_FIELDS:
        raise _LineError(f"{count} fields, fewer than the {OLDEST_FORMAT_FIELDS} of the oldest format")
    if count > DOCUMENTED_FIELDS:
        tokens[DOCUMENTED_FIELDS:] = [" ".join(tokens[DOCUMENTED_FIELDS:])]
    else:
        tokens += [CSV_NULL] * (len(FIELD_NAMES) - count)
    tokens = [token or CSV_NULL for token in tokens]
    _check_fits(tokens, line.isascii())
    return CSV_DELIMITER.join(map(csv_field, tokens)), when


def _normalize(line: str) -> tuple[str, datetime]:
    if line[-1:] == "\n":
        line = line[:-1]
    if line[-1:] == "\r":
        line = line[:-1]
    # Spaces after the last field separate no field: absent is NULL, on both paths. (A tab is
    # part of a value, and sends the line to the general path.)
    line = line.rstrip(" ")
    return _fast_row(line) or _general_row(line)


def csv_field(text: str) -> str:
    """One CSV field: quoted (with doubled quotes) when it holds a quote, delimiter or line break."""
    if '"' in text or CSV_DELIMITER in text or "\n" in text or "\r" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_row(line: str) -> str | Unparsed:
    """The staging CSV row of one log line (a trailing LF, CR or CRLF is allowed), without line ending.

    Trailing spaces are ignored. Tab-delimited, one field per ``S3AccessLogRecord`` field in order,
    ``-`` for NULL, the time as ``YYYY-MM-DD HH:MM:SS+00:00``; a value holding a quote, tab or line
    break is quoted (RFC 4180).
    """
    try:
        return _normalize(line)[0]
    except _LineError as error:
        return Unparsed(str(error))


_TO_VALUE = {CSV_NULL: None}.get
_make_record = S3AccessLogRecord._make


def parse_line(line: str) -> S3AccessLogRecord | Unparsed:
    """Parse one log line (a trailing LF, CR or CRLF is allowed) into typed values.

    Reads back the row ``csv_row`` gives, so the two can never disagree.
    """
    try:
        row, when = _normalize(line)
    except _LineError as error:
        return Unparsed(str(error))
    fields = row.split(CSV_DELIMITER) if '"' not in row else next(csv.reader([row], delimiter=CSV_DELIMITER))
    values: list[object] = list(map(_TO_VALUE, fields, fields))
    values[_TIME_POSITION] = when
    for position in _INTEGER_POSITIONS:
        text = values[position]
        if text is not None:
            values[position] = int(text)  # type: ignore[call-overload]
    return _make_record(values)
