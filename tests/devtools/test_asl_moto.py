"""Each gap devtools/asl_moto.py closes in moto's ASL interpreter, against the behaviour AWS documents.

Small definitions run under ``mock_aws`` in this process; Lambda tasks run a function of the test.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import moto
import pytest
from moto import mock_aws

from devtools import asl_moto
from devtools.asl_moto import LambdaTarget, exceeds_tolerance, whole_percentages_as_decimals
from devtools.step_functions import MOTO_CONFIG, run_execution

pytestmark = pytest.mark.moto

ROLE = "arn:aws:iam::123456789012:role/states"
BUCKET = "results"


@pytest.fixture
def sfn(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto in this process, executing state machines, patched; yields the Step Functions client."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("MOTO_LAMBDA_STUB_ECR", "TRUE")
    with mock_aws(config=MOTO_CONFIG):
        asl_moto.install()
        asl_moto.RETRY_WAITS.clear()
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        boto3.client("iam").create_role(RoleName="states", AssumeRolePolicyDocument="{}")
        yield boto3.client("stepfunctions")
        asl_moto.set_lambda_runner(None)


def create(sfn: Any, definition: dict[str, Any]) -> str:
    name = f"m{uuid.uuid4().hex[:8]}"
    return str(
        sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)[
            "stateMachineArn"
        ]
    )


def distributed_map(**fields: Any) -> dict[str, Any]:
    """A Distributed Map over the input's ``items``: an item {"fail": true} fails its child execution."""
    return {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Check",
                    "States": {
                        "Check": {
                            "Type": "Choice",
                            "Choices": [{"Variable": "$.fail", "BooleanEquals": True, "Next": "Broken"}],
                            "Default": "Fine",
                        },
                        "Broken": {"Type": "Fail", "Error": "ItemBroken", "Cause": "this item is broken"},
                        "Fine": {"Type": "Pass", "Result": {"ok": True}, "End": True},
                    },
                },
                **fields,
                "End": True,
            }
        },
    }


def items(failing: int, total: int) -> dict[str, Any]:
    return {"items": [{"n": n, "fail": n < failing} for n in range(total)]}


# 1. Whole-number ToleratedFailurePercentage: AWS takes a number from 0 to 100.


def test_a_whole_number_tolerated_failure_percentage_is_a_valid_definition(sfn: Any) -> None:
    arn = create(sfn, distributed_map(ToleratedFailurePercentage=50))

    assert sfn.describe_state_machine(stateMachineArn=arn)["status"] == "ACTIVE"


def test_whole_percentages_are_written_as_decimals_and_nothing_else_changes() -> None:
    definition = {"States": {"M": {"ToleratedFailurePercentage": 25, "MaxConcurrency": 4, "X": [{"Y": 1}]}}}

    rewritten = whole_percentages_as_decimals(json.dumps(definition))

    assert '"ToleratedFailurePercentage": 25.0' in rewritten and '"MaxConcurrency": 4' in rewritten
    assert json.loads(rewritten) == definition
    assert whole_percentages_as_decimals("{not json") == "{not json"


# 2. Tolerated failures: the Map Run fails with States.ExceedToleratedFailureThreshold above them.


def test_any_failed_item_fails_a_map_without_a_tolerated_failure_threshold(sfn: Any) -> None:
    described = run_execution(sfn, create(sfn, distributed_map()), items(failing=1, total=4))

    assert described["status"] == "FAILED"
    assert described["error"] == "States.ExceedToleratedFailureThreshold"
    (run,) = sfn.list_map_runs(executionArn=described["executionArn"])["mapRuns"]
    map_run = sfn.describe_map_run(mapRunArn=run["mapRunArn"])
    assert map_run["status"] == "FAILED" and map_run["itemCounts"]["failed"] == 1


@pytest.mark.parametrize(
    ("threshold", "failing", "status"),
    [
        ({"ToleratedFailurePercentage": 50}, 2, "SUCCEEDED"),  # 50 % is not more than 50 %
        ({"ToleratedFailurePercentage": 50}, 3, "FAILED"),
        ({"ToleratedFailureCount": 1}, 1, "SUCCEEDED"),
        ({"ToleratedFailureCount": 1}, 2, "FAILED"),
    ],
)
def test_a_map_fails_when_its_failed_items_exceed_the_threshold(
    sfn: Any, threshold: dict[str, Any], failing: int, status: str
) -> None:
    described = run_execution(sfn, create(sfn, distributed_map(**threshold)), items(failing, total=4))

    assert described["status"] == status
    if status == "FAILED":
        assert described["error"] == "States.ExceedToleratedFailureThreshold"


def test_the_threshold_rule() -> None:
    assert exceeds_tolerance(1, 100, 0, 0) and not exceeds_tolerance(0, 100, 0, 0)
    assert not exceeds_tolerance(10, 100, 0, 10.0) and exceeds_tolerance(11, 100, 0, 10.0)
    assert not exceeds_tolerance(3, 100, 3, 0) and exceeds_tolerance(4, 100, 3, 0)
    assert exceeds_tolerance(4, 100, 3, 50.0)  # either threshold, once set, can fail the run


# 3. ResultWriter: results by status in SUCCEEDED_n.json / FAILED_n.json, listed in manifest.json.


def test_the_result_writer_writes_each_child_execution_by_status_and_a_manifest(sfn: Any) -> None:
    writer = {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": BUCKET, "Prefix": "out"}}
    definition = distributed_map(ToleratedFailurePercentage=50, ResultWriter=writer)

    described = run_execution(sfn, create(sfn, definition), items(failing=1, total=3))

    assert described["status"] == "SUCCEEDED", described
    details = json.loads(described["output"])["ResultWriterDetails"]
    s3 = boto3.client("s3")

    def read(key: str) -> Any:
        return json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())

    manifest = read(details["Key"])
    map_run_id = manifest["MapRunArn"].split(":")[-1]
    assert details == {"Bucket": BUCKET, "Key": f"out/{map_run_id}/manifest.json"}
    assert manifest["DestinationBucket"] == BUCKET and manifest["ResultFiles"]["PENDING"] == []
    ((succeeded_file,), (failed_file,)) = (
        manifest["ResultFiles"]["SUCCEEDED"],
        manifest["ResultFiles"]["FAILED"],
    )
    assert succeeded_file["Key"] == f"out/{map_run_id}/SUCCEEDED_0.json"
    assert failed_file["Key"] == f"out/{map_run_id}/FAILED_0.json"
    succeeded, failed = read(succeeded_file["Key"]), read(failed_file["Key"])
    assert succeeded_file["Size"] == len(json.dumps(succeeded).encode())
    assert [json.loads(e["Input"])["n"] for e in succeeded] == [1, 2]
    assert {e["Status"] for e in succeeded} == {"SUCCEEDED"}
    assert [json.loads(e["Output"]) for e in succeeded] == [{"ok": True}, {"ok": True}]
    (broken,) = failed
    assert (broken["Status"], broken["Error"], broken["Cause"]) == (
        "FAILED",
        "ItemBroken",
        "this item is broken",
    )
    assert json.loads(broken["Input"]) == {"n": 0, "fail": True} and "Output" not in broken
    assert broken["ExecutionArn"].endswith(f":{broken['Name']}") and ":execution:" in broken["ExecutionArn"]


# 4. Retry waits: recorded, not slept; FULL jitter at its maximum.


def test_retry_waits_are_recorded_as_the_backoff_the_definition_asks_for(sfn: Any) -> None:
    attempts: list[Any] = []

    def flaky(target: LambdaTarget, event: Any) -> Any:
        attempts.append(event)
        if len(attempts) < 3:
            raise TimeoutError("busy")
        return {"attempts": len(attempts)}

    asl_moto.set_lambda_runner(flaky)
    function = deploy_function("flaky", "app.handler", {})
    retry = {"ErrorEquals": ["TimeoutError"], "IntervalSeconds": 3, "BackoffRate": 2, "MaxAttempts": 5,
             "JitterStrategy": "FULL"}  # fmt: skip
    definition = lambda_task(function, Retry=[retry])

    described = run_execution(sfn, create(sfn, definition), {}, timeout=5)

    assert described["status"] == "SUCCEEDED" and json.loads(described["output"]) == {"attempts": 3}
    assert asl_moto.RETRY_WAITS == [3, 6]


# 5. Unnamed executions are named with a UUID.


def test_an_unnamed_execution_gets_a_uuid_as_its_name(sfn: Any) -> None:
    definition = {"StartAt": "Name", "States": {"Name": {
        "Type": "Pass", "Parameters": {"name.$": "$$.Execution.Name"}, "End": True}}}  # fmt: skip

    described = run_execution(sfn, create(sfn, definition), {})

    name = json.loads(described["output"])["name"]
    assert str(uuid.UUID(name)) == name == described["name"]
    assert described["executionArn"].endswith(f":{name}")


# 6. Lambda tasks run the function's handler, with its environment; errors as Lambda reports them.


def deploy_function(name: str, handler: str, environment: dict[str, str]) -> str:
    created = boto3.client("lambda").create_function(
        FunctionName=name, Role="arn:aws:iam::123456789012:role/states", PackageType="Image",
        Code={"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"},
        ImageConfig={"Command": [handler]}, Environment={"Variables": environment},
    )  # fmt: skip
    return str(created["FunctionArn"])


def lambda_task(function_arn: str, **fields: Any) -> dict[str, Any]:
    """A definition of one Lambda task (the function's output is the execution's)."""
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": function_arn, "Payload.$": "$"},
        "OutputPath": "$.Payload",
        **fields,
        "End": True,
    }
    return {"StartAt": "Call", "States": {"Call": task}}


def test_a_lambda_task_runs_the_functions_handler_with_its_environment(sfn: Any) -> None:
    seen: list[tuple[LambdaTarget, Any]] = []

    def runner(target: LambdaTarget, event: Any) -> Any:
        seen.append((target, event))
        if event.get("fail"):
            raise KeyError("missing")
        return {"echo": event}

    asl_moto.set_lambda_runner(runner)
    function = deploy_function("step", "logpipes.app.handler", {"MODE": "test"})
    arn = create(sfn, lambda_task(function))

    succeeded = run_execution(sfn, arn, {"x": 1})
    failed = run_execution(sfn, arn, {"fail": True})

    assert json.loads(succeeded["output"]) == {"echo": {"x": 1}}
    assert seen[0] == (LambdaTarget("step", "logpipes.app.handler", {"MODE": "test"}), {"x": 1})
    assert failed["status"] == "FAILED" and failed["error"] == "KeyError"
    assert json.loads(failed["cause"])["errorMessage"] == "'missing'"


# The patches are for one moto: another fails loudly.


def test_another_moto_version_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(moto, "__version__", "5.3.0")

    with pytest.raises(RuntimeError, match=r"patches moto 5\.2\.5, found 5\.3\.0"):
        asl_moto._targets()


def test_a_patched_attribute_that_is_gone_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    monkeypatch.delattr(retrier_decl, "time")

    with pytest.raises(RuntimeError, match="has no 'time'"):
        asl_moto._targets()
