"""The Plan step: list the objects to load and cut them into line-aligned chunks.

Plain objects become byte ranges of the object itself (a few small ranged reads find the line ends;
nothing is copied). Gzip objects cannot be read from the middle, so they are stream-decompressed
once and written back as line-aligned chunk objects under the work prefix.

Memory is bounded whatever an object holds (a gzip bomb, one endless line, millions of empty
lines): inflation is done 1 MiB at a time, a chunk is uploaded as it arrives (one multipart part of
8 MiB at most in memory), and line ends are probed in windows of at most 1 MiB. About
``2 * PART_BYTES + 3 * READ_BLOCK`` (~19 MiB) of Python memory whatever the chunk size. The chunk list goes to
S3 as a JSON array: the Distributed Map reads it with its ItemReader, so its size is not limited
by the 256 KB state payload.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TypedDict

from aws_lambda_powertools.utilities.data_classes import S3EventBridgeNotificationEvent

from logpipes.es_bulk_loader import objects
from logpipes.es_bulk_loader.chunks import gunzip, line_aligned_pieces, line_aligned_ranges
from logpipes.es_bulk_loader.documents import check_index_pattern, document_id_prefix
from logpipes.es_bulk_loader.settings import PlanSettings


class InvalidRequest(ValueError):
    """The execution input is not a load request."""


class Chunk(TypedDict):
    """One item of the Distributed Map: what one Load invocation reads and indexes."""

    bucket: str  # the log object: its location names the documents (ids) and the report lines
    key: str
    chunk_bucket: str  # where the chunk's bytes are: the object itself, or a decompressed copy
    chunk_key: str
    start: int  # [start, end) in chunk_key
    end: int
    offset: int  # offset of `start` in the (decompressed) log object
    index_pattern: str


class FilePlan(TypedDict):
    """One planned object, as the Plan step reports it: its size, whether it is gzip, its chunk count."""

    bucket: str
    key: str
    size: int
    gzip: bool
    chunks: int


@dataclass(frozen=True)
class PlanRequest:
    """A checked execution input: its objects (``keys``, or all under ``prefix``) and index pattern."""

    bucket: str
    keys: tuple[str, ...] | None
    prefix: str | None
    index_pattern: str
    execution: str


def index_pattern_of(event: dict[str, Any], default: str) -> str:
    """The execution's index pattern: its ``index_pattern`` input, or the module's default."""
    pattern = event.get("index_pattern") or default
    if not isinstance(pattern, str):
        raise InvalidRequest("index_pattern must be a string")
    try:
        return check_index_pattern(pattern)
    except ValueError as error:
        raise InvalidRequest(str(error)) from None


def parse_request(event: dict[str, Any], execution: str, settings: PlanSettings) -> PlanRequest:
    """The execution input: {"bucket", "keys" | "prefix", ["index_pattern"]}, or the S3 "Object
    Created" event EventBridge starts the execution with (its key arrives URL-encoded)."""
    if event.get("source") == "aws.s3" and event.get("detail-type") == "Object Created":
        detail = S3EventBridgeNotificationEvent(event).detail
        event = {"bucket": detail.bucket.name, "keys": [detail.object.key]}
    bucket = event.get("bucket")
    keys = event.get("keys")
    prefix = event.get("prefix")
    if bucket != settings.source_bucket:
        raise InvalidRequest(f"bucket must be {settings.source_bucket!r}, the bucket this loader may read")
    if (keys is None) == (prefix is None):
        raise InvalidRequest("give exactly one of 'keys' (a list of object keys) and 'prefix'")
    if keys is not None and (
        not isinstance(keys, list) or not keys or not all(isinstance(k, str) and k for k in keys)
    ):
        raise InvalidRequest("'keys' must be a non-empty list of object keys")
    if prefix is not None and not isinstance(prefix, str):
        raise InvalidRequest("'prefix' must be a string")
    return PlanRequest(
        bucket=bucket,
        keys=tuple(keys) if keys is not None else None,
        prefix=prefix,
        index_pattern=index_pattern_of(event, settings.default_index_pattern),
        execution=execution,
    )


def plan(s3: Any, request: PlanRequest, settings: PlanSettings) -> dict[str, Any]:
    """Chunk every object of the request, write the chunk list; return where it is and the files."""
    if request.keys is not None:
        sizes = [(key, objects.object_size(s3, request.bucket, key)) for key in request.keys]
    else:
        sizes = [
            (key, size)
            for key, size in objects.list_objects(s3, request.bucket, request.prefix or "")
            if not key.startswith(settings.excluded_prefixes)
        ]
    files: list[FilePlan] = []
    chunks: list[Chunk] = []
    for key, size in sizes:
        gzip = size > 0 and objects.is_gzip(s3, request.bucket, key)
        file_chunks = (
            _gzip_chunks(s3, request, key, settings)
            if gzip
            else _plain_chunks(s3, request, key, size, settings)
        )
        files.append(FilePlan(bucket=request.bucket, key=key, size=size, gzip=gzip, chunks=len(file_chunks)))
        chunks.extend(file_chunks)
    manifest_key = f"{settings.work_prefix}manifests/{request.execution}.json"
    s3.put_object(
        Bucket=settings.work_bucket,
        Key=manifest_key,
        Body=json.dumps(chunks).encode(),
        ContentType="application/json",
    )
    return {
        "manifest": {"bucket": settings.work_bucket, "key": manifest_key},
        "files": files,
        "chunks": len(chunks),
        "index_pattern": request.index_pattern,
    }


def _plain_chunks(s3: Any, request: PlanRequest, key: str, size: int, settings: PlanSettings) -> list[Chunk]:
    ranges = line_aligned_ranges(
        size,
        settings.chunk_bytes,
        lambda position: objects.line_end_after(s3, request.bucket, key, size, position),
    )
    return [
        Chunk(
            bucket=request.bucket,
            key=key,
            chunk_bucket=request.bucket,
            chunk_key=key,
            start=r.start,
            end=r.end,
            offset=r.start,
            index_pattern=request.index_pattern,
        )
        for r in ranges
    ]


def _gzip_chunks(s3: Any, request: PlanRequest, key: str, settings: PlanSettings) -> list[Chunk]:
    # One folder per execution and file: concurrent executions never read each other's chunks.
    folder = f"{settings.work_prefix}chunks/{request.execution}/{document_id_prefix(request.bucket, key)}"
    chunks = []
    decompressed = gunzip(objects.stream(s3, request.bucket, key))
    for offset, fragments in line_aligned_pieces(decompressed, settings.chunk_bytes):
        chunk_key = f"{folder}/{offset}.log"
        upload = objects.S3Upload(s3, settings.work_bucket, chunk_key, "text/plain")
        try:
            for fragment in fragments:
                upload.write(fragment)
            upload.close()
        except BaseException:
            upload.abort()
            raise
        chunks.append(
            Chunk(
                bucket=request.bucket,
                key=key,
                chunk_bucket=settings.work_bucket,
                chunk_key=chunk_key,
                start=0,
                end=upload.size,
                offset=offset,
                index_pattern=request.index_pattern,
            )
        )
    return chunks
