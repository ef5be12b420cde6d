"""examples/cloudwatch-to-athena applied to moto with typed columns (JSON lines and CSV): what the
pipeline writes to S3 is read back by DuckDB through the applied Glue table alone (its columns and
types, SerDe, compression and partition projection; see glue_duckdb), as Athena would read it.

The function runs from its built context with the environment the module gave the deployed Lambda,
so the columns reach the handler and the table from the one variable, as in AWS.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from devtools.firehose import deliver
from devtools.lambda_runtime import ensure_built, invoke_from_context
from devtools.moto_server import MotoServer
from devtools.terraform import applied_example
from tests.firehose_transform import glue_duckdb

pytestmark = [pytest.mark.terraform, pytest.mark.moto, pytest.mark.slow]

FIXTURE = json.loads(
    (Path(__file__).resolve().parents[2] / "modules/firehose-transform/tests/glue_columns.json").read_text()
)["configurations"]
# 2026-12-04 10:00:00.123 UTC, and one millisecond per event after it.
EVENT_MS = 1_796_378_400_123


def _at(offset_ms: int) -> datetime:
    """An event's time as DuckDB reads a TIMESTAMP column (naive, UTC)."""
    return datetime.fromtimestamp((EVENT_MS + offset_ms) / 1000, UTC).replace(tzinfo=None)


def _text(offset_ms: int) -> str:
    """An event's time as the CSV holds it (the Glue table's string column)."""
    return _at(offset_ms).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


# Per configuration of glue_columns.json: the rows DuckDB must read, in event order.
EXPECTED_ROWS: dict[str, list[dict[str, Any]]] = {
    "columns_json_paths_keep_raw": [
        {
            "ts": _at(0),
            "log_group": "GROUP",
            "level": "info",
            "user_id": 42,
            "latency_ms": 12.5,
            "ok": True,
            "first_sku": "A-1",
            "user_name": "ann",
            "retries": 3,
            "_raw": None,
        },
        {
            "ts": _at(1),
            "log_group": "GROUP",
            "level": None,
            "user_id": None,
            "latency_ms": None,
            "ok": None,
            "first_sku": None,
            "user_name": None,
            "retries": None,
            "_raw": "not json at all",
        },
    ],
    "csv_regex_keep_raw": [
        {
            "at": _text(0),
            "level": "WARN",
            "took_ms": 120,
            "rest": 'cache miss, "x"',
            "stream": "web-1",
            "_raw": None,
        },
        {
            "at": _text(1),
            "level": None,
            "took_ms": None,
            "rest": None,
            "stream": "web-1",
            "_raw": "no match here",
        },
    ],
}


@pytest.mark.parametrize("configuration", sorted(EXPECTED_ROWS))
def test_duckdb_reads_the_output_with_the_glue_tables_columns(
    aws: MotoServer, tmp_path: Path, configuration: str
) -> None:
    case = FIXTURE[configuration]
    image_uri = ensure_built("firehose_transform")
    variables = {"image_uris": {"firehose_transform": image_uri}, **case["variables"]}
    with applied_example("cloudwatch-to-athena", aws, variables) as outputs:
        logs = aws.client("logs")
        group = outputs["log_group_name"]
        logs.create_log_stream(logGroupName=group, logStreamName="web-1")
        logs.put_log_events(
            logGroupName=group,
            logStreamName="web-1",
            logEvents=[{"timestamp": EVENT_MS + i, "message": m} for i, m in enumerate(case["messages"])],
        )
        function = aws.client("lambda").get_function_configuration(
            FunctionName=outputs["lambda_function_name"]
        )
        environment = function["Environment"]["Variables"]
        assert environment["OUTPUT_FORMAT"] == case["variables"]["output_format"]

        delivery = deliver(
            aws,
            outputs["delivery_stream_name"],
            lambda event: invoke_from_context("firehose_transform", event, env={**aws.env(), **environment}),
        )
        assert delivery.results == {"Ok": 1, "Dropped": 0, "ProcessingFailed": 0}

        bucket = outputs["bucket_name"]
        table = glue_duckdb.glue_table(
            aws.client("glue"), outputs["glue_database_name"], outputs["glue_table_name"]
        )
        assert table.columns == [(c["name"], c["type"]) for c in case["glue_columns"]]
        assert table.serde == case["serde"]
        keys = glue_duckdb.download(aws.client("s3"), bucket, "logs/", tmp_path)
        assert keys == delivery.keys
        today = time.strftime("%Y/%m/%d", time.gmtime())
        assert {glue_duckdb.partition_of(table, bucket, key)["dt"] for key in keys} == {today}

        rows = glue_duckdb.read(table, [tmp_path / key for key in keys])

    expected = [
        {name: group if value == "GROUP" else value for name, value in row.items()}
        for row in EXPECTED_ROWS[configuration]
    ]
    assert rows == expected
