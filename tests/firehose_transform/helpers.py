"""Builders of real-format Firehose events carrying CloudWatch Logs subscription payloads."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

STREAM_ARN = "arn:aws:firehose:us-east-1:123456789012:deliverystream/app-logs"


def cwl_payload(
    messages: list[str], message_type: str = "DATA_MESSAGE", start_ms: int = 1_700_000_000_000
) -> dict[str, Any]:
    return {
        "messageType": message_type,
        "owner": "123456789012",
        "logGroup": "/logpipes/app/access",
        "logStream": "i-0123456789abcdef0",
        "subscriptionFilters": ["app-to-firehose"],
        "logEvents": [
            {
                "id": f"{37_000_000_000_000_000_000_000 + i:056d}",
                "timestamp": start_ms + i,
                "message": message,
            }
            for i, message in enumerate(messages)
        ],
    }


def encode(payload: dict[str, Any]) -> str:
    return base64.b64encode(gzip.compress(json.dumps(payload).encode())).decode()


def firehose_event(datas: list[str], source_kinesis_arn: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "invocationId": "invocation-1",
        "deliveryStreamArn": STREAM_ARN,
        "region": "us-east-1",
        "records": [
            {"recordId": f"record-{i:04d}", "approximateArrivalTimestamp": 1_700_000_000_000, "data": data}
            for i, data in enumerate(datas)
        ],
    }
    if source_kinesis_arn:
        event["sourceKinesisStreamArn"] = source_kinesis_arn
        for i, record in enumerate(event["records"]):
            record["kinesisRecordMetadata"] = {
                "shardId": "shardId-000000000000",
                "partitionKey": f"pk-{i}",
                "approximateArrivalTimestamp": 1_700_000_000_000,
                "sequenceNumber": str(49_000_000 + i),
                "subsequenceNumber": "",
            }
    return event


def decoded(record: dict[str, Any]) -> bytes:
    return base64.b64decode(record["data"])


def gzip_bomb(inflated_bytes: int, prefix: bytes = b"", fill: bytes = b" ") -> bytes:
    """gzip of ``prefix`` followed by ``fill`` up to inflated_bytes, built 1 MiB at a time so that
    the caller's own peak memory stays small."""
    import zlib

    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [compressor.compress(prefix)]
    chunk = fill * (1024 * 1024 // len(fill))
    left = inflated_bytes - len(prefix)
    while left > 0:
        parts.append(compressor.compress(chunk[:left]))
        left -= len(chunk)
    parts.append(compressor.flush())
    return b"".join(parts)


def peak_memory_mb(setup: str, run: str, env: dict[str, str] | None = None) -> float:
    """How far the peak RSS of a fresh interpreter rises while ``run`` executes after ``setup``.

    Measured in a subprocess (devtools.memory's VmHWM is a high-water mark: setup's own peak does
    not count)."""
    import os
    import subprocess
    import sys
    import textwrap
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    script = "\n".join(
        [
            "import sys",
            f"sys.path[:0] = [{str(repo)!r}, {str(repo / 'functions')!r}]",
            "from devtools.memory import peak_rss_kib",
            textwrap.dedent(setup),
            "before = peak_rss_kib()",
            textwrap.dedent(run),
            "after = peak_rss_kib()",
            "print((after - before) / 1024)",
        ]
    )
    environment = {**os.environ, "POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "ERROR"}
    output = subprocess.run(
        [sys.executable, "-c", script],
        env={**environment, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    if output.returncode:
        raise AssertionError(output.stderr)
    return float(output.stdout.strip().splitlines()[-1])


def soak(setup: str, batch: str, rounds: int, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``batch`` ``rounds`` times in one fresh interpreter after ``setup``, as a warm Lambda
    would. Returns the RSS (MB) after each round, the open file descriptors and the files in the
    interpreter's temporary directory (a fresh one) before the first round and after the last."""
    import os
    import subprocess
    import sys
    import tempfile
    import textwrap
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    script = "\n".join(
        [
            "import json, os, sys, tempfile, time",
            f"sys.path[:0] = [{str(repo)!r}, {str(repo / 'functions')!r}]",
            textwrap.dedent(setup),
            "def _batch():",
            textwrap.indent(textwrap.dedent(batch), "    "),
            "page = os.sysconf('SC_PAGE_SIZE')",
            "def _rss():",
            "    with open('/proc/self/statm') as statm:",
            "        return int(statm.read().split()[1]) * page / 2**20",
            "def _files():",
            "    return sorted(os.listdir(tempfile.gettempdir()))",
            "fds, files, rss, started = len(os.listdir('/proc/self/fd')), _files(), [], time.monotonic()",
            f"for _ in range({rounds}):",
            "    _batch()",
            "    rss.append(_rss())",
            "print(json.dumps({'rss': rss, 'fds': [fds, len(os.listdir('/proc/self/fd'))],",
            "    'files': [files, _files()], 'seconds': time.monotonic() - started}))",
        ]
    )
    with tempfile.TemporaryDirectory() as temporary:
        environment = {
            **os.environ,
            "TMPDIR": temporary,
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "ERROR",
        }
        output = subprocess.run(
            [sys.executable, "-c", script],
            env={**environment, **(env or {})},
            capture_output=True,
            text=True,
            check=False,
        )
    if output.returncode:
        raise AssertionError(output.stderr)
    return json.loads(output.stdout.strip().splitlines()[-1])
