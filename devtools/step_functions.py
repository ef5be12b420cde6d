"""Execute the state machines Terraform deploys under moto's Amazon States Language interpreter.

Nothing here imitates a state machine: the definition is the one Terraform rendered, the interpreter
is moto's (with the gaps devtools/asl_moto.py closes), and each Lambda task runs the handler of the
function it names, as Terraform configured it (image command and environment).

- ``render_state_machines(server, variants)`` applies a module once per variant to a
  ``StepFunctionsServer`` and returns what Terraform deployed: the definition and the functions.
- ``in_process_step_functions(rendered, overrides)`` deploys that into moto in this process
  (``mock_aws``) and runs the handlers in this process: for unit tests.
- ``StepFunctionsServer(lambda_overrides)`` is a moto server that executes state machines and runs
  each handler from its built image context (``invoke_from_context``) with the function's environment:
  for the example test and the demo, which apply the example to it.
- ``run_execution`` starts an execution and waits for it; ``history_summary`` condenses its history.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools import asl_moto
from devtools.asl_moto import LambdaRunner, LambdaTarget
from devtools.lambda_runtime import FakeLambdaContext, invoke_from_context
from devtools.moto_server import MotoServer
from devtools.terraform import moto_provider_override, terraform

REPO = Path(__file__).resolve().parent.parent
MOTO_CONFIG: dict[str, Any] = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
}


class HandlerError(Exception):
    """A handler run from its built context raised; ``error_type`` is the exception's class name,
    which Lambda reports as ``errorType`` and Retry/Catch match on."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def error_of_traceback(output: str) -> tuple[str, str]:
    """(class name, message) of the exception a Python traceback ends with ("Exception" if none)."""
    lines = [line for line in output.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    name, separator, message = last.partition(": ")
    if not separator or " " in name:
        return "Exception", last
    return name.rpartition(".")[2], message


def _handler_of(path: str) -> Any:
    module, _, attribute = path.rpartition(".")
    return getattr(importlib.import_module(module), attribute)


def in_process_runner(overrides: dict[str, str]) -> LambdaRunner:
    """Run handlers in this process, with the function's environment plus ``overrides`` in os.environ.

    The Map's items run on several threads at once; they all run the same function, so they set the
    same values.
    """

    def run(target: LambdaTarget, event: Any) -> Any:
        os.environ.update({**target.environment, **overrides})
        return _handler_of(target.handler)(event, FakeLambdaContext(function_name=target.name))

    return run


def context_runner(aws: dict[str, str], overrides: dict[str, str]) -> LambdaRunner:
    """Run handlers from their built image context (build/<function>/package) in a fresh interpreter,
    with the function's environment over ``aws`` (where AWS is), and ``overrides`` over both."""

    def run(target: LambdaTarget, event: Any) -> Any:
        function = target.handler.split(".")[1]  # logpipes.<function>.<handler>
        env = {**aws, **target.environment, **overrides}
        try:
            return invoke_from_context(function, event, env=env, handler=target.handler)
        except RuntimeError as error:
            raise HandlerError(*error_of_traceback(str(error))) from None

    return run


@dataclass(frozen=True)
class RenderedStateMachine:
    """What Terraform deployed for one module instance: the state machine and its functions."""

    name: str
    definition: str
    role_arn: str
    functions: list[dict[str, Any]]  # get_function_configuration of each function it invokes

    def states(self) -> dict[str, Any]:
        return dict(json.loads(self.definition)["States"])


def render_state_machines(
    server: MotoServer, module: str, variants: dict[str, dict[str, Any]]
) -> dict[str, RenderedStateMachine]:
    """Apply modules/<module> once per variant (its input variables; ``name`` is the variant) to
    ``server`` and return each deployed state machine.

    Only the state machines and what they depend on are applied (``-target``): the definition, the
    functions and the roles, as the module renders them for those inputs. Buckets named by
    ``source_bucket_name`` are created first.
    """
    with tempfile.TemporaryDirectory(prefix=f"logpipes-render-{module}-") as tmp:
        # A copy of modules/, so that the module's own relative sources (../<module>) resolve.
        shutil.copytree(REPO / "modules", Path(tmp) / "modules", ignore=shutil.ignore_patterns(".terraform*"))
        root = Path(tmp) / "root"
        root.mkdir()
        buckets = sorted({v["source_bucket_name"] for v in variants.values()})
        config = {
            "terraform": {
                "required_providers": {"aws": {"source": "hashicorp/aws", "version": ">= 5.81, < 6.0"}}
            },
            "provider": {"aws": {"region": server.region}},
            "resource": {"aws_s3_bucket": {f"b{i}": {"bucket": b} for i, b in enumerate(buckets)}},
            "module": {
                name: {
                    "source": f"../modules/{module}",
                    "name": name,
                    **values,
                    "depends_on": [f"aws_s3_bucket.b{i}" for i in range(len(buckets))],
                }
                for name, values in variants.items()
            },
        }
        (root / "main.tf.json").write_text(json.dumps(config, indent=2))
        (root / "moto_override.tf").write_text(moto_provider_override(server))
        env = server.env()
        terraform("init", "-input=false", cwd=root, env=env)
        targets = [f"-target=module.{name}.aws_sfn_state_machine.this" for name in variants]
        terraform("apply", "-auto-approve", "-input=false", "-parallelism=20", *targets, cwd=root, env=env)
    sfn, lambdas = server.client("stepfunctions"), server.client("lambda")
    rendered = {}
    for name in variants:
        arn = f"arn:aws:states:{server.region}:{server.account_id}:stateMachine:{name}"
        described = sfn.describe_state_machine(stateMachineArn=arn)
        functions = [
            lambdas.get_function_configuration(FunctionName=function_name)
            for function_name in sorted(_function_names(json.loads(described["definition"])["States"]))
        ]
        rendered[name] = RenderedStateMachine(name, described["definition"], described["roleArn"], functions)
    return rendered


_DOMAIN = {
    "opensearch_endpoint": "search-nasa-logs-abc123.us-east-1.es.amazonaws.com",
    "opensearch_arn": "arn:aws:es:us-east-1:123456789012:domain/nasa-logs",
}
_SERVERLESS = {
    "opensearch_endpoint": "abc123def456.us-east-1.aoss.amazonaws.com",
    "opensearch_arn": "arn:aws:aoss:us-east-1:123456789012:collection/abc123def456",
}
_TRIGGER = {"s3_trigger": {"enabled": True, "prefix": "nasa/incoming/"}}
_LOADER = {
    "image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/es_bulk_loader:rendered",
    "source_bucket_name": "nasa-http-logs",
    "index_pattern": "nasa-logs-%Y.%m.%d",
    "number_of_replicas": 0,
    "chunk_bytes": 256 * 1024,
    "bulk_bytes": 512 * 1024,
    "bulk_max_attempts": 3,
    "max_concurrency": 4,
    "create_alarms": False,
}
ES_BULK_LOADER_VARIANTS: dict[str, dict[str, Any]] = {
    "domain": {**_LOADER, **_DOMAIN},
    "domain-s3-trigger": {**_LOADER, **_DOMAIN, **_TRIGGER},
    "serverless": {**_LOADER, **_SERVERLESS},
    "serverless-s3-trigger": {**_LOADER, **_SERVERLESS, **_TRIGGER},
    "tolerant": {**_LOADER, **_DOMAIN, "tolerated_failure_percentage": 50},
}
"""The es-bulk-loader module's inputs that change what it renders: domain or Serverless, with or
without the S3 trigger, with or without a tolerated failure percentage (small chunks for tests)."""


@functools.cache
def rendered_es_bulk_loader() -> dict[str, RenderedStateMachine]:
    """Every ES_BULK_LOADER_VARIANTS state machine as Terraform renders it (once per process)."""
    with StepFunctionsServer() as server:
        return render_state_machines(server, "es-bulk-loader", ES_BULK_LOADER_VARIANTS)


def _function_names(states: dict[str, Any]) -> set[str]:
    """Every FunctionName the Lambda tasks of ``states`` (and their Map item processors) invoke."""
    names = set()
    for state in states.values():
        if state.get("Type") == "Task" and ":lambda:invoke" in state.get("Resource", ""):
            names.add(state["Parameters"]["FunctionName"])
        if state.get("Type") == "Map":
            names |= _function_names(state["ItemProcessor"]["States"])
    return names


@contextmanager
def in_process_step_functions(rendered: RenderedStateMachine, overrides: dict[str, str]) -> Iterator[str]:
    """Deploy ``rendered`` into moto in this process and run its handlers here; yield its ARN.

    The environment is restored on exit: the handlers' variables, and ``AWS_ENDPOINT_URL``, which is
    unset inside so that boto3 in this process reaches the in-process moto.
    """
    import boto3
    from moto import mock_aws

    saved = dict(os.environ)
    try:
        os.environ.pop("AWS_ENDPOINT_URL", None)
        os.environ["MOTO_LAMBDA_STUB_ECR"] = "TRUE"  # image functions without an ECR image
        with mock_aws(config=MOTO_CONFIG):
            asl_moto.install()
            asl_moto.set_lambda_runner(in_process_runner(overrides))
            iam, lambdas = boto3.client("iam"), boto3.client("lambda")
            roles = {rendered.role_arn, *(f["Role"] for f in rendered.functions)}
            for role in roles:
                iam.create_role(RoleName=role.rpartition("/")[2], AssumeRolePolicyDocument="{}")
            for function in rendered.functions:
                lambdas.create_function(
                    FunctionName=function["FunctionName"],
                    Role=function["Role"],
                    PackageType="Image",
                    Code={"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/logpipes:local"},
                    ImageConfig={"Command": function["ImageConfigResponse"]["ImageConfig"]["Command"]},
                    Environment=function.get("Environment", {"Variables": {}}),
                    Timeout=function["Timeout"],
                    MemorySize=function["MemorySize"],
                )
            created = boto3.client("stepfunctions").create_state_machine(
                name=rendered.name, definition=rendered.definition, roleArn=rendered.role_arn, type="STANDARD"
            )
            yield created["stateMachineArn"]
    finally:
        asl_moto.set_lambda_runner(None)
        os.environ.clear()
        os.environ.update(saved)


class StepFunctionsServer(MotoServer):
    """A moto server that executes state machines; Lambda tasks run the handler from its built image
    context, with the function's environment, where AWS is (this server), and ``lambda_overrides``
    (e.g. an OPENSEARCH_ENDPOINT on loopback)."""

    def __init__(self, lambda_overrides: dict[str, str] | None = None, port: int | None = None) -> None:
        super().__init__(port)
        self.lambda_overrides = dict(lambda_overrides or {})

    @property
    def program(self) -> str:  # type: ignore[override]
        setup = (
            f"import sys\nsys.path.insert(0, {str(REPO)!r})\n"
            "from devtools.step_functions import serve\n"
            f"serve({self.port}, {json.dumps(self.env())!r}, {json.dumps(self.lambda_overrides)!r})\n"
        )
        return setup + MotoServer.program


def serve(port: int, aws: str, overrides: str) -> None:
    """Inside the server process, before moto starts: execute state machines, run Lambda tasks."""
    from moto.core.config import default_user_config

    for service, settings in MOTO_CONFIG.items():
        default_user_config[service].update(settings)  # type: ignore[literal-required]
    os.environ["MOTO_PORT"] = str(port)  # where moto's interpreter sends its own AWS calls
    asl_moto.install()
    asl_moto.set_lambda_runner(context_runner(json.loads(aws), json.loads(overrides)))


_RUNNING = {"RUNNING", "PENDING_REDRIVE"}


def run_execution(
    sfn: Any,
    state_machine_arn: str,
    execution_input: dict[str, Any],
    name: str | None = None,
    timeout: float = 300,
) -> dict[str, Any]:
    """Start an execution and wait for it to stop; return describe_execution's answer."""
    started = sfn.start_execution(
        stateMachineArn=state_machine_arn,
        input=json.dumps(execution_input),
        **({"name": name} if name else {}),
    )
    deadline = time.monotonic() + timeout
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=started["executionArn"])
        if described["status"] not in _RUNNING:
            return described
        if time.monotonic() > deadline:
            raise TimeoutError(f"{started['executionArn']} still running after {timeout} s")
        time.sleep(0.05)


def history_summary(sfn: Any, execution_arn: str) -> dict[str, Any]:
    """The states entered (in order), the Map Runs (status and item counts), and how often each state
    was retried (a task scheduled again after it failed), from the execution's history."""
    events = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    entered: list[str] = []
    scheduled: Counter[str] = Counter()
    current = None
    for event in events:
        if event["type"].endswith("StateEntered"):
            current = event["stateEnteredEventDetails"]["name"]
            entered.append(current)
        elif event["type"] in {"TaskScheduled", "LambdaFunctionScheduled"} and current:
            scheduled[current] += 1
    map_runs = []
    for run in sfn.list_map_runs(executionArn=execution_arn)["mapRuns"]:
        described = sfn.describe_map_run(mapRunArn=run["mapRunArn"])
        map_runs.append(
            {
                "arn": run["mapRunArn"],
                "status": described["status"],
                "items": {k: v for k, v in described["itemCounts"].items() if v},
                "tolerated_failure_percentage": described["toleratedFailurePercentage"],
            }
        )
    return {
        "states_entered": entered,
        "map_runs": map_runs,
        "retries": {state: count - 1 for state, count in scheduled.items() if count > 1},
        "events": dict(Counter(event["type"] for event in events)),
    }
