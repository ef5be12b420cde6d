"""The handler end to end: S3 and SQS on moto, rows in a real PostgreSQL, through the same load contract."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from devtools.lambda_runtime import FakeLambdaContext
from logpipes.s3log_redshift import app, handler
from logpipes.s3log_redshift.parser import FIELD_NAMES, parse_line

from .conftest import LOG_BUCKET, LOG_PREFIX, STAGING_BUCKET, Database
from .helpers import s3_notification, sample_lines, sqs_event

TABLE = "{schema}.access_log"
LEDGER = "{schema}.access_log_ledger"


@pytest.fixture(autouse=True)
def _fresh_loader() -> Any:
    """Each test has its own schema, hence its own settings: drop the cached loaders afterwards."""
    yield
    app._loader_for.cache_clear()


def put_log_objects(s3: Any, contents: dict[str, str]) -> list[str]:
    """Upload log objects under the access-log prefix; return their notification bodies."""
    bodies = []
    for name, text in contents.items():
        key = f"{LOG_PREFIX}{name}"
        s3.put_object(Bucket=LOG_BUCKET, Key=key, Body=text.encode())
        bodies.append(s3_notification(LOG_BUCKET, key, size=len(text.encode())))
    return bodies


def real_objects(shared_data: Path) -> dict[str, str]:
    """Every real sample file, as the object S3 would have delivered (one per source file)."""
    return {
        f"2024-03-03-12-00-{index:02d}-{path.stem[:20]}": path.read_text()
        for index, path in enumerate(sorted((shared_data / "s3_access_logs").glob("*.log")))
    }


def loaded_rows(database: Database) -> list[tuple[Any, ...]]:
    return database.query(f"SELECT * FROM {TABLE} ORDER BY source_key, source_line")


def rejects_of(s3: Any, key: str) -> list[dict[str, Any]]:
    """The reject records the loader wrote for the log object ``key`` (none when it wrote no file)."""
    try:
        raw = s3.get_object(Bucket=STAGING_BUCKET, Key=f"rejects/{LOG_BUCKET}/{key}.jsonl.gz")["Body"].read()
    except s3.exceptions.NoSuchKey:
        return []
    return [json.loads(line) for line in gzip.decompress(raw).splitlines()]


def test_objects_load_every_line_typed(
    shared_data: Path,
    buckets: Any,
    loader_env: dict[str, str],
    database: Database,
    lambda_context: FakeLambdaContext,
) -> None:
    objects = real_objects(shared_data)
    event = sqs_event(put_log_objects(buckets, objects))

    response = handler(event, lambda_context)

    assert response == {"batchItemFailures": []}
    lines = sample_lines(shared_data)
    rows = loaded_rows(database)
    assert len(rows) == len(lines) == 31
    # Every row read back equals the parser's typed record of its line.
    by_origin = {(row[0], row[1]): row[2:] for row in rows}
    for name, text in objects.items():
        for number, line in enumerate(text.splitlines(), start=1):
            assert by_origin[(f"{LOG_PREFIX}{name}", number)] == tuple(parse_line(line))
    # One ledger row per object, with its counts.
    ledger = database.query(
        f"SELECT source_bucket, source_key, lines_total, rows_staged, lines_rejected FROM {LEDGER} ORDER BY 2"
    )
    assert [(row[0], row[1], row[2], row[3], row[4]) for row in ledger] == [
        (LOG_BUCKET, f"{LOG_PREFIX}{name}", len(text.splitlines()), len(text.splitlines()), 0)
        for name, text in sorted(objects.items())
    ]
    # Typed columns: the 2014 PUT of s3-dg.pdf, as PostgreSQL returns it.
    put = database.query(
        f"SELECT request_time, http_status, bytes_sent, object_size, total_time_ms, turn_around_time_ms, key"
        f" FROM {TABLE} WHERE operation = 'REST.PUT.OBJECT' AND bucket = 'mybucket'"
    )
    assert put == [(datetime(2014, 2, 6, 0, 1, 57, tzinfo=UTC), 200, None, 4406583, 41754, 28, "s3-dg.pdf")]
    types = dict(
        database.query(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = %s AND table_name = 'access_log'",
            database.schema,
        )
    )
    assert types["request_time"] == "timestamp with time zone"
    assert types["http_status"] == "smallint"
    assert types["bytes_sent"] == types["object_size"] == "bigint"
    assert set(types) == {"source_key", "source_line", *FIELD_NAMES}


def test_same_batch_twice_loads_nothing_new(
    shared_data: Path,
    buckets: Any,
    loader_env: dict[str, str],
    database: Database,
    lambda_context: FakeLambdaContext,
) -> None:
    event = sqs_event(put_log_objects(buckets, real_objects(shared_data)))
    assert handler(event, lambda_context) == {"batchItemFailures": []}
    before = loaded_rows(database)

    assert handler(event, FakeLambdaContext()) == {"batchItemFailures": []}

    assert loaded_rows(database) == before
    assert database.query(f"SELECT count(*) FROM {LEDGER}") == [(9,)]


def test_duplicate_notifications_in_one_batch_load_once(
    shared_data: Path,
    buckets: Any,
    loader_env: dict[str, str],
    database: Database,
    lambda_context: FakeLambdaContext,
) -> None:
    lines = sample_lines(shared_data)
    bodies = put_log_objects(buckets, {"one": "\n".join(lines[:5]) + "\n"})

    response = handler(sqs_event(bodies * 3), lambda_context)

    assert response == {"batchItemFailures": []}
    assert database.query(f"SELECT count(*), count(DISTINCT source_line) FROM {TABLE}") == [(5, 5)]


def test_rows_of_a_half_loaded_object_are_not_inserted_twice(
    shared_data: Path,
    buckets: Any,
    loader_env: dict[str, str],
    database: Database,
    lambda_context: FakeLambdaContext,
) -> None:
    """Dedupe by object key + line number holds even without a ledger row (e.g. a manual backfill)."""
    lines = sample_lines(shared_data)
    body = put_log_objects(buckets, {"partial": "\n".join(lines[:6]) + "\n"})
    assert handler(sqs_event(body), lambda_context) == {"batchItemFailures": []}
    database.query(f"DELETE FROM {LEDGER}")
    database.query(f"DELETE FROM {TABLE} WHERE source_line > 3")

    assert handler(sqs_event(body), FakeLambdaContext()) == {"batchItemFailures": []}

    assert database.query(f"SELECT source_line FROM {TABLE} ORDER BY 1") == [(n,) for n in range(1, 7)]


def test_rejected_lines_go_to_rejects_and_good_lines_load(
    shared_data: Path,
    buckets: Any,
    loader_env: dict[str, str],
    database: Database,
    lambda_context: FakeLambdaContext,
) -> None:
    lines = sample_lines(shared_data)
    broken = lines[3].replace(" +0000]", "", 1)  # the time's bracket never closes
    assert broken != lines[3]
    text = "\n".join([lines[0], "not an access log line", "", broken, lines[1], lines[2][:60]]) + "\n"
    bodies = put_log_objects(buckets, {"mixed": text, "clean": lines[5] + "\n"})

    response = handler(sqs_event(bodies), lambda_context)

    assert response == {"batchItemFailures": []}
    assert database.query(f"SELECT source_key, source_line FROM {TABLE} ORDER BY 1, 2") == [
        (f"{LOG_PREFIX}clean", 1),
        (f"{LOG_PREFIX}mixed", 1),
        (f"{LOG_PREFIX}mixed", 5),
    ]
    rejects_key = f"rejects/{LOG_BUCKET}/{LOG_PREFIX}mixed.jsonl.gz"
    raw = buckets.get_object(Bucket=STAGING_BUCKET, Key=rejects_key)["Body"].read()
    rejects = [json.loads(line) for line in gzip.decompress(raw).splitlines()]
    assert [(r["source_key"], r["line_number"]) for r in rejects] == [
        (f"{LOG_PREFIX}mixed", 2),
        (f"{LOG_PREFIX}mixed", 4),
        (f"{LOG_PREFIX}mixed", 6),
    ]
    assert rejects[0]["line"] == "not an access log line"
    assert rejects[0]["reason"] == "no [time] field"
    assert rejects[2]["line"] == lines[2][:60]
    assert all(r["reason"] and r["source_bucket"] == LOG_BUCKET for r in rejects)
    ledger = database.query(
        f"SELECT lines_total, rows_staged, lines_rejected FROM {LEDGER} ORDER BY source_key"
    )
    assert ledger == [(1, 1, 0), (6, 2, 3)]  # the blank line is counted, neither loaded nor rejected


def test_unreadable_object_fails_only_its_message(
    shared_data: Path,
    buckets: Any,
    loader_env: dict[str, str],
    database: Database,
    lambda_context: FakeLambdaContext,
) -> None:
    lines = sample_lines(shared_data)
    good = put_log_objects(buckets, {"good": lines[0] + "\n"})
    missing = s3_notification(LOG_BUCKET, f"{LOG_PREFIX}deleted-before-load")
    event = sqs_event([good[0], missing, "not json", json.dumps({"Event": "s3:TestEvent"})])

    response = handler(event, lambda_context)

    ids = [record["messageId"] for record in event["Records"]]
    assert response == {"batchItemFailures": [{"itemIdentifier": ids[1]}, {"itemIdentifier": ids[2]}]}
    assert database.query(f"SELECT source_key FROM {TABLE}") == [(f"{LOG_PREFIX}good",)]


def test_failed_load_reports_every_staged_message_and_commits_nothing(
    shared_data: Path, buckets: Any, loader_env: dict[str, str], database: Database,
    lambda_context: FakeLambdaContext,
) -> None:  # fmt: skip
    lines = sample_lines(shared_data)
    assert handler(sqs_event(put_log_objects(buckets, {"first": lines[0] + "\n"})), lambda_context)
    # Break the target table the way a schema drift would: the COPY into the stage now fails.
    database.query(f"ALTER TABLE {TABLE} ADD COLUMN required_by_someone_else TEXT NOT NULL DEFAULT 'x'")
    database.query(f"ALTER TABLE {TABLE} ALTER COLUMN required_by_someone_else DROP DEFAULT")
    event = sqs_event(put_log_objects(buckets, {"second": lines[1] + "\n", "third": lines[2] + "\n"}))

    response = handler(event, FakeLambdaContext())

    assert response == {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}
    assert database.query(f"SELECT count(*) FROM {TABLE}") == [(1,)]
    assert database.query(f"SELECT count(*) FROM {LEDGER}") == [(1,)]


def test_staged_files_and_manifests(
    shared_data: Path,
    buckets: Any,
    loader_env: dict[str, str],
    database: Database,
    lambda_context: FakeLambdaContext,
) -> None:
    """What Redshift's COPY would read: gzip CSV files listed in a manifest, and the ledger's."""
    lines = sample_lines(shared_data)
    handler(sqs_event(put_log_objects(buckets, {"a": lines[0] + "\n", "b": lines[1] + "\n"})), lambda_context)

    keys = [item["Key"] for item in buckets.list_objects_v2(Bucket=STAGING_BUCKET)["Contents"]]
    manifests = [key for key in keys if key.endswith("/data.manifest")]
    assert len(manifests) == 1
    manifest = json.loads(buckets.get_object(Bucket=STAGING_BUCKET, Key=manifests[0])["Body"].read())
    urls = [entry["url"] for entry in manifest["entries"]]
    assert len(urls) == 2 and all(entry["mandatory"] for entry in manifest["entries"])
    rows = []
    for url in urls:
        key = url.removeprefix(f"s3://{STAGING_BUCKET}/")
        rows += gzip.decompress(
            buckets.get_object(Bucket=STAGING_BUCKET, Key=key)["Body"].read()
        ).splitlines()
    assert sorted(row.split(b"\t")[:2] for row in rows) == [[b"s3-access/a", b"1"], [b"s3-access/b", b"1"]]
    assert all(row.count(b"\t") == len(FIELD_NAMES) + 1 for row in rows)
    assert any(key.endswith("/objects.manifest") for key in keys)


def test_load_failing_for_one_object_fails_only_its_message(
    shared_data: Path, buckets: Any, loader_env: dict[str, str], database: Database,
    lambda_context: FakeLambdaContext,
) -> None:  # fmt: skip
    """A load error no line explains (here a trigger refusing one object's rows): the batch is split
    until the failing object is alone, the others load, and only its message is reported."""
    lines = sample_lines(shared_data)
    assert handler(sqs_event(put_log_objects(buckets, {"first": lines[0] + "\n"})), lambda_context)
    database.query(
        "CREATE FUNCTION {schema}.refuse() RETURNS trigger LANGUAGE plpgsql AS"
        " $$BEGIN RAISE EXCEPTION 'refused by a trigger'; END$$"
    )
    database.query(
        f"CREATE TRIGGER refuse BEFORE INSERT ON {TABLE} FOR EACH ROW"
        " WHEN (NEW.source_key = 's3-access/poison') EXECUTE FUNCTION {schema}.refuse()"
    )
    names = [f"good-{index}" for index in range(6)]
    objects = {name: lines[index + 1] + "\n" for index, name in enumerate(names)}
    objects = dict(list(objects.items())[:3]) | {"poison": lines[9] + "\n"} | dict(list(objects.items())[3:])
    event = sqs_event(put_log_objects(buckets, objects))

    response = handler(event, FakeLambdaContext())

    poison = event["Records"][3]["messageId"]
    assert response == {"batchItemFailures": [{"itemIdentifier": poison}]}
    assert database.query(f"SELECT source_key FROM {TABLE} ORDER BY 1") == [
        (f"{LOG_PREFIX}{name}",) for name in sorted(["first", *names])
    ]
    assert database.query(f"SELECT count(*) FROM {LEDGER}") == [(7,)]
