"""Fixtures shared by every test: the local moto server, AWS environment, Lambda context, sample data."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from types import CodeType
from typing import Any

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


# What a test needs, as the markers of pyproject.toml (`make unit` deselects them all): the fixtures
# that provide it, and the harness calls that need it when the test or one of its fixtures makes them.
FIXTURE_MARKERS = {
    "moto_server": "moto",
    "aws": "moto",
    "postgres": "postgres",
    "node_aggregate": "node",
}
CALL_MARKERS = {
    "MotoServer": "moto",
    "StepFunctionsServer": "moto",
    "PostgresServer": "postgres",
    "terraform": "terraform",
    "applied_example": "terraform",
    "render_state_machines": "terraform",
    "rendered_es_bulk_loader": "terraform",
    "ensure_built": "built_context",
    "invoke_from_context": "built_context",
}


def _names_used(code: CodeType) -> set[str]:
    """Every global and attribute name a function's code refers to, nested code (lambdas) included."""
    names = set(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, CodeType):
            names |= _names_used(constant)
    return names


def _code_of(function: Callable[..., Any] | None) -> CodeType | None:
    return getattr(inspect.unwrap(function), "__code__", None) if function is not None else None


def needed_markers(item: pytest.Item) -> set[str]:
    """The markers a test needs, from the fixtures it uses and the harness calls it and they make."""
    needs = {FIXTURE_MARKERS[name] for name in getattr(item, "fixturenames", ()) if name in FIXTURE_MARKERS}
    functions = [getattr(item, "function", None)]
    fixture_info = getattr(item, "_fixtureinfo", None)
    if fixture_info is not None:
        functions += [d.func for defs in fixture_info.name2fixturedefs.values() for d in defs]
    for code in filter(None, map(_code_of, functions)):
        needs |= {CALL_MARKERS[name] for name in _names_used(code) if name in CALL_MARKERS}
    return needs


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test by what it needs, on top of the marks it carries itself."""
    for item in items:
        present = {mark.name for mark in item.iter_markers()}
        for name in sorted(needed_markers(item) - present):
            item.add_marker(getattr(pytest.mark, name))
