"""The functions' configuration, from the environment variables the Terraform module sets."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from logpipes.common.settings import ConfigurationError, integer, required

MIB = 1024 * 1024
DEFAULT_INDEX_PATTERN = "logs-%Y.%m.%d"


def _prefix(env: Mapping[str, str], name: str) -> str:
    """A key prefix that ends with "/" (required: an empty one would mean the whole bucket)."""
    value = required(env, name)
    return value if value.endswith("/") else f"{value}/"


@dataclass(frozen=True)
class OpenSearchSettings:
    """Where the cluster is and how to sign for it."""

    endpoint: str  # https://search-....es.amazonaws.com (no trailing slash)
    service: str  # "es" for a domain, "aoss" for a Serverless collection
    region: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> OpenSearchSettings:
        """From OPENSEARCH_ENDPOINT (``https://`` if no scheme), OPENSEARCH_SERVICE and AWS_REGION."""
        endpoint = required(env, "OPENSEARCH_ENDPOINT").rstrip("/")
        if not endpoint.startswith(("https://", "http://")):
            endpoint = f"https://{endpoint}"
        service = env.get("OPENSEARCH_SERVICE", "es")
        if service not in {"es", "aoss"}:
            raise ConfigurationError(f"OPENSEARCH_SERVICE={service!r} must be 'es' or 'aoss'")
        return cls(endpoint, service, required(env, "AWS_REGION"))


@dataclass(frozen=True)
class IndexSettings:
    """What the Prepare step puts in the index template."""

    default_index_pattern: str
    shards: int
    replicas: int
    refresh_interval: str
    index_message: bool
    ingest_pipeline: dict[str, Any] | None

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> IndexSettings:
        """From the index variables (default: 1 shard, 1 replica, 30s refresh); INGEST_PIPELINE is JSON."""
        pipeline_json = env.get("INGEST_PIPELINE", "")
        try:
            pipeline = json.loads(pipeline_json) if pipeline_json else None
        except ValueError as error:
            raise ConfigurationError(f"INGEST_PIPELINE is not JSON: {error}") from None
        return cls(
            default_index_pattern=env.get("INDEX_PATTERN", DEFAULT_INDEX_PATTERN),
            shards=integer(env, "NUMBER_OF_SHARDS", 1, minimum=1),
            replicas=integer(env, "NUMBER_OF_REPLICAS", 1, minimum=0),
            refresh_interval=env.get("REFRESH_INTERVAL", "30s"),
            index_message=env.get("INDEX_MESSAGE", "false").lower() == "true",
            ingest_pipeline=pipeline,
        )


@dataclass(frozen=True)
class DeadLetterSettings:
    """Where documents that could not be indexed are written."""

    bucket: str
    prefix: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> DeadLetterSettings:
        """From DEAD_LETTER_BUCKET and DEAD_LETTER_PREFIX (both required; the prefix ends with ``/``)."""
        return cls(required(env, "DEAD_LETTER_BUCKET"), _prefix(env, "DEAD_LETTER_PREFIX"))


@dataclass(frozen=True)
class PlanSettings:
    """Where the Plan step reads and writes."""

    source_bucket: str
    work_bucket: str
    work_prefix: str
    chunk_bytes: int
    default_index_pattern: str
    excluded_prefixes: tuple[str, ...]  # never planned: our own work and dead-letter objects

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> PlanSettings:
        """From the environment; the work and dead-letter prefixes in the source bucket are never planned."""
        source_bucket = required(env, "SOURCE_BUCKET")
        work_bucket = required(env, "WORK_BUCKET")
        work_prefix = _prefix(env, "WORK_PREFIX")
        dead_letters = DeadLetterSettings.from_env(env)
        return cls(
            source_bucket=source_bucket,
            work_bucket=work_bucket,
            work_prefix=work_prefix,
            chunk_bytes=integer(env, "CHUNK_BYTES", 8 * MIB, minimum=1),
            default_index_pattern=env.get("INDEX_PATTERN", DEFAULT_INDEX_PATTERN),
            excluded_prefixes=tuple(
                prefix
                for bucket, prefix in ((work_bucket, work_prefix), (dead_letters.bucket, dead_letters.prefix))
                if bucket == source_bucket
            ),
        )


@dataclass(frozen=True)
class LoadSettings:
    """How the Load step sends and where it dead-letters."""

    bulk_bytes: int
    max_attempts: int
    dead_letters: DeadLetterSettings

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> LoadSettings:
        """From BULK_BYTES (default 5 MiB), BULK_MAX_ATTEMPTS (default 6) and the dead-letter variables."""
        return cls(
            bulk_bytes=integer(env, "BULK_BYTES", 5 * MIB, minimum=1),
            max_attempts=integer(env, "BULK_MAX_ATTEMPTS", 6, minimum=1),
            dead_letters=DeadLetterSettings.from_env(env),
        )
