"""Run the load contract's statements as one transaction: the interface, and Redshift's Data API.

The loader never talks to a database directly: it hands a list of statements (dialect.Statement)
to a StatementExecutor. ``DataApiExecutor`` sends them with ``BatchExecuteStatement`` (one call,
one transaction, no connection, no VPC access, no public endpoint), polls ``DescribeStatement``
with exponential backoff until the transaction ends or the deadline passes (then it cancels it),
and on failure reads what ``sys_load_error_detail`` says about the failed COPY. The PostgreSQL
executor used by the tests and the demo is in ``postgres.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from logpipes.s3log_redshift.dialect import CopyStaged, Dialect, Redshift, Statement, render

STATEMENT_NAME = "logpipes-s3log-redshift"
_DONE = frozenset({"FINISHED", "FAILED", "ABORTED"})
FIRST_POLL_SECONDS = 0.25
MAX_POLL_SECONDS = 5.0
# The session (RedshiftPid) of the failed batch: SYS_ view query ids differ from the Data API's on
# provisioned clusters, the session id does not.
LOAD_ERRORS_SQL = (
    "SELECT trim(file_name) AS file_name, line_number, trim(column_name) AS column_name,"
    " error_code, trim(error_message) AS error_message"
    " FROM sys_load_error_detail WHERE session_id = :session_id"
    " ORDER BY start_time DESC LIMIT 20"
)


class LoadError(RuntimeError):
    """The load transaction failed or did not finish in time; nothing of it was committed.

    ``statement_failed``: the database ran the statements and refused one of them (the data or the
    table, e.g. a value it cannot store), so loading fewer objects may succeed; otherwise the load
    never ran to an answer (connection, cancellation at the deadline) and would fail for any subset.
    """

    def __init__(self, message: str, statement_failed: bool = False) -> None:
        super().__init__(message)
        self.statement_failed = statement_failed


class StatementExecutor(Protocol):
    """Runs statements of ``dialect`` in one transaction."""

    @property
    def dialect(self) -> Dialect:
        """The dialect the statements are rendered in."""
        ...

    def run(self, statements: Sequence[Statement], deadline: float) -> list[int]:
        """Run every statement in one transaction, or none; return each one's affected row count.

        ``deadline`` is a time.monotonic() value: past it, give up (and roll back). Raises LoadError.
        """
        ...


@dataclass(frozen=True)
class DataApiTarget:
    """Where and as whom the Data API runs statements.

    A provisioned cluster (``cluster_identifier``) or a Serverless workgroup (``workgroup_name``);
    credentials from a Secrets Manager secret (``secret_arn``), or temporary ones for ``db_user``
    (clusters only), or, with neither, for the caller's IAM identity.
    """

    database: str
    cluster_identifier: str | None = None
    workgroup_name: str | None = None
    secret_arn: str | None = None
    db_user: str | None = None

    def __post_init__(self) -> None:
        if (self.cluster_identifier is None) == (self.workgroup_name is None):
            raise ValueError("set exactly one of a cluster identifier and a workgroup name")
        if self.secret_arn and self.db_user:
            raise ValueError("set a secret ARN or a database user, not both")
        if self.db_user and self.workgroup_name:
            raise ValueError("a database user applies to provisioned clusters only")

    def parameters(self) -> dict[str, str]:
        """The target as Data API request parameters (only those that are set)."""
        parameters = {"Database": self.database}
        if self.cluster_identifier:
            parameters["ClusterIdentifier"] = self.cluster_identifier
        if self.workgroup_name:
            parameters["WorkgroupName"] = self.workgroup_name
        if self.secret_arn:
            parameters["SecretArn"] = self.secret_arn
        if self.db_user:
            parameters["DbUser"] = self.db_user
        return parameters


def _field_value(field: Mapping[str, Any]) -> Any:
    """The value of one Data API result field ({"stringValue": "x"}, {"isNull": true}, …)."""
    if field.get("isNull"):
        return None
    for kind in ("stringValue", "longValue", "doubleValue", "booleanValue", "blobValue"):
        if kind in field:
            return field[kind]
    return None


class DataApiExecutor:
    """Runs the load as one Data API BatchExecuteStatement, polled until it ends or the deadline."""

    def __init__(
        self,
        client: Any,
        target: DataApiTarget,
        dialect: Redshift,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._target = target
        self._dialect = dialect
        self._sleep = sleep
        self._clock = clock

    @property
    def dialect(self) -> Redshift:
        """Redshift: the only dialect the Data API runs."""
        return self._dialect

    def run(self, statements: Sequence[Statement], deadline: float) -> list[int]:
        """One BatchExecuteStatement, cancelled past ``deadline``; raises LoadError saying what failed."""
        response = self._client.batch_execute_statement(
            Sqls=[render(self._dialect, statement) for statement in statements],
            StatementName=STATEMENT_NAME,
            **self._target.parameters(),
        )
        description = self._wait(response["Id"], deadline)
        if description["Status"] == "FINISHED":
            return [int(sub.get("ResultRows", -1)) for sub in description.get("SubStatements", [])]
        # FAILED: a statement was refused; ABORTED: cancelled (by us at the deadline, or an operator).
        raise LoadError(
            self._explain(description, statements, deadline),
            statement_failed=description["Status"] == "FAILED",
        )

    def query(self, sql: str, parameters: Mapping[str, object], deadline: float) -> list[dict[str, Any]]:
        """Run one SELECT (``:name`` parameters) and return its rows as dicts."""
        response = self._client.execute_statement(
            Sql=sql,
            Parameters=[{"name": name, "value": str(value)} for name, value in parameters.items()],
            StatementName=STATEMENT_NAME,
            **self._target.parameters(),
        )
        description = self._wait(response["Id"], deadline)
        if description["Status"] != "FINISHED":
            raise LoadError(f"query {description['Status']}: {description.get('Error', '')}")
        if not description.get("HasResultSet"):
            return []
        rows: list[dict[str, Any]] = []
        page: dict[str, Any] = {"Id": response["Id"]}
        while True:
            result = self._client.get_statement_result(**page)
            names = [column["name"] for column in result.get("ColumnMetadata", [])]
            rows += [dict(zip(names, map(_field_value, record), strict=True)) for record in result["Records"]]
            if not result.get("NextToken"):
                return rows
            page["NextToken"] = result["NextToken"]

    def _wait(self, statement_id: str, deadline: float) -> dict[str, Any]:
        """DescribeStatement until the statement ends; past the deadline, cancel it."""
        delay = FIRST_POLL_SECONDS
        while True:
            description: dict[str, Any] = self._client.describe_statement(Id=statement_id)
            if description["Status"] in _DONE:
                return description
            if self._clock() + delay > deadline:
                self._client.cancel_statement(Id=statement_id)
                raise LoadError(
                    f"statement {statement_id} still {description['Status']} at the deadline: cancelled"
                )
            self._sleep(delay)
            delay = min(delay * 2, MAX_POLL_SECONDS)

    def _explain(
        self, description: Mapping[str, Any], statements: Sequence[Statement], deadline: float
    ) -> str:
        lines = [f"load transaction {description['Status']}: {description.get('Error', '')}".rstrip()]
        failed_copy = False
        for index, sub in enumerate(description.get("SubStatements", [])):
            if sub.get("Status") != "FAILED":
                continue
            statement = statements[index] if index < len(statements) else None
            target = f" (COPY into {statement.table})" if isinstance(statement, CopyStaged) else ""
            lines.append(f"statement {index + 1}{target} failed: {sub.get('Error', '')}")
            failed_copy |= isinstance(statement, CopyStaged)
        if failed_copy and description.get("RedshiftPid"):
            lines += self._load_errors(int(description["RedshiftPid"]), deadline)
        return "\n".join(lines)

    def _load_errors(self, session_id: int, deadline: float) -> list[str]:
        try:
            rows = self.query(LOAD_ERRORS_SQL, {"session_id": session_id}, deadline)
        except (LoadError, ClientError, BotoCoreError) as error:
            return [f"sys_load_error_detail could not be read: {error}"]
        return [
            f"sys_load_error_detail: {row.get('file_name')} line {row.get('line_number')}"
            f" column {row.get('column_name')}: {row.get('error_message')} (code {row.get('error_code')})"
            for row in rows
        ]
