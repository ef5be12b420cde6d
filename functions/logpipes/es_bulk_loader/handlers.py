"""The Lambda handlers of the state machine's four steps: thin layers over the step modules.

One image serves the four functions; Terraform selects the handler with ``image_config.command``.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from logpipes.es_bulk_loader.bulk import BulkClient
from logpipes.es_bulk_loader.load import load_chunk, remaining_seconds
from logpipes.es_bulk_loader.opensearch import OpenSearchHttp
from logpipes.es_bulk_loader.plan import Chunk, index_pattern_of, parse_request, plan
from logpipes.es_bulk_loader.report import read_map_results, summarize
from logpipes.es_bulk_loader.settings import IndexSettings, LoadSettings, OpenSearchSettings, PlanSettings
from logpipes.es_bulk_loader.template import prepare

logger = Logger()
# Kept free at the end of a Load invocation to write the chunk's dead letters (load_timeout >= 30 s).
DEAD_LETTER_RESERVE_SECONDS = 10.0
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "logpipes"))


# Clients live as long as the execution environment: connections and credentials are reused.
@cache
def _s3() -> Any:
    return boto3.client("s3")


@cache
def _opensearch() -> OpenSearchHttp:
    return OpenSearchHttp.from_settings(OpenSearchSettings.from_env())


@logger.inject_lambda_context
def prepare_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Put the index template (and ingest pipeline) for the execution's index pattern."""
    settings = IndexSettings.from_env()
    pattern = index_pattern_of(event, settings.default_index_pattern)
    serverless = OpenSearchSettings.from_env().service == "aoss"
    prepared = prepare(_opensearch(), pattern, settings, serverless)
    logger.info("index template in place", extra=prepared)
    return prepared


@logger.inject_lambda_context
def plan_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Cut the execution's objects into chunks; return the chunk list's location and the files."""
    settings = PlanSettings.from_env()
    execution = str(event.get("execution") or context.aws_request_id)
    request = parse_request(event.get("request", event), execution, settings)
    planned = plan(_s3(), request, settings)
    logger.info("planned", extra={"chunks": planned["chunks"], "files": len(planned["files"])})
    return planned


@logger.inject_lambda_context
def handler(event: Chunk, context: LambdaContext) -> dict[str, Any]:
    """Load one chunk (an item of the Distributed Map)."""
    settings = LoadSettings.from_env()
    client = BulkClient(
        _opensearch(),
        max_attempts=settings.max_attempts,
        time_left=remaining_seconds(context, DEAD_LETTER_RESERVE_SECONDS),
    )
    result = load_chunk(_s3(), event, client, settings.bulk_bytes, settings.dead_letters)
    logger.info("chunk loaded", extra=result)
    return result


@metrics.log_metrics
@logger.inject_lambda_context
def report_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Sum the chunks' results per file and in total; publish the totals as metrics."""
    results = read_map_results(_s3(), event["results"])
    report = summarize(event["files"], results, event["started_at"], datetime.now(UTC))
    total = report["total"]
    for name, counter, unit in (
        ("LinesRead", "lines", MetricUnit.Count),
        ("DocumentsIndexed", "indexed", MetricUnit.Count),
        ("DocumentsFailed", "failed", MetricUnit.Count),
        ("DocumentsDeadLettered", "dead_lettered", MetricUnit.Count),
        ("ParseErrors", "parse_errors", MetricUnit.Count),
        ("ChunksFailed", "chunks_failed", MetricUnit.Count),
        ("LoadSeconds", "seconds", MetricUnit.Seconds),
    ):
        metrics.add_metric(name=name, unit=unit, value=total[counter])
    logger.info("load report", extra=total)
    return report
