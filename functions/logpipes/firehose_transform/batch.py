"""Turn one Firehose transformation event into a response that fits Lambda's 6 MB limit.

No I/O here: records that do not fit the response are returned as re-ingestion records, and the
caller puts them back into the stream before it answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pybase64

from logpipes.firehose_transform.reingest import ReingestRecord
from logpipes.firehose_transform.transform import (
    InvalidRecord,
    OutputFormat,
    base64_length,
    decode_base64,
    decode_payload,
    encode_payload,
    render_events,
    split_events,
)

# Lambda's synchronous response limit is 6 MiB; keep 64 KiB for the JSON envelope's slack.
RESPONSE_LIMIT_BYTES = 6 * 1024 * 1024 - 64 * 1024
# A split piece renders to at most this much, so that its gzip payload stays far below Firehose's
# 1,000 KiB per-record limit even for incompressible messages.
SPLIT_PIECE_BYTES = 512 * 1024
# {"recordId": "", "result": "ProcessingFailed", "data": ""}, plus separators.
_RECORD_OVERHEAD_BYTES = 64


@dataclass
class InputRecord:
    record_id: str
    data: str  # base64, as Firehose sends it
    partition_key: str | None = None  # set when the delivery stream reads from a Kinesis Data Stream


@dataclass
class OutputRecord:
    record_id: str
    result: str  # Ok | Dropped | ProcessingFailed
    data: str = ""  # base64 of the transformed bytes (Ok only)
    reason: str = ""  # why a record failed, for the logs


@dataclass
class BatchResult:
    records: list[OutputRecord]
    reingest: list[ReingestRecord] = field(default_factory=list)
    reingested_record_ids: list[str] = field(default_factory=list)
    split_record_ids: list[str] = field(default_factory=list)
    bytes_in: int = 0
    bytes_out: int = 0

    def count(self, result: str) -> int:
        return sum(1 for record in self.records if record.result == result)


def transform_batch(
    records: list[InputRecord],
    output_format: OutputFormat,
    response_limit: int = RESPONSE_LIMIT_BYTES,
    split_piece_bytes: int = SPLIT_PIECE_BYTES,
) -> BatchResult:
    """Transform every record, keeping the response within response_limit bytes.

    Every input recordId appears exactly once in the result, in input order. Once a record's output
    does not fit in the remaining budget, the response is full: that record and every later one are
    re-ingested as they came (the later ones are not even decoded: that work would be thrown away,
    and they come back through this transform). A record whose output alone exceeds the limit is
    split by log events into pieces that each fit an empty response, so nothing can loop forever.
    """
    result = BatchResult(records=[])
    budget = response_limit
    full = False
    # A piece must fit an empty response when it comes back, or it would be split again forever.
    piece_bytes = min(split_piece_bytes, response_limit // 2)
    for record in records:
        result.bytes_in += len(record.data)
        budget -= _RECORD_OVERHEAD_BYTES + len(record.record_id)
        try:
            compressed = decode_base64(record.data)
            if full:
                _reingest(result, record, compressed)
                continue
            payload = decode_payload(compressed)
            rendered = render_events(payload, payload.events, output_format) if payload.is_data else b""
        except InvalidRecord as error:
            result.records.append(OutputRecord(record.record_id, "ProcessingFailed", reason=str(error)))
            continue
        if not rendered:  # a CONTROL_MESSAGE, or a DATA_MESSAGE with no events: nothing to deliver
            result.records.append(OutputRecord(record.record_id, "Dropped"))
            continue
        encoded_length = base64_length(len(rendered))
        if encoded_length <= budget:
            budget -= encoded_length
            result.bytes_out += len(rendered)
            data = pybase64.b64encode_as_string(rendered)
            result.records.append(OutputRecord(record.record_id, "Ok", data))
        elif encoded_length <= response_limit:
            full = True
            _reingest(result, record, compressed)
        else:
            # Too big for any response: re-ingested as pieces, and the response may still take more.
            result.records.append(OutputRecord(record.record_id, "Dropped"))
            result.split_record_ids.append(record.record_id)
            for events in split_events(payload, output_format, piece_bytes):
                result.reingest.append(ReingestRecord(encode_payload(payload, events), record.partition_key))
    return result


def _reingest(result: BatchResult, record: InputRecord, compressed: bytes) -> None:
    """Hand the record back to the stream as it came; it is Dropped here once it is safely back in."""
    result.records.append(OutputRecord(record.record_id, "Dropped"))
    result.reingest.append(ReingestRecord(compressed, record.partition_key))
    result.reingested_record_ids.append(record.record_id)
