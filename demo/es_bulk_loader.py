"""Demo of the es-bulk-loader pipeline: NASA-HTTP access logs from S3 into OpenSearch.

1. Apply examples/nasa-logs-to-opensearch to moto (bucket, KMS key, the four Lambdas, the Standard
   state machine with its Distributed Map, the S3 trigger, alarms), with small chunks so the fan-out
   shows. The example is given an existing domain's endpoint and ARN instead of creating one: moto
   accepts a domain, but the AWS provider then waits on it for over ten minutes.
2. Upload a plain and a gzip excerpt of the NASA-HTTP logs (demo/data/nasa_http/).
3. Start an execution of the state machine Terraform applied. This pipeline's moto server executes
   it (devtools.step_functions.StepFunctionsServer: moto's ASL interpreter, with the gaps
   devtools/asl_moto.py closes; the shared server of ``make demo`` does not execute state machines),
   and each Lambda task runs its function's handler from the built image context with the
   environment Terraform gave the function. OpenSearch is the local SigV4-checking endpoint
   (devtools/opensearch_stub.py), or the cluster at ``OPENSEARCH_URL`` when set; the local endpoint
   answers the first two bulk requests with 429.
4. Print the execution history summary (states entered, the Map Run, retries), the report (per file
   and total), where the documents went, and a sample document.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from devtools.moto_server import MotoServer
from devtools.opensearch_stub import OpenSearchStub
from devtools.step_functions import StepFunctionsServer, history_summary, run_execution
from devtools.terraform import applied_example
from logpipes.common.apache import parse_line
from logpipes.es_bulk_loader.documents import document_id, index_name
from logpipes.es_bulk_loader.opensearch import OpenSearchHttp, sigv4_auth

DATA = Path(__file__).resolve().parent / "data" / "nasa_http"
PLAIN = DATA / "NASA_access_log_Jul95.first900.log"
GZIPPED = DATA / "NASA_access_log_Aug95.first2000.log.gz"
INDEX_PATTERN = "nasa-logs-%Y.%m.%d"  # the example's default
# The domain the example is pointed at; the local endpoint (or OPENSEARCH_URL) answers in its place.
STAND_IN_DOMAIN_ARN = "arn:aws:es:us-east-1:123456789012:domain/nasa-logs"
STAND_IN_ENDPOINT = "search-nasa-logs-demo.us-east-1.es.amazonaws.com"


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


def run(moto: MotoServer, image_uris: dict[str, str]) -> None:
    """Apply the example to a moto that executes state machines, load the logs with one execution."""
    del moto  # the shared server does not execute state machines: this pipeline starts its own
    with (
        opensearch_endpoint({"testing": "testing"}, "us-east-1") as (url, stub),
        StepFunctionsServer(lambda_overrides={"OPENSEARCH_ENDPOINT": url}) as local_aws,
    ):
        print(f"moto server executing state machines on {local_aws.endpoint_url}")
        _load(local_aws, image_uris, url, stub)
    print("destroyed the stack")


def _load(moto: MotoServer, image_uris: dict[str, str], url: str, stub: OpenSearchStub | None) -> None:
    print("applying examples/nasa-logs-to-opensearch against moto (32 KiB chunks, 64 KiB bulk requests) ...")
    variables = {
        "image_uris": image_uris,
        "existing_opensearch": {"endpoint": STAND_IN_ENDPOINT, "arn": STAND_IN_DOMAIN_ARN},
        "chunk_bytes": 32 * 1024,
        "bulk_bytes": 64 * 1024,
        "max_concurrency": 4,
    }
    with applied_example("nasa-logs-to-opensearch", moto, variables) as outputs:
        bucket = outputs["bucket_name"]
        s3, sfn = moto.client("s3"), moto.client("stepfunctions")
        for path in (PLAIN, GZIPPED):
            s3.put_object(Bucket=bucket, Key=f"nasa/{path.name}", Body=path.read_bytes())
            print(f"uploaded s3://{bucket}/nasa/{path.name} ({path.stat().st_size} bytes)")
        where = "the local SigV4-checking endpoint" if stub else "OPENSEARCH_URL"
        print(f"OpenSearch: {url} ({where}, standing in for {STAND_IN_ENDPOINT})")
        if stub is not None:
            stub.inject_request_errors(429, count=2)  # a busy cluster: the loader backs off

        started = time.monotonic()
        described = run_execution(sfn, outputs["state_machine_arn"], {"bucket": bucket, "prefix": "nasa/"})
        print(
            f"execution {described['name']} of {outputs['state_machine_arn']}: {described['status']} in "
            f"{time.monotonic() - started:.1f} s (handlers ran from build/es_bulk_loader)"
        )
        _print_history(history_summary(sfn, described["executionArn"]))
        if described["status"] != "SUCCEEDED":
            raise RuntimeError(f"the execution failed: {described.get('error')}: {described.get('cause')}")
        report = json.loads(described["output"])
        _print_report(report)
        _print_documents(moto, url, bucket, report, PLAIN.read_text().split("\n", 1)[0])


def _print_history(summary: dict[str, Any]) -> None:
    print("execution history:")
    print(f"  states entered: {' -> '.join(summary['states_entered'])}")
    for map_run in summary["map_runs"]:
        items = ", ".join(f"{count} {state}" for state, count in map_run["items"].items())
        print(f"  map run {map_run['arn'].rpartition('/')[2]}: {map_run['status']} ({items})")
    retries = ", ".join(f"{state} {count}x" for state, count in summary["retries"].items()) or "none"
    print(f"  retries (Retry of the definition): {retries}")
    print(f"  events: {', '.join(f'{kind} {count}' for kind, count in summary['events'].items())}")


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
