"""The Load step: stream one chunk, parse its lines, bulk-index them, dead-letter what fails."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any

from logpipes.es_bulk_loader import objects
from logpipes.es_bulk_loader.bulk import BulkClient, BulkResult, DeadLetter
from logpipes.es_bulk_loader.chunks import whole_lines
from logpipes.es_bulk_loader.documents import BulkRenderer, RenderStats, offset_of
from logpipes.es_bulk_loader.plan import Chunk
from logpipes.es_bulk_loader.settings import DeadLetterSettings


@dataclass
class LoadCounts:
    """What loading a chunk did. ``lines == indexed + dead_lettered`` when it completes."""

    lines: int = 0  # non-blank lines read
    parse_errors: int = 0  # lines kept as {"message", "parse_error"} documents
    blank_lines: int = 0  # skipped
    indexed: int = 0
    dead_lettered: int = 0  # written to the dead-letter prefix: rejected by OpenSearch, or failed
    failed: int = 0  # of those, still 429/5xx after the last retry (worth replaying as they are)
    bulk_requests: int = 0
    retried_requests: int = 0
    retried_items: int = 0
    dead_letters: list[DeadLetter] = field(default_factory=list, repr=False)

    def summary(self) -> dict[str, int]:
        """The counters (not the dead letters themselves)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "dead_letters"}

    def add_render(self, stats: RenderStats) -> None:
        self.lines += stats.lines
        self.parse_errors += stats.parse_errors
        self.blank_lines += stats.blank_lines

    def add_bulk(self, result: BulkResult) -> None:
        self.indexed += result.indexed
        self.dead_letters.extend(result.dead_letters)
        self.dead_lettered += len(result.dead_letters)
        self.failed += sum(1 for letter in result.dead_letters if letter.transient)
        self.bulk_requests += result.requests
        self.retried_requests += result.retried_requests
        self.retried_items += result.retried_items


def index_lines(
    blocks: Iterable[bytes], offset: int, renderer: BulkRenderer, client: BulkClient, bulk_bytes: int
) -> LoadCounts:
    """Render the lines of ``blocks`` (starting at ``offset`` of the object) and bulk-index them in
    requests of at most ``bulk_bytes`` (a single larger document goes alone)."""
    counts = LoadCounts()
    batch: list[str] = []
    batch_bytes = 0
    for block in whole_lines(blocks):
        entries: list[str] = []
        counts.add_render(renderer.render(block, offset, entries))
        offset += len(block)
        for entry in entries:
            if batch and batch_bytes + len(entry) > bulk_bytes:
                counts.add_bulk(client.send(batch))
                batch, batch_bytes = [], 0
            batch.append(entry)
            batch_bytes += len(entry)  # entries are ASCII: characters are bytes
    if batch:
        counts.add_bulk(client.send(batch))
    return counts


def dead_letter_records(chunk: Chunk, letters: list[DeadLetter]) -> bytes:
    """NDJSON, one record per document: where it came from, why it failed, the document itself."""
    lines = []
    for letter in letters:
        action_line, _, source_line = letter.entry.rstrip("\n").partition("\n")
        (meta,) = json.loads(action_line).values()
        record = {
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
        lines.append(json.dumps(record))
    return ("\n".join(lines) + "\n").encode()


def dead_letter_key(chunk: Chunk, settings: DeadLetterSettings) -> str:
    """One object per chunk, named after it: loading the chunk again overwrites it."""
    return f"{settings.prefix}{chunk['bucket']}/{chunk['key']}/{chunk['offset']}.ndjson"


def load_chunk(
    s3: Any, chunk: Chunk, client: BulkClient, bulk_bytes: int, dead_letters: DeadLetterSettings
) -> dict[str, Any]:
    """Load one chunk; return its counts (the Distributed Map's item result)."""
    started = time.time()
    blocks = objects.stream(s3, chunk["chunk_bucket"], chunk["chunk_key"], chunk["start"], chunk["end"])
    renderer = BulkRenderer(chunk["bucket"], chunk["key"], chunk["index_pattern"])
    counts = index_lines(blocks, chunk["offset"], renderer, client, bulk_bytes)
    dead_letter_location = None
    if counts.dead_letters:
        key = dead_letter_key(chunk, dead_letters)
        s3.put_object(
            Bucket=dead_letters.bucket,
            Key=key,
            Body=dead_letter_records(chunk, counts.dead_letters),
            ContentType="application/x-ndjson",
        )
        dead_letter_location = f"s3://{dead_letters.bucket}/{key}"
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
