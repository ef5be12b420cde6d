"""Fixtures of the s3log_redshift tests: a real PostgreSQL 15 on loopback, and the AWS side on moto."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from devtools.moto_server import MotoServer
from devtools.postgres import PostgresServer

LOG_BUCKET = "photo-service-logs"
LOG_PREFIX = "s3-access/"
STAGING_BUCKET = "photo-service-log-staging"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One server for the session (about 2 s to start); each test gets its own schema."""
    with PostgresServer() as server:
        yield server


@dataclass
class Database:
    """A schema of its own in the test server, and a way to read rows back."""

    dsn: str
    schema: str

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.dsn, autocommit=True) as connection:
            cursor = connection.execute(sql.replace("{schema}", self.schema).encode(), params)
            return cursor.fetchall() if cursor.description else []


@pytest.fixture
def database(postgres: PostgresServer) -> Iterator[Database]:
    schema = f"logs_{uuid.uuid4().hex[:12]}"
    yield Database(postgres.dsn, schema)
    with psycopg.connect(postgres.dsn, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE".encode())


@pytest.fixture
def buckets(aws: MotoServer) -> Any:
    """The access-log bucket and the staging bucket, on a clean moto; returns an S3 client."""
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=LOG_BUCKET)
    s3.create_bucket(Bucket=STAGING_BUCKET)
    return s3


@pytest.fixture
def loader_env(database: Database, buckets: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The handler's environment for the PostgreSQL backend, set in os.environ for the test."""
    env = {
        "LOADER_BACKEND": "postgresql",
        "POSTGRES_DSN": database.dsn,
        "STAGING_BUCKET": STAGING_BUCKET,
        "TARGET_SCHEMA": database.schema,
        "TARGET_TABLE": "access_log",
        "LEDGER_TABLE": "access_log_ledger",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env
