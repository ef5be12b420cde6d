"""Run handlers the way Lambda would: in-process for unit tests, or from a built image context."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


@dataclass
class FakeLambdaContext:
    """The attributes of the Lambda context object that handlers and Powertools read."""

    function_name: str = "logpipes-test"
    memory_limit_in_mb: int = 512
    timeout_ms: int = 300_000
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/logpipes-test"
    log_stream_name: str = "2026/01/01/[$LATEST]0123456789abcdef"
    _started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.timeout_ms - int((time.monotonic() - self._started) * 1000))


def context_dir(function: str) -> Path:
    """Where build.py puts the installed package tree of a function's image."""
    return REPO / "build" / function / "package"


# Runs inside the isolated interpreter: `python -I -S` sees neither PYTHONPATH nor site-packages,
# so the only importable code is the standard library and the function's built context.
_RUNNER = """
import json, sys
sys.path.insert(0, sys.argv[1])
sys.path.insert(1, sys.argv[2])
from lambda_runtime_shim import run
run(sys.argv[3])
"""

_SHIM = """
import importlib, json, sys, time, uuid

class Context:
    function_name = "{function}"
    memory_limit_in_mb = 512
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:{function}"
    log_group_name = "/aws/lambda/{function}"
    log_stream_name = "local"
    def __init__(self):
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + 300
    def get_remaining_time_in_millis(self):
        return int((self._deadline - time.monotonic()) * 1000)

def run(handler_path):
    module_name, _, attribute = handler_path.rpartition(".")
    handler = getattr(importlib.import_module(module_name), attribute)
    event = json.load(sys.stdin)
    result = handler(event, Context())
    sys.stdout.flush()
    sys.__stdout__.write("\\n@@RESULT@@" + json.dumps(result))
"""


def invoke_from_context(
    function: str,
    event: dict[str, Any],
    env: dict[str, str] | None = None,
    handler: str | None = None,
) -> Any:
    """Invoke ``handler`` (default ``logpipes.<function>.handler``) from build/<function>/package.

    The interpreter runs with -I -S, so a dependency missing from the built context fails here
    exactly as it would in Lambda. Returns the handler's JSON result; raises RuntimeError with the
    function's output when the handler raises.
    """
    package = context_dir(function)
    if not package.is_dir():
        raise FileNotFoundError(f"{package} does not exist: run `python build.py {function}` first")
    shim_dir = REPO / "build" / function / "runtime-shim"
    shim_dir.mkdir(parents=True, exist_ok=True)
    (shim_dir / "lambda_runtime_shim.py").write_text(_SHIM.replace("{function}", function))
    child_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        # Lambda sets both; botocore reads AWS_DEFAULT_REGION.
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "POWERTOOLS_SERVICE_NAME": function,
        "POWERTOOLS_METRICS_NAMESPACE": "logpipes",
        **(env or {}),
    }
    from build import DEFAULT_PYTHON, find_interpreter  # the interpreter the context was built for

    result = subprocess.run(
        [
            find_interpreter(DEFAULT_PYTHON),
            "-I",
            "-S",
            "-c",
            _RUNNER,
            str(package),
            str(shim_dir),
            handler or f"logpipes.{function}.handler",
        ],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        env=child_env,
        check=False,
    )
    _, marker, payload = result.stdout.rpartition("\n@@RESULT@@")
    if result.returncode != 0 or not marker:
        raise RuntimeError(
            f"{function} handler failed (exit {result.returncode}):\n{result.stdout[-4000:]}\n"
            f"{result.stderr[-8000:]}"
        )
    return json.loads(payload)


def ensure_built(function: str, registry: str = "123456789012.dkr.ecr.us-east-1.amazonaws.com") -> str:
    """Build (or refresh) build/<function>/ with build.py; return the function's image URI."""
    result = subprocess.run(
        [sys.executable, str(REPO / "build.py"), function, "--registry", registry],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"build.py {function} failed:\n{result.stdout}\n{result.stderr}")
    images = json.loads((REPO / "build" / "images.auto.tfvars.json").read_text())["image_uris"]
    return str(images[function])
