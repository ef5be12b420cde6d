"""The PostgreSQL statement executor: the same load contract against a real PostgreSQL database.

For tests and the demo (``LOADER_BACKEND=postgresql``), not for Lambda: Redshift cannot run
outside AWS, PostgreSQL can, and the loader's SQL runs on both. A ``CopyStaged`` statement is
executed as ``COPY … FROM STDIN`` fed with the very gzip CSV files the COPY manifest lists, read
from S3, so the staged files, the manifest and the SQL are all exercised.

psycopg is imported here only, and this module is imported only when that backend is chosen:
the Lambda image does not contain psycopg and the Redshift path never needs it.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

import psycopg

from logpipes.s3log_redshift.dialect import CopyStaged, PostgreSQL, Statement, render
from logpipes.s3log_redshift.executor import LoadError

_CHUNK_BYTES = 1024 * 1024


def _split_s3_url(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc or not parts.path[1:]:
        raise LoadError(f"not an s3://bucket/key URL: {url}")
    return parts.netloc, parts.path[1:]


class PostgresExecutor:
    """Runs statements in one transaction on one connection (opened on first use, then reused)."""

    def __init__(self, dsn: str, s3: Any) -> None:
        self._dsn = dsn
        self._s3 = s3
        self._connection: psycopg.Connection[Any] | None = None
        self._dialect = PostgreSQL()

    @property
    def dialect(self) -> PostgreSQL:
        """The PostgreSQL dialect: plain types, ``COPY … FROM STDIN``."""
        return self._dialect

    def _connect(self) -> psycopg.Connection[Any]:
        if self._connection is None or self._connection.closed:
            self._connection = psycopg.connect(self._dsn, autocommit=False)
        return self._connection

    def close(self) -> None:
        """Close the connection, if one is open; the next ``run`` opens another."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def run(self, statements: Sequence[Statement], deadline: float) -> list[int]:
        """One transaction; each statement may take the time left before ``deadline``; raises LoadError."""
        remaining_ms = max(1, int((deadline - time.monotonic()) * 1000))
        counts: list[int] = []
        try:
            connection = self._connect()  # inside: a refused connection is a LoadError like a lost one
            with connection.transaction(), connection.cursor() as cursor:
                # The deadline as a transaction-local timeout: past it, PostgreSQL cancels and rolls back.
                cursor.execute(f"SET LOCAL statement_timeout = {remaining_ms}")
                for index, statement in enumerate(statements, start=1):
                    try:
                        if isinstance(statement, CopyStaged):
                            counts.append(self.copy_staged(cursor, statement))
                        else:
                            cursor.execute(render(self._dialect, statement).encode())
                            counts.append(cursor.rowcount)
                    except psycopg.OperationalError:  # connection lost, or cancelled: handled below
                        raise
                    except psycopg.Error as error:
                        raise LoadError(_explain(index, statement, error), statement_failed=True) from error
        except psycopg.OperationalError as error:
            self.close()
            raise LoadError(f"PostgreSQL connection failed or statement cancelled: {error}") from error
        return counts

    def copy_staged(self, cursor: psycopg.Cursor[Any], statement: CopyStaged) -> int:
        """Run one CopyStaged as COPY … FROM STDIN in the cursor's transaction; the rows it loaded."""
        with cursor.copy(render(self._dialect, statement).encode()) as copy:
            for chunk in self._staged_chunks(statement.manifest_url):
                copy.write(chunk)
        return cursor.rowcount

    def _staged_chunks(self, manifest_url: str) -> Iterator[bytes]:
        """The decompressed bytes of every file the manifest lists, as Redshift's COPY reads them."""
        bucket, key = _split_s3_url(manifest_url)
        manifest = json.loads(self._s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        for entry in manifest["entries"]:
            bucket, key = _split_s3_url(entry["url"])
            try:
                body = self._s3.get_object(Bucket=bucket, Key=key)["Body"]
            except self._s3.exceptions.NoSuchKey:
                if entry.get("mandatory", False):
                    raise LoadError(f"mandatory file {entry['url']} of {manifest_url} is missing") from None
                continue
            inflater = zlib.decompressobj(wbits=31)  # gzip, and concatenated gzip members
            for chunk in body.iter_chunks(_CHUNK_BYTES):
                pending = chunk
                while pending:
                    yield inflater.decompress(pending)
                    pending = inflater.unused_data
                    if pending:  # the next gzip member starts inside this chunk
                        inflater = zlib.decompressobj(wbits=31)
            yield inflater.flush()


def _explain(index: int, statement: Statement, error: psycopg.Error) -> str:
    """The error, and for a COPY where PostgreSQL says it failed (its sys_load_error_detail)."""
    what = f"COPY into {statement.table}" if isinstance(statement, CopyStaged) else "SQL"
    diagnostic = error.diag
    details = [f"statement {index} ({what}) failed: {diagnostic.message_primary or error}"]
    if diagnostic.context:
        details.append(f"context: {diagnostic.context.strip()}")
    return "\n".join(details)
