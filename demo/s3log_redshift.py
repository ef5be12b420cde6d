"""Demo of the s3log-redshift pipeline on moto, with PostgreSQL standing in for Redshift.

1. Apply examples/s3-access-logs-to-redshift (log bucket with the photo bucket's access logging,
   notification queue and dead-letter queue, loader Lambda, staging bucket, roles, alarms).
2. Smoke-test the built image context: invoke the handler from build/s3log_redshift/package, in an
   isolated interpreter as Lambda would, with the test event S3 sends to a new notification queue.
3. Deliver access log objects as S3 would (the real samples in demo/data/s3_access_logs, plus one
   object with damaged lines); S3 notifies the queue.
4. Stand in for the event source mapping, which moto does not run: receive the notifications and
   hand them to the handler in one batch, configured as deployed but with the PostgreSQL backend
   (a throwaway PostgreSQL 15 on loopback, devtools.postgres): same staged files, same manifests,
   same SQL. Then deliver the same batch again, as SQS may.
5. Print what landed: rows, ledger, rejects, and a query.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from devtools.lambda_runtime import FakeLambdaContext, invoke_from_context
from devtools.moto_server import MotoServer
from devtools.postgres import PostgresServer
from devtools.terraform import applied_example
from logpipes.s3log_redshift import app, handler

DATA = Path(__file__).resolve().parent / "data" / "s3_access_logs"
EXAMPLE = "s3-access-logs-to-redshift"


@contextmanager
def environment(variables: Mapping[str, str]) -> Iterator[None]:
    """os.environ with ``variables`` set, restored afterwards."""
    saved = dict(os.environ)
    os.environ.update(variables)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def receive_all(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        messages += batch
    return messages


def lambda_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The SQS event the event source mapping would hand the function."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


def deliver_logs(s3: Any, bucket: str, prefix: str) -> dict[str, int]:
    """Put the sample logs as S3's log delivery would name them; return key -> line count."""
    delivered = {}
    for number, path in enumerate(sorted(DATA.glob("*.log"))):
        key = f"{prefix}2024-03-03-12-{number:02d}-00-{path.stem[:24].upper()}"
        s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
        delivered[key] = len(path.read_text().splitlines())
    # A damaged object: a truncated line and a line from another log format among good ones.
    lines = (DATA / "awsdocs_LogFormat_2019-06_awsexamplebucket.log").read_text().splitlines()
    damaged = [
        lines[0],
        lines[1][:90],
        '192.0.2.3 - - [06/Feb/2019:00:00:38 +0000] "GET / HTTP/1.1" 200 5',
        lines[2],
    ]
    key = f"{prefix}2024-03-03-12-59-00-DAMAGED"
    s3.put_object(Bucket=bucket, Key=key, Body=("\n".join(damaged) + "\n").encode())
    delivered[key] = len(damaged)
    return delivered


def print_tables(dsn: str, target: str, ledger: str) -> None:
    table, ledger_table = (sql.Identifier(*name.split(".")) for name in (target, ledger))
    with psycopg.connect(dsn, autocommit=True) as db:
        [(rows,)] = db.execute(sql.SQL("SELECT count(*) FROM {}").format(table)).fetchall()
        objects = db.execute(
            sql.SQL("SELECT source_key, lines_total, rows_staged, lines_rejected FROM {} ORDER BY 1").format(
                ledger_table
            )
        ).fetchall()
        print(f"\n{target}: {rows} rows (after two deliveries of the same batch)")
        print(f"{ledger}: {len(objects)} objects")
        for key, total, staged, rejected in objects:
            print(f"  {key.rsplit('/', 1)[-1]:52} lines {total:2}  loaded {staged:2}  rejected {rejected}")
        print("\nrequests by operation and status:")
        by_operation = sql.SQL(
            "SELECT operation, http_status, count(*), sum(coalesce(bytes_sent, 0)), min(request_time),"
            " max(request_time) FROM {} GROUP BY 1, 2 ORDER BY 3 DESC, 1"
        ).format(table)
        for operation, status, count, sent, first, last in db.execute(by_operation):
            period = f"{first:%Y-%m-%d %H:%M} .. {last:%Y-%m-%d %H:%M} UTC"
            print(f"  {operation:24} {status}  {count:2} requests  {sent:>8} bytes  {period}")
        first_put = sql.SQL(
            "SELECT request_time, remote_ip, requester, key, object_size, total_time_ms, tls_version"
            " FROM {} WHERE operation = 'REST.PUT.OBJECT' ORDER BY request_time LIMIT 1"
        ).format(table)
        put = db.execute(first_put).fetchone()
        if put is not None:
            when, ip, requester, key, size, total_ms, tls = put
            print(f"\nfirst PUT: {when:%Y-%m-%d %H:%M:%S} UTC from {ip}, key {key!r}, {size} bytes")
            print(f"  in {total_ms} ms by {requester[:16]}…; TLS version {tls} (the 2014 format predates it)")


def run(moto: MotoServer, image_uris: dict[str, str]) -> None:
    # moto has no Redshift Serverless API: load into a named cluster instead of creating a workgroup.
    variables = {"image_uris": image_uris, "redshift_cluster_identifier": "photo-analytics"}
    with applied_example(EXAMPLE, moto, variables) as out, PostgresServer() as postgres:
        s3, sqs, lambda_ = moto.client("s3"), moto.client("sqs"), moto.client("lambda")
        function = lambda_.get_function_configuration(FunctionName=out["lambda_function_name"])
        deployed_env = function["Environment"]["Variables"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=out["queue_url"], AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        print(
            f"applied {EXAMPLE}: log bucket {out['log_bucket']}, queue {out['queue_url'].rsplit('/', 1)[-1]}"
        )
        print(f"loader {out['lambda_function_name']} -> {out['target_table']} (PostgreSQL at {postgres.dsn})")

        # moto would receive the notifications for the event source mapping itself and try to run
        # the image function, which it cannot: disable the mapping and stand in for it.
        for mapping in lambda_.list_event_source_mappings(EventSourceArn=queue_arn)["EventSourceMappings"]:
            lambda_.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)

        # 2. The built image context, run as Lambda would, with the test event S3 sends to a newly
        # configured queue (no object: no database call).
        test_event = {
            "Service": "Amazon S3",
            "Event": "s3:TestEvent",
            "Time": "2024-03-03T12:00:00.000Z",
            "Bucket": out["log_bucket"],
            "RequestId": "5582815E1AEA5ADF",
            "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE",
        }
        smoke = {"MessageId": "0f7a6c1e-1b1b-4c1d-9b1e-6a0c9e1f2a3b", "ReceiptHandle": "test",
                 "Body": json.dumps(test_event), "MD5OfBody": "0" * 32}  # fmt: skip
        result = invoke_from_context(
            "s3log_redshift",
            lambda_event([smoke], queue_arn, moto.region),
            env={**moto.env(), **deployed_env},
        )
        print(f"built image context (isolated interpreter) answered S3's test event: {result}")

        # 3. S3 delivers access logs; 4. the loader runs on the batch of notifications, twice.
        delivered = deliver_logs(s3, out["log_bucket"], out["log_prefix"])
        messages = receive_all(sqs, out["queue_url"])
        event = lambda_event(messages, queue_arn, moto.region)
        lines = sum(delivered.values())
        print(f"delivered {len(delivered)} log objects ({lines} lines); {len(messages)} notifications")
        database_env = {
            **moto.env(),
            **deployed_env,
            "LOADER_BACKEND": "postgresql",
            "POSTGRES_DSN": postgres.dsn,
        }
        with environment(database_env):
            try:
                first = handler(event, FakeLambdaContext(function_name=out["lambda_function_name"]))
                again = handler(event, FakeLambdaContext(function_name=out["lambda_function_name"]))
            finally:
                app._loader_for.cache_clear()
        print(
            f"first delivery: failures {first['batchItemFailures']}; redelivery: {again['batchItemFailures']}"
        )

        # 5. What landed.
        print_tables(postgres.dsn, out["target_table"], out["ledger_table"])

        rejects = s3.list_objects_v2(Bucket=out["staging_bucket"], Prefix="rejects/").get("Contents", [])
        for item in rejects:
            body = gzip.decompress(
                s3.get_object(Bucket=out["staging_bucket"], Key=item["Key"])["Body"].read()
            )
            print(f"\nrejects in s3://{out['staging_bucket']}/{item['Key']}:")
            for line in body.splitlines():
                record = json.loads(line)
                print(f"  line {record['line_number']}: {record['reason']}: {record['line'][:70]!r}")
