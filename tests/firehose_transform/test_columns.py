"""Typed columns (OUTPUT_FORMAT columns / csv): the COLUMNS grammar, conversions, NULLs, unparsed
events, and the handler end to end on JSON, Apache and regex logs (issue 15)."""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logpipes.common.settings import ConfigurationError
from logpipes.firehose_transform import handler
from logpipes.firehose_transform.batch import InputRecord, transform_batch
from logpipes.firehose_transform.columns import (
    CONVERTERS,
    ColumnRenderer,
    ColumnType,
    NotConverted,
    OnUnparsed,
    SourceKind,
    parse_columns,
    parse_source,
)
from logpipes.firehose_transform.transform import Payload, Tally
from tests.firehose_transform.helpers import cwl_payload, decoded, encode, firehose_event

BATCH_LOGS = [
    '{"time": "2026-11-21T10:00:00.123Z", "job": "nightly-orders", "records": 41422, "ok": true}',
    '{"time": "2026-11-21T12:00:00+02:00", "job": "daily-billing, EU", "records": "17", "ok": "FALSE"}',
    '{"time": "2026-11-21 10:00:05", "job": "say \\"hi\\"", "records": 1.5, "ok": null, "extra": [1]}',
    "Traceback (most recent call last): not JSON",
    '{"time": "yesterday", "job": "", "records": 9223372036854775808}',
]
BATCH_COLUMNS = [
    {"name": "at", "type": "timestamp", "source": "$.time"},
    {"name": "job", "type": "string", "source": "$.job"},
    {"name": "records", "type": "bigint", "source": "$.records"},
    {"name": "ok", "type": "boolean", "source": "$.ok"},
]
APACHE_LINES = [
    '10.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326',
    '10.0.0.2 - - [10/Oct/2000:13:55:37 -0700] "POST /login HTTP/1.1" 302 - "-" "curl/8.0"',
    "not an access log line",
]


def _render(columns: list[dict[str, str]], messages: list[str], **options: Any) -> tuple[str, Tally]:
    regex = options.pop("message_regex", None)
    compiled = re.compile(regex) if regex else None
    renderer = ColumnRenderer(parse_columns(json.dumps(columns), compiled), message_regex=compiled, **options)
    payload = Payload(cwl_payload(messages))
    tally = Tally()
    return renderer(payload, payload.events, tally).decode(), tally


def _csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def _metrics(capsys: pytest.CaptureFixture[str]) -> dict[str, float]:
    """The metric values of the EMF document the handler printed."""
    for line in capsys.readouterr().out.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            document = json.loads(line)
            names = document["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            return {metric["Name"]: document[metric["Name"]] for metric in names}
    raise AssertionError("no metrics printed")


def test_json_logs_to_four_typed_columns_as_csv() -> None:
    text, tally = _render(BATCH_COLUMNS, BATCH_LOGS, csv=True)
    assert text.endswith("\n") and text.count("\n") == len(BATCH_LOGS)  # one line per event
    assert text.splitlines()[1] == '2026-11-21 10:00:00.000,"daily-billing, EU",17,false,'
    assert _csv_rows(text) == [
        ["2026-11-21 10:00:00.123", "nightly-orders", "41422", "true", ""],
        ["2026-11-21 10:00:00.000", "daily-billing, EU", "17", "false", ""],
        ["2026-11-21 10:00:05.000", 'say "hi"', "", "", ""],  # 1.5 is no bigint: NULL, counted
        ["", "", "", "", "Traceback (most recent call last): not JSON"],
        ["", "", "", "", ""],  # "yesterday" and 2**63: NULL, counted; "" stays "" (quoted)
    ]
    assert text.splitlines()[4] == ',"",,,'
    assert tally.values_not_converted == 3
    assert [sample["value"] for sample in tally.conversion_samples] == [
        "'yesterday'",
        "1.5",
        "9223372036854775808",
    ]
    assert {sample["column"] for sample in tally.conversion_samples} == {"at", "records"}
    assert tally.events_unparsed_kept == 1


def test_json_lines_render_types_as_json() -> None:
    text, _ = _render(BATCH_COLUMNS, BATCH_LOGS[:3], csv=False)
    assert [json.loads(line) for line in text.splitlines()] == [
        {
            "at": "2026-11-21 10:00:00.123",
            "job": "nightly-orders",
            "records": 41422,
            "ok": True,
            "_raw": None,
        },
        {
            "at": "2026-11-21 10:00:00.000",
            "job": "daily-billing, EU",
            "records": 17,
            "ok": False,
            "_raw": None,
        },
        {"at": "2026-11-21 10:00:05.000", "job": 'say "hi"', "records": None, "ok": None, "_raw": None},
    ]


def test_drop_writes_no_row_for_an_unparsed_event_and_counts_it() -> None:
    text, tally = _render(BATCH_COLUMNS, BATCH_LOGS, csv=True, on_unparsed=OnUnparsed.DROP)
    assert [row[1] for row in _csv_rows(text)] == ["nightly-orders", "daily-billing, EU", 'say "hi"', ""]
    assert len(_csv_rows(text)[0]) == 4  # no _raw column with drop
    assert (tally.events_unparsed_dropped, tally.events_unparsed_kept) == (1, 0)
    assert _render(BATCH_COLUMNS, ["not json"], csv=True, on_unparsed=OnUnparsed.DROP)[0] == ""


def test_apache_fields() -> None:
    columns = [
        {"name": "host", "type": "string", "source": "apache.host"},
        {"name": "at", "type": "timestamp", "source": "apache.time"},
        {"name": "user", "type": "string", "source": "apache.user"},
        {"name": "method", "type": "string", "source": "apache.method"},
        {"name": "status", "type": "int", "source": "apache.status"},
        {"name": "bytes", "type": "bigint", "source": "apache.size"},
        {"name": "agent", "type": "string", "source": "apache.agent"},
        {"name": "stream", "type": "string", "source": "logStream"},
    ]
    text, tally = _render(columns, APACHE_LINES, csv=True)
    assert _csv_rows(text) == [
        ["10.0.0.1", "2000-10-10 20:55:36.000", "frank", "GET", "200", "2326", "", "i-0123456789abcdef0", ""],
        ["10.0.0.2", "2000-10-10 20:55:37.000", "", "POST", "302", "", "curl/8.0", "i-0123456789abcdef0", ""],
        ["", "", "", "", "", "", "", "i-0123456789abcdef0", "not an access log line"],
    ]
    assert (tally.values_not_converted, tally.events_unparsed_kept) == (0, 1)


def test_regex_groups_and_metadata() -> None:
    columns = [
        {"name": "level", "type": "string", "source": "regex.level"},
        {"name": "took_ms", "type": "double", "source": "regex.took"},
        {"name": "event_id", "type": "string", "source": "id"},
        {"name": "logged_at", "type": "timestamp", "source": "timestamp"},
        {"name": "message", "type": "string", "source": "message"},
    ]
    messages = ["WARN took 12.5ms\r\n", "INFO took 3ms", "INFO took fast", "garbage"]
    text, tally = _render(
        columns, messages, csv=False, message_regex=r"(?P<level>[A-Z]+) took (?P<took>\S+?)(?:ms)?"
    )
    rows = [json.loads(line) for line in text.splitlines()]
    assert [(r["level"], r["took_ms"], r["_raw"]) for r in rows] == [
        ("WARN", 12.5, None),
        ("INFO", 3.0, None),
        ("INFO", None, None),  # "fast" is no double: NULL, counted
        (None, None, "garbage"),  # no match: unparsed, kept
    ]
    assert rows[0]["event_id"] == cwl_payload(messages)["logEvents"][0]["id"]
    assert [r["logged_at"] for r in rows[:2]] == ["2023-11-14 22:13:20.000", "2023-11-14 22:13:20.001"]
    assert [r["message"] for r in rows] == messages  # metadata is filled even for an unparsed event
    assert (tally.values_not_converted, tally.events_unparsed_kept) == (1, 1)


@pytest.mark.parametrize(
    ("column_type", "value", "expected"),
    [
        ("string", "text", "text"),
        ("string", 5, "5"),
        ("string", 1.5, "1.5"),
        ("string", True, "true"),
        ("string", {"a": [1, None]}, '{"a":[1,null]}'),
        ("int", 2**31 - 1, 2**31 - 1),
        ("int", "-42", -42),
        ("int", "+7", 7),
        ("int", 3.0, 3),
        ("bigint", -(2**63), -(2**63)),
        ("double", 5, 5.0),
        ("double", "-1.5e3", -1500.0),
        ("double", ".5", 0.5),
        ("boolean", "True", True),
        ("boolean", False, False),
        ("timestamp", 1510109208016, "2017-11-08 02:46:48.016"),
        ("timestamp", "2017-11-08T02:46:48.016Z", "2017-11-08 02:46:48.016"),
        ("timestamp", "2017-11-07T21:46:48.016999-05:00", "2017-11-08 02:46:48.016"),
        ("timestamp", "2017-11-08 02:46:48", "2017-11-08 02:46:48.000"),
        ("timestamp", "10/Oct/2000:13:55:36 -0700", "2000-10-10 20:55:36.000"),
        ("int", None, None),
    ],
)
def test_conversions(column_type: str, value: Any, expected: Any) -> None:
    converted = CONVERTERS[ColumnType(column_type)](value)
    assert converted == expected and type(converted) is type(expected)


@pytest.mark.parametrize(
    ("column_type", "value"),
    [
        ("int", 2**31),
        ("int", "1.0"),
        ("int", 1.5),
        ("int", True),
        ("int", "1_000"),
        ("int", " 1"),
        ("int", "٣"),  # a digit, but not ASCII
        ("bigint", 2**63),
        ("bigint", "x" * 5000),
        ("double", "nan"),
        ("double", "Infinity"),
        ("double", "1e999"),
        ("double", True),
        ("double", 10**400),
        ("boolean", 1),
        ("boolean", "yes"),
        ("timestamp", "yesterday"),
        ("timestamp", 1.5),
        ("timestamp", True),
        ("timestamp", 10**18),
        ("timestamp", "2017-02-30T00:00:00Z"),
        ("string", {"big": 2**70}),
    ],
)
def test_values_that_do_not_convert(column_type: str, value: Any) -> None:
    with pytest.raises(NotConverted):
        CONVERTERS[ColumnType(column_type)](value)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
TYPES = {
    "string": str,
    "int": int,
    "bigint": int,
    "double": float,
    "boolean": bool,
    "timestamp": str,
}


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(TYPES)), json_values)
def test_a_conversion_never_raises_but_not_converted(column_type: str, value: Any) -> None:
    try:
        converted = CONVERTERS[ColumnType(column_type)](value)
    except NotConverted:
        return
    assert converted is None if value is None else type(converted) is TYPES[column_type]


# Integers within 64 bits: orjson reads longer ones as floats (documented in the module README).
cell_values = st.one_of(
    st.none(), st.text(), st.text(alphabet=',"\r\n x'), st.integers(-(2**63), 2**64 - 1), st.floats()
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(cell_values, cell_values), min_size=1, max_size=8))
def test_csv_rows_parse_back_and_json_lines_round_trip(pairs: list[tuple[Any, Any]]) -> None:
    columns = [
        {"name": "a", "type": "string", "source": "$.a"},
        {"name": "b", "type": "double", "source": "$.b"},
    ]
    messages = [json.dumps({"a": a, "b": b}) for a, b in pairs]  # NaN/Infinity: not JSON to orjson
    text, tally = _render(columns, messages, csv=True)
    lines, _ = _render(columns, messages, csv=False)
    expected, failures = [], 0
    for message, (a, b) in zip(messages, pairs, strict=True):
        if any(type(v) is float and not math.isfinite(v) for v in (a, b)):
            expected.append([None, None, message])  # unparsed, kept
            continue
        try:
            double = CONVERTERS[ColumnType.DOUBLE](b)
        except NotConverted:
            double, failures = None, failures + 1
        expected.append([CONVERTERS[ColumnType.STRING](a), double, None])
    assert [json.loads(line) for line in lines.split("\n")[:-1]] == [
        {"a": a, "b": b, "_raw": raw} for a, b, raw in expected
    ]
    assert _csv_rows(text) == [
        ["" if v is None else repr(v) if type(v) is float else v for v in row] for row in expected
    ]
    assert tally.values_not_converted == failures


def test_one_event_is_one_row_even_with_quoted_newlines_and_a_split_record() -> None:
    columns = parse_columns(json.dumps([{"name": "message", "type": "string", "source": "message"}]))
    messages = [f"line {i}\nsecond, part of {i}" for i in range(200)]
    records = [InputRecord(f"r{i}", encode(cwl_payload(messages))) for i in range(3)]
    render = ColumnRenderer(columns, csv=True)
    whole = transform_batch(records[:1], render)
    assert [row[0] for row in _csv_rows(decoded({"data": whole.records[0].data}).decode())] == messages
    small = transform_batch(records, render, response_limit=3_000, split_piece_bytes=800)
    assert small.split_record_ids  # too big for the response: split by whole events, rows never cut
    for record_id in small.split_record_ids:
        pieces = [piece for piece in small.reingest if piece.source_id == record_id]
        events = [e for piece in pieces for e in json.loads(gzip.decompress(piece.data))["logEvents"]]
        assert len(pieces) > 1 and [event["message"] for event in events] == messages


@pytest.mark.parametrize(
    ("source", "kind", "key"),
    [
        ("logGroup", SourceKind.METADATA, "logGroup"),
        ("$.user.id", SourceKind.JSON, ("user", "id")),
        ("$.items[0].sku", SourceKind.JSON, ("items", 0, "sku")),
        ('$["user name"]["a\\"b"]', SourceKind.JSON, ("user name", 'a"b')),
        ("$.a-b_c", SourceKind.JSON, ("a-b_c",)),
        ("apache.status", SourceKind.APACHE, 8),
    ],
)
def test_source_grammar(source: str, kind: SourceKind, key: Any) -> None:
    assert parse_source(source) == (kind, key)


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ("not json", "is not JSON"),
        ("[]", "non-empty JSON list"),
        ('[{"name": "a", "type": "string"}]', "exactly name, type and source"),
        ('[{"name": "A", "type": "string", "source": "id"}]', "must match"),
        ('[{"name": "_raw", "type": "string", "source": "id"}]', "must match"),
        ('[{"name": "a", "type": "varchar", "source": "id"}]', "must be one of"),
        ('[{"name": "a", "type": "int", "source": "$"}]', "at least one step"),
        ('[{"name": "a", "type": "int", "source": "$.a..b"}]', "is not .name"),
        ('[{"name": "a", "type": "int", "source": "$[-1]"}]', "is not .name"),
        ('[{"name": "a", "type": "int", "source": "apache.bytes"}]', "the Apache fields are"),
        ('[{"name": "a", "type": "int", "source": "regex.x"}]', "needs MESSAGE_REGEX"),
        ('[{"name": "a", "type": "int", "source": "user.id"}]', "is not one of"),
        (
            '[{"name": "a", "type": "int", "source": "id"}, {"name": "a", "type": "int", "source": "id"}]',
            "more than once",
        ),
    ],
)
def test_bad_columns_fail_naming_columns(columns: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match="COLUMNS") as raised:
        parse_columns(columns)
    assert message in str(raised.value)


def test_a_regex_group_must_exist() -> None:
    with pytest.raises(ConfigurationError, match=r"has no group \(\?P<x>"):
        parse_columns('[{"name": "a", "type": "int", "source": "regex.x"}]', re.compile(r"(?P<y>\d+)"))


@pytest.mark.parametrize(
    ("env", "match"),
    [
        ({"OUTPUT_FORMAT": "csv"}, "needs COLUMNS"),
        ({"OUTPUT_FORMAT": "columns", "COLUMNS": '[{"name": "a"}]'}, "COLUMNS"),
        (
            {"OUTPUT_FORMAT": "csv", "COLUMNS": json.dumps(BATCH_COLUMNS), "ON_UNPARSED": "skip"},
            "ON_UNPARSED",
        ),
        (
            {"OUTPUT_FORMAT": "csv", "COLUMNS": json.dumps(BATCH_COLUMNS), "MESSAGE_REGEX": "(?P<a>"},
            "MESSAGE_REGEX",
        ),
        (
            {"OUTPUT_FORMAT": "csv", "COLUMNS": json.dumps(BATCH_COLUMNS), "MESSAGE_REGEX": "a"},
            "MESSAGE_REGEX",
        ),
    ],
)
def test_bad_configuration_fails_every_invocation(
    env: dict[str, str], match: str, monkeypatch: pytest.MonkeyPatch, lambda_context
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for _ in range(2):
        with pytest.raises(ConfigurationError, match=match):
            handler(firehose_event([encode(cwl_payload(["x"]))]), lambda_context)


def test_handler_writes_csv_and_counts_in_metrics(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], lambda_context
) -> None:
    monkeypatch.setenv("OUTPUT_FORMAT", "csv")
    monkeypatch.setenv("COLUMNS", json.dumps(BATCH_COLUMNS))
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    response = handler(
        firehose_event([encode(cwl_payload(BATCH_LOGS)), encode(cwl_payload([]))]), lambda_context
    )
    assert [r["result"] for r in response["records"]] == ["Ok", "Dropped"]
    assert _csv_rows(decoded(response["records"][0]).decode()) == _csv_rows(
        _render(BATCH_COLUMNS, BATCH_LOGS, csv=True)[0]
    )
    metrics = _metrics(capsys)
    assert (
        metrics["ValuesNotConverted"],
        metrics["EventsUnparsedKept"],
        metrics["EventsUnparsedDropped"],
    ) == ([3.0], [1.0], [0.0])
