"""Soak (issue 11): 200 consecutive maximum-size batches through the handler in one process, as a
warm Lambda execution environment would run them. Memory stays flat after warm-up (< 5% growth of
the resident set), no file descriptor and no temporary file is left behind.

A batch is the module's default ``batch_size`` (500) notifications, one log object each, through
the Data API executor as in Lambda. The services are in-process stand-ins (moto and a database
would make this minutes long and measure them, not the handler): S3 serves every log object from
one template and forgets a batch's staging files once it is loaded, as the staging lifecycle rule
eventually does; the Data API finishes every batch at once. The handler's log level is WARNING so
that pytest's log capture does not grow with the run.
"""

from __future__ import annotations

import ctypes
import gc
import io
import os
import tempfile
import time
from pathlib import Path
from typing import IO, Any

import pytest
from botocore.response import StreamingBody

from devtools.lambda_runtime import FakeLambdaContext
from logpipes.s3log_redshift import app, handler
from logpipes.s3log_redshift.dialect import Redshift
from logpipes.s3log_redshift.executor import DataApiExecutor, DataApiTarget
from logpipes.s3log_redshift.loader import Loader, Staging
from logpipes.s3log_redshift.schema import TableNames

from .conftest import LOG_BUCKET, STAGING_BUCKET
from .helpers import s3_notification, sample_lines, sqs_event
from .standins import module_default

BATCHES = 200
ROLE = "arn:aws:iam::123456789012:role/logpipes-copy"
WARM_UP = 20


class _NoSuchKey(Exception):
    pass


class InProcessS3:
    """get_object / put_object / upload_fileobj, the calls the loader and the PostgreSQL executor make."""

    class exceptions:
        NoSuchKey = _NoSuchKey

    def __init__(self, log_object: bytes) -> None:
        self._log_object = log_object
        self.staged: dict[str, bytes] = {}

    def get_object(self, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:
        if Bucket == LOG_BUCKET:
            data = self._log_object
        elif Key in self.staged:
            data = self.staged[Key]
        else:
            raise _NoSuchKey(Key)
        return {"Body": StreamingBody(io.BytesIO(data), len(data))}

    def put_object(self, Bucket: str, Key: str, Body: bytes, **_: Any) -> dict[str, Any]:
        self.staged[Key] = Body
        return {}

    def upload_fileobj(self, file: IO[bytes], bucket: str, key: str, ExtraArgs: Any = None) -> None:
        self.staged[key] = file.read()


class FinishingDataApi:
    """BatchExecuteStatement that is FINISHED at the first DescribeStatement; counts the batches."""

    def __init__(self) -> None:
        self._statements: dict[str, int] = {}

    def batch_execute_statement(self, Sqls: list[str], **_: Any) -> dict[str, Any]:
        statement_id = f"soak-{len(self._statements)}"
        self._statements[statement_id] = len(Sqls)
        return {"Id": statement_id}

    def describe_statement(self, Id: str) -> dict[str, Any]:
        subs = [{"Status": "FINISHED", "ResultRows": 1}] * self._statements[Id]
        return {"Id": Id, "Status": "FINISHED", "SubStatements": subs}

    @property
    def batches(self) -> int:
        return len(self._statements)


def resident_bytes() -> int:
    """The resident set, after handing freed heap back to the OS (glibc keeps freed chunks mapped,
    so without the trim the number measures fragmentation, not what the process still holds)."""
    gc.collect()
    ctypes.CDLL(None).malloc_trim(0)
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.slow
def test_200_maximum_batches_in_one_process(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch_size = module_default("batch_size")
    s3 = InProcessS3(("\n".join(sample_lines(shared_data)[:4]) + "\n").encode())
    data_api = FinishingDataApi()
    executor = DataApiExecutor(data_api, DataApiTarget("dev", workgroup_name="logs"), Redshift(ROLE))
    loader = Loader(
        s3, executor, TableNames("logs", "access_log", "access_log_ledger"), Staging(STAGING_BUCKET)
    )
    monkeypatch.setattr(app, "_loader_for", lambda settings: loader)
    monkeypatch.setenv("STAGING_BUCKET", STAGING_BUCKET)
    monkeypatch.setenv("REDSHIFT_WORKGROUP_NAME", "logs")
    monkeypatch.setenv("REDSHIFT_COPY_ROLE_ARN", ROLE)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where a spilled staging file would go
    level = app.logger.level
    app.logger.setLevel("WARNING")
    samples: dict[int, tuple[int, int]] = {}
    started = time.perf_counter()
    try:
        for batch in range(1, BATCHES + 1):
            bodies = [
                s3_notification(LOG_BUCKET, f"soak/{batch:03d}/{index:04d}") for index in range(batch_size)
            ]
            assert handler(sqs_event(bodies), FakeLambdaContext()) == {"batchItemFailures": []}
            staged_rows = sum(key.endswith(".csv.gz") and "/data/" in key for key in s3.staged)
            assert staged_rows == batch_size
            s3.staged.clear()
            if batch in (WARM_UP, BATCHES):
                samples[batch] = (resident_bytes(), open_fds())
    finally:
        app.logger.setLevel(level)
    seconds = time.perf_counter() - started

    (warm_rss, warm_fds), (end_rss, end_fds) = samples[WARM_UP], samples[BATCHES]
    print(
        f"{BATCHES} batches of {batch_size} in {seconds:.1f} s; RSS {warm_rss / 2**20:.1f} MiB after"
        f" {WARM_UP}, {end_rss / 2**20:.1f} MiB after {BATCHES}; fds {warm_fds} -> {end_fds}"
    )
    assert data_api.batches == 1 + BATCHES  # CREATE … IF NOT EXISTS, then one load per batch
    assert end_rss < warm_rss * 1.05
    assert end_fds <= warm_fds
    assert list(tmp_path.iterdir()) == []
