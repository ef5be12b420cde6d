"""The Report step: per-file and total counts from the Distributed Map's results.

The Map writes its child executions' results to S3 (ResultWriter): a ``manifest.json`` listing
``SUCCEEDED_n.json`` and ``FAILED_n.json`` files, each a JSON array of executions with their
``Input`` and ``Output`` (or ``Error`` and ``Cause``) as JSON strings.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, NamedTuple

from logpipes.es_bulk_loader.plan import FilePlan

COUNTERS = (
    "lines", "indexed", "failed", "dead_lettered", "parse_errors", "blank_lines",
    "retried_requests", "retried_items",
)  # fmt: skip


class MapResults(NamedTuple):
    """The Distributed Map's results: the Load results of the chunks that succeeded, and the rest."""

    loaded: list[dict[str, Any]]  # the Load step's results
    failed: list[dict[str, Any]]  # {"bucket", "key", "offset", "error", "cause"} per failed chunk


def read_map_results(s3: Any, result_writer_details: dict[str, str]) -> MapResults:
    """Read the results the Distributed Map wrote (its ``ResultWriterDetails``)."""
    bucket = result_writer_details["Bucket"]
    manifest = _get_json(s3, bucket, result_writer_details["Key"])
    destination = manifest.get("DestinationBucket", bucket)
    files = manifest.get("ResultFiles", {})
    loaded = [
        json.loads(execution["Output"])
        for entry in files.get("SUCCEEDED", [])
        for execution in _get_json(s3, destination, entry["Key"])
    ]
    failed = []
    for status in ("FAILED", "PENDING"):
        for entry in files.get(status, []):
            for execution in _get_json(s3, destination, entry["Key"]):
                chunk = json.loads(execution.get("Input") or "{}")
                failed.append(
                    {
                        "bucket": chunk.get("bucket"),
                        "key": chunk.get("key"),
                        "offset": chunk.get("offset"),
                        "error": execution.get("Error", status),
                        "cause": (execution.get("Cause") or "")[:1000],
                    }
                )
    return MapResults(loaded, failed)


def _get_json(s3: Any, bucket: str, key: str) -> Any:
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def summarize(files: list[FilePlan], results: MapResults, started_at: str, now: datetime) -> dict[str, Any]:
    """The execution's output: one line per file, the totals, and the failed chunks."""
    per_file: dict[tuple[str, str], dict[str, Any]] = {
        (f["bucket"], f["key"]): {
            "bucket": f["bucket"],
            "key": f["key"],
            "size": f["size"],
            "gzip": f["gzip"],
            "chunks": f["chunks"],
            "chunks_failed": 0,
            **dict.fromkeys(COUNTERS, 0),
            "seconds": 0.0,
        }
        for f in files
    }
    spans: dict[tuple[str, str], tuple[float, float]] = {}
    for loaded in results.loaded:
        name = (loaded["bucket"], loaded["key"])
        line = per_file[name]
        for counter in COUNTERS:
            line[counter] += loaded[counter]
        start, end = loaded["started_at"], loaded["started_at"] + loaded["seconds"]
        first, last = spans.get(name, (start, end))
        spans[name] = (min(first, start), max(last, end))
    for name, (first, last) in spans.items():
        per_file[name]["seconds"] = round(last - first, 3)  # wall time: chunks run in parallel
    for failure in results.failed:
        line = per_file.get((failure["bucket"], failure["key"]))
        if line is not None:
            line["chunks_failed"] += 1
    total: dict[str, Any] = {
        "files": len(per_file),
        "chunks": sum(f["chunks"] for f in files),
        "chunks_failed": len(results.failed),
        **{counter: sum(line[counter] for line in per_file.values()) for counter in COUNTERS},
        "seconds": round((now - datetime.fromisoformat(started_at)).total_seconds(), 3),
    }
    return {"files": list(per_file.values()), "total": total, "failed_chunks": results.failed}
