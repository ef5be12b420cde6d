"""examples/cloudwatch-custom-transform end to end against moto: the example's own package built into
the image (build.py --extra-package), the stack applied, logfmt events in, and the rows the
transform wrote read back by DuckDB through the applied Glue table (its columns are the example's
columns variable: the keys the transform writes, converted to their types by the handler)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devtools.firehose import deliver
from devtools.lambda_runtime import context_dir, ensure_built, invoke_from_context
from devtools.moto_server import MotoServer
from devtools.terraform import applied_example
from tests.firehose_transform import glue_duckdb

pytestmark = [pytest.mark.terraform, pytest.mark.moto, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "examples" / "cloudwatch-custom-transform" / "transform" / "mytransform"
REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
EVENT_MS = 1_796_378_400_123  # 2026-12-04 10:00:00.123 UTC
MESSAGES = [
    'level=INFO msg="user signed in" user_id=42 duration_ms=12.5',
    "level=info path=/health msg=ok",  # a health check: the transform drops it
    "GET / HTTP/1.1 200",  # no level: dropped too
    'level=ERROR msg="payment, declined: \\"card\\"" user_id=not-a-number',
]


def _build_with_the_example_package() -> str:
    """build.py firehose_transform --extra-package <the example's package>; the image URI."""
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "build.py"),
            "firehose_transform",
            "--registry",
            REGISTRY,
            "--extra-package",
            str(PACKAGE),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads((REPO / "build" / "images.auto.tfvars.json").read_text())["image_uris"][
        "firehose_transform"
    ]


def _at(offset_ms: int) -> datetime:
    return datetime.fromtimestamp((EVENT_MS + offset_ms) / 1000, UTC).replace(tzinfo=None)


def test_custom_transform_rows_land_in_s3_as_the_glue_table_declares(aws: MotoServer, tmp_path: Path) -> None:
    image_uri = _build_with_the_example_package()
    assert (context_dir("firehose_transform") / "mytransform" / "logfmt.py").is_file()
    try:
        with applied_example(
            "cloudwatch-custom-transform", aws, {"image_uris": {"firehose_transform": image_uri}}
        ) as (outputs):
            logs = aws.client("logs")
            group = outputs["log_group_name"]
            logs.create_log_stream(logGroupName=group, logStreamName="web-1")
            logs.put_log_events(
                logGroupName=group,
                logStreamName="web-1",
                logEvents=[{"timestamp": EVENT_MS + i, "message": m} for i, m in enumerate(MESSAGES)],
            )
            function = aws.client("lambda").get_function_configuration(
                FunctionName=outputs["lambda_function_name"]
            )
            environment = function["Environment"]["Variables"]
            assert environment["OUTPUT_FORMAT"] == "custom"
            assert environment["TRANSFORM_FUNCTION"] == "mytransform.logfmt:transform"

            # build/ is shared: rebuilt without the package meanwhile (by another test), it gets it back.
            _build_with_the_example_package()
            delivery = deliver(
                aws,
                outputs["delivery_stream_name"],
                lambda event: invoke_from_context(
                    "firehose_transform", event, env={**aws.env(), **environment}
                ),
            )
            assert delivery.results == {"Ok": 1, "Dropped": 0, "ProcessingFailed": 0}

            bucket = outputs["bucket_name"]
            database, name = outputs["glue_database_name"], outputs["glue_table_name"]
            table = glue_duckdb.glue_table(aws.client("glue"), database, name)
            keys = glue_duckdb.download(aws.client("s3"), bucket, "logs/", tmp_path)
            assert keys == delivery.keys
            assert {glue_duckdb.partition_of(table, bucket, k)["dt"] for k in keys} == {
                time.strftime("%Y/%m/%d", time.gmtime())
            }
            files = [tmp_path / key for key in keys]
            lines = [json.loads(line) for f in files for line in glue_duckdb.gunzip_lines(f)]
            rows = glue_duckdb.read(table, files)
    finally:
        ensure_built("firehose_transform")  # the shared context without the example's package again

    # The JSON lines carry exactly the Glue table's columns, in order.
    assert [list(line) for line in lines] == [[column for column, _ in table.columns]] * 2
    assert table.columns == [
        ("ts", "timestamp"),
        ("level", "string"),
        ("msg", "string"),
        ("user_id", "bigint"),
        ("duration_ms", "double"),
        ("log_stream", "string"),
    ]
    assert rows == [
        {
            "ts": _at(0),
            "level": "info",
            "msg": "user signed in",
            "user_id": 42,
            "duration_ms": 12.5,
            "log_stream": "web-1",
        },
        {
            "ts": _at(3),
            "level": "error",
            "msg": 'payment, declined: "card"',
            "user_id": None,  # not a number: NULL (counted in ValuesNotConverted)
            "duration_ms": None,
            "log_stream": "web-1",
        },
    ]
