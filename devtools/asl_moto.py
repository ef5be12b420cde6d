"""Where moto's Amazon States Language interpreter falls short of AWS, made to behave as AWS documents.

moto (``mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker":
False}})``, or the server with that config) runs a port of LocalStack's interpreter. Checked against
moto 5.2.5, it differs from AWS in these places, which ``install()`` closes (each has a test in
tests/devtools/test_asl_moto.py):

1. **Whole-number ToleratedFailurePercentage.** Its grammar wants a decimal point there, so the ``25``
   that ``jsonencode`` writes is a syntax error. AWS takes any number from 0 to 100
   (https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html#maprun-fail-threshold).
   Fixed by writing whole numbers there as decimals before moto parses a definition.
2. **Tolerated failures.** A failed child execution never fails a Distributed Map (the thresholds
   are parsed and ignored). AWS fails the Map Run, and the Map state with
   ``States.ExceedToleratedFailureThreshold``, when the failed items exceed ``ToleratedFailureCount``
   or ``ToleratedFailurePercentage`` (both 0 unless stated: any failure fails it). Enforced after the
   Map Run from each child's outcome.
3. **ResultWriter.** It writes only ``manifest.json``, with empty ``ResultFiles``. AWS writes the child
   executions, by status, to ``<Prefix>/<map run id>/SUCCEEDED_<n>.json``, ``FAILED_<n>.json`` and
   ``PENDING_<n>.json`` (JSON arrays of executions with ``Input`` and ``Output``, or ``Error`` and
   ``Cause``, as JSON strings) and lists them in ``manifest.json``
   (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultwriter.html).
4. **Retry waits** really sleep (minutes for a definition's backoff). Here they are recorded in
   ``RETRY_WAITS`` and shortened by ``retry_wait_scale``; FULL jitter, which AWS draws uniformly from
   0 to the interval, is fixed at the interval so the recorded waits are the backoff the definition asks for.
5. **Unnamed executions** get the name ``None``. AWS names them with a UUID (StartExecution ``name``:
   https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html).
6. **Lambda tasks** reach the Docker-free Lambda backend, which echoes the payload. Here the backend
   calls the runner given to ``set_lambda_runner`` with the function's handler and environment (from its
   image command and configuration, as Terraform set them) and answers as Lambda does: the result, or
   the error payload (``errorType``, ``errorMessage``) with ``X-Amz-Function-Error: Unhandled``.

``install()`` fails loudly on any other moto version, or if an attribute it patches is gone.
"""

from __future__ import annotations

import json
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

PATCHED_MOTO_VERSION = "5.2.5"

RETRY_WAITS: list[float] = []
"""Seconds each Retry asked to wait, in the order the interpreter waited (jitter at its maximum)."""

retry_wait_scale = 0.0
"""How much of each Retry wait is really slept (0: none)."""


@dataclass(frozen=True)
class LambdaTarget:
    """The function a Lambda task invokes, as configured: name, handler (image command), environment."""

    name: str
    handler: str
    environment: dict[str, str]


LambdaRunner = Callable[[LambdaTarget, Any], Any]
"""(function, event) -> the handler's result; raises what the handler raises."""

_runner: LambdaRunner | None = None
_installed = False
_lock = threading.Lock()


def set_lambda_runner(runner: LambdaRunner | None) -> None:
    """Run every Lambda task's function with ``runner`` (None: invoking a function fails)."""
    global _runner  # noqa: PLW0603 - one interpreter per process, one runner for it
    _runner = runner


def whole_percentages_as_decimals(definition: str) -> str:
    """The definition with every whole-number ToleratedFailurePercentage written as a decimal (25 -> 25.0)."""
    try:
        parsed = json.loads(definition)
    except ValueError:
        return definition  # moto's parser reports what is wrong with it

    def visit(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                key: float(value)
                if key == "ToleratedFailurePercentage" and type(value) is int
                else visit(value)
                for key, value in node.items()
            }
        if isinstance(node, list):
            return [visit(item) for item in node]
        return node

    return json.dumps(visit(parsed))


def exceeds_tolerance(failed: int, total: int, tolerated_count: int, tolerated_percentage: float) -> bool:
    """Whether a Map Run with ``failed`` of ``total`` items failed has breached its failure threshold.

    A threshold left at 0 does not apply while the other is set; with neither set, any failure breaches.
    """
    if not tolerated_count and not tolerated_percentage:
        return failed > 0
    return bool(
        (tolerated_count and failed > tolerated_count)
        or (tolerated_percentage and failed * 100 > tolerated_percentage * total)
    )


def result_files(children: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The child executions by ResultWriter file: SUCCEEDED, FAILED (failed, timed out, aborted), PENDING."""
    files: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
    for child in children:
        files["SUCCEEDED" if child["Status"] == "SUCCEEDED" else "FAILED"].append(child)
    return files


def lambda_error_payload(error: BaseException) -> dict[str, Any]:
    """What Lambda's Python runtime returns for an unhandled exception."""
    return {
        "errorMessage": str(error),
        "errorType": getattr(error, "error_type", type(error).__name__),
        "requestId": str(uuid.uuid4()),
        "stackTrace": traceback.format_tb(error.__traceback__),
    }


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def install() -> None:
    """Patch moto's interpreter (idempotent). Raises RuntimeError on a moto it was not written for."""
    global _installed  # noqa: PLW0603 - patches are process-wide
    with _lock:
        if _installed:
            return
        _patch(_targets())
        _installed = True


def _targets() -> SimpleNamespace:
    import moto

    if moto.__version__ != PATCHED_MOTO_VERSION:
        raise RuntimeError(
            f"devtools/asl_moto.py patches moto {PATCHED_MOTO_VERSION}, found {moto.__version__}: check each "
            "gap it closes against the new moto, then update PATCHED_MOTO_VERSION and requirements-dev.txt"
        )
    from moto.awslambda_simple.models import LambdaSimpleBackend
    from moto.stepfunctions.parser.asl.component.common.retry import jitter_strategy_decl, retrier_decl
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
        distributed_iteration_component as iteration,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor import (
        distributed_item_processor_worker as worker,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval import (
        resource_eval_s3,
    )
    from moto.stepfunctions.parser.asl.parse import asl_parser
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    targets = SimpleNamespace(
        parser=asl_parser.AmazonStateLanguageParser,
        worker=worker.DistributedItemProcessorWorker,
        iteration=iteration.DistributedIterationComponent,
        s3_writer=resource_eval_s3.ResourceEvalS3,
        retrier_module=retrier_decl,
        jitter_module=jitter_strategy_decl,
        backend=StepFunctionsParserBackend,
        lambda_backend=LambdaSimpleBackend,
    )
    for owner, attribute in (
        (targets.parser, "parse"),
        (targets.worker, "_eval_job"),
        (targets.iteration, "_map_run"),
        (targets.s3_writer, "_handle_put_object"),
        (targets.retrier_module, "time"),
        (targets.jitter_module, "random"),
        (targets.backend, "start_execution"),
        (targets.lambda_backend, "invoke"),
    ):
        if not hasattr(owner, attribute):
            raise RuntimeError(
                f"moto changed: {owner!r} has no {attribute!r} for devtools/asl_moto.py to patch"
            )
    return targets


def _patch(t: SimpleNamespace) -> None:  # noqa: PLR0915 - one place for every patch
    from moto.stepfunctions.parser.api import ExecutionFailedEventDetails, HistoryEventType
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.asl.eval.program_state import (
        ProgramEnded,
        ProgramError,
        ProgramStopped,
        ProgramTimedOut,
    )

    # 1. Whole-number ToleratedFailurePercentage.
    parse = t.parser.parse
    t.parser.parse = staticmethod(lambda definition: parse(whole_percentages_as_decimals(definition)))

    # 2. and 3.: each child execution's outcome, as ResultWriter reports it, kept on its Map Run.
    eval_job = t.worker._eval_job

    def recording_eval_job(self: Any, env: Any, job: Any) -> None:
        started = datetime.now(UTC)
        eval_job(self, env, job)
        state = env.program_state()
        record = self._map_run_record
        name = str(uuid.uuid4())
        child: dict[str, Any] = {
            "ExecutionArn": f"{record.map_state_machine_arn.replace(':stateMachine:', ':execution:')}:{name}",
            "Input": json.dumps(job.job_input),
            "InputDetails": {"Included": True},
            "Name": name,
            "RedriveCount": 0,
            "RedriveStatus": "NOT_REDRIVABLE",
            "StartDate": _iso(started),
            "StateMachineArn": record.map_state_machine_arn,
            "StopDate": _iso(datetime.now(UTC)),
        }
        if isinstance(state, ProgramEnded):
            child.update(
                Status="SUCCEEDED", Output=json.dumps(job.job_output), OutputDetails={"Included": True}
            )
        else:
            details = state.error if isinstance(state, ProgramError) and state.error else {}
            status = {ProgramTimedOut: "TIMED_OUT", ProgramStopped: "ABORTED"}.get(type(state), "FAILED")
            child.update(
                Status=status, Error=details.get("error", f"States.{status}"), Cause=details.get("cause", "")
            )
        with _lock:
            record.__dict__.setdefault("children", []).append((job.job_index, child))

    t.worker._eval_job = recording_eval_job

    map_run = t.iteration._map_run

    def tolerance_checked_map_run(self: Any, env: Any, eval_input: Any) -> None:
        map_run(self, env, eval_input)
        record = eval_input.map_run_record
        children = [child for _, child in record.__dict__.get("children", [])]
        failed = sum(child["Status"] in {"FAILED", "TIMED_OUT"} for child in children)
        if exceeds_tolerance(
            failed, len(children), record.tolerated_failure_count, record.tolerated_failure_percentage
        ):
            env.stack.pop()  # the Map Run's outputs: the state fails instead
            error = StatesErrorNameType.StatesExceedToleratedFailureThreshold.to_name()
            cause = "The specified tolerated failure threshold was exceeded"
            raise FailureEventException(
                FailureEvent(
                    env=env,
                    error_name=StatesErrorName(typ=StatesErrorNameType.StatesExceedToleratedFailureThreshold),
                    event_type=HistoryEventType.ExecutionFailed,
                    event_details=EventDetails(
                        executionFailedEventDetails=ExecutionFailedEventDetails(error=error, cause=cause)
                    ),
                )
            )

    t.iteration._map_run = tolerance_checked_map_run

    def write_results(env: Any, resource_runtime_part: Any, state_credentials: Any) -> None:
        parameters = env.stack.pop()
        env.stack.pop()  # the Map's outputs: the files below carry them, with their inputs
        s3 = t.s3_writer._get_s3_client(
            resource_runtime_part=resource_runtime_part, state_credentials=state_credentials
        )
        record = env.map_run_record_pool_manager.get_all().pop()
        prefix = parameters.get("Prefix", "")
        folder = f"{prefix.rstrip('/')}/{record.map_run_arn.split(':')[-1]}".lstrip("/")
        bucket = parameters["Bucket"]
        children = [child for _, child in sorted(record.__dict__.get("children", []), key=lambda c: c[0])]
        listed: dict[str, list[dict[str, Any]]] = {}
        for status, selected in result_files(children).items():
            listed[status] = []
            if selected:
                key = f"{folder}/{status}_0.json"
                body = json.dumps(selected).encode()
                s3.put_object(Bucket=bucket, Key=key, Body=body)
                listed[status].append({"Key": key, "Size": len(body)})
        manifest = {"DestinationBucket": bucket, "MapRunArn": record.map_run_arn, "ResultFiles": listed}
        s3.put_object(Bucket=bucket, Key=f"{folder}/manifest.json", Body=json.dumps(manifest).encode())
        env.stack.append(
            {
                "MapRunArn": record.map_run_arn,
                "ResultWriterDetails": {"Bucket": bucket, "Key": f"{folder}/manifest.json"},
            }
        )

    t.s3_writer._handle_put_object = staticmethod(write_results)

    # 4. Retry waits: recorded, shortened, jitter at its maximum.
    def recorded_sleep(seconds: float) -> None:
        RETRY_WAITS.append(seconds)
        time.sleep(seconds * retry_wait_scale)

    t.retrier_module.time = SimpleNamespace(sleep=recorded_sleep)
    t.jitter_module.random = SimpleNamespace(uniform=lambda low, high: high)

    # 5. Unnamed executions.
    start_execution = t.backend.start_execution

    def named_start_execution(
        self: Any, state_machine_arn: str, name: str | None = None, *args: Any, **kwargs: Any
    ) -> Any:
        return start_execution(self, state_machine_arn, name or str(uuid.uuid4()), *args, **kwargs)

    t.backend.start_execution = named_start_execution

    # 6. Lambda tasks run the function's handler.
    def invoke(
        self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
    ) -> bytes:
        function = self.get_function(function_name, qualifier)
        target = LambdaTarget(
            name=function.function_name,
            handler=(function.image_config.cmd or [function.handler])[0],
            environment=dict(function.environment_vars),
        )
        if _runner is None:
            raise RuntimeError("no Lambda runner: call devtools.asl_moto.set_lambda_runner first")
        try:
            result = _runner(target, json.loads(body or "{}"))
        except Exception as error:  # an unhandled error is the invocation's result, as in Lambda
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(lambda_error_payload(error)).encode()
        return json.dumps(result).encode()

    t.lambda_backend.invoke = invoke
