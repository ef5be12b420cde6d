"""S3 reads and writes of the loader: ranged reads and streams, never a local file."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from logpipes.es_bulk_loader.chunks import GZIP_MAGIC, newline_end

READ_BLOCK = 1024 * 1024
PROBE_BYTES = 64 * 1024  # a window to look for the end of a line in; grows for longer lines
PART_BYTES = 8 * 1024 * 1024  # multipart upload part size (S3's minimum is 5 MiB)


def list_objects(s3: Any, bucket: str, prefix: str) -> Iterator[tuple[str, int]]:
    """(key, size) of every object under the prefix, folder markers left out."""
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            if not item["Key"].endswith("/"):
                yield item["Key"], int(item["Size"])


def object_size(s3: Any, bucket: str, key: str) -> int:
    """The object's size in bytes (HeadObject's ContentLength)."""
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
    """Offset just past the first newline at or after ``position``, or ``size``.

    The window doubles for long lines (fewer requests) but never beyond READ_BLOCK: a line of
    any length is probed in bounded memory.
    """
    window = PROBE_BYTES
    while position < size:
        end = newline_end(read_range(s3, bucket, key, position, min(size, position + window)), position)
        if end is not None:
            return end
        position += window
        window = min(2 * window, READ_BLOCK)
    return size


class S3Upload:
    """Write one object from a stream of pieces, holding at most one part in memory.

    Small objects are one PutObject; once more than PART_BYTES arrive, a multipart upload takes over
    (S3's parts must be at least 5 MiB but the last). ``close()`` completes it; ``abort()`` leaves no
    object and no stored parts behind. The key is the caller's: writing it again overwrites.
    """

    def __init__(self, s3: Any, bucket: str, key: str, content_type: str) -> None:
        self.s3, self.bucket, self.key, self.content_type = s3, bucket, key, content_type
        self.size = 0
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []

    def write(self, data: bytes) -> None:
        """Buffer ``data``; once the buffer holds PART_BYTES, send it as a part."""
        self._buffer += data
        self.size += len(data)
        if len(self._buffer) >= PART_BYTES:
            self._send_part()

    def _send_part(self) -> None:
        if self._upload_id is None:
            self._upload_id = self.s3.create_multipart_upload(
                Bucket=self.bucket, Key=self.key, ContentType=self.content_type
            )["UploadId"]
        number = len(self._parts) + 1
        response = self.s3.upload_part(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=bytes(self._buffer),
        )
        self._parts.append({"PartNumber": number, "ETag": response["ETag"]})
        self._buffer.clear()

    def close(self) -> None:
        """Finish the object: one PutObject if no part was sent, else the last part and the completion."""
        if self._upload_id is None:
            self.s3.put_object(
                Bucket=self.bucket, Key=self.key, Body=bytes(self._buffer), ContentType=self.content_type
            )
            self._buffer.clear()
            return
        if self._buffer:
            self._send_part()
        self.s3.complete_multipart_upload(
            Bucket=self.bucket, Key=self.key, UploadId=self._upload_id, MultipartUpload={"Parts": self._parts}
        )

    def abort(self) -> None:
        """Drop the buffer and abort the multipart upload, if one was started; never raises."""
        self._buffer.clear()
        if self._upload_id is not None:
            abort_upload(self.s3, self.bucket, self.key, self._upload_id)


def abort_upload(s3: Any, bucket: str, key: str, upload_id: str) -> None:
    """Best effort, never raising: the caller is already failing with the error that matters, and
    parts left behind expire with the bucket's AbortIncompleteMultipartUpload lifecycle rule."""
    with contextlib.suppress(Exception):
        s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
