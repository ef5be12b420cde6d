"""Apache lines -> _bulk entries: real NASA-HTTP lines, malformed lines, generated lines."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logpipes.common.apache import ApacheParseError, parse_line
from logpipes.es_bulk_loader.documents import (
    BulkRenderer,
    InvalidIndexPattern,
    check_index_pattern,
    document_id,
    document_id_prefix,
    index_name,
    offset_of,
    template_index_patterns,
    unparsed_index,
)

PATTERN = "nasa-logs-%Y.%m.%d"


def render(data: bytes, bucket: str = "logs", key: str = "nasa/Jul95.log") -> list[tuple[dict, dict]]:
    """(action, document) pairs of every entry, parsed back from the NDJSON."""
    entries: list[str] = []
    BulkRenderer(bucket, key, PATTERN).render(data, 0, entries)
    pairs = []
    for entry in entries:
        assert entry.endswith("\n") and entry.count("\n") == 2 and entry.isascii()
        action_line, source_line, _ = entry.split("\n")
        pairs.append((json.loads(action_line)["index"], json.loads(source_line)))
    return pairs


def line_starts(data: bytes) -> list[int]:
    starts, position = [], 0
    for raw in data.split(b"\n"):
        if raw.strip():
            starts.append(position)
        position += len(raw) + 1
    return starts


def test_real_nasa_lines_become_typed_documents_with_ids_from_their_offsets(shared_data: Path) -> None:
    data = (shared_data / "nasa_http" / "NASA_access_log_Jul95.first2000.log").read_bytes()
    pairs = render(data)

    assert len(pairs) == 2000
    prefix = document_id_prefix("logs", "nasa/Jul95.log")
    for (action, doc), start in zip(pairs, line_starts(data), strict=True):
        assert action["_id"] == f"{prefix}{start}" and offset_of(action["_id"]) == start
        line_end = data.index(b"\n", start)
        assert doc["message"] == data[start:line_end].decode()
        assert "parse_error" not in doc
    first_action, first = pairs[0]
    assert first_action["_index"] == "nasa-logs-1995.07.01"
    assert first == {
        "@timestamp": "1995-07-01T00:00:01-04:00",
        "clientip": "199.72.81.55",
        "verb": "GET",
        "request": "/history/apollo/",
        "httpversion": "1.0",
        "response": 200,
        "bytes": 6245,
        "message": '199.72.81.55 - - [01/Jul/1995:00:00:01 -0400] "GET /history/apollo/ HTTP/1.0" 200 6245',
    }
    # Host names are not IP addresses: they go to their own keyword field.
    assert pairs[1][1]["clienthost"] == "unicomp6.unicomp.net" and "clientip" not in pairs[1][1]
    # Line 1286 has no protocol; 28 lines have "-" as their byte count.
    no_protocol = pairs[1285][1]
    assert no_protocol["request"] == "/shuttle/missions/sts-71/movies/sts-71-mir-dock.mpg"
    assert "httpversion" not in no_protocol and no_protocol["bytes"] == 946425
    assert sum("bytes" not in doc for _, doc in pairs) == 28


def test_odd_real_requests_keep_what_they_have(shared_data: Path) -> None:
    data = (shared_data / "nasa_http" / "NASA_access_log_Aug95.first20000.log").read_bytes()
    docs = [doc for _, doc in render(data, key="Aug95.log")]

    assert len(docs) == 20000
    assert not [doc for doc in docs if "parse_error" in doc]
    v10 = [doc for doc in docs if doc.get("httpversion") == "V1.0"]  # "HTTP/V1.0" as logged
    assert len(v10) >= 2 and all(doc["verb"] == "GET" for doc in v10)
    assert sum("httpversion" not in doc for doc in docs) >= 30
    assert sum("bytes" not in doc for doc in docs) == 251


def test_lines_that_do_not_parse_are_kept_with_the_reason(shared_data: Path) -> None:
    combined = (shared_data / "apache_combined" / "elastic-examples_apache_logs.log").read_bytes()
    pairs = render(combined, key="apache_logs")

    assert len(pairs) == 10000
    broken = [(action, doc) for action, doc in pairs if "parse_error" in doc]
    assert len(broken) == 1  # line 8899: an unterminated user-agent quote
    action, doc = broken[0]
    assert action["_index"] == "nasa-logs-unparsed"
    assert doc["message"].endswith("(compatible; Googlebot/2.1; +http://www.google.com/bot.html")
    assert doc["parse_error"] == "unterminated quoted field"
    parsed = pairs[0][1]
    assert parsed["referrer"].startswith("http") and parsed["agent"] and parsed["response"] == 200

    # A file of another format: every line is kept, none is indexed as an access log line.
    s3_lines = next((shared_data / "s3_access_logs").glob("awsdocs_LogFormat_2019-06*.log")).read_bytes()
    s3_docs = [doc for _, doc in render(s3_lines)]
    assert len(s3_docs) == 5 and all(doc["parse_error"] and "verb" not in doc for doc in s3_docs)


def test_crlf_and_a_missing_final_newline_give_the_same_documents(shared_data: Path) -> None:
    variants = shared_data / "nasa_http" / "variants"
    crlf = (variants / "apache.access.log_small.CRLF.log").read_bytes()
    no_final_newline = (variants / "COM6012_NASA_Aug95_100.no-final-newline.txt").read_bytes()
    lf = (shared_data / "nasa_http" / "NASA_access_log_Aug95.first20000.log").read_bytes()

    crlf_docs = [doc for _, doc in render(crlf)]
    lf_docs = [doc for _, doc in render(lf)][: len(crlf_docs)]
    assert len(crlf_docs) == 3432 and crlf_docs == lf_docs
    # Offsets are byte offsets of the CRLF file itself.
    crlf_offsets = [offset_of(action["_id"]) for action, _ in render(crlf)]
    line_ends = [i for i in range(len(crlf)) if crlf.startswith(b"\r\n", i)]
    assert crlf_offsets == [0] + [end + 2 for end in line_ends[:-1]]

    assert not no_final_newline.endswith(b"\n")
    assert [doc for _, doc in render(no_final_newline)] == lf_docs[:100]


def test_blank_lines_are_skipped_and_bad_utf8_is_kept_escaped() -> None:
    data = (
        b'h1 - - [01/Jul/1995:00:00:01 -0400] "GET /caf\xc3\xa9 HTTP/1.0" 200 1\n'
        b"\n   \n"
        b'h2 - - [01/Jul/1995:00:00:02 -0400] "GET /\xff\xfe HTTP/1.0" 200 2\n'
    )
    entries: list[str] = []
    stats = BulkRenderer("b", "k", PATTERN).render(data, 0, entries)

    assert (stats.lines, stats.blank_lines, stats.parse_errors) == (2, 2, 0)
    docs = [json.loads(entry.split("\n")[1]) for entry in entries]
    assert docs[0]["request"] == "/café"
    assert docs[1]["request"] == "/\\xff\\xfe"
    assert offset_of(json.loads(entries[1].split("\n")[0])["index"]["_id"]) == data.index(b"h2")


def test_index_names_use_the_utc_date() -> None:
    assert index_name(PATTERN, "1995-07-01T19:59:59-04:00") == "nasa-logs-1995.07.01"
    assert index_name(PATTERN, "1995-07-01T20:00:00-04:00") == "nasa-logs-1995.07.02"
    assert index_name("web-%Y-%m", "2024-12-31T23:30:00-01:00") == "web-2025-01"
    assert index_name("all-logs", "2024-12-31T23:30:00+00:00") == "all-logs"
    late = b'h - - [01/Jul/1995:20:30:00 -0400] "GET / HTTP/1.0" 200 1\n'
    assert render(late)[0][0]["_index"] == "nasa-logs-1995.07.02"


@pytest.mark.parametrize("pattern", ["Nasa-%Y", "-logs", "logs-%H", "logs %Y", "", "logs/%Y", "x" * 201])
def test_bad_index_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(InvalidIndexPattern):
        check_index_pattern(pattern)
    with pytest.raises(InvalidIndexPattern):
        BulkRenderer("b", "k", pattern)


def test_template_patterns_and_unparsed_index_cover_every_index() -> None:
    assert template_index_patterns(PATTERN) == ["nasa-logs-*"]
    assert unparsed_index(PATTERN) == "nasa-logs-unparsed"
    assert template_index_patterns("all-logs") == ["all-logs"] and unparsed_index("all-logs") == "all-logs"


def test_document_ids_are_deterministic_and_distinct() -> None:
    assert document_id("b", "k", 7) == document_id("b", "k", 7)
    ids = {
        document_id(bucket, key, offset) for bucket in "ab" for key in ("k", "k2") for offset in (0, 1, 10)
    }
    assert len(ids) == 12
    assert offset_of(document_id("b", "k", 123456789012)) == 123456789012


# -- generated lines -------------------------------------------------------------------------
# Tokens: no whitespace, quotes or backslashes; quoted fields: no quotes, backslashes or controls.
_token = st.text(
    st.characters(max_codepoint=0x2FF, exclude_categories=("Cc", "Z"), exclude_characters='"\\'), min_size=1
)
_quoted = st.text(st.characters(max_codepoint=0x2FF, exclude_categories=("Cc",), exclude_characters='"\\'))
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


@st.composite
def apache_lines(draw: st.DrawFn) -> tuple[str, dict]:
    when = draw(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2030, 12, 31)))
    offset_minutes = draw(st.sampled_from([-600, -240, 0, 60, 330, 840]))
    sign, hours, minutes = (
        ("-" if offset_minutes < 0 else "+"),
        abs(offset_minutes) // 60,
        abs(offset_minutes) % 60,
    )
    fields = {
        "host": draw(st.one_of(st.ip_addresses(v=4).map(str), _token)),
        "method": draw(st.sampled_from(["GET", "POST", "HEAD", "PUT"])),
        "path": draw(_token),
        "version": draw(st.sampled_from(["1.0", "1.1", "2.0"])),
        "status": draw(st.integers(100, 599)),
        "size": draw(st.one_of(st.none(), st.integers(0, 2**40))),
        "combined": draw(st.one_of(st.none(), st.tuples(_quoted, _quoted))),
    }
    stamp = f"{when:%d}/{_MONTHS[when.month - 1]}/{when:%Y:%H:%M:%S} {sign}{hours:02d}{minutes:02d}"
    line = (
        f'{fields["host"]} - - [{stamp}] "{fields["method"]} {fields["path"]} HTTP/{fields["version"]}" '
        f"{fields['status']} {'-' if fields['size'] is None else fields['size']}"
    )
    if fields["combined"] is not None:
        line += ' "{}" "{}"'.format(*fields["combined"])
    fields["iso"] = f"{when:%Y-%m-%dT%H:%M:%S}{sign}{hours:02d}:{minutes:02d}"
    return line, fields


@settings(max_examples=300, deadline=None)
@given(apache_lines())
def test_generated_lines_round_trip_through_parse_and_render(case: tuple[str, dict]) -> None:
    line, fields = case
    record = parse_line(line)
    (doc,) = [doc for _, doc in render(line.encode())]  # plain lines and escaped ones alike

    assert doc["@timestamp"] == fields["iso"] == record.time
    assert datetime.fromisoformat(doc["@timestamp"]).astimezone(UTC)  # a valid date for the mapping
    assert doc.get("clientip", doc.get("clienthost")) == fields["host"]
    assert (doc["verb"], doc["request"], doc["httpversion"]) == (
        fields["method"],
        fields["path"],
        fields["version"],
    )
    assert doc["response"] == fields["status"] and doc.get("bytes") == fields["size"]
    if fields["combined"] is None:
        assert "referrer" not in doc and "agent" not in doc
    else:
        referer, agent = fields["combined"]
        assert doc.get("referrer") == (None if referer == "-" else referer)
        assert doc.get("agent") == (None if agent == "-" else agent)
    assert doc["message"] == line


def test_plain_and_escaped_lines_render_the_same_values() -> None:
    # A plain line (no byte JSON escapes but its quotes) is copied as it is; a line with a tab
    # after its fields, a non-ASCII path or leading zeros in its numbers must come out the same way.
    plain = 'h - u [01/Jul/1995:00:00:01 -0400] "GET /a HTTP/1.0" 200 0042 "-" "ua"'
    docs = [
        doc for _, doc in render(f"{plain}\n{plain}\t\n".encode() + plain.replace("/a", "/\u00e9").encode())
    ]
    assert docs[0] == {**docs[1], "message": plain} and docs[1]["message"] == plain + "\t"
    assert docs[0]["bytes"] == 42 and docs[0]["auth"] == "u" and docs[0]["agent"] == "ua"
    assert docs[2]["request"] == "/\u00e9" and docs[2]["bytes"] == 42


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(codec="utf-8"), max_size=200))
def test_any_text_is_either_a_document_or_a_kept_parse_error(text: str) -> None:
    line = text.replace("\n", " ").replace("\r", " ")
    data = line.encode()
    entries: list[str] = []
    stats = BulkRenderer("b", "k", PATTERN).render(data, 0, entries)
    if not line.strip():
        assert entries == [] and stats.blank_lines == 1
        return
    (entry,) = entries
    doc = json.loads(entry.split("\n")[1])
    assert doc["message"] == line
    try:
        parse_line(line)
    except ApacheParseError as error:
        assert doc["parse_error"] == str(error)
    else:
        assert "parse_error" not in doc
