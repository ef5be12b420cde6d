"""Firehose transform for CloudWatch Logs subscription records (``logpipes.firehose_transform.handler``)."""

from logpipes.firehose_transform.app import handler

__all__ = ["handler"]
