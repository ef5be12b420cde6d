"""Demo of the kinesis-kpl pipeline on moto: KPL-aggregated Apache lines in, partitioned JSON lines out.

1. Apply examples/fluentd-kpl-to-s3 (stream, consumer Lambda, event source mapping, failure queue,
   sink bucket, the producer's instance profile).
2. Produce as td-agent's kinesis_streams_aggregated would: Apache lines packed into KPL aggregates
   (NASA-HTTP lines as plain text, elastic/examples lines as the JSON fluentd's apache2 parser
   gives), one aggregate per PutRecords call with a random partition key; plus one corrupt aggregate.
3. Stand in for the event source mapping, which moto does not run: read each shard from
   TRIM_HORIZON, hand the batches to the handler from its built image context, and follow its
   partial failure responses (``deliver``, also used by the tests).
4. Print what landed in S3: objects per partition, a sample line, the dead letter.
"""

from __future__ import annotations

import gzip
import json
import secrets
from collections import Counter
from pathlib import Path
from typing import Any

from devtools.kinesis import aggregates, deliver, fluentd_json, let_moto_accept_records
from devtools.lambda_runtime import invoke_from_context
from devtools.moto_server import MotoServer
from devtools.terraform import applied_example

DATA = Path(__file__).resolve().parent / "data" / "kinesis_kpl"


def produce(kinesis: Any, stream_name: str) -> tuple[int, int]:
    """Put the sample lines as KPL aggregates, then one corrupt aggregate. Returns (lines, records)."""
    nasa = (DATA / "NASA_access_log_Jul95.first600.log").read_bytes().splitlines(keepends=True)
    elastic = (DATA / "elastic-examples_apache_logs.first300.log").read_text().splitlines()
    user_records = [*nasa, *(fluentd_json(line) for line in elastic)]
    blobs = list(aggregates(user_records))
    corrupt = bytearray(blobs[0])
    corrupt[len(corrupt) // 2] ^= 0xFF  # a flipped byte: the MD5 no longer matches
    for blob in [*blobs, bytes(corrupt)]:
        # Like fluentd: a random partition key per aggregate, so the aggregates spread over shards.
        kinesis.put_records(
            StreamName=stream_name, Records=[{"Data": blob, "PartitionKey": secrets.token_hex(16)}]
        )
    return len(user_records), len(blobs) + 1


# --- The demo ---


def run(moto: MotoServer, image_uris: dict[str, str]) -> None:
    print("kinesis_kpl: applying examples/fluentd-kpl-to-s3 on moto ...")
    with applied_example("fluentd-kpl-to-s3", moto, {"image_uris": image_uris}) as outputs:
        kinesis, s3 = moto.client("kinesis"), moto.client("s3")
        stream, bucket = outputs["stream_name"], outputs["bucket_name"]
        let_moto_accept_records(moto, outputs["lambda_function_name"])
        lines, records = produce(kinesis, stream)
        print(f"  produced {lines} Apache lines in {records} KPL aggregates (1 corrupt) into stream {stream}")

        function = moto.client("lambda").get_function_configuration(
            FunctionName=outputs["lambda_function_name"]
        )
        env = {**moto.env(), **function["Environment"]["Variables"]}
        delivery = deliver(kinesis, stream, lambda event: invoke_from_context("kinesis_kpl", event, env=env))
        print(
            f"  event source mapping stand-in: {delivery.invocations} invocations of the built image, "
            f"{delivery.records} records from {len(delivery.shards)} shards, {delivery.retries} retries"
        )

        objects = s3.list_objects_v2(Bucket=bucket)["Contents"]
        data = [o["Key"] for o in objects if o["Key"].startswith(outputs["prefix"])]
        letters = [o["Key"] for o in objects if o["Key"].startswith(outputs["dead_letter_prefix"])]
        bodies = {key: gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read()) for key in data}
        per_partition = Counter("/".join(key.split("/")[1:3]) for key in data)
        written = sum(body.count(b"\n") for body in bodies.values())
        print(f"  s3://{bucket}/{outputs['prefix']}: {written} JSON lines in {len(data)} objects")
        for partition, count in sorted(per_partition.items()):
            lines_in = sum(bodies[k].count(b"\n") for k in data if f"/{partition}/" in k)
            print(f"    {partition}: {count} objects, {lines_in} lines")
        sample = json.loads(next(iter(bodies.values())).splitlines()[0])
        print(f"  sample line: {json.dumps(sample)}")
        for key in letters:
            reason = s3.head_object(Bucket=bucket, Key=key)["Metadata"].get("reason")
            print(f"  dead letter: s3://{bucket}/{key} ({reason})")
        if written != lines or len(letters) != 1:
            raise RuntimeError(f"expected {lines} lines and 1 dead letter, got {written} and {len(letters)}")
