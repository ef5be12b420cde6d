"""The Load step: stream one chunk, parse its lines, bulk-index them, dead-letter what fails.

When ``load_chunk`` returns, every non-blank line of the chunk is indexed or dead-lettered
(``lines == indexed + dead_lettered``). It raises instead only when S3 does:

- S3 throttling, 5xx or timeouts while reading the chunk or writing its dead letters raise
  ``BulkUnavailable``, which the state machine's Retry matches: Step Functions loads the chunk again
  later. Nothing is doubled by that: document ids are deterministic (a line's ``_id`` is its
  object's digest and its offset), so the second run overwrites what the first indexed, and the
  dead-letter objects are named after the chunk, so they are overwritten too.
- Any other S3 error (access denied, a missing object) propagates: the chunk fails, and with it the
  execution (unless ``tolerated_failure_percentage`` allows it, then the report lists the chunk).
  Its lines are still in the source object, untouched; nothing was lost that a re-run cannot load.

A line longer than ``bulk_bytes`` cannot make a document that fits a request: it is not read into
memory but copied, byte for byte, into a dead-letter object of its own (``<offset>.line``), which
the chunk's dead-letter records point to.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from typing import Any, NamedTuple

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    HTTPClientError,
    IncompleteReadError,
)

from logpipes.es_bulk_loader import objects
from logpipes.es_bulk_loader.bulk import TOO_LARGE, BulkClient, BulkResult, DeadLetter
from logpipes.es_bulk_loader.chunks import LongLine, bounded_lines, line_blocks
from logpipes.es_bulk_loader.documents import (
    BulkRenderer,
    RenderStats,
    document_id,
    offset_of,
    unparsed_index,
)
from logpipes.es_bulk_loader.plan import Chunk
from logpipes.es_bulk_loader.settings import DeadLetterSettings

# S3's error codes for "try again later" (besides any 5xx): throttling and a stalled upload.
_TRANSIENT_S3_CODES = frozenset({"SlowDown", "Throttling", "ThrottlingException", "RequestTimeout"})
_COPY_PART_BYTES = 5 * 1024**3  # UploadPartCopy copies at most 5 GiB per part
RENDER_BYTES = 64 * 1024  # lines are rendered this many bytes at a time (see chunks.line_blocks)


class BulkUnavailable(RuntimeError):
    """The chunk cannot be finished now, for a reason that may pass (S3 throttling, 5xx, timeouts).

    The name is the error the state machine's LoadChunk Retry matches (``ErrorEquals``): Step
    Functions runs the chunk again later, which is idempotent.
    """


def is_transient_s3_error(error: BaseException) -> bool:
    """Throttling, 5xx, timeouts and dropped connections: S3 may do the same call later."""
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return code in _TRANSIENT_S3_CODES or status == 429 or status >= 500
    return isinstance(error, ConnectionError | HTTPClientError | IncompleteReadError)


class LongLineLetter(NamedTuple):
    """A line longer than the request cap: [offset, offset + length) of the decompressed object."""

    offset: int
    length: int  # with its newline, if it has one


@dataclass
class LoadCounts:
    """What loading a chunk did. ``lines == indexed + dead_lettered`` when it completes."""

    lines: int = 0  # non-blank lines read
    parse_errors: int = 0  # lines kept as {"message", "parse_error"} documents
    blank_lines: int = 0  # skipped
    indexed: int = 0
    dead_lettered: int = 0  # written to the dead-letter prefix: rejected by OpenSearch, or failed
    failed: int = 0  # of those, still 429/5xx after the last retry (worth replaying as they are)
    too_large: int = 0  # of those, lines or documents larger than a request may be
    bulk_requests: int = 0
    retried_requests: int = 0
    retried_items: int = 0
    split_requests: int = 0  # requests halved after a 413
    dead_letters: list[DeadLetter] = field(default_factory=list, repr=False)
    long_lines: list[LongLineLetter] = field(default_factory=list, repr=False)

    def summary(self) -> dict[str, int]:
        """The counters (not the dead letters themselves)."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name not in {"dead_letters", "long_lines"}
        }

    def add_render(self, stats: RenderStats) -> None:
        """Count the lines one render read: non-blank, kept unparsed, and blank."""
        self.lines += stats.lines
        self.parse_errors += stats.parse_errors
        self.blank_lines += stats.blank_lines

    def add_dead_letters(self, letters: list[DeadLetter]) -> None:
        """Keep the dead letters and count them, and those of them transient or too large."""
        self.dead_letters.extend(letters)
        self.dead_lettered += len(letters)
        self.failed += sum(1 for letter in letters if letter.transient)
        self.too_large += sum(1 for letter in letters if letter.status == TOO_LARGE)

    def add_bulk(self, result: BulkResult) -> None:
        """Add one ``send``'s result: its indexed documents, its dead letters and its request counters."""
        self.indexed += result.indexed
        self.add_dead_letters(result.dead_letters)
        self.bulk_requests += result.requests
        self.retried_requests += result.retried_requests
        self.retried_items += result.retried_items
        self.split_requests += result.split_requests

    def add_long_line(self, letter: LongLineLetter) -> None:
        """Keep a line too long to render; it counts as read, dead-lettered and too large."""
        self.long_lines.append(letter)
        self.lines += 1
        self.dead_lettered += 1
        self.too_large += 1


def too_large_letter(entry: str, bulk_bytes: int) -> DeadLetter:
    """A document that cannot fit a request of ``bulk_bytes``: dead-lettered alone, unsent."""
    error = {"type": "document_too_large", "reason": f"{len(entry)} bytes, BULK_BYTES is {bulk_bytes}"}
    return DeadLetter(entry, TOO_LARGE, error, transient=False)


def index_lines(
    blocks: Iterable[bytes], offset: int, renderer: BulkRenderer, client: BulkClient, bulk_bytes: int
) -> LoadCounts:
    """Render the lines of ``blocks`` (starting at ``offset`` of the object) and bulk-index them in
    requests of at most ``bulk_bytes``.

    A document larger than that is dead-lettered alone (status 413) without being sent; a line
    longer than that is not even rendered: it is listed in ``long_lines`` (read past, never held).
    """
    counts = LoadCounts()
    batch: list[str] = []
    batch_bytes = 0
    long_line_start: int | None = None
    for piece in bounded_lines(blocks, bulk_bytes):
        if isinstance(piece, LongLine):
            if long_line_start is None:
                long_line_start = offset
            offset += len(piece.fragment)
            if piece.ends_line:
                counts.add_long_line(LongLineLetter(long_line_start, offset - long_line_start))
                long_line_start = None
            continue
        for block in line_blocks(piece, RENDER_BYTES):
            entries: list[str] = []
            counts.add_render(renderer.render(block, offset, entries))
            offset += len(block)
            for entry in entries:
                if len(entry) > bulk_bytes:  # entries are ASCII: characters are bytes
                    counts.add_dead_letters([too_large_letter(entry, bulk_bytes)])
                    continue
                if batch and batch_bytes + len(entry) > bulk_bytes:
                    counts.add_bulk(client.send(batch))
                    batch, batch_bytes = [], 0
                batch.append(entry)
                batch_bytes += len(entry)
    if batch:
        counts.add_bulk(client.send(batch))
    return counts


def dead_letter_records(chunk: Chunk, letters: list[DeadLetter]) -> list[dict[str, Any]]:
    """One record per document: where it came from, why it failed, the document itself."""
    records = []
    for letter in letters:
        action_line, _, source_line = letter.entry.rstrip("\n").partition("\n")
        (meta,) = json.loads(action_line).values()
        records.append(
            {
                "bucket": chunk["bucket"],
                "key": chunk["key"],
                "offset": offset_of(meta["_id"]),
                "index": meta["_index"],
                "id": meta["_id"],
                "status": letter.status,
                "error": letter.error,
                "transient": letter.transient,
                "document": json.loads(source_line),
            }
        )
    return records


def dead_letter_key(chunk: Chunk, settings: DeadLetterSettings) -> str:
    """One object per chunk, named after it: loading the chunk again overwrites it."""
    return f"{_dead_letter_folder(chunk, settings)}{chunk['offset']}.ndjson"


def long_line_key(chunk: Chunk, settings: DeadLetterSettings, offset: int) -> str:
    """The key of a long line's own object: ``<offset>.line``, next to the chunk's dead letters."""
    return f"{_dead_letter_folder(chunk, settings)}{offset}.line"


def _dead_letter_folder(chunk: Chunk, settings: DeadLetterSettings) -> str:
    """Where a chunk's dead letters go: under the prefix, by the source object's bucket and key."""
    return f"{settings.prefix}{chunk['bucket']}/{chunk['key']}/"


def copy_long_line(s3: Any, chunk: Chunk, letter: LongLineLetter, settings: DeadLetterSettings) -> str:
    """Copy the line's bytes S3-side into its own dead-letter object; return its key."""
    key = long_line_key(chunk, settings, letter.offset)
    first = chunk["start"] + letter.offset - chunk["offset"]  # where the line is in chunk_key
    source = {"Bucket": chunk["chunk_bucket"], "Key": chunk["chunk_key"]}
    upload_id = s3.create_multipart_upload(Bucket=settings.bucket, Key=key, ContentType="text/plain")[
        "UploadId"
    ]
    try:
        parts = []
        for number, start in enumerate(range(first, first + letter.length, _COPY_PART_BYTES), start=1):
            end = min(start + _COPY_PART_BYTES, first + letter.length) - 1
            copied = s3.upload_part_copy(
                Bucket=settings.bucket,
                Key=key,
                UploadId=upload_id,
                PartNumber=number,
                CopySource=source,
                CopySourceRange=f"bytes={start}-{end}",
            )
            parts.append({"PartNumber": number, "ETag": copied["CopyPartResult"]["ETag"]})
        s3.complete_multipart_upload(
            Bucket=settings.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
        )
    except BaseException:
        objects.abort_upload(s3, settings.bucket, key, upload_id)
        raise
    return key


def long_line_record(
    chunk: Chunk, letter: LongLineLetter, bulk_bytes: int, line_object: str
) -> dict[str, Any]:
    """A long line's dead-letter record: where the line is, why it failed, and the object holding it."""
    return {
        "bucket": chunk["bucket"],
        "key": chunk["key"],
        "offset": letter.offset,
        "index": unparsed_index(chunk["index_pattern"]),
        "id": document_id(chunk["bucket"], chunk["key"], letter.offset),
        "status": TOO_LARGE,
        "error": {"type": "line_too_long", "reason": f"{letter.length} bytes, BULK_BYTES is {bulk_bytes}"},
        "transient": False,
        "line_object": line_object,
        "line_bytes": letter.length,
    }


def write_dead_letters(
    s3: Any, chunk: Chunk, counts: LoadCounts, bulk_bytes: int, settings: DeadLetterSettings
) -> str | None:
    """The chunk's dead-letter object (NDJSON) and its long lines' objects; its location, if any."""
    if not counts.dead_letters and not counts.long_lines:
        return None
    records = dead_letter_records(chunk, counts.dead_letters)
    for letter in counts.long_lines:
        line_key = copy_long_line(s3, chunk, letter, settings)
        records.append(long_line_record(chunk, letter, bulk_bytes, f"s3://{settings.bucket}/{line_key}"))
    key = dead_letter_key(chunk, settings)
    body = "".join(json.dumps(record) + "\n" for record in records).encode()
    s3.put_object(Bucket=settings.bucket, Key=key, Body=body, ContentType="application/x-ndjson")
    return f"s3://{settings.bucket}/{key}"


def load_chunk(
    s3: Any, chunk: Chunk, client: BulkClient, bulk_bytes: int, dead_letters: DeadLetterSettings
) -> dict[str, Any]:
    """Load one chunk; return its counts (the Distributed Map's item result)."""
    started = time.time()
    renderer = BulkRenderer(chunk["bucket"], chunk["key"], chunk["index_pattern"])
    try:
        blocks = objects.stream(s3, chunk["chunk_bucket"], chunk["chunk_key"], chunk["start"], chunk["end"])
        counts = index_lines(blocks, chunk["offset"], renderer, client, bulk_bytes)
        dead_letter_location = write_dead_letters(s3, chunk, counts, bulk_bytes, dead_letters)
    except (BotoCoreError, ClientError) as error:
        if is_transient_s3_error(error):
            raise BulkUnavailable(f"S3 failed while loading the chunk: {error}") from error
        raise
    return {
        "bucket": chunk["bucket"],
        "key": chunk["key"],
        "offset": chunk["offset"],
        "bytes": chunk["end"] - chunk["start"],
        **counts.summary(),
        "dead_letter_object": dead_letter_location,
        "started_at": started,
        "seconds": round(time.time() - started, 3),
    }


def remaining_seconds(context: Any, reserve_seconds: float) -> Callable[[], float]:
    """Seconds the bulk client may still spend: the invocation's time left, less what writing the
    dead letters needs (a Lambda timeout mid-chunk would leave its lines neither indexed nor parked)."""
    return lambda: context.get_remaining_time_in_millis() / 1000 - reserve_seconds
