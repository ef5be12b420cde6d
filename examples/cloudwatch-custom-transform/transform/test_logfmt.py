"""The example transform on LogEvents as the handler passes them (tests/firehose_transform/
test_custom_transform_example.py runs it in the built image against moto, end to end).

    .venv/bin/python -m pytest examples/cloudwatch-custom-transform/transform -q
"""

from __future__ import annotations

import dataclasses

from mytransform.logfmt import parse_logfmt, transform

from logpipes.firehose_transform.extension import LogEvent

EVENT = LogEvent(
    id="1", timestamp=1_796_378_400_123, message="", log_group="/app", log_stream="web-1", owner="1234"
)


def _event(message: str) -> LogEvent:
    return dataclasses.replace(EVENT, message=message)


def test_logfmt_pairs_bare_quoted_and_escaped() -> None:
    line = 'level=INFO msg="user \\"ann\\" signed in" user_id=42 empty= duration_ms=12.5'
    assert parse_logfmt(line) == {
        "level": "INFO",
        "msg": 'user "ann" signed in',
        "user_id": "42",
        "empty": "",
        "duration_ms": "12.5",
    }


def test_one_row_per_event_with_the_columns_keys() -> None:
    rows = transform(_event('level=WARN msg="slow query" user_id=7 duration_ms=812.25'))
    assert rows == [
        {
            "ts": 1_796_378_400_123,
            "level": "warn",
            "msg": "slow query",
            "user_id": "7",
            "duration_ms": "812.25",
            "log_stream": "web-1",
        }
    ]


def test_health_checks_and_lines_without_a_level_are_dropped() -> None:
    assert transform(_event("level=info path=/healthz")) is None
    assert transform(_event("GET / 200")) is None
