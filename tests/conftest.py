"""Fixtures shared by every test: the local moto server, AWS environment, Lambda context, sample data."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.lambda_runtime import FakeLambdaContext
from devtools.moto_server import MotoServer

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"

# Handlers read these at import time; set them before any test module imports a handler.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_REGION", "us-east-1")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "logpipes")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "logpipes-tests")
# Powertools Tracer stays off outside Lambda; metrics are still validated and flushed to stdout.
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "1")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data: real third-party samples (see its SOURCES.md)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is not present")
    return SHARED_DATA


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@pytest.fixture
def aws(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoServer]:
    """A clean moto, and boto3 in this process pointed at it."""
    moto_server.reset()
    for name, value in moto_server.env().items():
        monkeypatch.setenv(name, value)
    yield moto_server


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()
