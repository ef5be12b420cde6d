"""The Redshift Data API executor: exact requests (botocore Stubber, since moto has no
BatchExecuteStatement), polling with backoff, failure reporting, and what moto's redshift-data does
implement (ExecuteStatement, DescribeStatement, CancelStatement)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from devtools.moto_server import MotoServer
from logpipes.s3log_redshift.dialect import (
    CopyStaged,
    Redshift,
    Sql,
    create_statements,
    load_statements,
    render,
)
from logpipes.s3log_redshift.events import SourceObject
from logpipes.s3log_redshift.executor import LOAD_ERRORS_SQL, DataApiExecutor, DataApiTarget, LoadError
from logpipes.s3log_redshift.loader import Loader, Staging
from logpipes.s3log_redshift.schema import TableNames

from .conftest import LOG_BUCKET, STAGING_BUCKET
from .helpers import sample_lines

ROLE = "arn:aws:iam::123456789012:role/logpipes-copy"
SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:redshift-loader-AbCdEf"
NAMES = TableNames(schema="logs", table="access_log", ledger="access_log_ledger")
CLUSTER = DataApiTarget(database="dev", cluster_identifier="analytics", secret_arn=SECRET)
STATEMENT_ID = "d9b6c0c9-0747-4bf4-b142-e8883122f766"


class FakeClock:
    """time.monotonic and time.sleep for the executor: sleeping advances the clock."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def data_api_client() -> Any:
    return boto3.client(
        "redshift-data", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


def described(status: str, **extra: Any) -> dict[str, Any]:
    return {"Id": STATEMENT_ID, "Status": status, **extra}


def sub_statements(count: int, rows: dict[int, int] | None = None) -> list[dict[str, Any]]:
    return [
        {"Id": f"{STATEMENT_ID}:{index + 1}", "Status": "FINISHED", "ResultRows": (rows or {}).get(index, 0)}
        for index in range(count)
    ]


def test_create_statements_are_one_batch_request_then_polled_with_backoff() -> None:
    client, clock = data_api_client(), FakeClock()
    executor = DataApiExecutor(client, CLUSTER, Redshift(ROLE), sleep=clock.sleep, clock=clock)
    statements = create_statements(executor.dialect, NAMES)
    with Stubber(client) as stub:
        stub.add_response(
            "batch_execute_statement",
            {"Id": STATEMENT_ID, "ClusterIdentifier": "analytics", "Database": "dev", "SecretArn": SECRET},
            {
                "Sqls": [render(executor.dialect, statement) for statement in statements],
                "StatementName": "logpipes-s3log-redshift",
                "ClusterIdentifier": "analytics",
                "Database": "dev",
                "SecretArn": SECRET,
            },
        )
        for status in ("SUBMITTED", "PICKED", "STARTED"):
            stub.add_response("describe_statement", described(status), {"Id": STATEMENT_ID})
        stub.add_response(
            "describe_statement", described("FINISHED", SubStatements=sub_statements(3)), {"Id": STATEMENT_ID}
        )

        assert executor.run(statements, deadline=clock.now + 60) == [0, 0, 0]
        stub.assert_no_pending_responses()
    assert clock.sleeps == [0.25, 0.5, 1.0]


def test_workgroup_with_iam_identity_sends_no_credentials_parameters() -> None:
    client, clock = data_api_client(), FakeClock()
    target = DataApiTarget(database="logs", workgroup_name="photo-analytics")
    executor = DataApiExecutor(client, target, Redshift(ROLE), sleep=clock.sleep, clock=clock)
    with Stubber(client) as stub:
        stub.add_response(
            "batch_execute_statement",
            {"Id": STATEMENT_ID},
            {"Sqls": ["SELECT 1"], "StatementName": "logpipes-s3log-redshift",
             "WorkgroupName": "photo-analytics", "Database": "logs"},
        )  # fmt: skip
        stub.add_response(
            "describe_statement", described("FINISHED", SubStatements=sub_statements(1, {0: 1}))
        )
        assert executor.run([Sql("SELECT 1")], deadline=clock.now + 60) == [1]


def test_loader_sends_one_transaction_with_two_copies_of_the_staged_manifests(
    aws: MotoServer, shared_data: Any
) -> None:
    """The Redshift statement sequence, for files really staged in (moto) S3."""
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=LOG_BUCKET)
    s3.create_bucket(Bucket=STAGING_BUCKET)
    lines = sample_lines(shared_data)
    s3.put_object(Bucket=LOG_BUCKET, Key="logs/a", Body="\n".join(lines[:4]).encode())
    s3.put_object(Bucket=LOG_BUCKET, Key="logs/b", Body=lines[9].encode())
    client, clock = data_api_client(), FakeClock()
    executor = DataApiExecutor(client, CLUSTER, Redshift(ROLE), sleep=clock.sleep, clock=clock)
    loader = Loader(s3, executor, NAMES, Staging(bucket=STAGING_BUCKET))
    staged = [loader.stage(SourceObject(LOG_BUCKET, key), "batch-1") for key in ("logs/a", "logs/b")]
    captured: list[list[str]] = []

    def capture(model: Any, params: dict[str, Any], **_: Any) -> None:
        captured.append(params["Sqls"])

    client.meta.events.register("provide-client-params.redshift-data.BatchExecuteStatement", capture)
    with Stubber(client) as stub:
        stub.add_response("batch_execute_statement", {"Id": STATEMENT_ID})
        stub.add_response("describe_statement", described("STARTED"))
        # Statement 6 inserts the 5 rows, statement 8 the 2 new ledger rows.
        stub.add_response(
            "describe_statement", described("FINISHED", SubStatements=sub_statements(9, {5: 5, 7: 2}))
        )

        result = loader.load(staged, "batch-1", deadline=clock.now + 60)

    assert (result.objects, result.new_objects, result.inserted_rows, result.copy_statements) == (2, 2, 5, 2)
    (sqls,) = captured
    assert [" ".join(sql.split()[:3]) for sql in sqls] == [
        "LOCK logs.access_log_ledger",
        "CREATE TEMP TABLE",
        "COPY s3log_ledger_stage (source_bucket,",
        "CREATE TEMP TABLE",
        "COPY s3log_stage (source_key,",
        "INSERT INTO logs.access_log",
        "DROP TABLE s3log_stage",
        "INSERT INTO logs.access_log_ledger",
        "DROP TABLE s3log_ledger_stage",
    ]
    copies = [sql for sql in sqls if sql.startswith("COPY")]
    assert copies == [
        "COPY s3log_ledger_stage (source_bucket, source_key, source_etag, source_size, lines_total,"
        f" rows_staged, lines_rejected, batch_id, staged_at) FROM 's3://{STAGING_BUCKET}/staging/batch-1/objects.manifest'"
        f" IAM_ROLE '{ROLE}' MANIFEST FORMAT AS CSV DELIMITER '\\t' NULL AS '-' GZIP TRUNCATECOLUMNS"
        " COMPUPDATE OFF STATUPDATE OFF",
        copies[1],
    ]
    assert copies[1].startswith(
        "COPY s3log_stage (source_key, source_line, bucket_owner, bucket, request_time,"
    )
    assert (
        f"FROM 's3://{STAGING_BUCKET}/staging/batch-1/data.manifest' IAM_ROLE '{ROLE}' MANIFEST" in copies[1]
    )
    # The manifest the COPY names exists and lists both staged files.
    manifest = s3.get_object(Bucket=STAGING_BUCKET, Key="staging/batch-1/data.manifest")["Body"].read()
    assert manifest.count(b"s3://") == 2


def test_failed_copy_reports_redshift_error_and_load_error_detail() -> None:
    client, clock = data_api_client(), FakeClock()
    executor = DataApiExecutor(client, CLUSTER, Redshift(ROLE), sleep=clock.sleep, clock=clock)
    statements = load_statements(
        executor.dialect, NAMES, "s3://staging/b/data.manifest", "s3://staging/b/o.manifest"
    )
    redshift_error = (
        "Load into table 's3log_stage' failed. Check 'sys_load_error_detail' system table for details."
    )
    failing = {"Id": f"{STATEMENT_ID}:5", "Status": "FAILED", "Error": redshift_error}
    subs = [*sub_statements(4), failing]
    error_query_id = "5b7c6f4e-3a1c-4e6b-9f1e-2d6c0b7a8e90"
    with Stubber(client) as stub:
        stub.add_response("batch_execute_statement", {"Id": STATEMENT_ID})
        stub.add_response(
            "describe_statement",
            described("FAILED", Error="Batch statement failed", RedshiftPid=1073815778, SubStatements=subs),
        )
        stub.add_response(
            "execute_statement",
            {"Id": error_query_id},
            {"Sql": LOAD_ERRORS_SQL, "Parameters": [{"name": "session_id", "value": "1073815778"}],
             "StatementName": "logpipes-s3log-redshift", "ClusterIdentifier": "analytics", "Database": "dev",
             "SecretArn": SECRET},
        )  # fmt: skip
        stub.add_response(
            "describe_statement", {"Id": error_query_id, "Status": "FINISHED", "HasResultSet": True}
        )
        stub.add_response(
            "get_statement_result",
            {
                "ColumnMetadata": [{"name": n} for n in ("file_name", "line_number", "column_name",
                                                            "error_code", "error_message")],
                "Records": [[
                    {"stringValue": "s3://staging/b/data/0a.csv.gz"}, {"longValue": 3},
                    {"stringValue": "http_status"}, {"longValue": 1207},
                    {"stringValue": "Invalid digit, Value 'x', Pos 0, Type: Short"},
                ]],
                "TotalNumRows": 1,
            },
            {"Id": error_query_id},
        )  # fmt: skip

        with pytest.raises(LoadError) as raised:
            executor.run(statements, deadline=clock.now + 60)

    message = str(raised.value)
    assert "load transaction FAILED: Batch statement failed" in message
    assert "statement 5 (COPY into s3log_stage) failed: Load into table 's3log_stage' failed." in message
    assert (
        "sys_load_error_detail: s3://staging/b/data/0a.csv.gz line 3 column http_status:"
        " Invalid digit, Value 'x', Pos 0, Type: Short (code 1207)" in message
    )


def test_failed_non_copy_statement_does_not_query_load_errors() -> None:
    client, clock = data_api_client(), FakeClock()
    executor = DataApiExecutor(client, CLUSTER, Redshift(ROLE), sleep=clock.sleep, clock=clock)
    failing = {"Id": f"{STATEMENT_ID}:1", "Status": "FAILED", "Error": "permission denied for schema logs"}
    with Stubber(client) as stub:
        stub.add_response("batch_execute_statement", {"Id": STATEMENT_ID})
        stub.add_response("describe_statement", described("FAILED", RedshiftPid=7, SubStatements=[failing]))
        with pytest.raises(LoadError, match="statement 1 failed: permission denied for schema logs"):
            executor.run([Sql("LOCK logs.access_log_ledger")], deadline=clock.now + 60)
        stub.assert_no_pending_responses()


def test_query_against_moto_is_cancelled_at_the_deadline(aws: MotoServer) -> None:
    """moto's redshift-data records statements but never finishes them: the deadline path."""
    client, clock = aws.client("redshift-data"), FakeClock()
    executor = DataApiExecutor(client, CLUSTER, Redshift(ROLE), sleep=clock.sleep, clock=clock)
    started: list[str] = []
    client.meta.events.register(
        "after-call.redshift-data.ExecuteStatement", lambda parsed, **_: started.append(parsed["Id"])
    )

    with pytest.raises(LoadError, match="still STARTED at the deadline: cancelled"):
        executor.query(LOAD_ERRORS_SQL, {"session_id": 42}, deadline=clock.now + 3)

    assert clock.sleeps == [0.25, 0.5, 1.0]  # 1.75 s slept; another 2 s would pass the deadline
    [statement_id] = started
    description = client.describe_statement(Id=statement_id)
    assert description["Status"] == "ABORTED"
    assert description["QueryString"] == LOAD_ERRORS_SQL
    assert description["QueryParameters"] == [{"name": "session_id", "value": "42"}]
    assert description["ClusterIdentifier"] == "analytics"
    assert description["SecretArn"] == SECRET


def test_copy_staged_renders_only_through_the_dialect() -> None:
    copy = CopyStaged("s3log_stage", ("a", "b"), "s3://staging/x'y")
    with pytest.raises(ValueError, match="cannot be used in a COPY statement"):
        render(Redshift(ROLE), copy)
