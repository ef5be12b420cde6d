"""The SQL of the load contract, and the two dialects it runs on.

The statements are the same on Redshift and PostgreSQL: create the tables, then per batch, in one
transaction, lock the ledger, COPY the staged files into temporary tables, insert the rows not
already loaded (dedupe key: source object key + line number) and record the new objects in the
ledger. Only what Redshift alone has is in the ``Redshift`` dialect: COPY from S3 with a manifest
and an IAM role, column encodings, sort keys and VARCHAR widths. ``PostgreSQL`` renders the COPY
as ``COPY … FROM STDIN`` (its executor streams the same staged files into it) and plain types.

Names are validated identifiers (schema.TableNames); no value from the data is ever put into SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from logpipes.s3log_redshift.parser import CSV_DELIMITER, CSV_NULL
from logpipes.s3log_redshift.schema import (
    LEDGER_COLUMNS,
    LEDGER_SORT_KEY,
    LOG_COLUMNS,
    SORT_KEY,
    Column,
    Kind,
    TableNames,
)

STAGE_TABLE = "s3log_stage"
LEDGER_STAGE_TABLE = "s3log_ledger_stage"
INSERTED_ROWS = "inserted_rows"  # labels of the statements whose affected-row counts are read
INSERTED_OBJECTS = "inserted_objects"


@dataclass(frozen=True)
class Sql:
    """A statement the same in both dialects; ``label`` marks one whose affected-row count is read."""

    text: str
    label: str = ""


@dataclass(frozen=True)
class CopyStaged:
    """Load the gzip CSV files listed in a COPY manifest (``s3://bucket/key``) into ``table``."""

    table: str
    columns: tuple[str, ...]
    manifest_url: str
    label: str = ""


Statement = Sql | CopyStaged


class Dialect(Protocol):
    """What differs between Redshift and PostgreSQL in the load's SQL."""

    name: str

    def column(self, column: Column, sort_key: str) -> str:
        """``name TYPE [ENCODE …] [NOT NULL]``."""
        ...

    def table_options(self, sort_key: str) -> str:
        """What follows the column list of CREATE TABLE (may be empty)."""
        ...

    def lock(self, table: str) -> str:
        """Serialise loads: the statement that makes concurrent loads of one table wait."""
        ...

    def copy(self, statement: CopyStaged) -> str:
        """The COPY of the files ``statement``'s manifest lists into its table."""
        ...


_POSTGRES_TYPES = {
    Kind.TEXT: "TEXT",
    Kind.SMALLINT: "SMALLINT",
    Kind.INTEGER: "INTEGER",
    Kind.BIGINT: "BIGINT",
    Kind.TIMESTAMPTZ: "TIMESTAMPTZ",
}


def _not_null(column: Column) -> str:
    return " NOT NULL" if column.not_null else ""


@dataclass(frozen=True)
class PostgreSQL:
    """PostgreSQL 15: tests and the demo. TEXT without widths (PostgreSQL gains nothing from them)."""

    name: str = "postgresql"

    def column(self, column: Column, sort_key: str) -> str:
        """``name TYPE [NOT NULL]``: no widths, no encodings."""
        return f"{column.name} {_POSTGRES_TYPES[column.kind]}{_not_null(column)}"

    def table_options(self, sort_key: str) -> str:
        """Nothing: PostgreSQL tables have no sort key or distribution style."""
        return ""

    def lock(self, table: str) -> str:
        """An EXCLUSIVE table lock, held until the transaction ends."""
        # EXCLUSIVE: other loads wait, readers of the ledger do not.
        return f"LOCK TABLE {table} IN EXCLUSIVE MODE"

    def copy(self, statement: CopyStaged) -> str:
        """``COPY … FROM STDIN`` of tab-separated CSV: the executor streams the staged files into it."""
        return (
            f"COPY {statement.table} ({', '.join(statement.columns)}) FROM STDIN "
            f"WITH (FORMAT csv, DELIMITER E'\\t', NULL '{CSV_NULL}')"
        )


_REDSHIFT_ENCODINGS = {
    Kind.TEXT: "ZSTD",
    Kind.SMALLINT: "AZ64",
    Kind.INTEGER: "AZ64",
    Kind.BIGINT: "AZ64",
    Kind.TIMESTAMPTZ: "AZ64",
}


def _literal(value: str) -> str:
    """A Redshift string literal of a configuration value (ARN, S3 URL): refuse rather than escape."""
    if "'" in value or "\\" in value:
        raise ValueError(f"{value!r} cannot be used in a COPY statement")
    return f"'{value}'"


@dataclass(frozen=True)
class Redshift:
    """Amazon Redshift (provisioned or Serverless), through the Data API.

    COPY reads the manifest's files from S3 with ``copy_role_arn`` (a role associated with the
    cluster or namespace). TRUNCATECOLUMNS is a safety net only: the parser already rejects a value
    wider than its VARCHAR (schema.py), so no staged value is ever cut. COMPUPDATE/STATUPDATE OFF:
    the COPY targets a temporary table.
    """

    copy_role_arn: str
    name: str = "redshift"

    def column(self, column: Column, sort_key: str) -> str:
        """``name VARCHAR(n)|TYPE ENCODE … [NOT NULL]``; the sort key column is left RAW."""
        kind = f"VARCHAR({column.length})" if column.kind is Kind.TEXT else _POSTGRES_TYPES[column.kind]
        # The leading sort key column stays RAW so that zone maps prune range scans on it.
        encoding = "RAW" if column.name == sort_key else _REDSHIFT_ENCODINGS[column.kind]
        return f"{column.name} {kind} ENCODE {encoding}{_not_null(column)}"

    def table_options(self, sort_key: str) -> str:
        """DISTSTYLE AUTO, sorted by ``sort_key``."""
        return f" DISTSTYLE AUTO SORTKEY ({sort_key})"

    def lock(self, table: str) -> str:
        """Redshift's LOCK: held until the transaction ends."""
        return f"LOCK {table}"

    def copy(self, statement: CopyStaged) -> str:
        """COPY by manifest as ``copy_role_arn``; ValueError if the URL or ARN has a quote or backslash."""
        delimiter = {"\t": "\\t"}[CSV_DELIMITER]
        return (
            f"COPY {statement.table} ({', '.join(statement.columns)}) "
            f"FROM {_literal(statement.manifest_url)} IAM_ROLE {_literal(self.copy_role_arn)} MANIFEST "
            f"FORMAT AS CSV DELIMITER '{delimiter}' NULL AS '{CSV_NULL}' GZIP "
            "TRUNCATECOLUMNS COMPUPDATE OFF STATUPDATE OFF"
        )


def render(dialect: Dialect, statement: Statement) -> str:
    """The statement's SQL text in ``dialect``."""
    return dialect.copy(statement) if isinstance(statement, CopyStaged) else statement.text


def _create_table(dialect: Dialect, table: str, columns: tuple[Column, ...], sort_key: str) -> str:
    body = ",\n  ".join(dialect.column(column, sort_key) for column in columns)
    return f"CREATE TABLE IF NOT EXISTS {table} (\n  {body}\n){dialect.table_options(sort_key)}"


def create_statements(dialect: Dialect, names: TableNames) -> list[Statement]:
    """Create the schema, the target table and the ledger when they do not exist yet."""
    return [
        Sql(f"CREATE SCHEMA IF NOT EXISTS {names.schema}"),
        Sql(_create_table(dialect, names.target, LOG_COLUMNS, SORT_KEY)),
        Sql(_create_table(dialect, names.ledger_table, LEDGER_COLUMNS, LEDGER_SORT_KEY)),
    ]


LOG_COLUMN_NAMES = tuple(column.name for column in LOG_COLUMNS)
LEDGER_COLUMN_NAMES = tuple(column.name for column in LEDGER_COLUMNS)


def load_statements(
    dialect: Dialect, names: TableNames, data_manifest_url: str | None, ledger_manifest_url: str
) -> list[Statement]:
    """One batch, one transaction. ``data_manifest_url`` is None when no object had a loadable line.

    Rows of an object already in the ledger are skipped, and so is a row whose object key and line
    number are already in the target table (request_time is in that join because it is the sort
    key: Redshift can then skip blocks outside the batch's time range).
    """
    statements: list[Statement] = [
        # Concurrent loads of the same object would both see it missing from the ledger.
        Sql(dialect.lock(names.ledger_table)),
        Sql(f"CREATE TEMP TABLE {LEDGER_STAGE_TABLE} (LIKE {names.ledger_table})"),
        CopyStaged(LEDGER_STAGE_TABLE, LEDGER_COLUMN_NAMES, ledger_manifest_url),
    ]
    if data_manifest_url is not None:
        columns = ", ".join(LOG_COLUMN_NAMES)
        staged = ", ".join(f"s.{name}" for name in LOG_COLUMN_NAMES)
        statements += [
            Sql(f"CREATE TEMP TABLE {STAGE_TABLE} (LIKE {names.target})"),
            CopyStaged(STAGE_TABLE, LOG_COLUMN_NAMES, data_manifest_url),
            # Identifiers validated by TableNames, no data in the SQL:
            Sql(
                f"INSERT INTO {names.target} ({columns})\n"  # noqa: S608
                f"SELECT {staged}\nFROM {STAGE_TABLE} s\n"
                f"WHERE NOT EXISTS (SELECT 1 FROM {names.ledger_table} l WHERE l.source_key = s.source_key)\n"
                f"  AND NOT EXISTS (SELECT 1 FROM {names.target} t WHERE t.source_key = s.source_key"
                " AND t.source_line = s.source_line AND t.request_time = s.request_time)",
                label=INSERTED_ROWS,
            ),
            Sql(f"DROP TABLE {STAGE_TABLE}"),
        ]
    ledger_columns = ", ".join(LEDGER_COLUMN_NAMES)
    new_objects = ", ".join(f"n.{name}" for name in LEDGER_COLUMN_NAMES)
    statements += [
        Sql(
            f"INSERT INTO {names.ledger_table} ({ledger_columns})\n"  # noqa: S608
            f"SELECT {new_objects}\nFROM {LEDGER_STAGE_TABLE} n\n"
            f"WHERE NOT EXISTS (SELECT 1 FROM {names.ledger_table} l WHERE l.source_key = n.source_key)",
            label=INSERTED_OBJECTS,
        ),
        Sql(f"DROP TABLE {LEDGER_STAGE_TABLE}"),
    ]
    return statements
