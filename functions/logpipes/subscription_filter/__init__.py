"""The EFS archiver of the subscription-filter module: one file per day per log group.

Lambda handler: ``logpipes.subscription_filter.handler``.
"""

from logpipes.subscription_filter.app import handler

__all__ = ["handler"]
