"""Stage log objects in S3 as gzip CSV, then load a whole batch in one transaction.

Per object (``stage``): stream it from S3, normalise it (normalize.py), upload its rows to
``<staging prefix><batch id>/data/`` and its rejects to ``<rejects prefix><bucket>/<key>.jsonl.gz``.
Per batch (``load``): write the ledger rows and the two COPY manifests next to the data, then run
the load statements (dialect.py) through the executor: one transaction, two COPYs, whatever the
number of objects.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from logpipes.s3log_redshift.dialect import (
    INSERTED_OBJECTS,
    INSERTED_ROWS,
    CopyStaged,
    create_statements,
    load_statements,
)
from logpipes.s3log_redshift.events import SourceObject
from logpipes.s3log_redshift.executor import StatementExecutor
from logpipes.s3log_redshift.normalize import ObjectCounts, normalize, source_key_field
from logpipes.s3log_redshift.parser import CSV_DELIMITER, CSV_NULL, csv_field
from logpipes.s3log_redshift.schema import TableNames

_READ_CHUNK_BYTES = 1024 * 1024
_SPOOL_BYTES = 64 * 1024 * 1024  # staged files bigger than this spill to /tmp
_MAX_KEY_BYTES = 1024


@dataclass(frozen=True)
class Staging:
    """Where normalised files go: ``s3://bucket/prefix…`` and ``s3://bucket/rejects_prefix…``."""

    bucket: str
    prefix: str = "staging/"
    rejects_prefix: str = "rejects/"
    gzip_level: int = 1  # staged files live for a day or so: favour CPU time over size


@dataclass(frozen=True)
class StagedObject:
    """One source object normalised into staging: its counts, its staged CSV and its rejects."""

    source: SourceObject
    counts: ObjectCounts
    data_url: str | None  # its staged CSV, or None when no line was loadable
    rejects_key: str | None  # its reject records, or None when there were none


@dataclass(frozen=True)
class LoadResult:
    """What one committed load transaction did."""

    objects: int  # distinct objects in the batch
    new_objects: int  # of which not in the ledger before: their rows were loaded
    inserted_rows: int
    copy_statements: int


def _ledger_row(staged: StagedObject, batch_id: str, staged_at: str) -> str:
    source, counts = staged.source, staged.counts
    fields = (
        csv_field(source.bucket),
        source_key_field(source.key),
        csv_field(source.etag) if source.etag else CSV_NULL,
        str(source.size) if source.size is not None else CSV_NULL,
        str(counts.lines),
        str(counts.rows),
        str(counts.rejected),
        csv_field(batch_id),
        staged_at,
    )
    return CSV_DELIMITER.join(fields) + "\n"


def _manifest(urls: Sequence[str]) -> bytes:
    return json.dumps({"entries": [{"url": url, "mandatory": True} for url in urls]}).encode()


class Loader:
    """Stages source objects in S3, then loads a batch of them in one transaction through its executor."""

    def __init__(
        self,
        s3: Any,
        executor: StatementExecutor,
        names: TableNames,
        staging: Staging,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._s3 = s3
        self._executor = executor
        self._names = names
        self._staging = staging
        self._now = now
        self._tables_ready = False

    def ensure_tables(self, deadline: float) -> None:
        """CREATE … IF NOT EXISTS the schema and tables, once per execution environment."""
        if not self._tables_ready:
            self._executor.run(create_statements(self._executor.dialect, self._names), deadline)
            self._tables_ready = True

    def _upload(self, file: IO[bytes], key: str, content_type: str) -> None:
        file.seek(0)
        self._s3.upload_fileobj(file, self._staging.bucket, key, ExtraArgs={"ContentType": content_type})

    def _rejects_key(self, source: SourceObject) -> str:
        key = f"{self._staging.rejects_prefix}{source.bucket}/{source.key}.jsonl.gz"
        if len(key.encode()) > _MAX_KEY_BYTES:
            digest = hashlib.sha256(source.url.encode()).hexdigest()
            key = f"{self._staging.rejects_prefix}{source.bucket}/{digest}.jsonl.gz"
        return key

    def stage(self, source: SourceObject, batch_id: str) -> StagedObject:
        """Normalise one object into the batch's staging area (S3 errors propagate)."""
        request: dict[str, str] = {"Bucket": source.bucket, "Key": source.key}
        if source.version_id:
            request["VersionId"] = source.version_id
        body = self._s3.get_object(**request)["Body"]
        level = self._staging.gzip_level
        with (
            tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as data,
            tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as rejects,
        ):
            with (
                gzip.GzipFile(fileobj=data, mode="wb", compresslevel=level, mtime=0) as rows_out,
                gzip.GzipFile(fileobj=rejects, mode="wb", compresslevel=level, mtime=0) as rejects_out,
            ):
                counts = normalize(
                    body.iter_chunks(_READ_CHUNK_BYTES), source.bucket, source.key, rows_out, rejects_out
                )
            data_url = rejects_key = None
            if counts.rows:
                name = hashlib.sha256(source.url.encode()).hexdigest()[:32]
                data_key = f"{self._staging.prefix}{batch_id}/data/{name}.csv.gz"
                self._upload(data, data_key, "text/csv")
                data_url = f"s3://{self._staging.bucket}/{data_key}"
            if counts.rejected:
                rejects_key = self._rejects_key(source)
                self._upload(rejects, rejects_key, "application/x-ndjson")
        return StagedObject(source, counts, data_url, rejects_key)

    def load(self, staged: Sequence[StagedObject], batch_id: str, deadline: float) -> LoadResult:
        """Load the staged objects in one transaction. Raises LoadError (nothing committed)."""
        unique = list({item.source.url: item for item in staged}.values())
        base = f"{self._staging.prefix}{batch_id}"
        staged_at = self._now().strftime("%Y-%m-%d %H:%M:%S+00:00")
        ledger = gzip.compress(
            "".join(_ledger_row(item, batch_id, staged_at) for item in unique).encode(), mtime=0
        )
        self._s3.put_object(Bucket=self._staging.bucket, Key=f"{base}/objects.csv.gz", Body=ledger)
        ledger_manifest = f"{base}/objects.manifest"
        self._s3.put_object(
            Bucket=self._staging.bucket,
            Key=ledger_manifest,
            Body=_manifest([f"s3://{self._staging.bucket}/{base}/objects.csv.gz"]),
        )
        data_urls = [item.data_url for item in unique if item.data_url]
        data_manifest = None
        if data_urls:
            data_manifest = f"{base}/data.manifest"
            self._s3.put_object(Bucket=self._staging.bucket, Key=data_manifest, Body=_manifest(data_urls))
        statements = load_statements(
            self._executor.dialect,
            self._names,
            f"s3://{self._staging.bucket}/{data_manifest}" if data_manifest else None,
            f"s3://{self._staging.bucket}/{ledger_manifest}",
        )
        counts = self._executor.run(statements, deadline)
        by_label = {statement.label: count for statement, count in zip(statements, counts, strict=True)}
        return LoadResult(
            objects=len(unique),
            new_objects=by_label.get(INSERTED_OBJECTS, 0),
            inserted_rows=by_label.get(INSERTED_ROWS, 0),
            copy_statements=sum(isinstance(statement, CopyStaged) for statement in statements),
        )
