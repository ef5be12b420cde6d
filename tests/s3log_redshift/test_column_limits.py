"""Issue 11, defect 1: a value that does not fit its column is a reject of its line, never a failed load.

The limits come from schema.py; these tests state the documented cases by hand and check that the
schema's integer ranges are exactly what the database accepts.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from devtools.lambda_runtime import FakeLambdaContext
from logpipes.s3log_redshift import app, handler
from logpipes.s3log_redshift.parser import S3AccessLogRecord, Unparsed, csv_row, parse_line
from logpipes.s3log_redshift.schema import INTEGER_RANGES, Kind

from .conftest import Database
from .helpers import sqs_event
from .test_load_postgres import LEDGER, TABLE, put_log_objects, rejects_of
from .test_parser import VALID

ESCAPED = VALID.replace('"curl/8.0"', '"curl \\"8\\""')  # forces the general path


@pytest.fixture(autouse=True)
def _fresh_loader() -> Any:
    yield
    app._loader_for.cache_clear()


@pytest.mark.parametrize("template", [VALID, ESCAPED], ids=["fast", "general"])
@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        (" 200 ", " 99999 ", "http_status 99999 does not fit SMALLINT"),
        (" 200 ", " 32768 ", "http_status 32768 does not fit SMALLINT"),
        (" 10 10 ", " 99999999999999999999 10 ", "bytes_sent of 20 digits does not fit BIGINT"),
        (" 10 10 ", " 10 9223372036854775808 ", "object_size 9223372036854775808 does not fit BIGINT"),
        (" 3 2 ", " 2147483648 2 ", "total_time_ms 2147483648 does not fit INTEGER"),
        ("06/Feb/2019", "01/Jan/0001", "request_time 0001-01-01"),
        ("06/Feb/2019", "31/Dec/9999", "request_time 9999-12-31"),
        ("00:00:38 +0000", "00:00:38 +0100", "request_time 2019-02-05"),  # in range: control below
        (" b ", " " + "b" * 65 + " ", "bucket of 65 bytes does not fit VARCHAR(64)"),
        (" b ", " " + "é" * 33 + " ", "bucket of 66 bytes does not fit VARCHAR(64)"),  # bytes, not characters
        ("GET /k HTTP/1.1", "GET /" + "k" * 8192, "request_uri of 8197 bytes does not fit VARCHAR(8192)"),
        ("curl", "c" * 4097, "user_agent of 4101 bytes does not fit VARCHAR(4096)"),
    ],
)
def test_value_outside_its_column_is_a_reject_with_the_reason(
    template: str, old: str, new: str, reason: str
) -> None:
    assert old in template
    line = template.replace(old, new, 1)
    result = parse_line(line)
    if reason.startswith("request_time 2019"):  # a time zone moving the time within range is fine
        assert isinstance(result, S3AccessLogRecord)
        return
    assert isinstance(result, Unparsed), result
    assert reason in result.reason
    assert csv_row(line) == result


@pytest.mark.parametrize("template", [VALID, ESCAPED], ids=["fast", "general"])
def test_values_at_the_limits_parse(template: str) -> None:
    line = (
        template.replace(" 200 ", " 32767 ")
        .replace(" 10 10 ", " 9223372036854775807 0 ")
        .replace(" 3 2 ", " 2147483647 2 ")
        .replace(" b ", " " + "é" * 32 + " ")
        .replace("curl", "c" * 4092)
    )
    record = parse_line(line)
    assert isinstance(record, S3AccessLogRecord), record
    assert (record.http_status, record.bytes_sent, record.total_time_ms) == (32767, 2**63 - 1, 2**31 - 1)


def test_integer_ranges_are_what_the_database_accepts(database: Database) -> None:
    """schema.INTEGER_RANGES, the one source of the numeric limits, against PostgreSQL's own types."""
    for kind, (low, high) in INTEGER_RANGES.items():
        name = kind.value.upper()
        assert database.query(f"SELECT ({low})::{name}, ({high})::{name}") == [(low, high)]
        for outside in (low - 1, high + 1):
            with pytest.raises(psycopg.errors.NumericValueOutOfRange):
                database.query(f"SELECT ({outside})::{name}")
    assert set(INTEGER_RANGES) == {Kind.SMALLINT, Kind.INTEGER, Kind.BIGINT}


def test_out_of_range_line_is_rejected_and_its_batch_loads(
    buckets: Any, loader_env: dict[str, str], database: Database, lambda_context: FakeLambdaContext
) -> None:
    """Before the fix, status 99999 failed the COPY and every message of the batch came back."""
    bad_status = VALID.replace(" 200 ", " 99999 ")
    bad_bytes = VALID.replace(" 10 10 ", " 99999999999999999999 10 ")
    year_one = VALID.replace("06/Feb/2019", "01/Jan/0001")
    bodies = put_log_objects(
        buckets,
        {"mixed": "\n".join([VALID, bad_status, bad_bytes, year_one, VALID]) + "\n", "clean": VALID + "\n"},
    )

    response = handler(sqs_event(bodies), lambda_context)

    assert response == {"batchItemFailures": []}
    assert database.query(f"SELECT source_key, source_line FROM {TABLE} ORDER BY 1, 2") == [
        ("s3-access/clean", 1),
        ("s3-access/mixed", 1),
        ("s3-access/mixed", 5),
    ]
    rejects = rejects_of(buckets, "s3-access/mixed")
    assert [(r["line_number"], r["reason"].split(" ")[0]) for r in rejects] == [
        (2, "http_status"),
        (3, "bytes_sent"),
        (4, "request_time"),
    ]
    assert database.query(f"SELECT lines_total, rows_staged, lines_rejected FROM {LEDGER} ORDER BY 1") == [
        (1, 1, 0),
        (5, 2, 3),
    ]
