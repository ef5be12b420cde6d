"""Aggregates made by an independent implementation (the npm aws-kinesis-agg package, run with node)
de-aggregate to the original user records, and go through the handler."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from logpipes.common.apache import parse_line
from logpipes.kinesis_kpl.aggregation import is_aggregated, user_records
from logpipes.kinesis_kpl.app import process_event
from logpipes.kinesis_kpl.settings import Settings
from logpipes.kinesis_kpl.sink import MemorySink

from .kinesis_events import json_lines, kinesis_event

NODE_PROJECT = Path(__file__).parent / "node"
NodeAggregator = Callable[[Sequence[tuple[str, str | None, bytes]]], list[bytes]]


@pytest.fixture(scope="session")
def node_aggregate(request: pytest.FixtureRequest) -> NodeAggregator:
    """Aggregate (partition key, explicit hash key, data) records with the npm package.

    `npm ci` installs the locked package into pytest's cache folder once (again when the lock changes).
    """
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are not installed: the npm aws-kinesis-agg cross-check needs them")
    if getattr(request.config, "cache", None) is None:  # -p no:cacheprovider
        pytest.skip("pytest's cache is off: it is where the npm package is installed once")
    manifests = [NODE_PROJECT / "package.json", NODE_PROJECT / "package-lock.json"]
    wanted = hashlib.sha256(b"".join(path.read_bytes() for path in manifests)).hexdigest()
    prefix = Path(request.config.cache.mkdir("kinesis_kpl_node"))
    stamp = prefix / "installed.sha256"
    if not (stamp.exists() and stamp.read_text() == wanted and (prefix / "node_modules").is_dir()):
        for path in manifests:
            shutil.copy2(path, prefix / path.name)
        installed = subprocess.run(
            ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
            cwd=prefix,
            capture_output=True,
            text=True,
            check=False,
        )
        assert installed.returncode == 0, f"npm ci failed:\n{installed.stdout}\n{installed.stderr}"
        stamp.write_text(wanted)

    def aggregate(records: Sequence[tuple[str, str | None, bytes]]) -> list[bytes]:
        request_body = [
            {"partitionKey": key, "explicitHashKey": hash_key, "data": base64.b64encode(data).decode()}
            for key, hash_key, data in records
        ]
        result = subprocess.run(
            ["node", str(NODE_PROJECT / "aggregate.js")],
            input=json.dumps(request_body),
            capture_output=True,
            text=True,
            env={**os.environ, "NODE_PATH": str(prefix / "node_modules")},
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return [base64.b64decode(item["data"]) for item in json.loads(result.stdout)]

    return aggregate


@pytest.fixture
def elastic_lines(shared_data: Path) -> list[bytes]:
    return (
        (shared_data / "apache_combined/elastic-examples_apache_logs.log")
        .read_bytes()
        .splitlines(keepends=True)
    )


def test_node_aggregates_of_apache_lines_de_aggregate_to_the_lines(
    node_aggregate: NodeAggregator, elastic_lines: list[bytes]
) -> None:
    lines = elastic_lines[:5000]  # about 1.2 MB: more than one 1 MB aggregate
    blobs = node_aggregate([(f"host-{i % 7}", None, line) for i, line in enumerate(lines)])
    assert len(blobs) >= 2
    assert all(is_aggregated(blob) for blob in blobs)
    assert [record for blob in blobs for record in user_records(blob)] == lines


def test_node_aggregate_with_hash_keys_and_binary_data(node_aggregate: NodeAggregator) -> None:
    records = [
        ("pk-a", "123456789", b"\x00\xff binary \xf3\x89\x9a\xc2"),
        ("pk-b", None, "é unicode ✓".encode()),
        ("pk-a", "987654321", b'{"host":"1.2.3.4"}'),
    ]
    (blob,) = node_aggregate(records)
    assert user_records(blob) == [data for _, _, data in records]


def test_node_aggregates_through_the_handler(
    node_aggregate: NodeAggregator, elastic_lines: list[bytes]
) -> None:
    lines = elastic_lines[:400]
    blobs = node_aggregate([("fluentd", None, line) for line in lines]) + node_aggregate(
        [("fluentd", None, line) for line in elastic_lines[400:410]]
    )
    sink = MemorySink()
    response, summary = process_event(kinesis_event(blobs), Settings(bucket="sink"), sink)
    assert response == {"batchItemFailures": []}
    docs = [doc for key in sorted(sink.objects) for doc in json_lines(sink.objects[key].body)]
    assert len(docs) == summary.user_records == 410
    assert sorted((d["time"], d["path"]) for d in docs) == sorted(
        (record.time, record.path)
        for record in map(parse_line, (line.decode() for line in elastic_lines[:410]))
    )
