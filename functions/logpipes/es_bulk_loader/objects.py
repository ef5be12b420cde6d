"""S3 reads and writes of the loader: ranged reads and streams, never a local file."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from logpipes.es_bulk_loader.chunks import GZIP_MAGIC, newline_end

READ_BLOCK = 1024 * 1024
PROBE_BYTES = 64 * 1024  # a window to look for the end of a line in; grows for longer lines


def list_objects(s3: Any, bucket: str, prefix: str) -> Iterator[tuple[str, int]]:
    """(key, size) of every object under the prefix, folder markers left out."""
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            if not item["Key"].endswith("/"):
                yield item["Key"], int(item["Size"])


def object_size(s3: Any, bucket: str, key: str) -> int:
    return int(s3.head_object(Bucket=bucket, Key=key)["ContentLength"])


def read_range(s3: Any, bucket: str, key: str, start: int, end: int) -> bytes:
    """Bytes [start, end) of the object (end is clipped by S3 at the object's size)."""
    body = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={start}-{end - 1}")["Body"]
    return bytes(body.read())


def stream(
    s3: Any, bucket: str, key: str, start: int | None = None, end: int | None = None
) -> Iterator[bytes]:
    """The object, or bytes [start, end) of it, in blocks of about READ_BLOCK bytes."""
    request = {"Bucket": bucket, "Key": key}
    if start is not None and end is not None:
        request["Range"] = f"bytes={start}-{end - 1}"
    body = s3.get_object(**request)["Body"]
    try:
        yield from body.iter_chunks(READ_BLOCK)
    finally:
        body.close()


def is_gzip(s3: Any, bucket: str, key: str) -> bool:
    """Sniff the gzip magic number (the key's suffix and Content-Encoding are not reliable)."""
    return read_range(s3, bucket, key, 0, len(GZIP_MAGIC)) == GZIP_MAGIC


def line_end_after(s3: Any, bucket: str, key: str, size: int, position: int) -> int:
    """Offset just past the first newline at or after ``position``, or ``size``."""
    window = PROBE_BYTES
    while position < size:
        end = newline_end(read_range(s3, bucket, key, position, min(size, position + window)), position)
        if end is not None:
            return end
        position += window
        window *= 2
    return size
