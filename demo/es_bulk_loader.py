"""Demo of the es-bulk-loader pipeline: NASA-HTTP access logs from S3 into OpenSearch.

1. Apply examples/nasa-logs-to-opensearch to moto (bucket, KMS key, the four Lambdas, the Standard
   state machine with its Distributed Map, the S3 trigger, alarms), with small chunks so the fan-out
   shows. The example is given an existing domain's endpoint and ARN instead of creating one: moto
   accepts a domain, but the AWS provider then waits on it for over ten minutes.
2. Upload a plain and a gzip excerpt of the NASA-HTTP logs (demo/data/nasa_http/).
3. Stand in for what moto does not run, the state machine: ``run_state_machine`` follows the
   module's definition (Prepare, Plan, a Distributed Map over the chunk list with MaxConcurrency and
   a tolerated-failure threshold writing its results like ResultWriter, then Report), calling each
   step's handler from the function's built image context with the environment Terraform gave it.
   OpenSearch is the local SigV4-checking endpoint (devtools/opensearch_stub.py), or the cluster at
   ``OPENSEARCH_URL`` when set; the local endpoint answers the first two bulk requests with 429.
4. Print the report (per file and total), where the documents went, and a sample document.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError
from logpipes.common.apache import parse_line
from logpipes.es_bulk_loader.documents import document_id, index_name
from logpipes.es_bulk_loader.opensearch import OpenSearchHttp, sigv4_auth

from devtools.lambda_runtime import invoke_from_context
from devtools.moto_server import MotoServer
from devtools.opensearch_stub import OpenSearchStub
from devtools.terraform import applied_example

DATA = Path(__file__).resolve().parent / "data" / "nasa_http"
PLAIN = DATA / "NASA_access_log_Jul95.first900.log"
GZIPPED = DATA / "NASA_access_log_Aug95.first2000.log.gz"
INDEX_PATTERN = "nasa-logs-%Y.%m.%d"  # the example's default
# The domain the example is pointed at; the local endpoint (or OPENSEARCH_URL) answers in its place.
STAND_IN_DOMAIN_ARN = "arn:aws:es:us-east-1:123456789012:domain/nasa-logs"
STAND_IN_ENDPOINT = "search-nasa-logs-demo.us-east-1.es.amazonaws.com"
Invoke = Callable[[str, dict[str, Any]], Any]
"""(handler attribute of logpipes.es_bulk_loader, event) -> the handler's result."""


class MapRunFailed(RuntimeError):
    """More chunks failed than the Distributed Map tolerates: the execution fails (no report)."""


# moto 5.2.5 has no route for two calls the AWS provider (5.100) makes for every
# aws_sfn_state_machine: ValidateStateMachineDefinition (its plan-time check; the action exists only
# in moto's unrouted parser provider) and ListStateMachineVersions. moto answers 500 and the provider
# retries for many minutes. This server adds both, with moto's own ASL analyser for the validation.
_STEP_FUNCTIONS_ROUTES = """
import sys
from moto.core.responses import ActionResult
from moto.stepfunctions.parser.asl.static_analyser.express_static_analyser import ExpressStaticAnalyser
from moto.stepfunctions.parser.asl.static_analyser.static_analyser import StaticAnalyser
from moto.stepfunctions.responses import StepFunctionResponse

def validate_state_machine_definition(self):
    express = self._get_param("type") == "EXPRESS"
    try:
        (ExpressStaticAnalyser() if express else StaticAnalyser()).analyse(self._get_param("definition"))
    except Exception as error:
        diagnostic = {"severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED",
                      "message": str(getattr(error, "message", error))}
        return ActionResult({"result": "FAIL", "diagnostics": [diagnostic], "truncated": False})
    return ActionResult({"result": "OK", "diagnostics": [], "truncated": False})

def list_state_machine_versions(self):
    machine = self.stepfunction_backend.describe_state_machine(self._get_param("stateMachineArn"))
    versions = sorted(machine.versions.values(), key=lambda v: v.version, reverse=True)
    return ActionResult({"stateMachineVersions": [
        {"stateMachineVersionArn": v.arn, "creationDate": v.creation_date} for v in versions]})

StepFunctionResponse.validate_state_machine_definition = validate_state_machine_definition
StepFunctionResponse.list_state_machine_versions = list_state_machine_versions
from moto.server import main
main(sys.argv[1:])
"""


class StepFunctionsMotoServer(MotoServer):
    """A MotoServer that also answers ValidateStateMachineDefinition and ListStateMachineVersions."""

    def start(self, timeout: float = 30.0) -> None:
        command = [sys.executable, "-c", _STEP_FUNCTIONS_ROUTES, "-H", "127.0.0.1", "-p", str(self.port)]
        self._process = subprocess.Popen(  # noqa: S603 - this interpreter, a fixed program
            command, env={**os.environ, **self.env()}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"moto server exited with code {self._process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.endpoint_url}/moto-api/", timeout=1):  # noqa: S310 - loopback
                    return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"moto server did not answer on {self.endpoint_url} within {timeout}s")


def answers_state_machine_validation(moto: MotoServer) -> bool:
    """Whether this moto routes ValidateStateMachineDefinition (the provider needs it)."""
    sfn = moto.client("stepfunctions", config=Config(retries={"max_attempts": 1}))
    try:
        sfn.validate_state_machine_definition(definition='{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}')
    except ClientError:
        return False
    return True


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


@contextmanager
def opensearch_endpoint(
    credentials: dict[str, str], region: str
) -> Iterator[tuple[str, OpenSearchStub | None]]:
    """The cluster at OPENSEARCH_URL if set, else a local SigV4-checking endpoint."""
    url = os.environ.get("OPENSEARCH_URL")
    if url:
        yield url.rstrip("/"), None
        return
    with OpenSearchStub(credentials, region=region, service="es") as stub:
        yield stub.url, stub


def _function_env(moto: MotoServer, function_name: str) -> dict[str, str]:
    config = moto.client("lambda").get_function_configuration(FunctionName=function_name)
    return dict(config.get("Environment", {}).get("Variables", {}))


def run(moto: MotoServer, image_uris: dict[str, str]) -> None:
    if answers_state_machine_validation(moto):
        _run(moto, image_uris)
        return
    print("this moto does not route ValidateStateMachineDefinition: starting one that does")
    with StepFunctionsMotoServer() as step_functions_moto:
        _run(step_functions_moto, image_uris)


def _run(moto: MotoServer, image_uris: dict[str, str]) -> None:
    print("applying examples/nasa-logs-to-opensearch against moto (32 KiB chunks, 64 KiB bulk requests) ...")
    variables = {
        "image_uris": image_uris,
        "existing_opensearch": {"endpoint": STAND_IN_ENDPOINT, "arn": STAND_IN_DOMAIN_ARN},
        "chunk_bytes": 32 * 1024,
        "bulk_bytes": 64 * 1024,
    }
    with applied_example("nasa-logs-to-opensearch", moto, variables) as outputs:
        bucket = outputs["bucket_name"]
        s3 = moto.client("s3")
        for path in (PLAIN, GZIPPED):
            s3.put_object(Bucket=bucket, Key=f"nasa/{path.name}", Body=path.read_bytes())
            print(f"uploaded s3://{bucket}/nasa/{path.name} ({path.stat().st_size} bytes)")
        print(f"state machine {outputs['state_machine_arn']} (Standard, Distributed Map)")

        env_of = {step: _function_env(moto, name) for step, name in outputs["function_names"].items()}
        with opensearch_endpoint({"testing": "testing"}, moto.region) as (url, stub):
            where = "the local SigV4-checking endpoint" if stub else "OPENSEARCH_URL"
            print(f"OpenSearch: {url} ({where}, standing in for {STAND_IN_ENDPOINT})")
            if stub is not None:
                stub.inject_request_errors(429, count=2)  # a busy cluster: the loader backs off

            def invoke(handler: str, event: dict[str, Any]) -> Any:
                step = {"handler": "load"}.get(handler, handler.removesuffix("_handler"))
                env = {**moto.env(), **env_of[step], "OPENSEARCH_ENDPOINT": url}
                return invoke_from_context(
                    "es_bulk_loader", event, env=env, handler=f"logpipes.es_bulk_loader.{handler}"
                )

            started = time.monotonic()
            report = run_state_machine(
                invoke,
                {"bucket": bucket, "prefix": "nasa/"},
                s3,
                results_bucket=outputs["work_bucket_name"],
                results_prefix=outputs["results_prefix"],
                max_concurrency=4,
            )
            print(
                f"execution took {time.monotonic() - started:.1f} s (handlers ran from build/es_bulk_loader)"
            )
            _print_report(report)
            _print_documents(moto, url, bucket, report, PLAIN.read_text().split("\n", 1)[0])
    print("destroyed the stack")


def _print_report(report: dict[str, Any]) -> None:
    columns = (
        "chunks",
        "lines",
        "indexed",
        "failed",
        "dead_lettered",
        "parse_errors",
        "retried_requests",
        "seconds",
    )
    print("  " + f"{'file':44s}" + "".join(f"{c:>{len(c) + 2}s}" for c in columns))
    for line in [*report["files"], {"key": "TOTAL", **report["total"]}]:
        print("  " + f"{line['key'][:44]:44s}" + "".join(f"{line[c]:>{len(c) + 2}}" for c in columns))
    total = report["total"]
    if total["lines"] != total["indexed"] + total["dead_lettered"] or total["chunks_failed"]:
        raise RuntimeError(f"lines went missing: {total}")


def _print_documents(
    moto: MotoServer, url: str, bucket: str, report: dict[str, Any], first_line: str
) -> None:
    """Read back through the same signed HTTP the loader uses: the count, and one document."""
    http = OpenSearchHttp(url, sigv4_auth("es", moto.region, moto.session()))
    http.request("POST", "/nasa-logs-*/_refresh")
    count = http.request("GET", "/nasa-logs-*/_count").json()["count"]
    print(f"OpenSearch holds {count} documents in nasa-logs-* for {report['total']['lines']} lines read")
    if count != report["total"]["indexed"]:
        raise RuntimeError(f"expected {report['total']['indexed']} documents, found {count}")
    key = f"nasa/{PLAIN.name}"
    wanted = {
        "_index": index_name(INDEX_PATTERN, parse_line(first_line).time),
        "_id": document_id(bucket, key, 0),
    }
    found = http.request("POST", "/_mget", json.dumps({"docs": [wanted]}).encode()).json()["docs"][0]
    print(f"document {wanted['_index']}/{wanted['_id']} (the first line of {key}):")
    print("  " + json.dumps(found.get("_source")))
