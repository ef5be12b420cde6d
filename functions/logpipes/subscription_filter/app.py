"""Lambda handler: archive CloudWatch Logs subscription deliveries into day files on EFS.

Invoked asynchronously by a subscription filter (``{"awslogs": ...}``), and by an EventBridge
schedule (``"source": "aws.events"``) that seals the days of log groups that went quiet.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from logpipes.subscription_filter.archive import archive_batch, seal_all
from logpipes.subscription_filter.payload import InvalidPayloadError, decode_subscription_event
from logpipes.subscription_filter.settings import ArchiveSettings

logger = Logger()
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "logpipes"))


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Archive one subscription delivery, or, on the schedule, seal the days that are over."""
    settings = ArchiveSettings.from_environment(os.environ)
    now = datetime.now(UTC)
    if isinstance(event, dict) and event.get("source") == "aws.events":
        sealed = seal_all(settings, now)
        metrics.add_metric(name="DaysSealed", unit=MetricUnit.Count, value=len(sealed))
        logger.info("sealed the days that are over", extra={"sealed": sealed})
        return {"sealed": sealed}
    try:
        batch = decode_subscription_event(event)
    except InvalidPayloadError:
        # Raising makes Lambda retry, then park the event in the on-failure destination.
        metrics.add_metric(name="InvalidPayloads", unit=MetricUnit.Count, value=1)
        logger.exception("invalid CloudWatch Logs payload")
        raise
    if batch is None:
        metrics.add_metric(name="ControlMessages", unit=MetricUnit.Count, value=1)
        return {"control_message": True}
    report = archive_batch(batch, settings, now)
    metrics.add_metric(name="EventsArchived", unit=MetricUnit.Count, value=report.written)
    metrics.add_metric(name="DuplicateEventsSkipped", unit=MetricUnit.Count, value=report.duplicates)
    metrics.add_metric(name="LateEvents", unit=MetricUnit.Count, value=report.late)
    metrics.add_metric(name="DaysSealed", unit=MetricUnit.Count, value=len(report.sealed))
    logger.info(
        "archived a delivery",
        extra={"log_group": batch.log_group, "log_stream": batch.log_stream, "events": len(batch.ids)},
    )
    return {
        "log_group": batch.log_group,
        "written": report.written,
        "duplicates": report.duplicates,
        "late": report.late,
        "files": report.files,
        "sealed": report.sealed,
    }
