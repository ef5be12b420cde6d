"""Turn Apache access log lines into OpenSearch ``_bulk`` entries (pure, no I/O).

One entry is the action line and the document line of one log line, both newline-terminated, so a
``_bulk`` body is the concatenation of entries and the n-th item of the response is the n-th entry.

This is the hot loop of the loader: it is written for throughput. Documents are rendered with the C
JSON string encoder and an f-string instead of building a dict and calling ``json.dumps`` (about
3.5x slower), every string value is still JSON-escaped, and the action line up to the ``_id``'s
offset is computed once per minute of log time (index of the UTC day) and file (``_id`` prefix).
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from typing import NamedTuple

from logpipes.common.apache import ApacheParseError, ApacheRecord, parse_line

# Returns the quoted JSON string, non-ASCII escaped, so every rendered entry is ASCII and its length
# in characters is its length in bytes.
_json_string = encode_basestring_ascii
_IPV4 = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}")
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


def render_document(record: ApacheRecord, message: str) -> str:
    """The JSON document of a parsed line, newline-terminated.

    Fields are named as grok's COMBINEDAPACHELOG names them (plus ``clienthost``, ``rawrequest``);
    absent values are left out.
    """
    host, ident, user, time, method, path, protocol, request, status, size, referer, agent = record
    # Host names and IP literals go to separate fields: `clientip` is mapped as `ip`.
    client = "clientip" if (host[-1:].isdigit() and _IPV4.fullmatch(host)) or ":" in host else "clienthost"
    if method is None:
        request_fields = f',"rawrequest":{_json_string(request)}'
    elif protocol is None:
        request_fields = f',"verb":{_json_string(method)},"request":{_json_string(path)}'
    else:
        version = protocol[5:] if protocol[:5] == "HTTP/" else protocol
        request_fields = (
            f',"verb":{_json_string(method)},"request":{_json_string(path)},'
            f'"httpversion":{_json_string(version)}'
        )
    ident = "" if ident is None else f',"ident":{_json_string(ident)}'
    user = "" if user is None else f',"auth":{_json_string(user)}'
    status = "" if status is None else f',"response":{status}'
    size = "" if size is None else f',"bytes":{size}'
    referer = "" if referer is None else f',"referrer":{_json_string(referer)}'
    agent = "" if agent is None else f',"agent":{_json_string(agent)}'
    return (
        f'{{"@timestamp":"{time}","{client}":{_json_string(host)}{ident}{user}{request_fields}'
        f'{status}{size}{referer}{agent},"message":{_json_string(message)}}}\n'
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
                record = parse_line(line)
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
            time = record[3]
            minute_key = time[:16] + time[19:]
            action = actions.get(minute_key) or self._new_action(minute_key, time)
            append(f'{action}{line_offset}"}}}}\n{render_document(record, line)}')
        # A block that ends with its newline splits into a last empty piece, which is not a line.
        if block.endswith(b"\n"):
            blank -= 1
        lines = len(entries) - first_entry
        return RenderStats(lines, parse_errors, blank)
