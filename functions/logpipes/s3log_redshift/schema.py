"""The tables the loader writes: columns, logical types, and the order of the staged CSV files.

Pure data. The SQL types of each dialect are rendered from these in ``dialect.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from logpipes.s3log_redshift.parser import FIELD_NAMES


class Kind(Enum):
    TEXT = "text"
    SMALLINT = "smallint"
    INTEGER = "integer"
    BIGINT = "bigint"
    TIMESTAMPTZ = "timestamptz"


@dataclass(frozen=True)
class Column:
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

# One per S3AccessLogRecord field, same order. Widths are generous (Redshift truncates beyond
# them rather than failing the load; see dialect.py).
_FIELD_COLUMNS = {
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
if tuple(_FIELD_COLUMNS) != FIELD_NAMES:  # pragma: no cover - a programming error, caught on import
    raise RuntimeError("schema.py and parser.S3AccessLogRecord disagree on the fields")

# The target table, and the staged data CSV, column for column.
LOG_COLUMNS: tuple[Column, ...] = (*SOURCE_COLUMNS, *_FIELD_COLUMNS.values())
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
        return f"{self.schema}.{self.table}"

    @property
    def ledger_table(self) -> str:
        return f"{self.schema}.{self.ledger}"
