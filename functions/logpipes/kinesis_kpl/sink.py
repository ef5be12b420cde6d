"""Where the objects go: S3 in Lambda, memory in tests and benchmarks."""

from __future__ import annotations

from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from logpipes.kinesis_kpl.batch import OutputObject


class SinkError(Exception):
    """An object could not be written (after the client's own retries)."""


class Sink(Protocol):
    """Where ``process_event`` writes the objects: S3Sink in Lambda, MemorySink in tests."""

    def put(self, obj: OutputObject) -> None:
        """Write one object, replacing any of the same key. Raises SinkError."""
        ...


class S3Sink:
    """Writes each object with one PutObject; the bucket's default encryption applies."""

    def __init__(self, bucket: str, client: Any) -> None:
        self.bucket = bucket
        self.client = client

    def put(self, obj: OutputObject) -> None:
        """PutObject; every error S3 or the connection gives (throttling, 5xx, access denied,
        timeouts) is a SinkError."""
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=obj.key,
                Body=obj.body,
                ContentType=obj.content_type,
                Metadata=obj.metadata,
            )
        except (ClientError, BotoCoreError) as error:
            raise SinkError(f"PutObject s3://{self.bucket}/{obj.key}: {error}") from error


class MemorySink:
    """Keeps the objects by key, as S3 would (a later put of a key replaces it)."""

    def __init__(self) -> None:
        self.objects: dict[str, OutputObject] = {}

    def put(self, obj: OutputObject) -> None:
        """Keep the object under its key, replacing any before it; never raises."""
        self.objects[obj.key] = obj
