"""Decoding user records: Apache common/combined lines, fluentd JSON, and everything else."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logpipes.common.apache import ApacheParseError, parse_line, split_plain_line
from logpipes.kinesis_kpl.records import (
    APACHE,
    JSON,
    MESSAGE,
    apache_members,
    decode,
    partition_of_epoch,
    partition_of_iso,
    plain_apache_members,
)

NASA_JUL = "nasa_http/NASA_access_log_Jul95.first2000.log"
ELASTIC = "apache_combined/elastic-examples_apache_logs.log"
CONSOLE_TEMPLATE = (
    "lambda_events/aws-lambda-console-templates_via_purple4reina-sample-apps/kinesis-firehose-apachelog.json"
)


@pytest.fixture
def console_line(shared_data: Path) -> bytes:
    """The Apache line of the Lambda console's "Kinesis Firehose Apache log" template (SOURCES.md §3)."""
    template = json.loads((shared_data / CONSOLE_TEMPLATE).read_text())
    line = base64.b64decode(template["records"][0]["data"])
    assert line.startswith(b"64.242.88.10 - - [07/Mar/2004:16:10:02 -0800] ")
    return line


def document(data: bytes) -> tuple[dict[str, Any], str | None, str]:
    members, partition, kind = decode(data)
    return json.loads("{" + members + "}"), partition, kind


def line_of(shared_data: Path, name: str, number: int) -> bytes:
    return (shared_data / name).read_bytes().splitlines(keepends=True)[number - 1]


def test_common_format_line(shared_data: Path) -> None:
    assert document(line_of(shared_data, NASA_JUL, 1)) == (
        {
            "host": "199.72.81.55",
            "user": None,
            "time": "1995-07-01T00:00:01-04:00",
            "method": "GET",
            "path": "/history/apollo/",
            "protocol": "HTTP/1.0",
            "code": 200,
            "size": 6245,
            "referer": None,
            "agent": None,
        },
        "dt=1995-07-01/hour=04",
        APACHE,
    )


def test_combined_format_line(shared_data: Path) -> None:
    assert document(line_of(shared_data, ELASTIC, 1)) == (
        {
            "host": "83.149.9.216",
            "user": None,
            "time": "2015-05-17T10:05:03+00:00",
            "method": "GET",
            "path": "/presentations/logstash-monitorama-2013/images/kibana-search.png",
            "protocol": "HTTP/1.1",
            "code": 200,
            "size": 203023,
            "referer": "http://semicomplete.com/presentations/logstash-monitorama-2013/",
            "agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/32.0.1700.77 Safari/537.36",
        },
        "dt=2015-05-17/hour=10",
        APACHE,
    )


def test_console_template_line_crosses_midnight_in_utc(console_line: bytes) -> None:
    fields, partition, kind = document(console_line)
    assert (fields["time"], partition, kind) == ("2004-03-07T16:10:02-08:00", "dt=2004-03-08/hour=00", APACHE)


def test_request_without_protocol(shared_data: Path) -> None:
    fields, _, kind = document(line_of(shared_data, NASA_JUL, 1286))
    assert kind == APACHE
    assert (fields["method"], fields["path"], fields["protocol"], fields["size"]) == (
        "GET",
        "/shuttle/missions/sts-71/movies/sts-71-mir-dock.mpg",
        None,
        946425,
    )
    assert "request" not in fields


def test_request_that_does_not_split_keeps_the_request_line() -> None:
    fields, _, kind = document(b'1.2.3.4 - bob [01/Jul/1995:00:00:01 -0400] "GET" 400 -\n')
    assert kind == APACHE
    assert fields | {"time": None} == {
        "host": "1.2.3.4",
        "user": "bob",
        "time": None,
        "method": None,
        "path": None,
        "protocol": None,
        "code": 400,
        "size": None,
        "referer": None,
        "agent": None,
        "request": "GET",
    }


def test_unterminated_user_agent_is_kept_as_a_message(shared_data: Path) -> None:
    line = line_of(shared_data, ELASTIC, 8899)
    assert document(line) == ({"message": line.decode().rstrip("\n")}, None, MESSAGE)


@pytest.mark.parametrize("name", [NASA_JUL, ELASTIC, "nasa_http/variants/apache.access.log_small.CRLF.log"])
def test_every_line_of_a_real_log_matches_the_shared_parser(shared_data: Path, name: str) -> None:
    kinds = {APACHE: 0, MESSAGE: 0}
    for line in (shared_data / name).read_bytes().splitlines(keepends=True):
        fields, partition, kind = document(line)
        kinds[kind] += 1
        try:
            record = parse_line(line.decode())
        except ApacheParseError:
            assert fields == {"message": line.decode().rstrip("\r\n")}
            continue
        assert partition is not None and partition.startswith(("dt=1995-", "dt=2015-"))
        assert (fields["host"], fields["path"], fields["code"], fields["size"], fields["agent"]) == (
            record.host,
            record.path,
            record.status,
            record.size,
            record.agent,
        )
    assert kinds[APACHE] > 1900
    assert kinds[MESSAGE] == (1 if name == ELASTIC else 0)


def fluentd_json(line: bytes) -> bytes:
    """What fluentd's apache2 parser plus the Kinesis plugin's JSON formatter send for a line,
    with <inject> time_key time (the plugin's default time_format %Y-%m-%dT%H:%M:%S.%N%z)."""
    record = parse_line(line.decode())
    return json.dumps(
        {
            "host": record.host,
            "user": record.user,
            "method": record.method,
            "path": record.path,
            "code": record.status,
            "size": record.size,
            "referer": record.referer,
            "agent": record.agent,
            "time": "2004-03-07T16:10:02.000000000-0800",
        },
        separators=(",", ":"),
    ).encode()


def test_fluentd_json_is_kept_as_it_is(console_line: bytes) -> None:
    data = fluentd_json(console_line)
    assert document(data) == (json.loads(data), "dt=2004-03-08/hour=00", JSON)


@pytest.mark.parametrize(
    ("time", "partition"),
    [
        ("2004-03-07T16:10:02Z", "dt=2004-03-07/hour=16"),
        ("2004-03-07 16:10:02", "dt=2004-03-07/hour=16"),  # no offset: UTC
        ("07/Mar/2004:16:10:02 -0800", "dt=2004-03-08/hour=00"),  # fluentd keep_time_key
        (1078704602, "dt=2004-03-08/hour=00"),  # epoch seconds (time_type unixtime)
        (1078704602.5, "dt=2004-03-08/hour=00"),
        ("yesterday", None),
        (True, None),
        (None, None),
        ([1078704602], None),
        (10**30, None),
    ],
)
def test_json_event_time(time: Any, partition: str | None) -> None:
    assert document(json.dumps({"message": "x", "time": time}).encode())[1] == partition


def test_json_metadata_names_are_replaced_and_whitespace_allowed() -> None:
    data = b'  {"kinesis_shard_id": "forged", "kinesis_arrival_time": 1, "a": [1, {"b": "\\u00e9"}]}\r\n'
    assert document(data) == ({"a": [1, {"b": "é"}]}, None, JSON)


def test_empty_json_object_has_no_members() -> None:
    assert decode(b"{}") == ("", None, JSON)


@pytest.mark.parametrize(
    "data",
    [
        b"[1, 2]",
        b'"a string"',
        b"null",
        b"{not json",
        b'{"a": NaN}',
        b'{"a": 1e400}',
        b"{" * 100_000,
        b'{"a": 1' + b"0" * 5000 + b"}",
        b"",
        b"plain text\n",
    ],
    ids=["array", "string", "null", "broken", "nan", "overflow", "deep", "huge-int", "empty", "text"],
)
def test_anything_else_is_kept_as_a_message(data: bytes) -> None:
    assert document(data) == ({"message": data.decode().rstrip("\r\n")}, None, MESSAGE)


def test_bytes_that_are_not_utf8_are_kept_escaped() -> None:
    assert document(b"\xff\xfe gzip?\n") == ({"message": "\\xff\\xfe gzip?\n"}, None, MESSAGE)


def test_lone_surrogate_in_json_is_written_as_an_escape() -> None:
    members, _, kind = decode(b'{"a": "\\ud800"}')
    assert kind == JSON
    assert members.encode() == b'"a":"\\ud800"'


@given(st.binary(max_size=400) | st.text(max_size=200).map(str.encode))
def test_any_bytes_give_a_json_object_with_a_utf8_form(data: bytes) -> None:
    members, partition, kind = decode(data)
    assert isinstance(json.loads(("{" + members + "}").encode()), dict)
    assert kind in {APACHE, JSON, MESSAGE}
    assert partition is None or partition.startswith("dt=")


@pytest.mark.parametrize(
    ("timestamp", "partition"),
    [
        ("1995-07-01T23:30:00-04:00", "dt=1995-07-02/hour=03"),
        ("1995-07-01T23:59:59+00:00", "dt=1995-07-01/hour=23"),
        # Offsets that are not whole hours move the hour by the minutes too.
        ("2024-01-01T00:15:00+05:30", "dt=2023-12-31/hour=18"),
        ("2024-01-01T00:45:00+05:30", "dt=2023-12-31/hour=19"),
        ("2024-01-01T00:45:00.123456+05:30", "dt=2023-12-31/hour=19"),
        ("0001-01-01T00:00:00+01:00", None),
        ("2024-13-01T00:00:00+00:00", None),
    ],
)
def test_partition_of_iso(timestamp: str, partition: str | None) -> None:
    assert partition_of_iso(timestamp) == partition


def test_partition_of_epoch() -> None:
    assert partition_of_epoch(1545084650.987) == "dt=2018-12-17/hour=22"
    assert partition_of_epoch(1e20) is None


@pytest.mark.parametrize("name", [NASA_JUL, ELASTIC])
def test_plain_lines_render_as_any_line_renders(shared_data: Path, name: str) -> None:
    """plain_apache_members writes what apache_members writes, on every plain line of a real log."""
    plain = 0
    for line in (shared_data / name).read_text().splitlines(keepends=True):
        fields = split_plain_line(line)
        if fields is not None:
            plain += 1
            assert plain_apache_members(fields) == apache_members(fields)
    assert plain > 1900


@pytest.mark.parametrize(
    "line",
    [
        'h - - [01/Jul/1995:00:00:01 -0400] "GET /a HTTP/1.0" 007 0012\n',  # leading zeros
        'h - - [01/Jul/1995:00:00:01 -0400] "GET /a HTTP/1.0" 000 0\n',
        'h -x u [01/Jul/1995:00:00:01 -0400] "GET /a" 200 - "-" "-"\n',  # no protocol
        'h - - [01/Jul/1995:00:00:01 -0400] "GET" 200 1 "ref" "agent"\n',  # no method: request kept
        'h - - [01/Jul/1995:00:00:01 -0400] "" - -\n',
    ],
)
def test_plain_line_members_are_the_json_of_its_record(line: str) -> None:
    fields = split_plain_line(line)
    assert fields is not None
    members = json.loads("{" + plain_apache_members(fields) + "}")
    assert members == json.loads("{" + apache_members(fields) + "}")
    record = parse_line(line)
    assert (members["code"], members["size"], members["method"]) == (
        record.status,
        record.size,
        record.method,
    )


def test_hour_cache_serves_only_times_of_its_form() -> None:
    """A cached hour answers no time of another form: other offsets, fractions and zones are computed."""
    assert partition_of_iso("2024-01-01T00:15:00+05:00") == "dt=2023-12-31/hour=19"
    assert partition_of_iso("2024-01-01T00:59:59+05:00") == "dt=2023-12-31/hour=19"  # from the cache
    assert partition_of_iso("2024-01-01T00:15:00+05:30") == "dt=2023-12-31/hour=18"
    assert partition_of_iso("2024-01-01T00:15:00.5+05:00") == "dt=2023-12-31/hour=19"
    assert partition_of_iso("2024-01-01T00:15:00Z") == "dt=2024-01-01/hour=00"
    assert partition_of_iso("2024-01-01T00:15:0x+05:00") == "dt=2023-12-31/hour=19"  # as before: by hour
