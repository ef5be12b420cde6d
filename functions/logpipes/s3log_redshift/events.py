"""Which log objects an SQS message announces. Pure.

The queue receives S3 event notifications (``{"Records": [...]}``), possibly wrapped in an SNS
notification, and, once, the ``s3:TestEvent`` S3 sends when the notification is configured.
Object keys arrive URL-encoded (``+`` for a space) and are decoded here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes.s3_event import S3Event


@dataclass(frozen=True)
class SourceObject:
    """A log object to load."""

    bucket: str
    key: str
    size: int | None = None
    etag: str | None = None
    version_id: str | None = None

    @property
    def url(self) -> str:
        """``s3://bucket/key``, with the key decoded (as S3 stores it, not URL-encoded)."""
        return f"s3://{self.bucket}/{self.key}"


class NotAnS3Notification(ValueError):
    """The message body is not an S3 event notification."""


def source_objects(body: str) -> list[SourceObject]:
    """The created objects an SQS message body announces (none for a test event)."""
    try:
        document: Any = json.loads(body)
    except ValueError as error:
        raise NotAnS3Notification(f"body is not JSON: {error}") from None
    if isinstance(document, dict) and document.get("Type") == "Notification" and "Message" in document:
        return source_objects(document["Message"])  # S3 -> SNS -> SQS
    if not isinstance(document, dict):
        raise NotAnS3Notification("body is not a JSON object")
    if document.get("Event") == "s3:TestEvent":
        return []
    if not isinstance(document.get("Records"), list):
        raise NotAnS3Notification(f"no Records in the body (keys: {sorted(document)[:10]})")
    objects = []
    for record in S3Event(document).records:
        if not record.event_name.startswith("ObjectCreated:"):
            continue
        created = record.s3.get_object
        objects.append(
            SourceObject(
                bucket=record.s3.bucket.name,
                key=unquote_plus(created.key),
                size=created.get("size"),
                etag=created.get("eTag"),
                version_id=created.version_id,
            )
        )
    return objects
