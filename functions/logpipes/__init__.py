"""Lambda functions of the logpipes Terraform modules.

Each subpackage is one function; its Lambda handler is
``logpipes.<function>.handler``.
"""
