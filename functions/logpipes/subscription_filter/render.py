"""Turn log events into archive lines: local time in an IANA zone, then CSV or JSON lines."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

import orjson

from logpipes.subscription_filter.payload import LogEvent

# Field names of a JSON line; labels may not reuse them.
EVENT_FIELDS = ("timestamp", "log_group", "log_stream", "id", "message")
_MILLIS = tuple(f".{millis:03d}" for millis in range(1000))  # a lookup, not a format, per event


class LineFormat(StrEnum):
    """How an archive line is written (ARCHIVE_LINE_FORMAT)."""

    CSV = "csv"  # labels..., timestamp, log_stream, message (RFC 4180 quoting)
    JSON = "json"  # one object per line: labels as fields, then EVENT_FIELDS


@dataclass(slots=True)
class DayLines:
    """The events of one local day, in delivery order: their ids and their lines."""

    ids: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


@lru_cache(maxsize=8192)
def _wall_clock(second: int, zone: ZoneInfo) -> tuple[str, str, str]:
    """Epoch seconds → ("YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SS", "+HH:MM") in ``zone``.

    zoneinfo does the conversion, so daylight saving and historical offsets are right. Cached:
    a delivery's events are mostly within a few seconds of each other.
    """
    text = datetime.fromtimestamp(second, zone).isoformat()
    return text[:10], text[:19], text[19:]


def csv_field(value: str) -> str:
    """One RFC 4180 field: quoted (quotes doubled) only if it holds a quote, comma, CR or LF."""
    # Four substring tests (each a memchr) beat one regex search.
    if '"' in value or "," in value or "\n" in value or "\r" in value:
        return '"' + value.replace('"', '""') + '"'
    return value


def render_lines(
    events: Iterable[LogEvent],
    *,
    log_group: str,
    log_stream: str,
    zone: ZoneInfo,
    line_format: LineFormat,
    labels: Mapping[str, str],
) -> dict[str, DayLines]:
    """Group a delivery's events by local day, with one line (ending with a newline) per event.

    A CSV field holding a newline or a quote is quoted, so a multi-line message stays one CSV
    record. Messages lose their trailing newlines (those of Lambda and most agents): the archive
    adds its own. This runs for every event: the parts shared by a delivery are rendered once,
    those shared by a second of it once per second.
    """
    is_csv = line_format is LineFormat.CSV
    if is_csv:
        head = "".join(csv_field(value) + "," for value in labels.values())
        middle = "," + csv_field(log_stream) + ","
    else:
        head = json.dumps(dict(labels), ensure_ascii=False, separators=(",", ":"))[:-1]
        head = (head + "," if labels else head) + '"timestamp":"'
        middle = f'","log_group":{_json_string(log_group)},"log_stream":{_json_string(log_stream)},"id":'
    by_day: dict[str, DayLines] = {}
    current_second = None
    for event_id, timestamp_ms, message in events:
        second, millis = divmod(timestamp_ms, 1000)
        if second != current_second:
            # A line is <before>.mmm<after><event's own fields>: before and after, and the day
            # the line goes to, only change with the second.
            current_second = second
            day, wall, offset = _wall_clock(second, zone)
            before, after = head + wall, offset + middle
            if (day_lines := by_day.get(day)) is None:
                day_lines = by_day[day] = DayLines()
            add_id, add_line = day_lines.ids.append, day_lines.lines.append
        text = message.rstrip("\r\n")
        if is_csv:
            add_line(f"{before}{_MILLIS[millis]}{after}{csv_field(text)}\n")
        else:
            add_line(
                f'{before}{_MILLIS[millis]}{after}{_json_string(event_id)},"message":{_json_string(text)}}}\n'
            )
        add_id(event_id)
    return by_day


def _json_string(value: str) -> str:
    # orjson writes the same bytes as json.dumps(value, ensure_ascii=False) for every code point
    # but lone surrogates (it raises; orjson.loads never returns them), about twice as fast.
    return orjson.dumps(value).decode()
