"""Turn Apache access log lines into OpenSearch ``_bulk`` entries (pure, no I/O).

One entry is the action line and the document line of one log line, both newline-terminated, so a
``_bulk`` body is the concatenation of entries and the n-th item of the response is the n-th entry.

This is the hot loop of the loader: it is written for throughput. Documents are rendered with an
f-string instead of building a dict and calling ``json.dumps`` (about 3.5x slower). Plain lines
(split_plain_line: nearly all) hold nothing JSON escapes but their quotes, so their fields are
copied as they are and their status and size as digits; other lines' fields are JSON-escaped first
(json_ready), and both go through the one layout (render_document). The action line up to the
``_id``'s offset is computed once per minute of log time (index of the UTC day) and file.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from typing import NamedTuple

from logpipes.common.apache import ApacheParseError, LineFields, split_line, split_plain_line

# Returns the quoted JSON string, non-ASCII escaped, so every rendered entry is ASCII and its length
# in characters is its length in bytes.
_json_string = encode_basestring_ascii
_IPV4 = re.compile(r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}")  # not \d: ASCII digits only
_DATE_FIELDS = ("%Y", "%m", "%d")
_ID_PREFIX_LENGTH = 20
INDEX_PATTERN_RE = re.compile(r"[a-z0-9][a-z0-9_.+-]*(%[Ymd][a-z0-9_.+-]*)*")
"""Index name patterns: lowercase index-name characters, with %Y, %m and %d (UTC date of the line)."""


class InvalidIndexPattern(ValueError):
    """The index name pattern is not a valid lowercase index name with %Y/%m/%d placeholders."""


class RenderStats(NamedTuple):
    """What rendering a block of lines found."""

    lines: int
    parse_errors: int
    blank_lines: int


def document_id_prefix(bucket: str, key: str) -> str:
    """The first 20 characters of every ``_id`` of a file: a BLAKE2b digest of its S3 location.

    The ``_id`` of a line is this prefix followed by the line's byte offset in the (decompressed)
    object, in decimal. It is deterministic, so loading a file or a chunk again overwrites the same
    documents, and unique by construction: no two lines of a file can collide, which a per-line
    hash cannot promise, and it costs one integer format per line instead of a hash. Ids with a
    shared prefix and an increasing suffix are also the cheap kind for Lucene's terms dictionary.
    """
    return hashlib.blake2b(f"s3://{bucket}/{key}".encode(), digest_size=10).hexdigest()


def document_id(bucket: str, key: str, offset: int) -> str:
    """The ``_id`` of the line that starts at byte ``offset`` of s3://bucket/key."""
    return f"{document_id_prefix(bucket, key)}{offset}"


def offset_of(document_id: str) -> int:
    """The byte offset a document ``_id`` encodes (for dead letters)."""
    return int(document_id[_ID_PREFIX_LENGTH:])


def check_index_pattern(pattern: str) -> str:
    """Return the pattern, or raise InvalidIndexPattern."""
    if len(pattern) > 200 or INDEX_PATTERN_RE.fullmatch(pattern) is None:
        raise InvalidIndexPattern(
            f"index pattern {pattern!r} must be lowercase letters, digits, '_', '.', '+', '-', with "
            "optional %Y, %m, %d placeholders, starting with a letter or digit"
        )
    return pattern


def template_index_patterns(pattern: str) -> list[str]:
    """The index patterns an index template needs to cover every index ``pattern`` produces."""
    check_index_pattern(pattern)
    head, placeholder, _ = pattern.partition("%")
    return [f"{head}*"] if placeholder else [pattern]


def unparsed_index(pattern: str) -> str:
    """Where lines without a timestamp go: ``nasa-logs-%Y.%m.%d`` -> ``nasa-logs-unparsed``."""
    head, placeholder, _ = pattern.partition("%")
    return f"{head}unparsed" if placeholder else pattern


def index_name(pattern: str, iso_time: str) -> str:
    """The index of a line with this ISO-8601 time: the pattern filled with the UTC date."""
    utc = datetime.fromisoformat(iso_time).astimezone(UTC)
    name = pattern
    for field, value in zip(
        _DATE_FIELDS, (f"{utc.year:04d}", f"{utc.month:02d}", f"{utc.day:02d}"), strict=True
    ):
        name = name.replace(field, value)
    return name


def render_document(fields: LineFields, message: str) -> str:
    """The JSON document of a line's fields, newline-terminated.

    ``fields`` and ``message`` are JSON-ready: strings copied between quotes as they are (what
    split_plain_line gives, or json_ready made), status and size ASCII digits. Fields are named as
    grok's COMBINEDAPACHELOG names them (plus ``clienthost``, ``rawrequest``); absent values are
    left out.
    """
    host, ident, user, time, method, path, protocol, request, status, size, referer, agent = fields
    # Host names and IP literals go to separate fields: `clientip` is mapped as `ip`.
    client = "clientip" if (host[-1:].isdigit() and _IPV4.fullmatch(host)) or ":" in host else "clienthost"
    if method is None:
        request_fields = f',"rawrequest":"{request}"'
    elif protocol is None:
        request_fields = f',"verb":"{method}","request":"{path}"'
    else:
        version = protocol[5:] if protocol[:5] == "HTTP/" else protocol
        request_fields = f',"verb":"{method}","request":"{path}","httpversion":"{version}"'
    ident = "" if ident is None else f',"ident":"{ident}"'
    user = "" if user is None else f',"auth":"{user}"'
    # JSON numbers have no leading zeros; stripping them is what int() and back would do, cheaper.
    status = "" if status is None else f',"response":{status.lstrip("0") or "0"}'
    size = "" if size is None else f',"bytes":{size.lstrip("0") or "0"}'
    referer = "" if referer is None else f',"referrer":"{referer}"'
    agent = "" if agent is None else f',"agent":"{agent}"'
    return (
        f'{{"@timestamp":"{time}","{client}":"{host}"{ident}{user}{request_fields}'
        f'{status}{size}{referer}{agent},"message":"{message}"}}\n'
    )


def _json_text(value: str | None) -> str | None:
    """A string JSON-escaped, without its quotes (None stays None)."""
    return None if value is None else _json_string(value)[1:-1]


def json_ready(fields: LineFields) -> LineFields:
    """The fields of any parsed line as render_document takes them: strings JSON-escaped, status
    and size as ASCII numbers (the loose grammar's digits may be any Unicode digits)."""
    host, ident, user, time, method, path, protocol, request, status, size, referer, agent = fields
    return (
        _json_string(host)[1:-1],
        _json_text(ident),
        _json_text(user),
        time,
        _json_text(method),
        _json_text(path),
        _json_text(protocol),
        _json_string(request)[1:-1],
        None if status is None else str(int(status)),
        None if size is None else str(int(size)),
        _json_text(referer),
        _json_text(agent),
    )


class BulkRenderer:
    """Renders the lines of one S3 object into ``_bulk`` entries, one per non-blank line.

    Lines that do not parse are kept, as ``{"message": line, "parse_error": reason}``, in the
    pattern's ``unparsed`` index.
    """

    def __init__(self, bucket: str, key: str, index_pattern: str) -> None:
        self.index_pattern = check_index_pattern(index_pattern)
        self._id_prefix = document_id_prefix(bucket, key)
        # Action lines up to the offset, by the line's local date, hour, minute and UTC offset: all
        # that decides its UTC day (offsets can have minutes, +05:30).
        self._actions: dict[str, str] = {}
        self._unparsed_action = self._action_head(unparsed_index(index_pattern))

    def _action_head(self, index: str) -> str:
        return f'{{"index":{{"_index":{_json_string(index)},"_id":"{self._id_prefix}'

    def _new_action(self, minute_key: str, iso_time: str) -> str:
        action = self._actions[minute_key] = self._action_head(index_name(self.index_pattern, iso_time))
        return action

    def render(self, block: bytes, offset: int, entries: list[str]) -> RenderStats:
        """Append the entries of ``block`` (whole lines) to ``entries``.

        ``offset`` is the byte offset of the block in the decompressed object. LF and CRLF line
        endings are accepted; the last line may lack its newline. Bytes that are not UTF-8 are kept
        as backslash escapes.
        """
        actions = self._actions
        append = entries.append
        parse_errors = blank = 0
        first_entry = len(entries)
        for raw in block.split(b"\n"):
            line_offset = offset
            offset += len(raw) + 1
            line = raw.decode("utf-8", "backslashreplace")
            if line[-1:] == "\r":
                line = line[:-1]
            try:
                fields = split_plain_line(line)  # raises only for a month that is not one
                if fields is None:  # not plain: the escape-aware grammar parses it, or rejects it
                    fields = json_ready(split_line(line))
                    message = _json_string(line)[1:-1]
                elif line[-1] > " ":  # a plain line: its quotes are all JSON escapes in it
                    message = line.replace('"', '\\"')
                else:  # plain fields, but spaces, tabs or a CR after the last one
                    message = _json_string(line)[1:-1]
            except ApacheParseError as error:
                if not line or line.isspace():
                    blank += 1
                    continue
                parse_errors += 1
                append(
                    f'{self._unparsed_action}{line_offset}"}}}}\n'
                    f'{{"message":{_json_string(line)},"parse_error":{_json_string(str(error))}}}\n'
                )
                continue
            time = fields[3]
            minute_key = time[:16] + time[19:]
            action = actions.get(minute_key) or self._new_action(minute_key, time)
            append(f'{action}{line_offset}"}}}}\n{render_document(fields, message)}')
        # A block that ends with its newline splits into a last empty piece, which is not a line.
        if block.endswith(b"\n"):
            blank -= 1
        lines = len(entries) - first_entry
        return RenderStats(lines, parse_errors, blank)
