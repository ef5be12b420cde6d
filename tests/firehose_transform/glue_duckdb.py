"""Read what a pipeline delivered the way Athena would: through its Glue table, with DuckDB.

Everything comes from the applied Glue table (``glue get_table``), nothing from the test: the
columns and their Hive types (mapped to DuckDB's), the SerDe (OpenX JSON -> ``read_json`` of JSON
lines, Open CSV -> ``read_csv`` without a header), the compression, and the partition value of each
object, matched against the projection's ``storage.location.template`` and checked against
``projection.<key>.format``. The objects are downloaded from moto into a directory laid out as their
keys, so a reader sees the same paths Athena would. DuckDB's readers are built into the wheel: no
extension is downloaded.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

HIVE_TO_DUCKDB = {
    "string": "VARCHAR",
    "int": "INTEGER",
    "bigint": "BIGINT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMP",
}
OPENX_JSON = "org.openx.data.jsonserde.JsonSerDe"
OPEN_CSV = "org.apache.hadoop.hive.serde2.OpenCSVSerde"
_JAVA_TO_STRPTIME = {"yyyy": "%Y", "MM": "%m", "dd": "%d", "HH": "%H"}


@dataclass(frozen=True)
class GlueTable:
    """What a reader needs of a Glue table."""

    columns: list[tuple[str, str]]  # (name, Hive type), in order
    partition_keys: list[str]
    serde: str
    serde_parameters: dict[str, str]
    parameters: dict[str, str]

    @property
    def duckdb_columns(self) -> dict[str, str]:
        """The columns as DuckDB reader types; a Hive type without a mapping fails the test."""
        return {name: HIVE_TO_DUCKDB[hive_type] for name, hive_type in self.columns}


def glue_table(glue: Any, database: str, table: str) -> GlueTable:
    """The table as Glue holds it."""
    found = glue.get_table(DatabaseName=database, Name=table)["Table"]
    storage = found["StorageDescriptor"]
    return GlueTable(
        columns=[(c["Name"], c["Type"]) for c in storage["Columns"]],
        partition_keys=[k["Name"] for k in found.get("PartitionKeys", [])],
        serde=storage["SerdeInfo"]["SerializationLibrary"],
        serde_parameters=storage["SerdeInfo"].get("Parameters", {}),
        parameters=found.get("Parameters", {}),
    )


def download(s3: Any, bucket: str, prefix: str, root: Path) -> list[str]:
    """Every object under the prefix, written to root/<key>; returns the keys."""
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
    for key in keys:
        target = root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    return keys


def gunzip_lines(path: Path) -> list[str]:
    """The lines of a delivered (gzip) object."""
    return gzip.decompress(path.read_bytes()).decode().splitlines()


def partition_of(table: GlueTable, bucket: str, key: str) -> dict[str, str]:
    """The partition values of an object, from the projection's location template; raises
    AssertionError when the key does not fit the template or a value not its projection format."""
    template = table.parameters["storage.location.template"]
    pattern = re.escape(template)
    for name in table.partition_keys:
        pattern = pattern.replace(re.escape(f"${{{name}}}"), f"(?P<{name}>.+)")
    match = re.fullmatch(pattern + r"[^/]+", f"s3://{bucket}/{key}")
    assert match, f"s3://{bucket}/{key} is not under the projection's template {template}"
    values = match.groupdict()
    for name, value in values.items():
        java = table.parameters[f"projection.{name}.format"]
        datetime.strptime(value, re.sub(r"yyyy|MM|dd|HH", lambda m: _JAVA_TO_STRPTIME[m[0]], java))
    return values


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _sql_struct(columns: dict[str, str]) -> str:
    fields = (f"{_sql_string(name)}: {_sql_string(kind)}" for name, kind in columns.items())
    return "{" + ", ".join(fields) + "}"


def read(table: GlueTable, files: list[Path]) -> list[dict[str, Any]]:
    """Rows of the files read with exactly the table's columns, types and SerDe, in file order."""
    assert table.parameters.get("compressionType") == "gzip"
    files_sql = "[" + ", ".join(_sql_string(str(f)) for f in files) + "]"
    columns_sql = _sql_struct(table.duckdb_columns)
    if table.serde == OPENX_JSON:
        # The SerDe's timestamp.formats (Java), as a DuckDB format: the only one the module sets.
        assert table.serde_parameters["timestamp.formats"] == "yyyy-MM-dd HH:mm:ss.SSS"
        query = (
            f"SELECT * FROM read_json({files_sql}, format = 'newline_delimited', compression = 'gzip', "
            f"columns = {columns_sql}, timestampformat = '%Y-%m-%d %H:%M:%S.%g')"
        )
    elif table.serde == OPEN_CSV:
        # RFC 4180 doubled quotes; the SerDe's own escape character must then never occur.
        escape = table.serde_parameters["escapeChar"]
        assert not any(escape in gzip.decompress(f.read_bytes()).decode() for f in files), (
            "the SerDe's escape character occurs in the data"
        )
        quote = table.serde_parameters["quoteChar"]
        query = (
            f"SELECT * FROM read_csv({files_sql}, header = false, compression = 'gzip', auto_detect = false, "
            f"delim = {_sql_string(table.serde_parameters['separatorChar'])}, quote = {_sql_string(quote)}, "
            f"escape = {_sql_string(quote)}, columns = {columns_sql}, allow_quoted_nulls = false, "
            "strict_mode = true)"
        )
    else:
        raise AssertionError(f"no DuckDB reader for the SerDe {table.serde}")
    names = [name for name, _ in table.columns]
    with duckdb.connect() as connection:
        return [dict(zip(names, row, strict=True)) for row in connection.sql(query).fetchall()]
