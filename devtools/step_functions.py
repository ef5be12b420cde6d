"""Stand-in for the es-bulk-loader state machine, which moto stores but does not run.

``run_state_machine`` follows the module's definition (modules/es-bulk-loader/state_machine.tf):
Prepare, Plan, a Distributed Map over the chunk list with MaxConcurrency and a tolerated-failure
threshold writing its results like ResultWriter, then Report; ``invoke`` calls each step's handler.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

Invoke = Callable[[str, dict[str, Any]], Any]
"""(handler attribute of logpipes.es_bulk_loader, event) -> the handler's result."""


class MapRunFailed(RuntimeError):
    """More chunks failed than the Distributed Map tolerates: the execution fails (no report)."""


def run_state_machine(
    invoke: Invoke,
    execution_input: dict[str, Any],
    s3: Any,
    results_bucket: str,
    results_prefix: str,
    max_concurrency: int = 4,
    tolerated_failure_percentage: float = 0,
    execution: str | None = None,
) -> dict[str, Any]:
    """Run one execution the way the module's state machine does; return its output (the report).

    The payloads are the ones the definition passes (modules/es-bulk-loader/state_machine.tf):
    Prepare gets the input; Plan gets {"request": input, "execution": name}; each Map item is a chunk
    of the list Plan wrote; Report gets {"files", "results": ResultWriterDetails, "started_at"}.
    """
    execution = execution or f"local-{uuid.uuid4().hex[:12]}"
    started_at = datetime.now(UTC).isoformat()
    invoke("prepare_handler", execution_input)
    planned = invoke("plan_handler", {"request": execution_input, "execution": execution})
    manifest = planned["manifest"]
    chunks = json.loads(s3.get_object(Bucket=manifest["bucket"], Key=manifest["key"])["Body"].read())

    def child(chunk: dict[str, Any]) -> dict[str, Any]:
        record = {"ExecutionArn": f"arn:aws:states:local:execution:{execution}:{uuid.uuid4()}",
                  "Input": json.dumps(chunk), "StartDate": datetime.now(UTC).isoformat()}  # fmt: skip
        try:
            record.update(Status="SUCCEEDED", Output=json.dumps(invoke("handler", chunk)))
        except Exception as error:  # a failed child execution is a result, as in a Map Run
            record.update(Status="FAILED", Error=type(error).__name__, Cause=str(error)[:2000])
        return record

    with ThreadPoolExecutor(max_workers=max_concurrency) as pool:
        records = list(pool.map(child, chunks))
    failed = [r for r in records if r["Status"] == "FAILED"]
    if chunks and len(failed) * 100 > tolerated_failure_percentage * len(chunks):
        raise MapRunFailed(f"{len(failed)} of {len(chunks)} chunks failed: {failed[0]['Cause'][:300]}")
    details = write_map_results(s3, results_bucket, results_prefix, records)
    return dict(
        invoke("report_handler", {"files": planned["files"], "results": details, "started_at": started_at})
    )


def write_map_results(s3: Any, bucket: str, prefix: str, records: list[dict[str, Any]]) -> dict[str, str]:
    """Write child execution results as a Distributed Map's ResultWriter does; return its details."""
    folder = f"{prefix.rstrip('/')}/{uuid.uuid4()}"
    result_files: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
    for status in ("SUCCEEDED", "FAILED"):
        selected = [r for r in records if r["Status"] == status]
        if selected:
            key = f"{folder}/{status}_0.json"
            body = json.dumps(selected).encode()
            s3.put_object(Bucket=bucket, Key=key, Body=body)
            result_files[status].append({"Key": key, "Size": len(body)})
    manifest = {"DestinationBucket": bucket, "MapRunArn": f"arn:aws:states:local:mapRun:{folder}",
                "ResultFiles": result_files}  # fmt: skip
    s3.put_object(Bucket=bucket, Key=f"{folder}/manifest.json", Body=json.dumps(manifest).encode())
    return {"Bucket": bucket, "Key": f"{folder}/manifest.json"}
