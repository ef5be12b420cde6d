"""Typed columns out of log events (OUTPUT_FORMAT ``columns`` and ``csv``), configured, not coded.

COLUMNS is a JSON list of ``{"name", "type", "source"}``: the same list makes the module's Glue
table, so the rows written here and the table read by Athena have one source of truth. Pure: no
I/O; the configuration is parsed and checked once (:func:`parse_columns`), then every event goes
through :class:`ColumnRenderer`.

Invariants:

- A row has exactly the configured columns, in order, then ``_raw`` when ON_UNPARSED is keep_raw;
  one row per event (none for an unparsed event with drop), each a JSON line or a CSV record
  ending with "\\n" (a CSV field holding a line end is quoted): a record's events never share or
  split a row.
- Converting never raises: a value that does not convert to its column's type is NULL, counted
  (Tally.values_not_converted, with samples). A value the event does not have (a missing key, a
  group that did not take part, an Apache field logged as ``-``) is NULL and not counted.
- An event whose message does not parse for a source that needs parsing (not a JSON object for
  ``$`` paths, not an Apache line for ``apache.*``, no full match of MESSAGE_REGEX for
  ``regex.*``) is never silent: with keep_raw its parsed columns are all NULL, its metadata
  columns are filled and ``_raw`` holds the message (counted as events_unparsed_kept); with drop
  it has no row (events_unparsed_dropped). ``_raw`` is NULL for an event that parsed.
- CSV is RFC 4180 without a header: a field is quoted only when it holds ``,`` ``"`` CR or LF
  (a ``"`` doubled); NULL is an empty field and the empty string ``""``, so they stay apart.
- Timestamps are rendered in UTC as ``yyyy-MM-dd HH:mm:ss.SSS`` in both formats.
- Messages are parsed with orjson, which reads a JSON integer beyond 64 bits as a float: such a
  value is NULL in an int/bigint column (counted), a double in a double column.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import partial
from itertools import repeat
from typing import Any

import orjson

from logpipes.common import apache
from logpipes.common.settings import ConfigurationError
from logpipes.firehose_transform.transform import InvalidRecord, Payload, Tally

RAW_COLUMN = "_raw"
# Glue and Athena fold names to lower case: a name that is already lower case stays the same.
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,127}")
# The event's own fields, and its payload's (CloudWatch Logs metadata).
METADATA_SOURCES = ("logGroup", "logStream", "owner", "id", "timestamp", "message")
_PAYLOAD_METADATA = ("logGroup", "logStream", "owner")
# The fields a source ``apache.<field>`` may name: the shared parser's own (ApacheRecord).
APACHE_FIELDS = apache.ApacheRecord._fields
# One step of a JSON path after the ``$``: .name, ["any key"] (a JSON string) or [N].
_PATH_STEP = re.compile(r'\.([A-Za-z_][A-Za-z0-9_-]*)|\[("(?:[^"\\]|\\.)*")\]|\[([0-9]+)\]')
_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
INT_RANGE = (-(2**31), 2**31 - 1)
BIGINT_RANGE = (-(2**63), 2**63 - 1)
_EPOCH = datetime(1970, 1, 1)  # naive UTC: what the rendered text shows


class ColumnType(StrEnum):
    """A column's type: the Glue/Athena type of the same name."""

    STRING = "string"
    INT = "int"
    BIGINT = "bigint"
    DOUBLE = "double"
    BOOLEAN = "boolean"
    TIMESTAMP = "timestamp"


class OnUnparsed(StrEnum):
    """What becomes of an event whose message does not parse (ON_UNPARSED)."""

    KEEP_RAW = "keep_raw"  # a row with its parsed columns NULL and the message in _raw
    DROP = "drop"  # no row; counted


class SourceKind(StrEnum):
    """Where a column's value comes from."""

    METADATA = "metadata"
    JSON = "json"
    APACHE = "apache"
    REGEX = "regex"


@dataclass(frozen=True)
class Column:
    """One configured column: its name, type and source (``text``: as configured; ``key``: the
    metadata name, the JSON path's steps, the ApacheRecord field's index or the regex group)."""

    name: str
    type: ColumnType
    source: str
    kind: SourceKind
    key: Any


class NotConverted(ValueError):
    """The value does not convert to the column's type (the caller makes it NULL and counts it)."""


def parse_columns(raw: str, message_regex: re.Pattern[str] | None = None) -> list[Column]:
    """COLUMNS (JSON) -> its columns, checked; raises ConfigurationError naming COLUMNS.

    message_regex: MESSAGE_REGEX compiled, which a ``regex.<group>`` source needs (the group must
    be one of its named groups).
    """
    try:
        specs = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise _column_error(f"is not JSON: {error}") from None
    if not isinstance(specs, list) or not specs:
        raise _column_error("must be a non-empty JSON list of {name, type, source} objects")
    columns = [_parse_column(index, spec, message_regex) for index, spec in enumerate(specs)]
    names = [column.name for column in columns]
    if duplicates := sorted({name for name in names if names.count(name) > 1}):
        raise _column_error(f"names columns more than once: {', '.join(duplicates)}")
    return columns


def _column_error(problem: str) -> ConfigurationError:
    return ConfigurationError(f"COLUMNS (the module's variable `columns`) {problem}")


def _parse_column(index: int, spec: object, message_regex: re.Pattern[str] | None) -> Column:
    if not isinstance(spec, dict) or set(spec) != {"name", "type", "source"}:
        raise _column_error(f"column {index}: must be an object with exactly name, type and source")
    name, type_name, source = spec["name"], spec["type"], spec["source"]
    if not isinstance(name, str) or not _NAME.fullmatch(name) or name == RAW_COLUMN:
        raise _column_error(
            f"column {index}: name {name!r} must match ^[a-z_][a-z0-9_]{{0,127}}$ and not be {RAW_COLUMN}"
        )
    try:
        column_type = ColumnType(type_name)
    except ValueError:
        allowed = ", ".join(t.value for t in ColumnType)
        raise _column_error(f"column {index} ({name}): type {type_name!r} must be one of {allowed}") from None
    if not isinstance(source, str):
        raise _column_error(f"column {index} ({name}): source {source!r} must be a string")
    try:
        kind, key = parse_source(source, message_regex)
    except ValueError as error:
        raise _column_error(f"column {index} ({name}): {error}") from None
    return Column(name, column_type, source, kind, key)


def parse_source(source: str, message_regex: re.Pattern[str] | None = None) -> tuple[SourceKind, Any]:
    """A source's kind and key (see Column); raises ValueError saying what is wrong with it.

    Grammar: a metadata name (METADATA_SOURCES); ``$`` and one or more steps ``.name``
    (``[A-Za-z_][A-Za-z0-9_-]*``), ``["any key"]`` (a JSON string) or ``[N]`` (N >= 0);
    ``apache.<field>`` (APACHE_FIELDS); ``regex.<group>`` (a named group of MESSAGE_REGEX).
    """
    if source in METADATA_SOURCES:
        return SourceKind.METADATA, source
    if source.startswith("$"):
        return SourceKind.JSON, _json_path(source)
    if source.startswith("apache."):
        field = source.removeprefix("apache.")
        if field not in APACHE_FIELDS:
            raise ValueError(f"source {source!r}: the Apache fields are {', '.join(APACHE_FIELDS)}")
        return SourceKind.APACHE, APACHE_FIELDS.index(field)
    if source.startswith("regex."):
        group = source.removeprefix("regex.")
        if message_regex is None:
            raise ValueError(f"source {source!r} needs MESSAGE_REGEX (the variable `message_regex`)")
        if group not in message_regex.groupindex:
            raise ValueError(f"source {source!r}: MESSAGE_REGEX has no group (?P<{group}>...)")
        return SourceKind.REGEX, group
    raise ValueError(
        f"source {source!r} is not one of {', '.join(METADATA_SOURCES)}, a JSON path ($.a.b, "
        '$["a b"], $.a[0]), apache.<field> or regex.<group>'
    )


def _json_path(source: str) -> tuple[str | int, ...]:
    steps: list[str | int] = []
    position = 1
    while position < len(source):
        match = _PATH_STEP.match(source, position)
        if match is None:
            raise ValueError(
                f'source {source!r}: JSON path step at character {position} is not .name, ["key"] or [N]'
            )
        name, quoted, index = match.groups()
        steps.append(name if name is not None else int(index) if index is not None else orjson.loads(quoted))
        position = match.end()
    if not steps:
        raise ValueError(f"source {source!r}: a JSON path needs at least one step after $")
    return tuple(steps)


def compile_message_regex(pattern: str) -> re.Pattern[str]:
    """MESSAGE_REGEX compiled; raises ConfigurationError naming it when it is not a pattern with
    named groups."""
    try:
        compiled = re.compile(pattern)
    except re.error as error:
        raise ConfigurationError(
            f"MESSAGE_REGEX (the variable `message_regex`) {pattern!r}: {error}"
        ) from None
    if not compiled.groupindex:
        raise ConfigurationError(f"MESSAGE_REGEX {pattern!r} has no named group (?P<name>...)")
    return compiled


# --- Conversion: a value as its source gives it (JSON, ApacheRecord field, regex group, metadata)
# -> the column's type, or NotConverted. None (no value) stays None. ---


def to_string(value: Any) -> str | None:
    """Strings as they are; numbers and booleans as their JSON text; objects and arrays as
    compact JSON."""
    if value is None or type(value) is str:
        return value
    if type(value) is bool:
        return "true" if value else "false"
    if type(value) is int:
        return str(value)
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # an integer beyond 64 bits inside an object: not what orjson parses
        raise NotConverted from None


def _integer_in(low: int, high: int) -> Callable[[Any], int | None]:
    def to_integer(value: Any) -> int | None:
        if value is None:
            return None
        if type(value) is str and _INTEGER.fullmatch(value):
            try:
                value = int(value)
            except ValueError:  # more digits than Python converts: out of any range
                raise NotConverted from None
        elif type(value) is float and value.is_integer():
            value = int(value)
        elif type(value) is not int:  # a fraction, a boolean, an object, any other text
            raise NotConverted
        if low <= value <= high:
            return value
        raise NotConverted

    return to_integer


to_int = _integer_in(*INT_RANGE)
to_int.__doc__ = "32-bit signed: a JSON integer (or float without fraction), or a string of one."
to_bigint = _integer_in(*BIGINT_RANGE)
to_bigint.__doc__ = "64-bit signed: a JSON integer (or float without fraction), or a string of one."


def to_double(value: Any) -> float | None:
    """A JSON number or a numeric string (``[+-]digits[.digits][e[+-]digits]``); not NaN/Infinity."""
    if value is None:
        return None
    if type(value) is float or type(value) is int:
        try:
            number = float(value)
        except OverflowError:
            raise NotConverted from None
    elif type(value) is str and _NUMBER.fullmatch(value):
        number = float(value)
    else:
        raise NotConverted
    if math.isfinite(number):
        return number
    raise NotConverted


def to_boolean(value: Any) -> bool | None:
    """JSON true/false, or the strings true/false in any case."""
    if value is None or type(value) is bool:
        return value
    if type(value) is str:
        lowered = value.lower()
        if lowered == "true":
            return True
        if lowered == "false":
            return False
    raise NotConverted


def to_timestamp(value: Any) -> str | None:
    """Epoch milliseconds (an integer), an ISO-8601 string (Z, an offset, or naive = UTC) or an
    Apache time (``10/Oct/2000:13:55:36 -0700``) -> ``yyyy-MM-dd HH:mm:ss.SSS`` in UTC."""
    if value is None:
        return None
    try:
        if type(value) is int:
            return (_EPOCH + timedelta(milliseconds=value)).isoformat(" ", "milliseconds")
        if type(value) is str:
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                moment = datetime.fromisoformat(apache.iso_time(value))  # raises ApacheParseError
            if moment.tzinfo is not None:
                moment = moment.astimezone(UTC).replace(tzinfo=None)
            return moment.isoformat(" ", "milliseconds")
    except (ValueError, OverflowError):  # not a time, or outside years 1..9999
        raise NotConverted from None
    raise NotConverted


CONVERTERS: Mapping[ColumnType, Callable[[Any], Any]] = {
    ColumnType.STRING: to_string,
    ColumnType.INT: to_int,
    ColumnType.BIGINT: to_bigint,
    ColumnType.DOUBLE: to_double,
    ColumnType.BOOLEAN: to_boolean,
    ColumnType.TIMESTAMP: to_timestamp,
}
_NONE = type(None)
# A timestamp already in UTC with milliseconds and a Z (what most structured loggers write): its
# text is the value with a space for the T and no Z (the value checked by datetime first).
_UTC_MILLIS_LINES = re.compile(r"(?:[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z\n)*")


def convert_column(column: Column, values: list[Any], tally: Tally) -> list[Any]:
    """Every value of a column converted to its type (None: NULL; a value that does not convert
    is NULL and counted in the tally). Same result as CONVERTERS[column.type] on each value; a
    column whose values already have their type's form (nearly always) converts at C speed."""
    converted = _converted_whole(column.type, values)
    if converted is not None:
        return converted
    convert = CONVERTERS[column.type]
    try:
        return list(map(convert, values))
    except NotConverted:  # rare: one by one, to count and sample each failure
        return [_convert_or_null(column, convert, value, tally) for value in values]


def _converted_whole(column_type: ColumnType, values: list[Any]) -> list[Any] | None:
    """The values converted, when all of them are of the type's own form; else None."""
    types = set(map(type, values))
    present = [value for value in values if value is not None] if _NONE in types else values
    types.discard(_NONE)
    if column_type is ColumnType.TIMESTAMP:
        return _utc_millis_texts(values) if types == {str} and present is values else None
    if column_type is ColumnType.STRING:
        whole = types <= {str}
    elif column_type is ColumnType.BOOLEAN:
        whole = types <= {bool}
    elif column_type is ColumnType.DOUBLE:
        whole = types <= {float} and all(map(math.isfinite, present))
    else:
        low, high = INT_RANGE if column_type is ColumnType.INT else BIGINT_RANGE
        whole = types <= {int} and (not present or (low <= min(present) and max(present) <= high))
    return values if whole else None


def _utc_millis_texts(values: list[str]) -> list[str] | None:
    """The texts of timestamps that are all already UTC with milliseconds and a Z (what most
    structured loggers write): each value with a space for its T and no Z. None otherwise."""
    joined = "\n".join(values) + "\n"
    if not _UTC_MILLIS_LINES.fullmatch(joined):
        return None
    try:
        list(map(datetime.fromisoformat, values))  # each a real date and time of day
    except ValueError:
        return None
    texts = joined.replace("T", " ").replace("Z", "").split("\n")[:-1]
    return texts if len(texts) == len(values) else None


def _convert_or_null(column: Column, convert: Callable[[Any], Any], value: Any, tally: Tally) -> Any:
    try:
        return convert(value)
    except NotConverted:
        tally.not_converted(column.name, column.source, value)
        return None


# --- CSV text of a converted column (None is NULL: an empty field). ---


def csv_text(value: str | None) -> str:
    """A string field: quoted (``"`` doubled) when it holds , " CR or LF, and when it is empty
    (so that the empty string is not NULL)."""
    if value is None:
        return ""
    if not value:
        return '""'
    if '"' in value:
        return '"' + value.replace('"', '""') + '"'
    if "," in value or "\n" in value or "\r" in value:
        return '"' + value + '"'
    return value


_BOOLEAN_TEXT = {True: "true", False: "false", None: ""}


def csv_texts(column_type: ColumnType, values: list[Any]) -> list[str]:
    """A converted column's CSV fields (whole lists at C speed where nothing needs quotes or
    stands for NULL)."""
    if column_type is ColumnType.BOOLEAN:
        return list(map(_BOOLEAN_TEXT.__getitem__, values))
    if column_type is ColumnType.STRING:
        if None in values or "" in values or any(char in "\0".join(values) for char in ',"\r\n'):
            return [""] * len(values) if values.count(None) == len(values) else list(map(csv_text, values))
        return values
    if None in values:
        return ["" if value is None else _plain_text(value) for value in values]
    if column_type is ColumnType.TIMESTAMP:
        return values
    return list(map(repr if column_type is ColumnType.DOUBLE else str, values))


def _plain_text(value: int | float | str) -> str:
    """int, bigint, double (Python's repr) and timestamp text: never needs quotes."""
    return repr(value) if type(value) is float else str(value)


def _walk(value: Any, steps: tuple[str | int, ...]) -> Any:
    """The value at the path's steps, or None where a key or index is missing or the value on
    the way is not an object (for a name) or an array (for an index)."""
    for step in steps:
        if type(step) is str:
            if type(value) is not dict:
                return None
            value = value.get(step)
        elif type(value) is list and step < len(value):
            value = value[step]
        else:
            return None
    return value


class ColumnRenderer:
    """The columns or csv format: the render hook (transform.Renderer) for configured columns.

    A record's events are rendered column by column: each message parsed once per kind of
    source, then each column's values picked, converted and rendered as one list, which for a
    column whose values have their type's form runs at C speed, where a loop over every event's
    cells would not.
    """

    def __init__(
        self,
        columns: list[Column],
        csv: bool,
        on_unparsed: OnUnparsed = OnUnparsed.KEEP_RAW,
        message_regex: re.Pattern[str] | None = None,
    ) -> None:
        """columns from parse_columns; csv: CSV rows, else JSON lines; message_regex: MESSAGE_REGEX
        (needed when a source is regex.<group>)."""
        kinds = {column.kind for column in columns}
        if SourceKind.REGEX in kinds and message_regex is None:
            raise ConfigurationError("COLUMNS has regex.<group> sources but MESSAGE_REGEX is not set")
        self.columns = columns
        self.csv = csv
        self.keep_raw = on_unparsed is OnUnparsed.KEEP_RAW
        # Each kind of source that needs parsing parses each message once, whatever its columns.
        parsers: dict[SourceKind, Callable[[list[str]], list[Any]]] = {
            SourceKind.JSON: _json_objects,
            SourceKind.APACHE: _apache_records,
            SourceKind.REGEX: partial(_regex_matches, message_regex),
        }
        self._parsers = {kind: parser for kind, parser in parsers.items() if kind in kinds}
        self._names = [column.name for column in columns] + ([RAW_COLUMN] if self.keep_raw else [])
        self._types = [column.type for column in columns] + ([ColumnType.STRING] if self.keep_raw else [])

    def __call__(self, payload: Payload, events: list[dict[str, Any]], tally: Tally) -> bytes:
        """One line per event (see the module's invariants); raises InvalidRecord for an event
        that is not an object with a string message (and the id or timestamp a column names)."""
        try:
            messages = [event["message"] for event in events]
            if set(map(type, messages)) - {str}:
                raise TypeError("a message is not a string")
            # Each kind's parse of each message; None where it does not parse.
            parsed = {kind: parse(messages) for kind, parse in self._parsers.items()}
            unparsed = [None in results for results in zip(*parsed.values(), strict=True)] if parsed else []
            if any(unparsed) and not self.keep_raw:
                tally.events_unparsed_dropped += sum(unparsed)
                # Render the others alone (rare: parsing them again is simpler than filtering).
                kept = [event for event, bad in zip(events, unparsed, strict=True) if not bad]
                return self(payload, kept, tally) if kept else b""
            values = [
                convert_column(column, _picked(column, payload.document, events, parsed), tally)
                for column in self.columns
            ]
        except (KeyError, TypeError) as error:
            raise InvalidRecord(f"malformed log event: {error!r}") from None
        if not events:
            return b""
        if any(unparsed):  # keep_raw: the parsed columns NULL, the message in _raw
            tally.events_unparsed_kept += sum(unparsed)
            for column, column_values in zip(self.columns, values, strict=True):
                if column.kind is not SourceKind.METADATA:
                    column_values[:] = [
                        None if bad else value for value, bad in zip(column_values, unparsed, strict=True)
                    ]
        if self.keep_raw:
            values.append(
                [message if bad else None for message, bad in zip(messages, unparsed, strict=True)]
                if any(unparsed)
                else [None] * len(messages)
            )
        if self.csv:
            fields = [
                csv_texts(column_type, column_values)
                for column_type, column_values in zip(self._types, values, strict=True)
            ]
            return ("\n".join(map(",".join, zip(*fields, strict=True))) + "\n").encode()
        names = self._names
        return b"".join(
            [
                orjson.dumps(dict(zip(names, row, strict=True)), option=orjson.OPT_APPEND_NEWLINE)
                for row in zip(*values, strict=True)
            ]
        )


def _picked(
    column: Column,
    document: dict[str, Any],
    events: list[dict[str, Any]],
    parsed: dict[SourceKind, list[Any]],
) -> list[Any]:
    """The column's value, as its source gives it, for every event (None where there is none)."""
    key = column.key
    if column.kind is SourceKind.METADATA:
        return _metadata(key, document, events)
    if column.kind is SourceKind.JSON:
        objects = parsed[SourceKind.JSON]
        if len(key) == 1 and type(key[0]) is str and None not in objects:
            return list(map(dict.get, objects, repeat(key[0])))
        return [_walk(obj, key) for obj in objects]
    found = parsed[column.kind]  # ApacheRecords (key: a field's index) or regex matches (a group)
    return [None if result is None else result[key] for result in found]


def _metadata(key: str, document: dict[str, Any], events: list[dict[str, Any]]) -> list[Any]:
    if key in _PAYLOAD_METADATA:
        return [document.get(key)] * len(events)
    if key == "id":
        return [str(event["id"]) for event in events]  # moto: integers; CloudWatch Logs: strings
    return [event[key] for event in events]


def _json_objects(messages: list[str]) -> list[dict[str, Any] | None]:
    """Each message parsed as a JSON object (None where it is not JSON, or not an object)."""
    try:
        parsed = list(map(orjson.loads, messages))
    except orjson.JSONDecodeError:  # some message is not JSON: one by one
        parsed = [_json_or_none(message) for message in messages]
    if set(map(type, parsed)) == {dict}:
        return parsed
    return [value if type(value) is dict else None for value in parsed]


def _json_or_none(message: str) -> Any:
    try:
        return orjson.loads(message)
    except orjson.JSONDecodeError:
        return None


def _apache_records(messages: list[str]) -> list[apache.ApacheRecord | None]:
    """Each message parsed as an Apache access log line (None where it is not one)."""
    return [_apache_or_none(message) for message in messages]


def _apache_or_none(message: str) -> apache.ApacheRecord | None:
    try:
        return apache.parse_line(message)
    except apache.ApacheParseError:
        return None


def _regex_matches(pattern: re.Pattern[str], messages: list[str]) -> list[re.Match[str] | None]:
    """Each message matched whole (its line end stripped) by MESSAGE_REGEX (None: no match)."""
    fullmatch = pattern.fullmatch
    return [fullmatch(message.rstrip("\r\n")) for message in messages]


def convert_dict(columns: list[Column], line: dict[str, Any], tally: Tally) -> dict[str, Any]:
    """A custom transform's dict as a row of the configured columns: only their keys, in order,
    each converted to its column's type (a missing key is NULL; one that does not convert is NULL
    and counted)."""
    row: dict[str, Any] = {}
    for column in columns:
        value = line.get(column.name)
        try:
            row[column.name] = CONVERTERS[column.type](value)
        except NotConverted:
            tally.not_converted(column.name, column.source, value)
            row[column.name] = None
    return row
