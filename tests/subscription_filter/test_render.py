"""Local time with zoneinfo (not by adding hours), and the CSV / JSON line formats."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logpipes.subscription_filter.payload import LogEvent
from logpipes.subscription_filter.render import EVENT_FIELDS, DayLines, LineFormat, render_lines


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def local_time(timestamp_ms: int, zone: ZoneInfo) -> tuple[str, str]:
    """(day, timestamp) of an event at ``timestamp_ms``, as render_lines writes them."""
    ((day, day_lines),) = render_lines(
        [("1", timestamp_ms, "")],
        log_group="/g",
        log_stream="s",
        zone=zone,
        line_format=LineFormat.JSON,
        labels={},
    ).items()
    return day, json.loads(day_lines.lines[0])["timestamp"]


def _reference(timestamp_ms: int, zone: ZoneInfo) -> tuple[str, str]:
    local = datetime.fromtimestamp(timestamp_ms / 1000, UTC).astimezone(zone)
    return local.date().isoformat(), local.isoformat(timespec="milliseconds")


def test_tokyo_midnight_splits_one_payload_into_two_days() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    # 14:59:59.999 UTC is 23:59:59.999 in Tokyo; one millisecond later it is the next day there.
    assert local_time(_ms("2024-03-31T14:59:59.999+00:00"), tokyo) == (
        "2024-03-31",
        "2024-03-31T23:59:59.999+09:00",
    )
    assert local_time(_ms("2024-03-31T15:00:00.000+00:00"), tokyo) == (
        "2024-04-01",
        "2024-04-01T00:00:00.000+09:00",
    )


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        # New York switched to daylight time at 02:00 local on 2024-03-10: adding a fixed offset is wrong.
        ("2024-03-10T06:59:59.000+00:00", ("2024-03-10", "2024-03-10T01:59:59.000-05:00")),
        ("2024-03-10T07:00:00.000+00:00", ("2024-03-10", "2024-03-10T03:00:00.000-04:00")),
        # Before midnight UTC, already the next day in New York? No: still the previous day.
        ("2024-11-04T03:30:00.250+00:00", ("2024-11-03", "2024-11-03T22:30:00.250-05:00")),
    ],
)
def test_daylight_saving_zone(instant: str, expected: tuple[str, str]) -> None:
    assert local_time(_ms(instant), ZoneInfo("America/New_York")) == expected


def test_negative_and_cached_seconds_are_exact() -> None:
    utc = ZoneInfo("UTC")
    assert local_time(-1, utc) == ("1969-12-31", "1969-12-31T23:59:59.999+00:00")
    for millis in (0, 1, 999):
        assert local_time(1_000 + millis, utc)[1] == f"1970-01-01T00:00:01.{millis:03d}+00:00"


def test_every_millisecond_of_a_day_boundary_matches_datetime() -> None:
    zone = ZoneInfo("Asia/Tokyo")
    start = _ms("2015-08-25T14:59:58+00:00")
    for timestamp in range(start, start + 4_000, 7):
        assert local_time(timestamp, zone) == _reference(timestamp, zone)


@settings(max_examples=200, deadline=None)
@given(
    zone=st.sampled_from(["Asia/Tokyo", "America/New_York", "Europe/London", "Australia/Lord_Howe"]),
    start=st.integers(min_value=-86_400_000, max_value=4_102_444_800_000),
    steps=st.lists(st.integers(min_value=-90_000_000, max_value=90_000_000), max_size=60),
)
def test_a_delivery_in_any_order_goes_to_its_days_in_order(zone: str, start: int, steps: list[int]) -> None:
    """Events jumping back and forth across seconds, days and offset changes in one delivery."""
    tz = ZoneInfo(zone)
    timestamps = [start + sum(steps[:index]) for index in range(len(steps) + 1)]
    events: list[LogEvent] = [(str(index), timestamp, "m") for index, timestamp in enumerate(timestamps)]
    by_day = render_lines(
        events, log_group="/g", log_stream="s", zone=tz, line_format=LineFormat.CSV, labels={}
    )
    expected: dict[str, DayLines] = {}
    for event_id, timestamp, _ in events:
        day, stamp = _reference(timestamp, tz)
        expected.setdefault(day, DayLines()).ids.append(event_id)
        expected[day].lines.append(f"{stamp},s,m\n")
    assert by_day == expected


EVENTS: list[LogEvent] = [
    ("1", _ms("2024-03-31T14:59:59.999+00:00"), "plain line\n"),
    ("2", _ms("2024-03-31T15:00:00.000+00:00"), 'has, a comma and "quotes"'),
    ("3", _ms("2024-03-31T15:00:00.001+00:00"), "two\nlines"),
]
LABELS = {"system": "billing", "env": "prod"}


def _render(line_format: LineFormat) -> dict[str, DayLines]:
    return render_lines(
        EVENTS,
        log_group="/aws/lambda/app",
        log_stream="2024/03/31/[$LATEST]abc",
        zone=ZoneInfo("Asia/Tokyo"),
        line_format=line_format,
        labels=LABELS,
    )


def test_csv_lines_put_labels_first_and_quote_what_needs_it() -> None:
    by_day = _render(LineFormat.CSV)
    assert by_day["2024-03-31"] == DayLines(
        ids=["1"], lines=["billing,prod,2024-03-31T23:59:59.999+09:00,2024/03/31/[$LATEST]abc,plain line\n"]
    )
    assert by_day["2024-04-01"].ids == ["2", "3"]
    lines = by_day["2024-04-01"].lines
    assert lines[0] == (
        'billing,prod,2024-04-01T00:00:00.000+09:00,2024/03/31/[$LATEST]abc,"has, a comma and ""quotes"""\n'
    )
    rows = list(csv.reader(io.StringIO("".join(lines))))
    assert rows[1] == [
        "billing",
        "prod",
        "2024-04-01T00:00:00.001+09:00",
        "2024/03/31/[$LATEST]abc",
        "two\nlines",
    ]


def test_json_lines_carry_labels_as_fields() -> None:
    by_day = _render(LineFormat.JSON)
    line = by_day["2024-04-01"].lines[0]
    assert by_day["2024-04-01"].ids == ["2", "3"] and line.endswith("}\n") and line.count("\n") == 1
    assert json.loads(line) == {
        "system": "billing",
        "env": "prod",
        "timestamp": "2024-04-01T00:00:00.000+09:00",
        "log_group": "/aws/lambda/app",
        "log_stream": "2024/03/31/[$LATEST]abc",
        "id": "2",
        "message": 'has, a comma and "quotes"',
    }
    assert json.loads(by_day["2024-04-01"].lines[1])["message"] == "two\nlines"


LABEL_NAMES = st.text(min_size=1, max_size=8).filter(lambda name: name not in EVENT_FIELDS)


@settings(max_examples=300, deadline=None)
@given(
    labels=st.dictionaries(LABEL_NAMES, st.text()),
    stream=st.text(),
    message=st.text(),
)
def test_any_text_round_trips_through_both_formats(labels: dict[str, str], stream: str, message: str) -> None:
    event_id = "49590338271490256608559692538361571095921575989136588898"
    rendered = {
        line_format: render_lines(
            [(event_id, 1_711_897_199_999, message)],
            log_group="/g",
            log_stream=stream,
            zone=ZoneInfo("Asia/Tokyo"),
            line_format=line_format,
            labels=labels,
        )["2024-03-31"].lines[0]
        for line_format in LineFormat
    }
    expected_message = message.rstrip("\r\n")
    expected_csv = [*labels.values(), "2024-03-31T23:59:59.999+09:00", stream, expected_message]
    assert list(csv.reader(io.StringIO(rendered[LineFormat.CSV], newline=""))) == [expected_csv]
    as_json = json.loads(rendered[LineFormat.JSON])
    assert as_json == {
        **labels,
        "timestamp": "2024-03-31T23:59:59.999+09:00",
        "log_group": "/g",
        "log_stream": stream,
        "id": event_id,
        "message": expected_message,
    }
    assert list(as_json)[: len(labels)] == list(labels)
    assert rendered[LineFormat.JSON].count("\n") == 1
