"""Turn one Firehose transformation event into a response that fits Lambda's 6 MB limit.

No I/O here: records that do not fit the response are returned as re-ingestion records, and the
caller puts them back into the stream before it answers.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass, field

from logpipes.firehose_transform.reingest import ReingestRecord
from logpipes.firehose_transform.transform import (
    InvalidRecord,
    OutputFormat,
    Payload,
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


def _decode(record: InputRecord) -> tuple[bytes, Payload] | InvalidRecord:
    try:
        compressed = decode_base64(record.data)
        return compressed, decode_payload(compressed)
    except InvalidRecord as error:
        return error


def transform_batch(
    records: list[InputRecord],
    output_format: OutputFormat,
    response_limit: int = RESPONSE_LIMIT_BYTES,
    split_piece_bytes: int = SPLIT_PIECE_BYTES,
) -> BatchResult:
    """Transform every record, keeping the response within response_limit bytes.

    Every input recordId appears exactly once in the result, in input order. A record whose output
    does not fit in the remaining budget is re-ingested as it is; one whose output alone exceeds the
    limit is split by log events into pieces that each fit, so nothing can loop forever.
    """
    result = BatchResult(records=[])
    budget = response_limit
    # A piece must fit an empty response when it comes back, or it would be split again forever.
    piece_bytes = min(split_piece_bytes, response_limit // 2)
    for record, decoded in zip(records, map(_decode, records), strict=True):
        result.bytes_in += len(record.data)
        budget -= _RECORD_OVERHEAD_BYTES + len(record.record_id)
        if isinstance(decoded, InvalidRecord):
            result.records.append(OutputRecord(record.record_id, "ProcessingFailed", reason=str(decoded)))
            continue
        compressed, payload = decoded
        if payload.message_type == "CONTROL_MESSAGE":
            result.records.append(OutputRecord(record.record_id, "Dropped"))
            continue
        if payload.message_type != "DATA_MESSAGE":
            reason = f"unknown messageType {payload.message_type!r}"
            result.records.append(OutputRecord(record.record_id, "ProcessingFailed", reason=reason))
            continue
        rendered = render_events(payload, payload.events, output_format)
        if not rendered:  # a DATA_MESSAGE with no events: nothing to deliver
            result.records.append(OutputRecord(record.record_id, "Dropped"))
            continue
        encoded_length = base64_length(len(rendered))
        if encoded_length <= budget:
            budget -= encoded_length
            result.bytes_out += len(rendered)
            data = binascii.b2a_base64(rendered, newline=False).decode("ascii")
            result.records.append(OutputRecord(record.record_id, "Ok", data))
            continue
        # Does not fit: hand it back to the stream; it is Dropped here once it is safely back in.
        result.records.append(OutputRecord(record.record_id, "Dropped"))
        if encoded_length <= response_limit:
            result.reingest.append(ReingestRecord(compressed, record.partition_key))
            result.reingested_record_ids.append(record.record_id)
        else:
            result.split_record_ids.append(record.record_id)
            for events in split_events(payload, output_format, piece_bytes):
                result.reingest.append(ReingestRecord(encode_payload(payload, events), record.partition_key))
    return result
