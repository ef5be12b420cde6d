"""One user record (bytes) -> the members of one JSON object, and the hour it belongs to.

A user record is one of:

- a JSON object, as fluentd's ``apache2`` parser plus the Kinesis plugin's JSON formatter send it:
  kept as it is;
- a plain Apache access log line (Common or Combined format): parsed into the field names of
  fluentd's ``apache2`` parser (host, user, time, method, path, protocol, code, size, referer, agent;
  ``time`` in ISO-8601 with the log's UTC offset);
- anything else (other text, JSON that is not an object, bytes that are not UTF-8): kept as
  ``{"message": ...}``.

The members are returned without their braces so that the caller can append its own (where the
record came from) without parsing the JSON again. Event times become UTC partitions
``dt=YYYY-MM-DD/hour=HH``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache
from json.encoder import encode_basestring_ascii
from typing import Any

from logpipes.common.apache import ApacheParseError, LineFields, iso_time, split_line, split_plain_line

# Members the caller appends; a JSON record's own members of the same name are replaced.
METADATA_KEYS = frozenset(
    {"kinesis_shard_id", "kinesis_sequence_number", "kinesis_sub_sequence_number", "kinesis_arrival_time"}
)
# Kinds of user records, as decode() reports them (and the metrics count them).
APACHE = "apache"
JSON = "json"
MESSAGE = "message"
KINDS = (APACHE, JSON, MESSAGE)
# The member of a JSON record that holds its event time (fluentd's <inject> time_key).
TIME_KEY = "time"

# The C string escaper behind json.dumps. Quoting each field of an access log line is about 2.5
# times faster than building a dict and serializing it with json.dumps. orjson serializes such a
# dict a little faster than the quoting, but building the dict and handling its bytes cost more
# than that: no faster per line, measured with bench/kinesis_kpl.py. ASCII output (\uXXXX escapes,
# and no slower): U+0085, U+2028 and U+2029 are legal in a JSON string, but readers that split on
# Unicode line boundaries (Python's str.splitlines) would cut such a line in two.
_quote = encode_basestring_ascii
# ASCII output: a JSON document may hold lone surrogates ("\ud800"), which have no UTF-8 form.
_dumps = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


def partition_of(moment: datetime) -> str:
    """A UTC datetime -> ``dt=YYYY-MM-DD/hour=HH``."""
    return f"dt={moment.year:04d}-{moment.month:02d}-{moment.day:02d}/hour={moment.hour:02d}"


@lru_cache(maxsize=4096)
def _partition_of_iso(timestamp: str) -> str | None:
    try:
        moment = datetime.fromisoformat(timestamp)
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return partition_of(moment)


# partition_of_iso's results for access log times with a whole-hour UTC offset, by hour and offset:
# access log lines are nearly all user records, and one plain dict lookup is their whole cost.
_HOUR_PARTITIONS: dict[str, str | None] = {}
_HOUR_PARTITIONS_LIMIT = 10_000
_UNCACHED = ""  # no partition is empty


def partition_of_iso(timestamp: str) -> str | None:
    """``1995-07-01T23:30:00-04:00`` -> ``dt=1995-07-02/hour=03``; None if it is not ISO-8601.

    A time without a UTC offset is taken as UTC. Access log times (the fixed-width form
    ``YYYY-MM-DDTHH:MM:SS+HH:MM``) with a whole-hour offset are looked up by their hour, so that
    the cache holds one entry per hour of log instead of one per second.
    """
    # Looked up before the form is checked: only times of that form are stored under their hour
    # key (13 characters, then a 6-character "+HH:00"), and no other string has a key of that shape.
    hour = timestamp[:13] + timestamp[19:]
    partition = _HOUR_PARTITIONS.get(hour, _UNCACHED)
    if partition is not _UNCACHED:
        return partition
    if len(timestamp) != 25 or timestamp[19] not in "+-" or not timestamp.endswith(":00"):
        return _partition_of_iso(timestamp)
    if len(_HOUR_PARTITIONS) >= _HOUR_PARTITIONS_LIMIT:
        _HOUR_PARTITIONS.clear()
    partition = _HOUR_PARTITIONS[hour] = _partition_of_iso(f"{timestamp[:13]}:00:00{timestamp[19:]}")
    return partition


def partition_of_epoch(seconds: float) -> str | None:
    """Epoch seconds -> ``dt=YYYY-MM-DD/hour=HH`` (UTC); None when out of range."""
    try:
        moment = datetime.fromtimestamp(seconds, UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return partition_of(moment)


def _partition_of_value(value: Any) -> str | None:
    """The partition of a JSON record's time member: ISO-8601 or Apache text, or epoch seconds."""
    if isinstance(value, str):
        partition = partition_of_iso(value)
        if partition is None:
            try:  # fluentd's apache2 parser with keep_time_key keeps the log's own format
                partition = partition_of_iso(iso_time(value))
            except ApacheParseError:
                return None
        return partition
    if isinstance(value, int | float) and not isinstance(value, bool):
        return partition_of_epoch(value)
    return None


def apache_members(fields: LineFields) -> str:
    """The fluentd ``apache2`` members of a split line (``request`` too when it has no method).

    The same values as parse_line's ApacheRecord gives (absent is null, status and size are
    numbers), written from the fields without building the record first.
    """
    host, _ident, user, time, method, path, protocol, request, status, size, referer, agent = fields
    # Inline conditionals rather than helper calls: this runs once per line. ``time`` is the
    # parser's ISO-8601 form (digits, '-', ':', '+' and 'T' only): nothing to escape.
    members = (
        f'"host":{_quote(host)},"user":{"null" if user is None else _quote(user)},"time":"{time}",'
        f'"method":{"null" if method is None else _quote(method)},'
        f'"path":{"null" if path is None else _quote(path)},'
        f'"protocol":{"null" if protocol is None else _quote(protocol)},'
        f'"code":{"null" if status is None else int(status)},"size":{"null" if size is None else int(size)},'
        f'"referer":{"null" if referer is None else _quote(referer)},'
        f'"agent":{"null" if agent is None else _quote(agent)}'
    )
    if method is None:  # the request line did not split into method, path and protocol
        members += f',"request":{_quote(request)}'
    return members


def plain_apache_members(fields: LineFields) -> str:
    """apache_members of a plain line's fields (split_plain_line): the same JSON, written faster.

    The fields are copied between quotes as they are (they hold nothing JSON escapes), and status
    and size, ASCII digits, lose their leading zeros instead of going through int and back: the two
    cost more than half of apache_members' time.
    """
    host, _ident, user, time, method, path, protocol, request, status, size, referer, agent = fields
    user = "null" if user is None else f'"{user}"'
    code = "null" if status is None else status.lstrip("0") or "0"
    size = "null" if size is None else size.lstrip("0") or "0"
    referer = "null" if referer is None else f'"{referer}"'
    agent = "null" if agent is None else f'"{agent}"'
    if method is None:  # the request line did not split into method, path and protocol
        return (
            f'"host":"{host}","user":{user},"time":"{time}","method":null,"path":null,"protocol":null,'
            f'"code":{code},"size":{size},"referer":{referer},"agent":{agent},"request":"{request}"'
        )
    protocol = "null" if protocol is None else f'"{protocol}"'
    return (
        f'"host":"{host}","user":{user},"time":"{time}","method":"{method}","path":"{path}",'
        f'"protocol":{protocol},"code":{code},"size":{size},"referer":{referer},"agent":{agent}'
    )


def message_members(text: str) -> str:
    """The members of a record kept as its text: ``"message"`` and the text as a JSON string."""
    return f'"message":{_quote(text)}'


def json_members(document: dict[str, Any]) -> str:
    """The members of a JSON object record, less those named like the metadata the caller appends.

    Raises ValueError for values JSON cannot hold (an overflowing number such as ``1e400``).
    """
    if not METADATA_KEYS.isdisjoint(document):
        document = {key: value for key, value in document.items() if key not in METADATA_KEYS}
    return _dumps(document)[1:-1]


def decode(data: bytes) -> tuple[str, str | None, str]:
    """A user record -> (the members of its JSON object, its event-time partition or None, its kind).

    The kind is APACHE, JSON or MESSAGE. Never raises for any input.
    """
    try:
        text = data.decode()
    except UnicodeDecodeError:
        return message_members(data.decode(errors="backslashreplace")), None, MESSAGE
    if text[:1] != "{":
        try:
            fields = split_plain_line(text)
            if fields is not None:
                return plain_apache_members(fields), partition_of_iso(fields[3]), APACHE
            fields = split_line(text)
        except ApacheParseError:
            pass
        else:
            return apache_members(fields), partition_of_iso(fields[3]), APACHE
    decoded = _decode_json_object(text)
    if decoded is None:
        return message_members(text.rstrip("\r\n")), None, MESSAGE
    return decoded


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _decode_json_object(text: str) -> tuple[str, str | None, str] | None:
    """(members, partition, JSON) of a JSON object record; None when the text is not a JSON object."""
    if text.lstrip()[:1] != "{":
        return None
    try:
        document = json.loads(text, parse_constant=_reject_constant)
        if not isinstance(document, dict):
            return None
        members = json_members(document)
    except (ValueError, RecursionError):  # not JSON, NaN/Infinity, too deep, or a number overflows
        return None
    return members, _partition_of_value(document.get(TIME_KEY)), JSON
