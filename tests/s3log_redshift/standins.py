"""Stand-ins for the two AWS services the fault matrix must replay exactly: SQS redelivery through
Lambda's event source mapping, and the Redshift Data API (on PostgreSQL, so rows can be counted).

Both implement only what the loader relies on, as AWS documents it:

- Lambda, "Handling errors for an SQS event source" (services-sqs-errorhandling): with
  ``ReportBatchItemFailures`` (the module sets it), the messages named in ``batchItemFailures``
  become visible again after the visibility timeout and the others are deleted; if the function
  raises (or times out), every message of the batch comes back. An ``itemIdentifier`` that is not
  in the batch, or an invalid response, makes the whole batch a failure.
- SQS, "Using dead-letter queues": each receive increments ``ApproximateReceiveCount``; when a
  message's receive count exceeds the redrive policy's ``maxReceiveCount``, SQS moves it to the
  dead-letter queue instead of delivering it again.
- Redshift Data API reference: ``BatchExecuteStatement`` runs its SQL statements "as a single
  transaction" and returns an ``Id`` at once; ``DescribeStatement`` reports ``Status`` (SUBMITTED,
  PICKED, STARTED, FINISHED, FAILED, ABORTED), the ``Error`` of a failed run and, per statement,
  ``SubStatements`` with their own ``Status``, ``Error`` and ``ResultRows``; ``CancelStatement``
  aborts a running one; ``ExecuteStatement`` + ``GetStatementResult`` run and read one query.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from logpipes.s3log_redshift.dialect import CopyStaged
from logpipes.s3log_redshift.postgres import PostgresExecutor

from .helpers import sqs_event

MODULE = Path(__file__).resolve().parents[2] / "modules" / "s3log-redshift"


def module_default(variable: str) -> int:
    """The default of a number variable of the s3log-redshift module (variables.tf)."""
    text = (MODULE / "variables.tf").read_text()
    block = re.search(rf'variable "{variable}" \{{(.*?)\n\}}', text, re.S)
    default = re.search(r"default\s*=\s*(\d+)", block[1]) if block else None
    if default is None:
        raise LookupError(f"no number default for {variable} in {MODULE / 'variables.tf'}")
    return int(default[1])


# --- SQS + the event source mapping --------------------------------------------------------------


@dataclass
class Message:
    message_id: str
    body: str
    receive_count: int = 0


@dataclass
class RedrivenQueue:
    """A queue with a redrive policy, drained by an SQS event source mapping with partial batch responses."""

    bodies: list[str]
    max_receive_count: int
    batch_size: int
    visible: list[Message] = field(default_factory=list)
    dead_letters: list[Message] = field(default_factory=list)
    invocations: int = 0

    def __post_init__(self) -> None:
        self.visible = [Message(str(uuid.uuid4()), body) for body in self.bodies]

    def drain(self, invoke: Callable[[dict[str, Any]], Any]) -> None:
        """Deliver until the queue is empty; a visibility timeout passes between rounds."""
        while self.visible:
            batch: list[Message] = []
            for message in list(self.visible):
                if len(batch) == self.batch_size:
                    break
                self.visible.remove(message)
                if message.receive_count >= self.max_receive_count:
                    self.dead_letters.append(message)  # its next receive would exceed maxReceiveCount
                    continue
                message.receive_count += 1
                batch.append(message)
            if not batch:
                continue
            event = sqs_event([message.body for message in batch])
            for record, message in zip(event["Records"], batch, strict=True):
                record["messageId"] = message.message_id
                record["attributes"]["ApproximateReceiveCount"] = str(message.receive_count)
            self.invocations += 1
            failed = _failed(invoke, event)
            self.visible += [message for message in batch if message.message_id in failed]

    @property
    def dead_letter_bodies(self) -> list[str]:
        return [message.body for message in self.dead_letters]


def _failed(invoke: Callable[[dict[str, Any]], Any], event: dict[str, Any]) -> set[str]:
    every = {record["messageId"] for record in event["Records"]}
    try:
        response = invoke(event)
    except Exception:
        return every
    try:
        failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
    except (KeyError, TypeError):
        return every
    return failed if failed <= every else every


# --- The Redshift Data API, on PostgreSQL ---------------------------------------------------------

_COPY = re.compile(
    r"COPY (?P<table>\S+) \((?P<columns>[^)]*)\) FROM '(?P<manifest>s3://[^']+)' IAM_ROLE '[^']+' MANIFEST "
    r"FORMAT AS CSV DELIMITER '\\t' NULL AS '-' GZIP"
)
_REDSHIFT_ONLY = re.compile(r" ENCODE \w+| DISTSTYLE AUTO SORTKEY \(\w+\)")

Fault = Callable[[], None]  # raises the injected error, or returns to let the call through


@dataclass
class _Statement:
    sqls: list[str]
    status: str = "SUBMITTED"
    error: str = ""
    sub_statements: list[dict[str, Any]] = field(default_factory=list)


class RedshiftDataOnPostgres:
    """A ``redshift-data`` client whose statements run on PostgreSQL, with faults to inject.

    Redshift's SQL (dialect.Redshift) is translated: a COPY from an S3 manifest becomes COPY … FROM
    STDIN fed with the manifest's files (as the PostgreSQL executor does), and the Redshift-only
    column encodings and sort keys are dropped. VARCHAR widths stay, so a value too wide fails
    here (Redshift's COPY would truncate it): stricter, never more lenient.

    ``faults[operation]`` is a list of callables consumed one per call: each raises the error of
    that call or returns (the call then proceeds). ``after_faults`` are the same, consumed after
    the call has done its work (a response lost after BatchExecuteStatement committed).
    ``fail_batches``, ``abort_batches``: the next batches end FAILED (with that error) or ABORTED,
    nothing committed. ``hang``: the next batches stay STARTED (never run) until cancelled.
    """

    def __init__(self, dsn: str, s3: Any) -> None:
        self._copier = PostgresExecutor(dsn, s3)
        self._dsn = dsn
        self._statements: dict[str, _Statement] = {}
        self.faults: dict[str, list[Fault]] = {}
        self.after_faults: dict[str, list[Fault]] = {}
        self.fail_batches: list[str] = []  # errors of the next batches (FAILED, nothing committed)
        self.abort_batches = 0  # the next batches are ABORTED (cancelled by an operator or WLM)
        self.hang = 0
        self.calls: Counter[str] = Counter()

    def _call(self, operation: str) -> None:
        self.calls[operation] += 1
        pending = self.faults.get(operation)
        if pending:
            pending.pop(0)()

    def _after(self, operation: str) -> None:
        pending = self.after_faults.get(operation)
        if pending:
            pending.pop(0)()

    def batch_execute_statement(self, Sqls: list[str], **_: Any) -> dict[str, Any]:
        self._call("batch_execute_statement")
        statement_id = str(uuid.uuid4())
        statement = self._statements[statement_id] = _Statement(list(Sqls))
        if self.hang:
            self.hang -= 1
            statement.status = "STARTED"
        elif self.abort_batches:
            self.abort_batches -= 1
            statement.status = "ABORTED"
        elif self.fail_batches:
            # Refused at the first COPY (where a load fails); nothing committed.
            statement.status, statement.error = "FAILED", self.fail_batches.pop(0)
            failed_at = next(index for index, sql in enumerate(statement.sqls) if sql.startswith("COPY "))
            statement.sub_statements = [{"Status": "FINISHED", "ResultRows": 0}] * failed_at
            statement.sub_statements.append({"Status": "FAILED", "Error": statement.error})
        else:
            self._run(statement)
        self._after("batch_execute_statement")
        return {"Id": statement_id}

    def _run(self, statement: _Statement) -> None:
        with psycopg.connect(self._dsn, autocommit=False) as connection:
            try:
                with connection.transaction(), connection.cursor() as cursor:
                    for sql in statement.sqls:
                        statement.sub_statements.append({"Status": "STARTED"})
                        copy = _COPY.match(sql)
                        if copy:
                            staged = CopyStaged(
                                copy["table"], tuple(copy["columns"].split(", ")), copy["manifest"]
                            )
                            rows = self._copier.copy_staged(cursor, staged)
                        else:
                            cursor.execute(_REDSHIFT_ONLY.sub("", sql).encode())
                            rows = cursor.rowcount
                        statement.sub_statements[-1] = {"Status": "FINISHED", "ResultRows": rows}
            except psycopg.Error as error:
                statement.status, statement.error = "FAILED", str(error).strip()
                statement.sub_statements[-1] = {"Status": "FAILED", "Error": statement.error}
                return
        statement.status = "FINISHED"

    def describe_statement(self, Id: str) -> dict[str, Any]:
        self._call("describe_statement")
        statement = self._statements[Id]
        subs = [{"Id": f"{Id}:{index}", **sub} for index, sub in enumerate(statement.sub_statements, 1)]
        return {
            "Id": Id,
            "Status": statement.status,
            "Error": statement.error,
            "SubStatements": subs,
            "RedshiftPid": 1073815778,
        }

    def cancel_statement(self, Id: str) -> dict[str, Any]:
        self._call("cancel_statement")
        self._statements[Id].status = "ABORTED"
        return {"Status": True}

    def execute_statement(self, Sql: str, **_: Any) -> dict[str, Any]:
        """Only the loader's sys_load_error_detail query: PostgreSQL has no such view, so no rows."""
        self._call("execute_statement")
        statement_id = str(uuid.uuid4())
        self._statements[statement_id] = _Statement([Sql], status="FINISHED")
        return {"Id": statement_id}

    def get_statement_result(self, Id: str, **_: Any) -> dict[str, Any]:
        self._call("get_statement_result")
        return {"Records": [], "ColumnMetadata": [], "TotalNumRows": 0}
