"""The kinesis-kpl consumer: de-aggregates KPL records from a Kinesis stream and lands them in S3.

Handler: ``logpipes.kinesis_kpl.handler``.
"""

from logpipes.kinesis_kpl.app import handler

__all__ = ["handler"]
