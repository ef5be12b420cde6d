"""The Prepare step: the index template (typed mapping) and the optional ingest pipeline.

Both are PUT by name, so running Prepare again (every execution does) changes nothing unless the
configuration changed. Parsing happens in the loader, not in an ingest pipeline: the cluster only
indexes typed documents.
"""

from __future__ import annotations

import re
from typing import Any

from logpipes.es_bulk_loader.documents import template_index_patterns
from logpipes.es_bulk_loader.opensearch import OpenSearchHttp
from logpipes.es_bulk_loader.settings import ConfigurationError, IndexSettings

# Above the priority of OpenSearch's built-in templates, below what an operator would use to override.
TEMPLATE_PRIORITY = 200


def _keyword_text() -> dict[str, Any]:
    return {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 2048}}}


def mapping(index_message: bool) -> dict[str, Any]:
    """Every field the loader writes, typed; unknown fields are refused (``dynamic: strict``)."""
    return {
        "dynamic": "strict",
        "properties": {
            "@timestamp": {"type": "date"},
            # Only IP literals are written here; ignore_malformed keeps a document whose host looks
            # like an address but is not one instead of rejecting it.
            "clientip": {"type": "ip", "ignore_malformed": True},
            "clienthost": {"type": "keyword"},
            "ident": {"type": "keyword"},
            "auth": {"type": "keyword"},
            "verb": {"type": "keyword"},
            "request": _keyword_text(),
            "rawrequest": {"type": "keyword", "ignore_above": 2048},
            "httpversion": {"type": "keyword"},
            "response": {"type": "short"},
            "bytes": {"type": "long"},
            "referrer": {"type": "keyword", "ignore_above": 2048},
            "agent": _keyword_text(),
            # Kept in _source for reading and re-processing; searching it is opt-in.
            "message": {"type": "text"} if index_message else {"type": "text", "index": False},
            "parse_error": {"type": "keyword"},
        },
    }


def template_name(index_pattern: str) -> str:
    """``nasa-logs-%Y.%m.%d`` -> ``logpipes-nasa-logs``: one template per index family."""
    head = index_pattern.partition("%")[0].strip("-_.+") or "logs"
    return f"logpipes-{re.sub(r'[^a-z0-9_-]', '-', head)}"


def pipeline_name(index_pattern: str) -> str:
    """The ingest pipeline the index family's template names as its ``default_pipeline``."""
    return f"{template_name(index_pattern)}-pipeline"


def index_template(
    index_pattern: str, settings: IndexSettings, pipeline: str | None, serverless: bool
) -> dict[str, Any]:
    """The composable index template body for the indices of ``index_pattern``."""
    index_settings: dict[str, Any] = {}
    if not serverless:  # Serverless collections manage shards, replicas and refresh themselves
        index_settings = {
            "number_of_shards": settings.shards,
            "number_of_replicas": settings.replicas,
            "refresh_interval": settings.refresh_interval,
        }
    if pipeline is not None:
        index_settings["default_pipeline"] = pipeline
    template: dict[str, Any] = {"mappings": mapping(settings.index_message)}
    if index_settings:
        template["settings"] = {"index": index_settings}
    return {
        "index_patterns": template_index_patterns(index_pattern),
        "priority": TEMPLATE_PRIORITY,
        "template": template,
        "_meta": {"managed_by": "logpipes es-bulk-loader", "index_pattern": index_pattern},
    }


def prepare(
    http: OpenSearchHttp, index_pattern: str, settings: IndexSettings, serverless: bool
) -> dict[str, Any]:
    """Put the ingest pipeline (if configured) and the index template; return their names."""
    pipeline = None
    if settings.ingest_pipeline is not None:
        if serverless:
            raise ConfigurationError("OpenSearch Serverless collections do not support ingest pipelines")
        pipeline = pipeline_name(index_pattern)
        http.put_json(f"/_ingest/pipeline/{pipeline}", settings.ingest_pipeline)
    name = template_name(index_pattern)
    http.put_json(f"/_index_template/{name}", index_template(index_pattern, settings, pipeline, serverless))
    return {"index_pattern": index_pattern, "template": name, "pipeline": pipeline}
