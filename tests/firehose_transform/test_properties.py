"""Properties of the Firehose event parsing and batching, on arbitrary batches of records.

Whatever the records (payloads of any events, control messages, garbage), every recordId comes
back exactly once in order, the response stays within its budget, and every log event of a valid
record is either in the response or re-ingested, once; an invalid record is ProcessingFailed.
"""

from __future__ import annotations

import base64
import csv
import gzip
import io
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logpipes.firehose_transform.batch import InputRecord, transform_batch
from logpipes.firehose_transform.columns import ColumnRenderer, parse_columns
from logpipes.firehose_transform.transform import OutputFormat, format_renderer
from tests.firehose_transform.helpers import cwl_payload

MESSAGE_COLUMNS = parse_columns(
    json.dumps(
        [
            {"name": "message", "type": "string", "source": "message"},
            {"name": "at", "type": "timestamp", "source": "timestamp"},
        ]
    )
)
# Every format goes through the same render hook, so the batch's guarantees hold for each.
RENDERERS = {
    "raw": format_renderer(OutputFormat.RAW),
    "json": format_renderer(OutputFormat.JSON),
    "columns": ColumnRenderer(MESSAGE_COLUMNS, csv=False),
    "csv": ColumnRenderer(MESSAGE_COLUMNS, csv=True),
}

GARBAGE = [
    "!!!",  # not base64
    "YWJjZA",  # unpadded
    base64.b64encode(b"plain").decode(),  # not gzip
    base64.b64encode(gzip.compress(b"[1]")).decode(),  # not a payload
    base64.b64encode(gzip.compress(b'{"messageType":"DATA_MESSAGE","logEvents":[{"id":"1"}]}')).decode(),
    base64.b64encode(gzip.compress(b"{}") + b"x").decode(),  # trailing garbage
]

record_specs = st.one_of(
    st.tuples(st.just("data"), st.lists(st.text(max_size=300), max_size=12)),
    st.tuples(st.just("control"), st.just([])),
    st.tuples(st.just("garbage"), st.sampled_from(range(len(GARBAGE)))),
)


def _build(specs: list[tuple[str, Any]]) -> tuple[list[InputRecord], dict[str, list[str]]]:
    records, expected = [], {}
    for index, (kind, value) in enumerate(specs):
        record_id = f"{49_000_000_000_000 + index}"
        if kind == "garbage":
            records.append(InputRecord(record_id, GARBAGE[value]))
            continue
        payload = cwl_payload(value, message_type="DATA_MESSAGE" if kind == "data" else "CONTROL_MESSAGE")
        for i, event in enumerate(payload["logEvents"]):
            event["id"] = f"{record_id}/{i}"
        data = base64.b64encode(gzip.compress(json.dumps(payload).encode())).decode()
        records.append(InputRecord(record_id, data))
        expected[record_id] = value if kind == "data" else []
    return records, expected


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(record_specs, max_size=25), st.integers(300, 20_000), st.sampled_from(sorted(RENDERERS)))
def test_every_record_is_answered_once_and_every_event_goes_somewhere_once(
    specs: list[tuple[str, Any]], response_limit: int, output_format: str
) -> None:
    records, expected = _build(specs)
    result = transform_batch(records, RENDERERS[output_format], response_limit, split_piece_bytes=2_000)

    assert [r.record_id for r in result.records] == [r.record_id for r in records]
    envelopes = sum(64 + len(r.record_id) for r in result.records)
    assert sum(len(r.data) for r in result.records) <= max(0, response_limit - envelopes)

    delivered: list[str] = []  # event messages, by where they went
    for record in result.records:
        if record.record_id not in expected:
            # Garbage fails, alone; or, once the response is full, goes back undecoded as it came
            # (base64 decoded: the invocation that gets it back fails it).
            reingested = [p.source_id for p in result.reingest]
            assert (record.result == "ProcessingFailed" and record.reason) or (
                record.result == "Dropped" and reingested.count(record.record_id) == 1
            )
        elif record.result == "Ok":
            text = base64.b64decode(record.data).decode()
            if output_format == "raw":  # a message may hold newlines of its own: compare it whole
                assert text == "".join(m + "\n" for m in expected[record.record_id])
                messages = expected[record.record_id]
            elif output_format == "csv":
                messages = [row[0] for row in csv.reader(io.StringIO(text, newline=""))]
            else:
                messages = [json.loads(line)["message"] for line in text.split("\n")[:-1]]
            delivered += [f"{record.record_id}:{m}" for m in messages]
        elif record.result == "ProcessingFailed":
            # A valid record fails only when one of its events cannot fit any response.
            assert "more than a response holds" in record.reason or "record limit" in record.reason
    for piece in result.reingest:
        if piece.source_id not in expected:
            continue
        payload = json.loads(gzip.decompress(piece.data))
        delivered += [f"{piece.source_id}:{e['message']}" for e in payload["logEvents"]]
    failed = {r.record_id for r in result.records if r.result == "ProcessingFailed"}
    wanted = [f"{rid}:{m}" for rid, messages in expected.items() if rid not in failed for m in messages]
    assert sorted(delivered) == sorted(wanted)  # every event once: in the response or back in the stream
    dropped = {r.record_id for r in result.records if r.result == "Dropped"}
    assert dropped == {rid for rid in expected if not expected[rid]} | {p.source_id for p in result.reingest}
