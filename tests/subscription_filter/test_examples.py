"""examples/cloudwatch-to-efs and examples/cloudwatch-to-kinesis applied to moto and destroyed.

moto cannot run the archiver's image, so the archiver runs from its built context
(invoke_from_context) with the environment Terraform gave the deployed function.
"""

from __future__ import annotations

import csv
import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from devtools.lambda_runtime import ensure_built, invoke_from_context
from devtools.moto_server import MotoServer
from devtools.terraform import applied_example
from logpipes.subscription_filter.payload import encode_subscription_event
from tests.subscription_filter.payloads import wrap_subscription_record

pytestmark = [pytest.mark.terraform, pytest.mark.moto, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
APACHE_SAMPLE = REPO / "demo" / "data" / "subscription_filter" / "apache_combined_2015-05-17T13-17Z.log"
APACHE_TIME = re.compile(r"\[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\]")
# moto has no EFS backup-policy API and cannot delete file system policies.
TOKYO_MIDNIGHT_MAY_18 = int(datetime.fromisoformat("2015-05-18T00:00:00+09:00").timestamp() * 1000)
MOTO_EFS = {"enable_backup": False, "enforce_encryption_in_transit": False}


def _apache_events() -> list[tuple[str, int, str]]:
    lines = APACHE_SAMPLE.read_text().splitlines()
    stamps = [datetime.strptime(APACHE_TIME.search(line)[1], "%d/%b/%Y:%H:%M:%S %z") for line in lines]  # type: ignore[index]
    return [
        (f"{i:056d}", int(t.timestamp() * 1000), line)
        for i, (t, line) in enumerate(zip(stamps, lines, strict=True))
    ]


def _policy_statements(aws: MotoServer, function_name: str) -> list[dict[str, Any]]:
    return json.loads(aws.client("lambda").get_policy(FunctionName=function_name)["Policy"])["Statement"]


def test_efs_example_deploys_a_locked_down_archiver(aws: MotoServer, tmp_path: Path) -> None:
    image_uri = ensure_built("subscription_filter")
    variables = {"image_uris": {"subscription_filter": image_uri}, **MOTO_EFS}
    with applied_example("cloudwatch-to-efs", aws, variables) as outputs:
        lambda_, logs, ec2 = aws.client("lambda"), aws.client("logs"), aws.client("ec2")
        function = lambda_.get_function_configuration(FunctionName=outputs["function_name"])
        # moto does not keep FileSystemConfigs: the mount is asserted by the module's terraform test.
        assert len(function["VpcConfig"]["SubnetIds"]) == 2
        environment = function["Environment"]["Variables"]
        assert environment["ARCHIVE_TIME_ZONE"] == "Asia/Tokyo"

        # Each log group is subscribed to the function, which only its own log group may invoke.
        statements = _policy_statements(aws, outputs["function_name"])
        for group in outputs["log_group_names"]:
            (subscription,) = logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"]
            assert subscription["destinationArn"] == function["FunctionArn"]
            source_arn = f"arn:aws:logs:{aws.region}:{aws.account_id}:log-group:{group}:*"
            assert [s["Principal"] for s in statements if json.dumps(s).count(source_arn)] == [
                {"Service": "logs.amazonaws.com"}
            ]

        # NFS reaches the file system from the function's security group and from nowhere else.
        groups = {
            g["GroupName"]: g["GroupId"]
            for g in ec2.describe_security_groups(
                Filters=[{"Name": "group-name", "Values": ["efs-archive-*"]}]
            )["SecurityGroups"]
        }
        rules = ec2.describe_security_group_rules(
            Filters=[{"Name": "group-id", "Values": [groups["efs-archive-efs"]]}]
        )
        ingress = [r for r in rules["SecurityGroupRules"] if not r["IsEgress"]]
        assert [
            (r["IpProtocol"], r["FromPort"], r["ToPort"], r["ReferencedGroupInfo"]["GroupId"])
            for r in ingress
        ] == [("tcp", 2049, 2049, groups["efs-archive-lambda"])]
        assert function["VpcConfig"]["SecurityGroupIds"] == [groups["efs-archive-lambda"]]

        (file_system,) = aws.client("efs").describe_file_systems(FileSystemId=outputs["file_system_id"])[
            "FileSystems"
        ]
        assert file_system["Encrypted"] is True
        queue = aws.client("sqs").get_queue_attributes(
            QueueUrl=outputs["failure_queue_url"], AttributeNames=["All"]
        )
        assert queue["Attributes"]["SqsManagedSseEnabled"] == "true"
        invoke_config = lambda_.get_function_event_invoke_config(FunctionName=outputs["function_name"])
        assert (
            invoke_config["DestinationConfig"]["OnFailure"]["Destination"] == queue["Attributes"]["QueueArn"]
        )
        alarms = aws.client("cloudwatch").describe_alarms(AlarmNamePrefix="efs-archive-")["MetricAlarms"]
        assert sorted(a["AlarmName"] for a in alarms) == [
            "efs-archive-dropped-events",
            "efs-archive-errors",
            "efs-archive-failure-destination-errors",
            "efs-archive-parked-payloads",
            "efs-archive-throttles",
        ]

        # The deployed configuration, with a temporary directory standing in for the EFS mount.
        env = {**environment, "ARCHIVE_ROOT": str(tmp_path)}
        group = outputs["log_group_names"][0]
        event = encode_subscription_event(group, "web-1", _apache_events())
        first = invoke_from_context("subscription_filter", event, env=env)
        again = invoke_from_context("subscription_filter", event, env=env)

    assert (first["written"], again["written"], again["duplicates"]) == (489, 0, 489)
    directory = tmp_path / group.strip("/")
    rows = {day: list(csv.reader((directory / f"{day}.log").open())) for day in ("2015-05-17", "2015-05-18")}
    # 13:00-14:59 UTC is 22:00-23:59 in Tokyo; from 15:00 UTC it is May 18th there.
    events = _apache_events()
    before_midnight = [m for _, t, m in events if t < TOKYO_MIDNIGHT_MAY_18]
    assert [row[4] for row in rows["2015-05-17"]] == before_midnight
    assert [row[4] for row in rows["2015-05-18"]] == [m for _, t, m in events if t >= TOKYO_MIDNIGHT_MAY_18]
    assert 0 < len(before_midnight) < 489
    # Terraform passes the labels map with its keys sorted: env, then system.
    assert {tuple(row[:2]) for day in rows.values() for row in day} == {("example", "web")}
    assert rows["2015-05-18"][0][2:4] == ["2015-05-18T00:05:11.000+09:00", "web-1"]


def test_kinesis_example_delivers_subscription_payloads(aws: MotoServer, tmp_path: Path) -> None:
    with applied_example("cloudwatch-to-kinesis", aws, {"image_uris": {}}) as outputs:
        logs, kinesis, iam = aws.client("logs"), aws.client("kinesis"), aws.client("iam")
        group = outputs["log_group_name"]
        (subscription,) = logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"]
        assert subscription["destinationArn"] == outputs["stream_arn"]
        assert subscription["roleArn"] == outputs["role_arn"]
        role_name = outputs["role_arn"].rsplit("/", 1)[1]
        (policy_name,) = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
        document = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
        put = next(s for s in document["Statement"] if s["Sid"] == "PutIntoTheDestinationOnly")
        assert (put["Action"], put["Resource"]) == ("kinesis:PutRecord", outputs["stream_arn"])
        trust = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]["Statement"][0]
        assert trust["Principal"] == {"Service": "logs.amazonaws.com"}
        assert (
            trust["Condition"]["StringLike"]["aws:SourceArn"]
            == f"arn:aws:logs:{aws.region}:{aws.account_id}:*"
        )

        # Real Apache lines, logged now (CloudWatch Logs refuses events older than 14 days).
        messages = [line for _, _, line in _apache_events()[:40]]
        now = int(time.time() * 1000)
        logs.create_log_stream(logGroupName=group, logStreamName="web-1")
        logs.put_log_events(
            logGroupName=group,
            logStreamName="web-1",
            logEvents=[{"timestamp": now + i, "message": m} for i, m in enumerate(messages)],
        )
        records = []
        for shard in kinesis.list_shards(StreamName=outputs["stream_name"])["Shards"]:
            iterator = kinesis.get_shard_iterator(
                StreamName=outputs["stream_name"], ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            records += kinesis.get_records(ShardIterator=iterator)["Records"]
        assert records and all(record["Data"][:2] == b"\x1f\x8b" for record in records)  # gzip, as from AWS

        # What a consumer of the stream receives is what the archiver archives.
        env = {
            "ARCHIVE_ROOT": str(tmp_path),
            "ARCHIVE_LINE_FORMAT": "json",
            "ARCHIVE_TIME_ZONE": "Asia/Tokyo",
        }
        results = [
            invoke_from_context("subscription_filter", wrap_subscription_record(r["Data"]), env=env)
            for r in records
        ]

    assert sum(result["written"] for result in results) == 40
    lines = [
        json.loads(line)
        for path in sorted((tmp_path / group.strip("/")).glob("*.log"))
        for line in path.open()
    ]
    assert [line["message"] for line in lines] == messages
    tokyo = ZoneInfo("Asia/Tokyo")
    assert [line["timestamp"] for line in lines] == [
        datetime.fromtimestamp((now + i) / 1000, UTC).astimezone(tokyo).isoformat(timespec="milliseconds")
        for i in range(40)
    ]
    assert {(line["log_group"], line["log_stream"]) for line in lines} == {(group, "web-1")}
