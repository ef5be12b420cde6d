"""Turn one Firehose transformation event into a response that fits Lambda's 6 MB limit.

No I/O here: records that do not fit the response are returned as re-ingestion records, and the
caller puts them back into the stream before it answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pybase64

from logpipes.common.cloudwatch_logs import (
    MAX_LEGITIMATE_INFLATED_BYTES,
    InvalidSubscriptionData,
    decode_base64,
)
from logpipes.firehose_transform.extension import TransformFailed
from logpipes.firehose_transform.reingest import MAX_RECORD_BYTES, ReingestRecord
from logpipes.firehose_transform.transform import (
    InvalidRecord,
    Payload,
    Renderer,
    Tally,
    base64_length,
    decode_payload,
    encode_payload,
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
    """One record of the Firehose event, as the transform needs it."""

    record_id: str
    data: str  # base64, as Firehose sends it
    partition_key: str | None = None  # set when the delivery stream reads from a Kinesis Data Stream


@dataclass
class OutputRecord:
    """One record of the transformation response."""

    record_id: str
    result: str  # Ok | Dropped | ProcessingFailed
    data: str = ""  # base64 of the transformed bytes (Ok only)
    reason: str = ""  # why a record failed, for the logs


@dataclass
class BatchResult:
    """The response's records (one per input, in order), the records to re-ingest, byte counts, and
    what rendering counted for the records done here (see transform.Tally)."""

    records: list[OutputRecord]
    reingest: list[ReingestRecord] = field(default_factory=list)
    reingested_record_ids: list[str] = field(default_factory=list)
    split_record_ids: list[str] = field(default_factory=list)
    bytes_in: int = 0
    bytes_out: int = 0
    tally: Tally = field(default_factory=Tally)

    def count(self, result: str) -> int:
        """How many of the response's records have this result (Ok, Dropped or ProcessingFailed)."""
        return sum(1 for record in self.records if record.result == result)

    def fail_reingestion(self, reasons: dict[str, str]) -> None:
        """The records (by recordId) that could not be put back in whole: ProcessingFailed, so that
        Firehose writes them, with their data, under the error prefix instead of losing them."""
        for record in self.records:
            if record.record_id in reasons:
                record.result, record.reason = "ProcessingFailed", reasons[record.record_id]
        self.reingested_record_ids = [i for i in self.reingested_record_ids if i not in reasons]
        self.split_record_ids = [i for i in self.split_record_ids if i not in reasons]


def transform_batch(
    records: list[InputRecord],
    render: Renderer,
    response_limit: int = RESPONSE_LIMIT_BYTES,
    split_piece_bytes: int = SPLIT_PIECE_BYTES,
    inflated_limit: int = MAX_LEGITIMATE_INFLATED_BYTES,
) -> BatchResult:
    """Transform every record, keeping the response within response_limit bytes.

    Every input recordId appears exactly once in the result, in input order. Once a record's output
    does not fit in the remaining budget, the response is full: that record and every later one are
    re-ingested as they came (the later ones are not even decoded: that work would be thrown away,
    and they come back through this transform). A record whose output alone exceeds the limit is
    split by log events into pieces that each fit an empty response; one with an event that alone
    does not fit an empty response, or a piece too big to put back, fails (ProcessingFailed): it
    could never be delivered, and re-ingesting it would bring it back forever. So does a record
    whose events the render hook cannot render (a malformed event; a user's transform that fails).
    """
    result = BatchResult(records=[])
    # Every record takes its envelope in the response, whatever its result: reserve them all first,
    # or an early big record could take the room of many small later ones (a response over 6 MB
    # fails the invocation, and Firehose would re-run the whole batch, re-ingesting it again). The
    # request's own 6 MB limit keeps the envelopes well below the response limit.
    budget = response_limit - sum(_RECORD_OVERHEAD_BYTES + len(record.record_id) for record in records)
    full = False
    for record in records:
        result.bytes_in += len(record.data)
        # What an empty response holds for a record: what comes back must fit it (Firehose's
        # recordIds all have one length), or it would be split or re-ingested again forever.
        event_limit = response_limit - _RECORD_OVERHEAD_BYTES - len(record.record_id)
        piece_bytes = min(split_piece_bytes, event_limit // 2)
        tally = Tally()
        try:
            compressed = decode_base64(record.data)
            if full:
                _reingest(result, record, compressed)
                continue
            payload = decode_payload(compressed, inflated_limit)
            rendered = render(payload, payload.events, tally) if payload.is_data else b""
            encoded_length = base64_length(len(rendered))
            pieces = (
                [] if encoded_length <= event_limit else _pieces(payload, render, piece_bytes, event_limit)
            )
        except InvalidSubscriptionData as error:
            result.records.append(OutputRecord(record.record_id, "ProcessingFailed", reason=str(error)))
            if isinstance(error, TransformFailed):
                result.tally.records_failed_by_transform += 1
            continue
        if not rendered:  # a CONTROL_MESSAGE, or no event yields a line: nothing to deliver
            result.records.append(OutputRecord(record.record_id, "Dropped"))
            result.tally.add(tally)
        elif encoded_length <= budget:
            budget -= encoded_length
            result.tally.add(tally)
            result.bytes_out += len(rendered)
            data = pybase64.b64encode_as_string(rendered)
            result.records.append(OutputRecord(record.record_id, "Ok", data))
        elif not pieces:  # fits an empty response: goes back as it came, and fits when it is back
            full = True
            _reingest(result, record, compressed)
        else:
            # Too big for any response: re-ingested as pieces, and the response may still take more.
            result.records.append(OutputRecord(record.record_id, "Dropped"))
            result.split_record_ids.append(record.record_id)
            result.reingest += [
                ReingestRecord(piece, record.partition_key, record.record_id) for piece in pieces
            ]
    return result


def _pieces(payload: Payload, render: Renderer, piece_bytes: int, event_limit: int) -> list[bytes]:
    """The payload split into re-ingestable pieces; raises InvalidRecord when it cannot be."""
    pieces = [
        encode_payload(payload, events) for events in split_events(payload, render, piece_bytes, event_limit)
    ]
    if too_big := [len(piece) for piece in pieces if len(piece) > MAX_RECORD_BYTES]:
        raise InvalidRecord(
            f"a piece of {max(too_big)} bytes is over the {MAX_RECORD_BYTES} byte record limit"
        )
    return pieces


def _reingest(result: BatchResult, record: InputRecord, compressed: bytes) -> None:
    """Hand the record back to the stream as it came; it is Dropped here once it is safely back in."""
    result.records.append(OutputRecord(record.record_id, "Dropped"))
    result.reingest.append(ReingestRecord(compressed, record.partition_key, record.record_id))
    result.reingested_record_ids.append(record.record_id)
