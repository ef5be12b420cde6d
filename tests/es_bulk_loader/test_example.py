"""examples/nasa-logs-to-opensearch applied to moto: the state machine validates, the wiring is what
the handlers expect, and an execution of the applied state machine takes a file through every step.

The moto server here executes state machines (devtools.step_functions.StepFunctionsServer: moto's
ASL interpreter with the gaps devtools/asl_moto.py closes); each Lambda task runs its function's
handler from the built image context, with the environment Terraform gave the function.

moto creates an OpenSearch domain, but the provider then waits on it for many minutes, so the test
applies the example with ``existing_opensearch`` (a domain ARN; the local SigV4-checking endpoint
stands in for its endpoint). The domain's own settings are checked by checkov and ``terraform
validate``; a real deployment creates it. The moto server routes ValidateStateMachineDefinition,
which the AWS provider calls for every state machine (see devtools/moto_server.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools.lambda_runtime import ensure_built
from devtools.moto_server import MotoServer
from devtools.opensearch_stub import OpenSearchStub
from devtools.step_functions import StepFunctionsServer, history_summary, run_execution
from devtools.terraform import applied_example
from logpipes.es_bulk_loader.documents import document_id

pytestmark = [pytest.mark.terraform, pytest.mark.moto, pytest.mark.slow]

DOMAIN_ARN = "arn:aws:es:us-east-1:123456789012:domain/nasa-logs"
DOMAIN_ENDPOINT = "search-nasa-logs-abc123.us-east-1.es.amazonaws.com"


@pytest.fixture(scope="module")
def stub() -> Iterator[OpenSearchStub]:
    with OpenSearchStub({"testing": "testing"}, region="us-east-1", service="es") as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def moto(stub: OpenSearchStub) -> Iterator[MotoServer]:
    """A moto of this module's own that executes state machines; the functions reach the local endpoint."""
    with StepFunctionsServer(lambda_overrides={"OPENSEARCH_ENDPOINT": stub.url}) as server:
        yield server


@pytest.fixture(scope="module")
def example(moto: MotoServer) -> Iterator[dict[str, Any]]:
    image_uri = ensure_built("es_bulk_loader")
    variables = {
        "image_uris": {"es_bulk_loader": image_uri},
        "existing_opensearch": {"endpoint": DOMAIN_ENDPOINT, "arn": DOMAIN_ARN},
        "chunk_bytes": 64 * 1024,
        "bulk_bytes": 128 * 1024,
        "max_concurrency": 4,
    }
    with applied_example("nasa-logs-to-opensearch", moto, variables) as outputs:
        yield outputs


def structural_problems(states: dict[str, Any], start: str, where: str = "") -> list[str]:
    """What ASL requires beyond the grammar: StartAt and every Next name a state of the same scope,
    every state ends or goes on, Map item processors are complete state machines themselves."""
    problems = [] if start in states else [f"{where}StartAt {start!r} is not a state"]
    for name, state in states.items():
        if state.get("Type") not in {"Choice", "Succeed", "Fail"} and ("Next" in state) == bool(
            state.get("End")
        ):
            problems.append(f"{where}{name}: needs exactly one of Next and End")
        if "Next" in state and state["Next"] not in states:
            problems.append(f"{where}{name}: Next {state['Next']!r} is not a state")
        if state.get("Type") == "Map":
            processor = state["ItemProcessor"]
            problems += structural_problems(processor["States"], processor["StartAt"], f"{where}{name}/")
    return problems


def validation_problems(moto: MotoServer, definition: str) -> list[str]:
    """ValidateStateMachineDefinition's diagnostics, then the structural problems of the definition."""
    sfn = moto.client("stepfunctions")
    result = sfn.validate_state_machine_definition(definition=definition, type="STANDARD")
    if result["result"] != "OK":
        return [d["message"] for d in result["diagnostics"]]
    parsed = json.loads(definition)
    return structural_problems(parsed["States"], parsed["StartAt"])


def test_the_state_machine_definition_is_a_valid_distributed_map(
    moto: MotoServer, example: dict[str, Any]
) -> None:
    sfn = moto.client("stepfunctions")
    described = sfn.describe_state_machine(stateMachineArn=example["state_machine_arn"])
    assert described["type"] == "STANDARD"
    definition = described["definition"]
    assert validation_problems(moto, definition) == []

    load = json.loads(definition)["States"]["Load"]
    assert load["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert load["MaxConcurrency"] == 4 and load["ItemReader"]["ReaderConfig"] == {"InputType": "JSON"}
    assert load["ResultWriter"]["Parameters"] == {
        "Bucket": example["work_bucket_name"],
        "Prefix": example["results_prefix"],
    }


def test_the_validation_can_fail(moto: MotoServer) -> None:
    broken_type = {"StartAt": "A", "States": {"A": {"Type": "Distributed", "End": True}}}
    (problem,) = validation_problems(moto, json.dumps(broken_type))
    assert "Distributed" in problem
    dangling = {"StartAt": "A", "States": {"A": {"Type": "Map", "ItemProcessor": {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "B",
        "States": {"B": {"Type": "Pass", "Next": "C"}}}, "End": True}}}  # fmt: skip
    assert validation_problems(moto, json.dumps(dangling)) == ["A/B: Next 'C' is not a state"]


def inline_policies(moto: MotoServer, function_name: str) -> str:
    """Every inline policy of the function's role, as one JSON text."""
    iam = moto.client("iam")
    role = (
        moto.client("lambda")
        .get_function_configuration(FunctionName=function_name)["Role"]
        .rpartition("/")[2]
    )
    return json.dumps(
        [
            iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
            for name in iam.list_role_policies(RoleName=role)["PolicyNames"]
        ]
    )


def test_the_wiring_is_scoped_and_complete(moto: MotoServer, example: dict[str, Any]) -> None:
    lambdas = moto.client("lambda")
    names = example["function_names"]
    load_policy = inline_policies(moto, names["load"])
    assert (
        f"{DOMAIN_ARN}/_bulk" in load_policy
        and '"es:ESHttpPost"' in load_policy
        and "es:*" not in load_policy
    )
    prepare_policy = inline_policies(moto, names["prepare"])
    assert f"{DOMAIN_ARN}/_index_template/*" in prepare_policy and "s3:" not in prepare_policy
    load_env = lambdas.get_function_configuration(FunctionName=names["load"])["Environment"]["Variables"]
    assert (
        load_env["OPENSEARCH_ENDPOINT"] == f"https://{DOMAIN_ENDPOINT}" and load_env["BULK_BYTES"] == "131072"
    )
    rule = moto.client("events").describe_rule(Name=f"{names['load'].removesuffix('-load')}-object-created")
    assert json.loads(rule["EventPattern"])["detail"]["object"] == {"key": [{"prefix": "nasa/incoming/"}]}
    (target,) = moto.client("events").list_targets_by_rule(Rule=rule["Name"])["Targets"]
    assert target["Arn"] == example["state_machine_arn"]


def test_an_execution_of_the_applied_state_machine_loads_a_file_from_the_built_image(
    moto: MotoServer, example: dict[str, Any], stub: OpenSearchStub, shared_data: Path
) -> None:
    s3, sfn = moto.client("s3"), moto.client("stepfunctions")
    data = (shared_data / "nasa_http" / "NASA_access_log_Jul95.first2000.log").read_bytes()
    s3.put_object(Bucket=example["bucket_name"], Key="nasa/Jul95.log", Body=data)
    stub.inject_request_errors(429, count=1)  # the loader backs off and sends again

    described = run_execution(
        sfn, example["state_machine_arn"], {"bucket": example["bucket_name"], "keys": ["nasa/Jul95.log"]}
    )

    assert described["status"] == "SUCCEEDED", described
    report = json.loads(described["output"])
    total = report["total"]
    assert (total["lines"], total["indexed"], total["dead_lettered"], total["chunks"]) == (2000, 2000, 0, 4)
    assert total["retried_requests"] == 1
    summary = history_summary(sfn, described["executionArn"])
    assert summary["states_entered"] == ["Prepare", "Plan", "Load", "Report"]
    (map_run,) = summary["map_runs"]
    assert map_run["status"] == "SUCCEEDED" and map_run["items"]["succeeded"] == 4
    stored = stub.all_documents()
    assert len(stored) == 2000 and stub.rejected_requests == []
    first = stored[("nasa-logs-1995.07.01", document_id(example["bucket_name"], "nasa/Jul95.log", 0))]
    assert first["clientip"] == "199.72.81.55" and first["bytes"] == 6245
    assert "logpipes-nasa-logs" in stub.templates
