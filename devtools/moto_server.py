"""A moto server on loopback: the local AWS that tests and the demo run against."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from types import TracebackType
from typing import Any

import boto3

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account


# moto 5.2.5 has no route for two calls the AWS provider (5.100) makes for every
# aws_sfn_state_machine: ValidateStateMachineDefinition (its plan-time check; the action exists only
# in moto's unrouted parser provider) and ListStateMachineVersions. moto answers 500 and the provider
# retries for many minutes. Every server started here adds both, with moto's own ASL analyser for
# the validation.
_SERVER_PROGRAM = """
import sys
from moto.core.responses import ActionResult
from moto.stepfunctions.parser.asl.static_analyser.express_static_analyser import ExpressStaticAnalyser
from moto.stepfunctions.parser.asl.static_analyser.static_analyser import StaticAnalyser
from moto.stepfunctions.responses import StepFunctionResponse

def validate_state_machine_definition(self):
    express = self._get_param("type") == "EXPRESS"
    try:
        (ExpressStaticAnalyser() if express else StaticAnalyser()).analyse(self._get_param("definition"))
    except Exception as error:
        diagnostic = {"severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED",
                      "message": str(getattr(error, "message", error))}
        return ActionResult({"result": "FAIL", "diagnostics": [diagnostic], "truncated": False})
    return ActionResult({"result": "OK", "diagnostics": [], "truncated": False})

def list_state_machine_versions(self):
    machine = self.stepfunction_backend.describe_state_machine(self._get_param("stateMachineArn"))
    versions = sorted(machine.versions.values(), key=lambda v: v.version, reverse=True)
    return ActionResult({"stateMachineVersions": [
        {"stateMachineVersionArn": v.arn, "creationDate": v.creation_date} for v in versions]})

StepFunctionResponse.validate_state_machine_definition = validate_state_machine_definition
StepFunctionResponse.list_state_machine_versions = list_state_machine_versions
from moto.server import main
main(sys.argv[1:])
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MotoServer:
    """Runs ``moto.server`` in a child process bound to 127.0.0.1 on a free port."""

    program = _SERVER_PROGRAM  # what the child runs (python -c); subclasses may set up more first

    def __init__(self, port: int | None = None) -> None:
        self.port = port or _free_port()
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        self.region = REGION
        self.account_id = ACCOUNT_ID
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> MotoServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self, timeout: float = 30.0) -> None:
        env = {**os.environ, **self.env()}
        self._process = subprocess.Popen(
            [sys.executable, "-c", self.program, "-H", "127.0.0.1", "-p", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"moto server exited with code {self._process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.endpoint_url}/moto-api/", timeout=1):
                    return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"moto server did not answer on {self.endpoint_url} within {timeout}s")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
            self._process = None

    def reset(self) -> None:
        """Forget every resource (POST /moto-api/reset)."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def env(self) -> dict[str, str]:
        """Environment variables that point boto3, the AWS CLI and Terraform at this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            # Lambda image functions: accept any image URI without looking it up in ECR.
            "MOTO_LAMBDA_STUB_ECR": "TRUE",
        }

    def session(self) -> boto3.Session:
        return boto3.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            aws_session_token="testing",
            region_name=self.region,
        )

    def client(self, service: str, **kwargs: Any) -> Any:
        return self.session().client(service, endpoint_url=self.endpoint_url, **kwargs)
