"""A Kinesis batch processor that stops at the first failed record, as Lambda's checkpoint needs.

Its own module, as Powertools keeps each of its processors (the SQS FIFO one has the same circuit
breaker): the handler only chooses it.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType


class SkippedAfterFailure(Exception):
    """Not processed: an earlier record of the batch failed, and Lambda redelivers from that one."""


class InOrderKinesisProcessor(BatchProcessor):
    """Powertools' Kinesis batch processor, stopping at the first failed record.

    Lambda checkpoints a shard at the lowest sequence number reported, so every record after a
    failure is delivered again: it must not be written now, or it would be written twice. Reporting
    those records too says so explicitly (the same circuit breaker as Powertools' SQS FIFO processor).
    """

    def __init__(self, logger: Logger | None = None) -> None:
        super().__init__(event_type=EventType.KinesisDataStreams, logger=logger)  # type: ignore[arg-type]

    def _process_record(self, record: dict[str, Any]) -> Any:
        if self.fail_messages:
            skipped = SkippedAfterFailure("an earlier record of this batch failed")
            data = self._to_batch_type(record=record, event_type=self.event_type)
            return self.failure_handler(record=data, exception=(SkippedAfterFailure, skipped, None))
        return super()._process_record(record)
