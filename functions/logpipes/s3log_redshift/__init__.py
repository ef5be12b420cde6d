"""S3 server access logs into Redshift through the Data API (``logpipes.s3log_redshift.handler``)."""

from logpipes.s3log_redshift.app import handler

__all__ = ["handler"]
