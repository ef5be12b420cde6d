"""Turn log events into archive lines: local time in an IANA zone, then CSV or JSON lines."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

from logpipes.subscription_filter.payload import LogEvent

# Field names of a JSON line; labels may not reuse them.
EVENT_FIELDS = ("timestamp", "log_group", "log_stream", "id", "message")
_CSV_NEEDS_QUOTES = re.compile(r'[",\r\n]')


class LineFormat(StrEnum):
    CSV = "csv"  # labels..., timestamp, log_stream, message (RFC 4180 quoting)
    JSON = "json"  # one object per line: labels as fields, then EVENT_FIELDS


@dataclass(slots=True)
class DayLines:
    """The events of one local day, in delivery order: their ids and their lines."""

    ids: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


def local_time(timestamp_ms: int, zone: ZoneInfo) -> tuple[str, str]:
    """Epoch milliseconds → ("YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SS.mmm+HH:MM") in ``zone``.

    zoneinfo does the conversion, so daylight saving and historical offsets are right.
    """
    second, millis = divmod(timestamp_ms, 1000)
    wall, offset = _wall_clock(second, zone)
    return wall[:10], f"{wall}.{millis:03d}{offset}"


@lru_cache(maxsize=8192)
def _wall_clock(second: int, zone: ZoneInfo) -> tuple[str, str]:
    # Cached per second: a delivery's events are mostly within a few seconds of each other.
    text = datetime.fromtimestamp(second, zone).isoformat()
    return text[:19], text[19:]


def csv_field(value: str) -> str:
    """One RFC 4180 field: quoted (quotes doubled) only if it holds a quote, comma, CR or LF."""
    if _CSV_NEEDS_QUOTES.search(value) is None:
        return value
    return '"' + value.replace('"', '""') + '"'


def strip_line_end(message: str) -> str:
    """Messages from Lambda and most agents end with a newline; the archive adds its own."""
    return message.rstrip("\r\n")


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
    record. This runs for every event: the parts shared by a delivery are rendered once.
    """
    if line_format is LineFormat.CSV:
        head = "".join(csv_field(value) + "," for value in labels.values())
        middle = "," + csv_field(log_stream) + ","
        tail = "\n"
    else:
        head = json.dumps(dict(labels), ensure_ascii=False, separators=(",", ":"))[:-1]
        head = (head + "," if labels else head) + '"timestamp":"'
        middle = f'","log_group":{_json_string(log_group)},"log_stream":{_json_string(log_stream)},"id":'
        tail = "}\n"
    by_day: dict[str, DayLines] = {}
    for event_id, timestamp_ms, message in events:
        day, timestamp = local_time(timestamp_ms, zone)
        text = strip_line_end(message)
        if line_format is LineFormat.CSV:
            line = head + timestamp + middle + csv_field(text) + tail
        else:
            line = f'{head}{timestamp}{middle}{_json_string(event_id)},"message":{_json_string(text)}{tail}'
        day_lines = by_day.get(day)
        if day_lines is None:
            day_lines = by_day[day] = DayLines()
        day_lines.ids.append(event_id)
        day_lines.lines.append(line)
    return by_day


def _json_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)
