"""Bulk-load Apache access logs from S3 into OpenSearch, fanned out by Step Functions.

``handler`` loads one chunk (the Distributed Map's item processor); the state machine's other
steps are ``prepare_handler``, ``plan_handler`` and ``report_handler``, from the same image.
"""

from logpipes.es_bulk_loader.handlers import handler, plan_handler, prepare_handler, report_handler

__all__ = ["handler", "plan_handler", "prepare_handler", "report_handler"]
