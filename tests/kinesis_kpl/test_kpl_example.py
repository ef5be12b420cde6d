"""examples/fluentd-kpl-to-s3 applied to moto: its resources, its td-agent configuration, and
aggregated Apache lines put into its stream landing in its bucket through the built image context."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from devtools.kinesis import aggregates, deliver, fluentd_json, let_moto_accept_records
from devtools.lambda_runtime import ensure_built, invoke_from_context
from devtools.moto_server import MotoServer
from devtools.terraform import applied_example

pytestmark = [pytest.mark.terraform, pytest.mark.moto, pytest.mark.slow]

ELASTIC = "apache_combined/elastic-examples_apache_logs.log"


def test_example_applies_and_delivers(aws: MotoServer, shared_data: Path) -> None:
    image_uri = ensure_built("kinesis_kpl")
    with applied_example("fluentd-kpl-to-s3", aws, {"image_uris": {"kinesis_kpl": image_uri}}) as outputs:
        stream, bucket = outputs["stream_name"], outputs["bucket_name"]
        kinesis, s3, lambdas = aws.client("kinesis"), aws.client("s3"), aws.client("lambda")

        # The stream is KMS-encrypted; the mapping reports partial failures, bisects, keeps failed batches.
        summary = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]
        assert (summary["EncryptionType"], summary["KeyId"]) == ("KMS", "alias/aws/kinesis")
        mapping = lambdas.get_event_source_mapping(UUID=outputs["event_source_mapping_uuid"])
        assert mapping["EventSourceArn"] == outputs["stream_arn"]
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mapping["BisectBatchOnFunctionError"] is True
        # Given-up batches go, data included, to the sink bucket (failed_batches_destination = "s3").
        assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == f"arn:aws:s3:::{bucket}"
        # Nothing reaches the failure queue in that mode, so a given-up batch must fire an alarm
        # another way: the mapping counts the records it sends to the on-failure destination.
        assert mapping["MetricsConfig"] == {"Metrics": ["EventCount"]}
        cloudwatch = aws.client("cloudwatch")
        (given_up,) = cloudwatch.describe_alarms(AlarmNames=[f"{stream}-batches-given-up"])["MetricAlarms"]
        assert (given_up["Namespace"], given_up["MetricName"]) == (
            "AWS/Lambda",
            "OnFailureDestinationDeliveredEventCount",
        )
        assert given_up["Dimensions"] == [
            {"Name": "EventSourceMappingUUID", "Value": outputs["event_source_mapping_uuid"]}
        ]
        (invalid,) = cloudwatch.describe_alarms(AlarmNames=[f"{stream}-invalid-base64-records"])[
            "MetricAlarms"
        ]
        assert (invalid["Namespace"], invalid["MetricName"]) == ("logpipes", "InvalidBase64Records")

        # The producer: an instance profile whose only policy is put access to this stream.
        iam = aws.client("iam")
        profile = iam.get_instance_profile(InstanceProfileName=outputs["instance_profile_name"])[
            "InstanceProfile"
        ]
        (role,) = profile["Roles"]
        (attached,) = iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"]
        policy = json.loads(outputs["producer_policy_json"])
        kinesis_statement = next(s for s in policy["Statement"] if s["Sid"] == "PutIntoThisStream")
        assert kinesis_statement["Resource"] == outputs["stream_arn"]
        assert attached["PolicyName"].startswith(f"{stream}-producer-")

        # td-agent's configuration, rendered from the outputs.
        conf = outputs["td_agent_conf"]
        for expected in (
            "path /var/log/httpd/access_log",
            "@type apache2",
            "@type kinesis_streams_aggregated",
            f"stream_name {stream}",
            f"region {aws.region}",
            "time_key time",
            f"instance profile {outputs['instance_profile_name']}",
        ):
            assert expected in conf

        # Aggregated Apache lines (fluentd JSON) and a corrupt aggregate through the stream.
        lines = (
            (shared_data / "apache_combined/elastic-examples_apache_logs.log").read_text().splitlines()[:800]
        )
        blobs = list(aggregates([fluentd_json(line) for line in lines]))
        corrupt = bytes(blobs[0][:-1]) + bytes([blobs[0][-1] ^ 1])
        let_moto_accept_records(aws, outputs["lambda_function_name"])
        for index, blob in enumerate([*blobs, corrupt]):
            kinesis.put_record(StreamName=stream, Data=blob, PartitionKey=f"fluentd-{index}")
        function = lambdas.get_function_configuration(FunctionName=outputs["lambda_function_name"])
        env = {**aws.env(), **function["Environment"]["Variables"]}

        delivery = deliver(kinesis, stream, lambda event: invoke_from_context("kinesis_kpl", event, env=env))

        assert delivery.records == len(blobs) + 1 and delivery.given_up == []
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
        data_keys = [k for k in keys if k.startswith(outputs["prefix"])]
        assert all(k.startswith("apache/dt=2015-05-17/hour=") and k.endswith(".json.gz") for k in data_keys)
        docs = [
            json.loads(line)
            for key in data_keys
            for line in gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).splitlines()
        ]
        assert sorted(d["time"] + d["path"] for d in docs) == sorted(
            json.loads(fluentd_json(line))["time"] + json.loads(fluentd_json(line))["path"] for line in lines
        )
        (letter,) = [k for k in keys if k.startswith(outputs["dead_letter_prefix"])]
        parked = s3.get_object(Bucket=bucket, Key=letter)
        assert parked["Body"].read() == corrupt
        assert parked["Metadata"]["reason"] == "MD5 digest does not match the protobuf body"
