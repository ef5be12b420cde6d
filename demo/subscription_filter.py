"""CloudWatch Logs -> subscription filters -> archiver Lambda -> one file per day on EFS (Tokyo time).

Applies examples/cloudwatch-to-efs to moto, then runs the archiver from its built image context
(moto cannot run container images) with the environment Terraform gave the deployed function, a
local directory standing in for the EFS mount. It archives real Apache access log lines that
cross midnight in Tokyo, redelivers a payload, seals the days, and sends a late event.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

from devtools.lambda_runtime import invoke_from_context
from devtools.moto_server import MotoServer
from devtools.terraform import applied_example
from logpipes.subscription_filter.payload import encode_subscription_event

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data" / "subscription_filter"
ARCHIVE = REPO / "build" / "demo" / "subscription_filter" / "archive"  # stands in for the EFS mount
BATCH = 100  # events per delivery
_APACHE_TIME = re.compile(r"\[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\]")
# moto has no EFS backup-policy API and cannot delete file system policies.
MOTO_GAPS = {"enable_backup": False, "enforce_encryption_in_transit": False}
SCHEDULED_EVENT = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}


def _apache_events() -> list[tuple[str, int, str]]:
    """(56-digit id, epoch ms, line) for each sample line, at the time the line itself records."""
    lines = (DATA / "apache_combined_2015-05-17T13-17Z.log").read_text().splitlines()
    events = []
    for index, line in enumerate(lines):
        moment = datetime.strptime(_APACHE_TIME.search(line)[1], "%d/%b/%Y:%H:%M:%S %z")  # type: ignore[index]
        events.append((f"{index:056d}", int(moment.timestamp() * 1000), line))
    return events


def _show_archive() -> None:
    for path in sorted(p for p in ARCHIVE.rglob("*") if p.is_file()):
        name = path.relative_to(ARCHIVE)
        if path.name.endswith(".gz"):
            lines = gzip.decompress(path.read_bytes()).decode().splitlines()
            print(f"  {name}: {len(lines)} lines, sealed ({path.stat().st_size} bytes)")
        elif path.name.endswith(".log"):
            lines = path.read_text().splitlines()
            print(f"  {name}: {len(lines)} lines")
        else:
            print(f"  {name}: journal of the event ids written, {path.stat().st_size} bytes")
            continue
        print(f"      {lines[0][:100]}")


def run(moto: MotoServer, image_uris: dict[str, str]) -> None:
    print("applying examples/cloudwatch-to-efs against moto ...")
    variables = {"image_uris": image_uris, **MOTO_GAPS}
    with applied_example("cloudwatch-to-efs", moto, variables) as outputs:
        lambda_ = moto.client("lambda")
        function = lambda_.get_function_configuration(FunctionName=outputs["function_name"])
        print(f"  function {function['FunctionName']}, subnets {function['VpcConfig']['SubnetIds']}")
        print(f"  EFS {outputs['file_system_id']}, access point {outputs['access_point_arn']}")
        for key, subscription in outputs["subscription_filters"].items():
            print(f"  subscription {key}: filter pattern {subscription['filter_pattern']!r}")
        print(f"  failure queue {outputs['failure_queue_url']}, alarms {sorted(outputs['alarm_arns'])}")

        # The deployed function's settings, with a local directory instead of the EFS mount.
        deployed = function["Environment"]["Variables"]
        shutil.rmtree(ARCHIVE, ignore_errors=True)
        ARCHIVE.mkdir(parents=True)

        def invoke(event: dict[str, Any], **overrides: str) -> Any:
            env = {**deployed, "ARCHIVE_ROOT": str(ARCHIVE), **overrides}
            return invoke_from_context("subscription_filter", event, env=env)

        group = outputs["log_group_names"][0]
        events = _apache_events()
        deliveries = [
            encode_subscription_event(group, "web-1", events[start : start + BATCH])
            for start in range(0, len(events), BATCH)
        ]
        print(f"\narchiving {len(events)} Apache lines (17 May 2015, 13:00-16:59 UTC) in {len(deliveries)}")
        print(f"deliveries, time zone {deployed['ARCHIVE_TIME_ZONE']}, into {ARCHIVE.relative_to(REPO)}/:")
        written = sum(invoke(delivery)["written"] for delivery in deliveries)
        sample = invoke(json.loads((DATA / "cloudwatch-logs-event.json").read_text()))
        print(f"  {written} lines, and {sample['written']} from the aws-lambda-go sample event")
        _show_archive()

        again = invoke(deliveries[2])
        print(f"\ndelivery 3 again: {again['written']} written, {again['duplicates']} duplicates skipped")

        print("\nthe hourly sealing sweep, as if the 15-minute grace period were over:")
        print(f"  sealed {invoke(SCHEDULED_EVENT, ARCHIVE_SEAL_GRACE_SECONDS='0')['sealed']}")
        late_event = (f"{10**55:056d}", events[0][1], "a late line for 17 May")
        late = invoke(encode_subscription_event(group, "web-2", [late_event]))
        print(f"a late event for a sealed day: {late['late']} line into {late['files']}")
        _show_archive()
