"""Parse Apache access log lines (Common Log Format and Combined Log Format).

Shared by every function that reads Apache access logs. It is written for
throughput: one compiled regular expression, no datetime objects on the hot
path, and plain tuples out, so callers can build their own documents without
an intermediate dict.

Real logs are messy (the NASA-HTTP traces have requests without a protocol,
``HTTP/V1.0``, extra spaces, and ``-`` as the byte count; Combined logs have
user agents with an unterminated quote). The parser accepts every line whose
fixed fields are well formed, and reports why a line is rejected otherwise.
"""

from __future__ import annotations

import re
from typing import NamedTuple

# host ident authuser [time] "request" status bytes ["referer" "agent"]
# Quoted fields may contain backslash-escaped quotes (Apache escapes them). A field logged as
# ``-`` (absent) matches no group: the absent values come out of the match as None, here only.
_LINE = re.compile(
    r"(?P<host>\S+) (?:-|(?P<ident>\S+)) (?:-|(?P<user>\S+)) \[(?P<time>[^\]]+)\] "
    r'"(?P<request>[^"\\]*(?:\\.[^"\\]*)*)" (?:(?P<status>[0-9]{3})|-) (?:(?P<size>[0-9]+)|-)'
    r'(?: "(?:-"|(?P<referer>[^"\\]*(?:\\.[^"\\]*)*)")'
    r' "(?:-"|(?P<agent>[^"\\]*(?:\\.[^"\\]*)*)"))?[ \t]*\r?\n?'
)

_MONTHS = {
    "Jan": "01",
    "Feb": "02",
    "Mar": "03",
    "Apr": "04",
    "May": "05",
    "Jun": "06",
    "Jul": "07",
    "Aug": "08",
    "Sep": "09",
    "Oct": "10",
    "Nov": "11",
    "Dec": "12",
}

# 01/Jul/1995:00:00:01 -0400
# [0-9], not \d: \d also matches other scripts' digits, which would make an invalid ISO time.
_TIME = re.compile(
    r"([0-9]{2})/([A-Z][a-z]{2})/([0-9]{4}):([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])([0-9]{2})([0-9]{2})"
)


class ApacheRecord(NamedTuple):
    """One parsed access log line. Absent values (``-`` in the log) are None."""

    host: str
    ident: str | None
    user: str | None
    time: str  # ISO-8601 with the log's own UTC offset, e.g. 1995-07-01T00:00:01-04:00
    method: str | None
    path: str | None
    protocol: str | None
    request: str  # the request line as logged, for lines that do not split in three
    status: int | None
    size: int | None
    referer: str | None
    agent: str | None


class ApacheParseError(ValueError):
    """The line is not an Apache Common or Combined log line; the message says why."""


def iso_time(apache_time: str) -> str:
    """``01/Jul/1995:00:00:01 -0400`` -> ``1995-07-01T00:00:01-04:00``."""
    match = _TIME.fullmatch(apache_time)
    if match is None or match[2] not in _MONTHS:
        raise ApacheParseError(f"bad timestamp [{apache_time}]")
    day, month, year, hh, mm, ss, sign, tzh, tzm = match.groups()
    return f"{year}-{_MONTHS[month]}-{day}T{hh}:{mm}:{ss}{sign}{tzh}:{tzm}"


# The same grammar as _LINE, specialised for plain lines (nearly all of them: Apache and nginx
# escape quotes, backslashes, control characters and bytes outside ASCII as \" and \xhh): every
# field printable ASCII but the quote and the backslash, the timestamp, status and size in ASCII
# digits. Such fields are what any JSON or CSV writer can copy as they are (split_plain_line), and
# the quoted fields are plain character sets, which the regex engine scans several times faster
# than the escape-aware form (these sets cost the match a third more than `[^"]` did; writers that
# need not escape save more than that). The timestamp is spelled out, so that one match also validates it; its
# ISO-8601 form is assembled from memoised date and UTC offset pieces (slicing and formatting it on
# every line costs a quarter of the parse). Its quantifiers are possessive (they never give back
# what they took; what follows each can never match it, so the language is the same), which spares
# the engine its backtracking bookkeeping: a quarter of the match time. Other lines go through
# _LINE, which accepts or rejects them, with the reason, as before.
_UNQUOTED = r"[!#-\[\]-~]"  # printable ASCII but space, '"' and '\'
_QUOTED = r"[ !#-\[\]-~]"  # the same and space: the characters of a quoted field
_LINE_FAST = re.compile(
    rf"({_UNQUOTED}++) (?:-|({_UNQUOTED}++)) (?:-|({_UNQUOTED}++)) "
    r"\[([0-9][0-9]/[A-Z][a-z][a-z]/[0-9]{4}):([0-9][0-9]:[0-9][0-9]:[0-9][0-9]) ([+-][0-9]{4})\] "
    rf'"({_QUOTED}*+)" (?:([0-9]{{3}})|-) (?:([0-9]++)|-)'
    rf'(?: "(?:-"|({_QUOTED}*+)") "(?:-"|({_QUOTED}*+)"))?+[ \t]*+\r?\n?'
)
_fast_match = _LINE_FAST.fullmatch
_loose_match = _LINE.fullmatch
_ISO_DATES: dict[str, str] = {}  # 01/Jul/1995 -> 1995-07-01T
_ISO_OFFSETS: dict[str, str] = {}  # -0400 -> -04:00
_MEMO_LIMIT = 10_000
# tuple.__new__ skips the NamedTuple's generated keyword-handling __new__, which is ~3x slower.
_new_record = tuple.__new__


def _memoised_iso_time(date: str, clock: str, offset: str) -> str:
    """First sight of a date or UTC offset: convert (or reject) it and remember its pieces."""
    iso = iso_time(f"{date}:{clock} {offset}")  # raises ApacheParseError for a bad month
    if len(_ISO_DATES) + len(_ISO_OFFSETS) > _MEMO_LIMIT:
        _ISO_DATES.clear()
        _ISO_OFFSETS.clear()
    _ISO_DATES[date] = iso[:11]
    _ISO_OFFSETS[offset] = iso[19:]
    return iso


# The fields of a line as split_line returns them: host, ident, user, time (ISO-8601), method, path,
# protocol, request, status, size, referer, agent. Strings as logged (status and size too), None
# where ApacheRecord has None.
LineFields = tuple[
    str,
    str | None,
    str | None,
    str,
    str | None,
    str | None,
    str | None,
    str,
    str | None,
    str | None,
    str | None,
    str | None,
]


def split_plain_line(line: str) -> LineFields | None:
    """The fields of a plain line (as split_line gives them), or None for any other line.

    A plain line's fields are all printable ASCII but the quote and the backslash, so JSON and CSV
    writers can copy them without escaping, and its status and size are ASCII digits. Lines that
    are not plain (None) may still parse: split_line takes every line. Raises ApacheParseError
    only for a timestamp whose month is not a month.
    """
    match = _fast_match(line)
    if match is None:
        return None
    host, ident, user, date, clock, offset, request, status, size, referer, agent = match.groups()
    try:
        time = _ISO_DATES[date] + clock + _ISO_OFFSETS[offset]
    except KeyError:
        time = _memoised_iso_time(date, clock, offset)
    # Inline rather than _split_request: this runs once per line, the call costs a tenth of it.
    parts = request.split()
    if len(parts) == 3:
        method, path, protocol = parts
    else:
        method, path, protocol = _split_request(request)
    return host, ident, user, time, method, path, protocol, request, status, size, referer, agent


def _split_request(request: str) -> tuple[str | None, str | None, str | None]:
    """``GET /index.html HTTP/1.0`` -> method, path, protocol; a request without a protocol has
    None for it, and one that does not split in two or three None for all of them."""
    parts = request.split()
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    if len(parts) == 2:
        return parts[0], parts[1], None
    return None, None, None


def split_line(line: str) -> LineFields:
    """Split one line (a trailing newline or CRLF is allowed) into its fields (LineFields).

    For callers that render the fields straight into another format: building an ApacheRecord
    (status and size as numbers) first costs as much again. Raises ApacheParseError with the reason.
    """
    fields = split_plain_line(line)
    if fields is not None:
        return fields
    match = _loose_match(line)
    if match is None:
        raise ApacheParseError(_diagnose(line))
    host, ident, user, apache_time, request, status, size, referer, agent = match.groups()
    method, path, protocol = _split_request(request)
    return (
        host,
        ident,
        user,
        iso_time(apache_time),
        method,
        path,
        protocol,
        request,
        status,
        size,
        referer,
        agent,
    )


def parse_line(line: str) -> ApacheRecord:
    """Parse one line (a trailing newline or CRLF is allowed).

    Raises ApacheParseError with the reason when the line does not parse.
    """
    host, ident, user, time, method, path, protocol, request, status, size, referer, agent = split_line(line)
    return _new_record(
        ApacheRecord,
        (
            host,
            ident,
            user,
            time,
            method,
            path,
            protocol,
            request,
            None if status is None else int(status),
            None if size is None else int(size),
            referer,
            agent,
        ),
    )


def _diagnose(line: str) -> str:
    """Say which part of a rejected line is wrong (only called on failures)."""
    stripped = line.rstrip("\r\n")
    if not stripped.strip():
        return "empty line"
    if "[" not in stripped or "]" not in stripped:
        return "no [timestamp] field"
    if stripped.count('"') < 2:
        return "no quoted request field"
    if stripped.count('"') % 2:
        return "unterminated quoted field"
    return "fields after the request are not 'status bytes' or 'status bytes \"referer\" \"agent\"'"
