"""The Lambda handler: an SQS batch of S3 notifications in, one load transaction, partial failures out.

1. Each SQS message (Powertools BatchProcessor): read the objects it announces and stage them. A
   message whose objects cannot be read or staged fails alone.
2. The staged objects of every other message: one load transaction (loader.py). If the database
   refuses it (a statement failed: an object no line check explains), the messages are split in
   halves and each half loaded alone, down to single messages, so that only the failing objects'
   messages are reported; the others load. If the load cannot run at all (connection, throttling,
   the deadline), splitting would not help: every message of the attempt is reported. Reported
   messages come back after the visibility timeout (and after maxReceiveCount, go to the DLQ); the
   ledger makes the retry skip anything that did get loaded, so a redelivery never loads a row twice.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from logpipes.s3log_redshift.dialect import Redshift
from logpipes.s3log_redshift.events import source_objects
from logpipes.s3log_redshift.executor import DataApiExecutor, LoadError, StatementExecutor
from logpipes.s3log_redshift.loader import Loader, LoadResult, StagedObject
from logpipes.s3log_redshift.settings import POSTGRESQL, Settings

logger = Logger()
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "logpipes"))

# Time kept back from the Lambda timeout: past the load deadline, the statement is cancelled and
# the batch reported failed while the function can still answer.
DEADLINE_MARGIN_SECONDS = 15.0


def _executor(settings: Settings, s3: Any) -> StatementExecutor:
    if settings.backend == POSTGRESQL:
        # Tests and the demo only: psycopg is not in the Lambda image, so import it on demand.
        from logpipes.s3log_redshift.postgres import PostgresExecutor

        return PostgresExecutor(settings.postgres_dsn or "", s3)
    if settings.data_api is None or settings.copy_role_arn is None:  # pragma: no cover - from_env ensures it
        raise ValueError("the redshift-data backend needs a Data API target and a COPY role")
    return DataApiExecutor(boto3.client("redshift-data"), settings.data_api, Redshift(settings.copy_role_arn))


@cache
def _loader_for(settings: Settings) -> Loader:
    """One loader per execution environment: its clients, connection and tables-ready flag are reused."""
    s3 = boto3.client("s3")
    return Loader(s3, _executor(settings, s3), settings.names, settings.staging)


@dataclass
class BatchOutcome:
    """What one SQS batch came to: failed message ids, staged objects, committed loads, load errors."""

    messages: int
    failed_messages: list[str] = field(default_factory=list)  # SQS message ids
    staged: list[StagedObject] = field(default_factory=list)
    results: list[LoadResult] = field(default_factory=list)  # one per committed load (split batches: more)
    load_errors: list[str] = field(default_factory=list)  # one per failed load attempt (split or not)


def _load_isolating(
    loader: Loader,
    groups: list[tuple[str, list[StagedObject]]],
    batch_id: str,
    deadline: float,
    outcome: BatchOutcome,
) -> None:
    """Load the staged objects of ``groups`` (message id, its objects); on a refused load, bisect."""
    try:
        outcome.results.append(
            loader.load([item for _, staged in groups for item in staged], batch_id, deadline)
        )
    except LoadError as error:
        outcome.load_errors.append(str(error))
        if error.statement_failed and len(groups) > 1 and time.monotonic() < deadline:
            half = len(groups) // 2
            # Each part gets its own staging manifests (and ledger batch id).
            _load_isolating(loader, groups[:half], f"{batch_id}/a", deadline, outcome)
            _load_isolating(loader, groups[half:], f"{batch_id}/b", deadline, outcome)
            return
        outcome.failed_messages += [message for message, _ in groups]
    except (ClientError, BotoCoreError) as error:
        outcome.load_errors.append(str(error))
        outcome.failed_messages += [message for message, _ in groups]


def process_batch(event: Mapping[str, Any], loader: Loader, batch_id: str, deadline: float) -> BatchOutcome:
    """Stage every announced object, then load them all in one transaction (split when refused)."""
    staged_by_message: dict[str, list[StagedObject]] = {}
    seen: set[str] = set()  # S3 may announce an object twice: stage it once per batch

    def stage_message(record: SQSRecord) -> None:
        staged = []
        for source in source_objects(record.body):
            if source.url not in seen:
                staged.append(loader.stage(source, batch_id))
                seen.add(source.url)
        staged_by_message[record.message_id] = staged

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False, logger=logger)
    records = list(event.get("Records", []))
    with processor(records=records, handler=stage_message):
        processor.process()
    outcome = BatchOutcome(messages=len(records))
    outcome.failed_messages = [item["itemIdentifier"] for item in processor.response()["batchItemFailures"]]
    outcome.staged = [item for staged in staged_by_message.values() for item in staged]
    groups = [(message, staged) for message, staged in staged_by_message.items() if staged]
    if not groups:
        return outcome
    try:
        loader.ensure_tables(deadline)
    except (LoadError, ClientError, BotoCoreError) as error:
        outcome.load_errors.append(str(error))
        outcome.failed_messages += [message for message, _ in groups]
        return outcome
    _load_isolating(loader, groups, batch_id, deadline, outcome)
    return outcome


def _record_metrics(outcome: BatchOutcome) -> None:
    counts = {
        "Messages": outcome.messages,
        "FailedMessages": len(outcome.failed_messages),
        "ObjectsStaged": len(outcome.staged),
        "LinesRejected": sum(item.counts.rejected for item in outcome.staged),
        "LoadFailures": len(outcome.load_errors),
    }
    if outcome.results:
        counts |= {
            "ObjectsLoaded": sum(result.new_objects for result in outcome.results),
            "ObjectsAlreadyLoaded": sum(result.objects - result.new_objects for result in outcome.results),
            "RowsInserted": sum(result.inserted_rows for result in outcome.results),
            "CopyStatements": sum(result.copy_statements for result in outcome.results),
        }
    for name, value in counts.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Stage and load an SQS batch of S3 notifications; return the messages SQS must deliver again."""
    settings = Settings.from_env(os.environ)
    deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000 - DEADLINE_MARGIN_SECONDS
    batch_id = f"{datetime.now(UTC):%Y/%m/%d/%H%M%S}-{context.aws_request_id}"
    outcome = process_batch(event, _loader_for(settings), batch_id, deadline)
    _record_metrics(outcome)
    for error in outcome.load_errors:
        # A refused load of several messages is split and retried at once; the messages still
        # failing at the end are the batch's failed_messages.
        logger.error("load failed", extra={"error": error})
    rejected = [item.rejects_key for item in outcome.staged if item.rejects_key]
    if rejected:
        logger.warning("lines rejected", extra={"rejects": rejected})
    logger.info(
        "batch done",
        extra={
            "batch_id": batch_id,
            "messages": outcome.messages,
            "failed_messages": len(outcome.failed_messages),
            "objects": len(outcome.staged),
            "rows_staged": sum(item.counts.rows for item in outcome.staged),
            "results": [result.__dict__ for result in outcome.results],
        },
    )
    return {"batchItemFailures": [{"itemIdentifier": message} for message in outcome.failed_messages]}
