"""The loader's configuration, from the Lambda function's environment (set by the Terraform module).

| variable | meaning |
|---|---|
| ``STAGING_BUCKET`` | bucket for normalised files and rejects (required) |
| ``STAGING_PREFIX`` / ``REJECTS_PREFIX`` | key prefixes in it (``staging/``, ``rejects/``) |
| ``GZIP_LEVEL`` | 1 (fastest, default) to 9 for the staged files |
| ``TARGET_SCHEMA`` / ``TARGET_TABLE`` / ``LEDGER_TABLE`` | where rows and the load ledger go |
| ``LOADER_BACKEND`` | ``redshift-data`` (default) or ``postgresql`` (tests and demo only) |
| ``REDSHIFT_DATABASE`` | database name (default ``dev``) |
| ``REDSHIFT_CLUSTER_IDENTIFIER`` | a provisioned cluster, or… |
| ``REDSHIFT_WORKGROUP_NAME`` | …a Serverless workgroup |
| ``REDSHIFT_SECRET_ARN`` | credentials from Secrets Manager, or… |
| ``REDSHIFT_DB_USER`` | …temporary credentials of this database user (clusters); neither: the IAM identity |
| ``REDSHIFT_COPY_ROLE_ARN`` | the role Redshift assumes to read the staged files |
| ``POSTGRES_DSN`` | ``postgresql`` backend: the connection string |
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from logpipes.common.settings import ConfigurationError, integer
from logpipes.s3log_redshift.executor import DataApiTarget
from logpipes.s3log_redshift.loader import Staging
from logpipes.s3log_redshift.schema import TableNames

REDSHIFT_DATA = "redshift-data"
POSTGRESQL = "postgresql"


@dataclass(frozen=True)
class Settings:
    """The loader's configuration: the variables in the module docstring."""

    names: TableNames
    staging: Staging
    backend: str = REDSHIFT_DATA
    data_api: DataApiTarget | None = None
    copy_role_arn: str | None = None
    postgres_dsn: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Read the variables in the module docstring; a missing or bad one is a ConfigurationError."""

        def optional(name: str) -> str | None:
            return env.get(name) or None

        try:
            table = env.get("TARGET_TABLE", "s3_access_log")
            names = TableNames(
                schema=env.get("TARGET_SCHEMA", "logpipes"),
                table=table,
                ledger=env.get("LEDGER_TABLE") or f"{table}_ledger",
            )
            level = integer(env, "GZIP_LEVEL", 1, minimum=1, maximum=9)
            staging = Staging(
                bucket=env["STAGING_BUCKET"],
                prefix=env.get("STAGING_PREFIX", "staging/"),
                rejects_prefix=env.get("REJECTS_PREFIX", "rejects/"),
                gzip_level=level,
            )
            backend = env.get("LOADER_BACKEND", REDSHIFT_DATA)
            if backend == POSTGRESQL:
                return cls(names, staging, backend, postgres_dsn=env["POSTGRES_DSN"])
            if backend != REDSHIFT_DATA:
                raise ConfigurationError(
                    f"LOADER_BACKEND must be {REDSHIFT_DATA} or {POSTGRESQL}, not {backend!r}"
                )
            target = DataApiTarget(
                database=env.get("REDSHIFT_DATABASE", "dev"),
                cluster_identifier=optional("REDSHIFT_CLUSTER_IDENTIFIER"),
                workgroup_name=optional("REDSHIFT_WORKGROUP_NAME"),
                secret_arn=optional("REDSHIFT_SECRET_ARN"),
                db_user=optional("REDSHIFT_DB_USER"),
            )
            return cls(names, staging, backend, data_api=target, copy_role_arn=env["REDSHIFT_COPY_ROLE_ARN"])
        except KeyError as missing:
            raise ConfigurationError(f"environment variable {missing} is not set") from None
        except ValueError as error:
            if isinstance(error, ConfigurationError):
                raise
            raise ConfigurationError(str(error)) from error
