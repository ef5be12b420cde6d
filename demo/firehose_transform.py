"""CloudWatch Logs -> Firehose (+ transform Lambda) -> S3, queryable in Athena.

Applies examples/cloudwatch-to-athena to moto, puts real Apache access log lines into the log group,
lets moto's subscription deliver them to Firehose, runs the transform from its built image context
exactly as Firehose would call it, and shows what landed in S3.
"""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

from devtools.firehose import deliver
from devtools.lambda_runtime import invoke_from_context
from devtools.moto_server import MotoServer
from devtools.terraform import applied_example

DATA = Path(__file__).parent / "data" / "apache_combined.log"
BATCH = 100  # events per PutLogEvents call: each call becomes one subscription record


def run(moto: MotoServer, image_uris: dict[str, str]) -> None:
    lines = DATA.read_text(encoding="utf-8").splitlines()
    print("applying examples/cloudwatch-to-athena (output_format=json) against moto ...")
    with applied_example("cloudwatch-to-athena", moto, {"image_uris": image_uris}) as outputs:
        logs, s3 = moto.client("logs"), moto.client("s3")
        group = outputs["log_group_name"]
        logs.create_log_stream(logGroupName=group, logStreamName="web-1")
        now = int(time.time() * 1000)
        for start in range(0, len(lines), BATCH):
            events = [
                {"timestamp": now + i, "message": line}
                for i, line in enumerate(lines[start : start + BATCH], start)
            ]
            logs.put_log_events(logGroupName=group, logStreamName="web-1", logEvents=events)
        print(f"put {len(lines)} Apache log lines into {group} in {len(lines) // BATCH} calls")

        started = time.monotonic()
        delivery = deliver(
            moto,
            outputs["delivery_stream_name"],
            lambda event: invoke_from_context(
                "firehose_transform", event, env={**moto.env(), "OUTPUT_FORMAT": "json"}
            ),
        )
        print(
            f"transform ran {delivery.invocations}x from build/firehose_transform/ "
            f"on {delivery.records_in} records in {time.monotonic() - started:.2f} s: {delivery.results}"
        )
        total = 0
        for key in delivery.keys:
            body = gzip.decompress(s3.get_object(Bucket=outputs["bucket_name"], Key=key)["Body"].read())
            rows = body.decode().splitlines()
            total += len(rows)
            print(f"  s3://{outputs['bucket_name']}/{key}: {len(rows)} lines, {len(body)} bytes")
        print(f"{total} of {len(lines)} lines landed in S3; first two:")
        for row in body.decode().splitlines()[:2]:
            print("  " + json.dumps(json.loads(row), ensure_ascii=False)[:200])
        print(f"Athena: {outputs['athena_query']}")
        if total != len(lines):
            raise RuntimeError(f"expected {len(lines)} lines in S3, found {total}")
    print("destroyed the stack")
