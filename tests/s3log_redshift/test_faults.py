"""The fault matrix of the s3log-redshift handler (issue 11).

Every call the handler makes fails in turn (S3 GetObject of a log object and of the staged files,
S3 PutObject; the Redshift Data API's BatchExecuteStatement, DescribeStatement, a failed or aborted
statement, a statement that never finishes; PostgreSQL refusing the connection, dropping it in the
middle of the load, refusing a statement; the invocation timing out after the commit), as
throttling, 5xx, access denied or a timeout. Then SQS redelivers the failed messages as it does
(standins.RedrivenQueue: the reported messages come back, after the module's maxReceiveCount they
go to the DLQ), until the queue is empty. Every log line is then counted: loaded exactly once (a
row in PostgreSQL), rejected with its reason, or its message parked in the DLQ; never lost, never
doubled.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError, ResponseStreamingError

from devtools.lambda_runtime import FakeLambdaContext
from logpipes.s3log_redshift import app, handler
from logpipes.s3log_redshift.dialect import Redshift
from logpipes.s3log_redshift.events import source_objects
from logpipes.s3log_redshift.executor import DataApiExecutor, DataApiTarget
from logpipes.s3log_redshift.loader import Loader, Staging
from logpipes.s3log_redshift.parser import Unparsed, parse_line
from logpipes.s3log_redshift.postgres import PostgresExecutor
from logpipes.s3log_redshift.schema import TableNames
from logpipes.s3log_redshift.settings import Settings

from .conftest import STAGING_BUCKET, Database
from .helpers import sample_lines
from .standins import RedrivenQueue, RedshiftDataOnPostgres, module_default
from .test_load_postgres import LEDGER, TABLE, put_log_objects, rejects_of

MAX_RECEIVE_COUNT = module_default("max_receive_count")  # 5: the module's redrive policy
# Smaller than the module's 500 so that failed and good messages share batches in every way.
BATCH_SIZE = 3
ROLE = "arn:aws:iam::123456789012:role/logpipes-copy"


@pytest.fixture(autouse=True)
def _fresh_loader() -> Iterator[None]:
    yield
    app._loader_for.cache_clear()


def log_objects(shared_data: Path) -> dict[str, str]:
    """8 objects of real lines; two also hold lines that must be rejects (one out of range)."""
    lines = sample_lines(shared_data)
    objects = {
        f"2024-03-03-12-{index:02d}": "\n".join(lines[index * 4 : index * 4 + 4]) + "\n" for index in range(7)
    }
    objects["2024-03-03-12-07"] = "\n".join(lines[28:]) + "\n"
    objects["2024-03-03-12-01"] += "not an access log line\n\n"
    objects["2024-03-03-12-05"] += lines[0].replace(" 200 ", " 99999 ", 1) + "\n"
    return objects


@dataclass
class Tally:
    """Where every non-blank line of the input ended up."""

    lines: int = 0
    loaded_once: int = 0
    rejected: int = 0
    parked: int = 0  # its message is in the DLQ and the line is not loaded
    parked_but_loaded: int = 0  # its message is in the DLQ, yet the line did load (once)
    lost: list[tuple[str, int]] = field(default_factory=list)
    doubled: list[tuple[str, int]] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.lines} lines: {self.loaded_once} loaded once ({self.parked_but_loaded} of them with the"
            f" message parked too), {self.rejected} rejected, {self.parked} parked, {len(self.lost)} lost,"
            f" {len(self.doubled)} doubled"
        )


def tally(objects: dict[str, str], queue: RedrivenQueue, database: Database, s3: Any) -> Tally:
    result = Tally()
    parked = {source.key for body in queue.dead_letter_bodies for source in source_objects(body)}
    loaded = Counter(database.query(f"SELECT source_key, source_line FROM {TABLE}"))
    for name, text in objects.items():
        key = f"s3-access/{name}"
        rejects = {record["line_number"]: record["reason"] for record in rejects_of(s3, key)}
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            result.lines += 1
            copies = loaded[(key, number)]
            expected_reject = isinstance(parse_line(line), Unparsed)
            if copies > 1 or (copies and number in rejects):
                result.doubled.append((key, number))
            elif copies == 1:
                assert not expected_reject, (key, number)
                result.loaded_once += 1
                result.parked_but_loaded += key in parked
            elif number in rejects:
                assert expected_reject and rejects[number], (key, number)
                result.rejected += 1
            elif key in parked:
                result.parked += 1
            else:
                result.lost.append((key, number))
    # The ledger: one row per loaded object, whatever the number of deliveries.
    ledger = database.query(f"SELECT source_key, count(*) FROM {LEDGER} GROUP BY 1")
    assert all(count == 1 for _, count in ledger), ledger
    return result


# --- errors as the AWS SDK raises them -------------------------------------------------------------


def client_error(code: str, status: int, operation: str) -> Callable[[], None]:
    def fail() -> None:
        error = {
            "Error": {"Code": code, "Message": f"injected {code}"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }
        raise ClientError(error, operation)  # type: ignore[arg-type]

    return fail


def read_timeout() -> None:
    raise ReadTimeoutError(endpoint_url="https://injected.amazonaws.com")


S3_ERRORS = {
    "throttling": lambda operation: client_error("SlowDown", 503, operation),
    "500": lambda operation: client_error("InternalError", 500, operation),
    "access-denied": lambda operation: client_error("AccessDenied", 403, operation),
    "timeout": lambda operation: read_timeout,
}
DATA_API_ERRORS = {
    "throttling": lambda operation: client_error("ThrottlingException", 400, operation),
    "500": lambda operation: client_error("InternalServerException", 500, operation),
    "access-denied": lambda operation: client_error("AccessDeniedException", 403, operation),
    "timeout": lambda operation: read_timeout,
}


class S3Faults:
    """Fail the next ``times`` S3 calls of an operation on one bucket (botocore event hooks)."""

    def __init__(self, s3: Any) -> None:
        self._s3 = s3

    def fail(self, operation: str, bucket: str, error: Callable[[], None], times: int) -> None:
        remaining = [times]

        def hook(params: dict[str, Any], **_: Any) -> None:
            if params.get("Bucket") == bucket and remaining[0] > 0:
                remaining[0] -= 1
                error()

        self._s3.meta.events.register(f"provide-client-params.s3.{operation}", hook)

    def break_stream(self, bucket: str, times: int) -> None:
        """GetObject answers, then the body fails after its first chunk (a connection reset)."""
        remaining, current = [times], [""]

        def note_bucket(params: dict[str, Any], **_: Any) -> None:
            current[0] = params.get("Bucket", "")

        def break_body(parsed: dict[str, Any], **_: Any) -> None:
            if current[0] == bucket and remaining[0] > 0 and "Body" in parsed:
                remaining[0] -= 1
                parsed["Body"] = _BrokenBody(parsed["Body"])

        self._s3.meta.events.register("provide-client-params.s3.GetObject", note_bucket)
        self._s3.meta.events.register("after-call.s3.GetObject", break_body)


class _BrokenBody:
    def __init__(self, body: Any) -> None:
        self._body = body

    def iter_chunks(self, chunk_size: int) -> Iterator[bytes]:
        yield self._body.read(64)
        raise ResponseStreamingError(error="Connection broken: IncompleteRead(64 bytes read)")


# --- the run -------------------------------------------------------------------------------------


@dataclass
class Pipeline:
    """The handler with its clients reachable, the objects uploaded and the queue filled."""

    objects: dict[str, str]
    queue: RedrivenQueue
    s3: Any  # the loader's S3 client
    s3_faults: S3Faults
    data_api: RedshiftDataOnPostgres | None
    database: Database
    invoke: Callable[[dict[str, Any]], Any]


class FakeClock:
    """time.monotonic for the Data API executor's polling: its sleeps advance it."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    def sleep(self, seconds: float) -> None:
        self.offset += seconds


def pipeline(backend: str, shared_data: Path, buckets: Any, loader_env: dict[str, str], database: Database,
             monkeypatch: pytest.MonkeyPatch) -> Pipeline:  # fmt: skip
    objects = log_objects(shared_data)
    queue = RedrivenQueue(put_log_objects(buckets, objects), MAX_RECEIVE_COUNT, BATCH_SIZE)
    data_api = None
    if backend == "postgresql":
        loader = app._loader_for(Settings.from_env(loader_env))
    else:
        # The Data API executor as in Lambda, against a Data API on the test's PostgreSQL; Redshift
        # reads the staged files with its own role, so with a client of its own.
        data_api = RedshiftDataOnPostgres(database.dsn, boto3.client("s3"))
        clock = FakeClock()
        executor = DataApiExecutor(
            data_api, DataApiTarget("dev", cluster_identifier="analytics"), Redshift(ROLE), clock.sleep, clock
        )
        names = TableNames(database.schema, "access_log", "access_log_ledger")
        loader = Loader(boto3.client("s3"), executor, names, Staging(STAGING_BUCKET))
        monkeypatch.setattr(app, "_loader_for", lambda settings: loader)
    loader.ensure_tables(time.monotonic() + 60)  # so that faults can be armed in the tables

    def invoke(event: dict[str, Any]) -> Any:
        return handler(event, FakeLambdaContext())

    return Pipeline(objects, queue, loader._s3, S3Faults(loader._s3), data_api, database, invoke)


def run(pipe: Pipeline) -> Tally:
    pipe.queue.drain(pipe.invoke)
    result = tally(pipe.objects, pipe.queue, pipe.database, pipe.s3)
    print(
        f"{result.summary()}; {pipe.queue.invocations} invocations, {len(pipe.queue.dead_letters)} in the DLQ"
    )
    assert result.lost == [] and result.doubled == []
    assert result.lines == 33
    return result


LOG = "photo-service-logs"


# Faults that a later delivery gets past: everything loads once, nothing parks.
def _s3_transient() -> list[Any]:
    cases = []
    for kind in S3_ERRORS:
        cases.append(pytest.param("GetObject", LOG, kind, id=f"s3-get-log-object-{kind}"))
        cases.append(pytest.param("GetObject", STAGING_BUCKET, kind, id=f"s3-get-staged-file-{kind}"))
        cases.append(pytest.param("PutObject", STAGING_BUCKET, kind, id=f"s3-put-staging-{kind}"))
    return cases


@pytest.mark.slow
@pytest.mark.parametrize(("operation", "bucket", "kind"), _s3_transient())
def test_s3_fault_then_redelivery(
    operation: str, bucket: str, kind: str, shared_data: Path, buckets: Any, loader_env: dict[str, str],
    database: Database, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    pipe = pipeline("postgresql", shared_data, buckets, loader_env, database, monkeypatch)
    pipe.s3_faults.fail(operation, bucket, S3_ERRORS[kind](operation), times=3)
    result = run(pipe)
    assert (result.loaded_once, result.rejected, result.parked) == (31, 2, 0)


@pytest.mark.slow
def test_s3_body_broken_mid_stream(
    shared_data: Path, buckets: Any, loader_env: dict[str, str], database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    pipe = pipeline("postgresql", shared_data, buckets, loader_env, database, monkeypatch)
    pipe.s3_faults.break_stream(LOG, times=4)
    result = run(pipe)
    assert (result.loaded_once, result.rejected, result.parked) == (31, 2, 0)


@pytest.mark.slow
def test_s3_access_denied_for_good_parks_only_that_object(
    shared_data: Path, buckets: Any, loader_env: dict[str, str], database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """A log object the loader may never read: its message goes to the DLQ after maxReceiveCount
    deliveries, the others load."""
    pipe = pipeline("postgresql", shared_data, buckets, loader_env, database, monkeypatch)

    def hook(params: dict[str, Any], **_: Any) -> None:
        if params.get("Key") == "s3-access/2024-03-03-12-03":
            client_error("AccessDenied", 403, "GetObject")()

    pipe.s3.meta.events.register("provide-client-params.s3.GetObject", hook)
    result = run(pipe)
    assert (result.loaded_once, result.rejected, result.parked) == (27, 2, 4)
    assert [message.receive_count for message in pipe.queue.dead_letters] == [MAX_RECEIVE_COUNT]


@pytest.mark.slow
def test_staging_bucket_unwritable_parks_everything(
    shared_data: Path, buckets: Any, loader_env: dict[str, str], database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    pipe = pipeline("postgresql", shared_data, buckets, loader_env, database, monkeypatch)
    pipe.s3_faults.fail("PutObject", STAGING_BUCKET, S3_ERRORS["access-denied"]("PutObject"), times=10**6)
    result = run(pipe)
    assert (result.loaded_once, result.rejected, result.parked) == (0, 0, 33)
    assert len(pipe.queue.dead_letters) == 8


def _data_api_cases() -> list[Any]:
    cases = []
    for kind in DATA_API_ERRORS:
        cases.append(pytest.param("batch_execute_statement", kind, "before", id=f"batch-execute-{kind}"))
        cases.append(pytest.param("describe_statement", kind, "before", id=f"describe-{kind}"))
    # The request reached Redshift and committed, but its answer was lost.
    cases.append(pytest.param("batch_execute_statement", "timeout", "after", id="batch-execute-answer-lost"))
    cases.append(pytest.param("execute_statement", "throttling", "before", id="load-error-query-throttling"))
    return cases


@pytest.mark.slow
@pytest.mark.parametrize(("operation", "kind", "when"), _data_api_cases())
def test_data_api_fault_then_redelivery(
    operation: str, kind: str, when: str, shared_data: Path, buckets: Any, loader_env: dict[str, str],
    database: Database, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    pipe = pipeline("redshift-data", shared_data, buckets, loader_env, database, monkeypatch)
    assert pipe.data_api is not None
    faults = pipe.data_api.faults if when == "before" else pipe.data_api.after_faults
    faults[operation] = [DATA_API_ERRORS[kind](operation)] * 3
    if operation == "execute_statement":  # only read after a failed COPY: make one fail
        pipe.data_api.fail_batches = ["ERROR: Load into table 's3log_stage' failed."]
    result = run(pipe)
    assert (result.loaded_once, result.rejected, result.parked) == (31, 2, 0)
    assert pipe.data_api.calls[operation] >= 1


@pytest.mark.slow
@pytest.mark.parametrize("status", ["FAILED", "ABORTED", "hang"])
def test_data_api_statement_failed_aborted_or_never_finishing(
    status: str, shared_data: Path, buckets: Any, loader_env: dict[str, str], database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """FAILED (e.g. a serializable isolation violation) splits the batch; ABORTED and a statement
    still running at the deadline (cancelled) fail the attempt's messages."""
    pipe = pipeline("redshift-data", shared_data, buckets, loader_env, database, monkeypatch)
    assert pipe.data_api is not None
    if status == "FAILED":
        pipe.data_api.fail_batches = ["ERROR: 1023 DETAIL: Serializable isolation violation"] * 3
    elif status == "ABORTED":
        pipe.data_api.abort_batches = 3
    else:
        pipe.data_api.hang = 2
    result = run(pipe)
    assert (result.loaded_once, result.rejected, result.parked) == (31, 2, 0)
    if status == "hang":
        assert pipe.data_api.calls["cancel_statement"] == 2


@pytest.mark.slow
def test_data_api_describe_always_failing_parks_loaded_objects_without_doubling(
    shared_data: Path, buckets: Any, loader_env: dict[str, str], database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The worst case: every load commits but its outcome is never seen. Each redelivery loads
    nothing new (the ledger), and the messages end in the DLQ though their rows are in."""
    pipe = pipeline("redshift-data", shared_data, buckets, loader_env, database, monkeypatch)
    assert pipe.data_api is not None
    pipe.data_api.faults["describe_statement"] = [DATA_API_ERRORS["500"]("DescribeStatement")] * 10**4
    result = run(pipe)
    assert (result.loaded_once, result.parked_but_loaded, result.rejected) == (31, 31, 2)
    # CREATE … IF NOT EXISTS once, then one load per invocation; every message delivered
    # maxReceiveCount times before SQS moved it.
    assert pipe.data_api.calls["batch_execute_statement"] == 1 + pipe.queue.invocations
    assert [message.receive_count for message in pipe.queue.dead_letters] == [MAX_RECEIVE_COUNT] * 8


# --- PostgreSQL, the local executor ----------------------------------------------------------------


def arm_trigger(database: Database, action: str, times: int) -> None:
    """Make the ledger INSERT of the next ``times`` loads do ``action`` (a sequence survives rollback)."""
    database.query(f"CREATE SEQUENCE {{schema}}.faults MAXVALUE {times + 10**6}")
    database.query(
        "CREATE FUNCTION {schema}.fault() RETURNS trigger LANGUAGE plpgsql AS"
        f" $$BEGIN IF nextval('{{schema}}.faults') <= {times} THEN {action}; END IF; RETURN NULL; END$$"
    )
    database.query(
        f"CREATE TRIGGER fault AFTER INSERT ON {LEDGER}"
        " FOR EACH STATEMENT EXECUTE FUNCTION {schema}.fault()"
    )


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["connection-refused", "connection-killed-mid-load", "statement-refused"])
def test_postgres_fault_then_redelivery(
    fault: str, shared_data: Path, buckets: Any, loader_env: dict[str, str], database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    pipe = pipeline("postgresql", shared_data, buckets, loader_env, database, monkeypatch)
    if fault == "connection-refused":
        refusals = [3]
        connect = PostgresExecutor._connect

        def refuse(self: PostgresExecutor) -> psycopg.Connection[Any]:
            if refusals[0] > 0:
                refusals[0] -= 1
                raise psycopg.OperationalError("connection to server at 127.0.0.1 failed: Connection refused")
            return connect(self)

        monkeypatch.setattr(PostgresExecutor, "_connect", refuse)
    elif fault == "connection-killed-mid-load":
        arm_trigger(database, "PERFORM pg_terminate_backend(pg_backend_pid())", times=3)
    else:
        arm_trigger(database, "RAISE EXCEPTION 'could not extend file: No space left on device'", times=3)
    result = run(pipe)
    assert (result.loaded_once, result.rejected, result.parked) == (31, 2, 0)


@pytest.mark.slow
def test_invocation_timing_out_after_the_commit_loads_nothing_twice(
    shared_data: Path, buckets: Any, loader_env: dict[str, str], database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Lambda times out after the load committed: SQS redelivers the whole batch, every time, until
    the DLQ. The ledger makes each redelivery load nothing: the rows are in exactly once."""
    pipe = pipeline("postgresql", shared_data, buckets, loader_env, database, monkeypatch)
    real = pipe.invoke

    def times_out(event: dict[str, Any]) -> Any:
        real(event)
        raise TimeoutError("Task timed out after 300.00 seconds")

    pipe.invoke = times_out
    result = run(pipe)
    assert (result.loaded_once, result.parked_but_loaded, result.rejected) == (31, 31, 2)
    assert len(pipe.queue.dead_letters) == 8
