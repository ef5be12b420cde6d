"""The tables the loader writes: columns, logical types, their limits, and the order of the staged CSV.

Pure data, and the one source of what a value must satisfy to load: the SQL types of each dialect
are rendered from it in ``dialect.py``, and the parser derives its range checks from it, so a line
whose value would fail the COPY is a reject of its own instead of a failed batch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum


class Kind(Enum):
    """A column's logical type; each dialect renders its own SQL type for it."""

    TEXT = "text"
    SMALLINT = "smallint"
    INTEGER = "integer"
    BIGINT = "bigint"
    TIMESTAMPTZ = "timestamptz"


# What each integer kind holds: two's complement, the same on Redshift and PostgreSQL.
INTEGER_RANGES: dict[Kind, tuple[int, int]] = {
    Kind.SMALLINT: (-(2**15), 2**15 - 1),
    Kind.INTEGER: (-(2**31), 2**31 - 1),
    Kind.BIGINT: (-(2**63), 2**63 - 1),
}
# The request times a log line may carry: S3 started in 2006, and a time past 2100 is a corrupt line,
# not a request (the types themselves span far more, but such a value is not an S3 request time).
REQUEST_TIME_RANGE = (datetime(2006, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


@dataclass(frozen=True)
class Column:
    """A column of a loaded table; the parser checks each value against its kind and width."""

    name: str
    kind: Kind
    length: int = 0  # bytes, for TEXT: Redshift VARCHAR(length)
    not_null: bool = False


def _text(name: str, length: int, not_null: bool = False) -> Column:
    return Column(name, Kind.TEXT, length, not_null)


# Where each loaded row came from: the dedupe key of the target table.
SOURCE_COLUMNS = (
    _text("source_key", 1024, not_null=True),  # S3 keys are at most 1,024 bytes
    Column("source_line", Kind.INTEGER, not_null=True),  # 1-based line number in the object
)

# One per parser.S3AccessLogRecord field, same order (the parser checks that on import). Widths
# are in bytes and generous; a value wider than its column is a reject (parser.py).
FIELD_COLUMNS = {
    "bucket_owner": _text("bucket_owner", 256),
    "bucket": _text("bucket", 64),
    "request_time": Column("request_time", Kind.TIMESTAMPTZ, not_null=True),
    "remote_ip": _text("remote_ip", 64),
    "requester": _text("requester", 1024),
    "request_id": _text("request_id", 64),
    "operation": _text("operation", 128),
    "key": _text("key", 4096),  # URL-encoded: up to three bytes per key byte
    "request_uri": _text("request_uri", 8192),
    "http_status": Column("http_status", Kind.SMALLINT),
    "error_code": _text("error_code", 128),
    "bytes_sent": Column("bytes_sent", Kind.BIGINT),
    "object_size": Column("object_size", Kind.BIGINT),
    "total_time_ms": Column("total_time_ms", Kind.INTEGER),
    "turn_around_time_ms": Column("turn_around_time_ms", Kind.INTEGER),
    "referer": _text("referer", 4096),
    "user_agent": _text("user_agent", 4096),
    "version_id": _text("version_id", 1024),
    "host_id": _text("host_id", 256),
    "signature_version": _text("signature_version", 16),
    "cipher_suite": _text("cipher_suite", 64),
    "authentication_type": _text("authentication_type", 32),
    "host_header": _text("host_header", 512),
    "tls_version": _text("tls_version", 16),
    "access_point_arn": _text("access_point_arn", 2048),
    "acl_required": _text("acl_required", 8),
    "source_region": _text("source_region", 32),
    "extra_fields": _text("extra_fields", 4096),
}
# The target table, and the staged data CSV, column for column.
LOG_COLUMNS: tuple[Column, ...] = (*SOURCE_COLUMNS, *FIELD_COLUMNS.values())
SORT_KEY = "request_time"

# The load ledger: one row per source object, written in the same transaction as its rows.
LEDGER_COLUMNS: tuple[Column, ...] = (
    _text("source_bucket", 64, not_null=True),
    _text("source_key", 1024, not_null=True),
    _text("source_etag", 128),
    Column("source_size", Kind.BIGINT),
    Column("lines_total", Kind.INTEGER, not_null=True),
    Column("rows_staged", Kind.INTEGER, not_null=True),
    Column("lines_rejected", Kind.INTEGER, not_null=True),
    _text("batch_id", 128, not_null=True),
    Column("staged_at", Kind.TIMESTAMPTZ, not_null=True),
)
LEDGER_SORT_KEY = "source_key"

_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,126}")


class InvalidName(ValueError):
    """A schema or table name that is not a plain lower-case SQL identifier."""


def identifier(name: str) -> str:
    """``name`` when it is a plain lower-case identifier (so it needs no quoting), else InvalidName.

    Names come from configuration, never from data, and are checked rather than quoted: Redshift
    folds unquoted names to lower case, so only lower-case names mean the same on both databases.
    """
    if not _IDENTIFIER.fullmatch(name):
        raise InvalidName(f"{name!r} is not a lower-case SQL identifier ([a-z_][a-z0-9_]*, at most 127)")
    return name


@dataclass(frozen=True)
class TableNames:
    """Where the loader writes, as ``schema.table``."""

    schema: str
    table: str
    ledger: str

    def __post_init__(self) -> None:
        for name in (self.schema, self.table, self.ledger):
            identifier(name)
        if self.table == self.ledger:
            raise InvalidName("the target table and the ledger table must differ")

    @property
    def target(self) -> str:
        """``schema.table``: where the rows go."""
        return f"{self.schema}.{self.table}"

    @property
    def ledger_table(self) -> str:
        """``schema.ledger``: one row per loaded object."""
        return f"{self.schema}.{self.ledger}"
