"""The dialect layer (what only Redshift has) and the configuration from the environment."""

from __future__ import annotations

import pytest

from logpipes.common.settings import ConfigurationError
from logpipes.s3log_redshift.dialect import PostgreSQL, Redshift, create_statements, load_statements, render
from logpipes.s3log_redshift.executor import DataApiTarget
from logpipes.s3log_redshift.schema import InvalidName, TableNames
from logpipes.s3log_redshift.settings import Settings

NAMES = TableNames(schema="logs", table="access_log", ledger="access_log_ledger")
ROLE = "arn:aws:iam::123456789012:role/copy"


def test_redshift_table_has_encodings_sort_key_and_widths() -> None:
    schema, target, ledger = (render(Redshift(ROLE), s) for s in create_statements(Redshift(ROLE), NAMES))
    assert schema == "CREATE SCHEMA IF NOT EXISTS logs"
    assert target.startswith(
        "CREATE TABLE IF NOT EXISTS logs.access_log (\n  source_key VARCHAR(1024) ENCODE ZSTD NOT NULL,"
    )
    for column in (
        "request_time TIMESTAMPTZ ENCODE RAW NOT NULL",
        "http_status SMALLINT ENCODE AZ64,",
        "bytes_sent BIGINT ENCODE AZ64,",
        "object_size BIGINT ENCODE AZ64,",
        "total_time_ms INTEGER ENCODE AZ64,",
        "user_agent VARCHAR(4096) ENCODE ZSTD,",
        "extra_fields VARCHAR(4096) ENCODE ZSTD\n",
    ):
        assert column in target
    assert target.endswith(") DISTSTYLE AUTO SORTKEY (request_time)")
    assert ledger.endswith(") DISTSTYLE AUTO SORTKEY (source_key)")


def test_postgresql_table_is_the_same_without_redshift_options() -> None:
    target = render(PostgreSQL(), create_statements(PostgreSQL(), NAMES)[1])
    assert "ENCODE" not in target and "SORTKEY" not in target and "VARCHAR" not in target
    assert "request_time TIMESTAMPTZ NOT NULL" in target
    assert "http_status SMALLINT," in target


def test_same_load_statements_on_both_except_copy_and_lock() -> None:
    args = (NAMES, "s3://b/data.manifest", "s3://b/objects.manifest")
    redshift = [render(Redshift(ROLE), s) for s in load_statements(Redshift(ROLE), *args)]
    postgres = [render(PostgreSQL(), s) for s in load_statements(PostgreSQL(), *args)]
    different = [(r, p) for r, p in zip(redshift, postgres, strict=True) if r != p]
    assert [(r.split()[0], p.split()[0]) for r, p in different] == [
        ("LOCK", "LOCK"),
        ("COPY", "COPY"),
        ("COPY", "COPY"),
    ]
    assert postgres[2] == (
        "COPY s3log_ledger_stage (source_bucket, source_key, source_etag, source_size, lines_total,"
        " rows_staged, lines_rejected, batch_id, staged_at)"
        " FROM STDIN WITH (FORMAT csv, DELIMITER E'\\t', NULL '-')"
    )


def test_batch_without_loadable_rows_only_records_the_ledger() -> None:
    statements = [
        render(PostgreSQL(), s) for s in load_statements(PostgreSQL(), NAMES, None, "s3://b/o.manifest")
    ]
    assert not any("s3log_stage " in s or s.endswith("s3log_stage") for s in statements)
    assert statements[-2].startswith("INSERT INTO logs.access_log_ledger")


@pytest.mark.parametrize("name", ["Logs", "logs; DROP TABLE x", "1logs", "a" * 128, "", "logs.table"])
def test_table_names_must_be_plain_identifiers(name: str) -> None:
    with pytest.raises(InvalidName):
        TableNames(schema=name, table="t", ledger="l")


BASE = {"STAGING_BUCKET": "staging", "REDSHIFT_COPY_ROLE_ARN": ROLE}


def test_settings_for_a_cluster_with_a_secret() -> None:
    settings = Settings.from_env(
        {**BASE, "REDSHIFT_CLUSTER_IDENTIFIER": "analytics", "REDSHIFT_SECRET_ARN": "arn:secret",
         "REDSHIFT_DATABASE": "logs", "TARGET_SCHEMA": "web", "TARGET_TABLE": "s3_requests"}
    )  # fmt: skip
    assert settings.data_api == DataApiTarget(
        database="logs", cluster_identifier="analytics", secret_arn="arn:secret"
    )
    assert settings.names == TableNames(schema="web", table="s3_requests", ledger="s3_requests_ledger")
    assert (settings.staging.bucket, settings.staging.prefix, settings.staging.rejects_prefix) == (
        "staging", "staging/", "rejects/",
    )  # fmt: skip


def test_settings_for_a_workgroup_with_iam_identity() -> None:
    settings = Settings.from_env({**BASE, "REDSHIFT_WORKGROUP_NAME": "photo", "REDSHIFT_SECRET_ARN": ""})
    assert settings.data_api == DataApiTarget(database="dev", workgroup_name="photo")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"REDSHIFT_CLUSTER_IDENTIFIER": "c"}, "STAGING_BUCKET"),
        ({**BASE}, "exactly one of a cluster identifier and a workgroup name"),
        ({**BASE, "REDSHIFT_CLUSTER_IDENTIFIER": "c", "REDSHIFT_WORKGROUP_NAME": "w"}, "exactly one"),
        ({**BASE, "REDSHIFT_WORKGROUP_NAME": "w", "REDSHIFT_DB_USER": "loader"}, "provisioned clusters only"),
        ({**BASE, "REDSHIFT_CLUSTER_IDENTIFIER": "c", "GZIP_LEVEL": "0"}, "GZIP_LEVEL"),
        ({**BASE, "LOADER_BACKEND": "mysql"}, "LOADER_BACKEND"),
        (
            {**BASE, "REDSHIFT_CLUSTER_IDENTIFIER": "c", "TARGET_TABLE": "Bad-Name"},
            "lower-case SQL identifier",
        ),
    ],
)
def test_invalid_settings_say_what_is_wrong(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Settings.from_env(env)
