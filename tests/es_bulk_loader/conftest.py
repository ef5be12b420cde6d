"""Fixtures of the es-bulk-loader tests: the local OpenSearch endpoint and signed clients for it, and
the state machines Terraform renders (once per session: rendering applies the module, ~40 s)."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from devtools.opensearch_stub import OpenSearchStub
from devtools.step_functions import RenderedStateMachine, rendered_es_bulk_loader
from logpipes.es_bulk_loader.bulk import Backoff, BulkClient
from logpipes.es_bulk_loader.opensearch import OpenSearchHttp, sigv4_auth

KEY_ID, SECRET, TOKEN = "testing", "testing", "testing"  # moto's dummy credentials, also the stub's
REGION = "us-east-1"


def signing_session(secret: str = SECRET) -> boto3.Session:
    return boto3.Session(
        aws_access_key_id=KEY_ID, aws_secret_access_key=secret, aws_session_token=TOKEN, region_name=REGION
    )


@pytest.fixture
def stub() -> Iterator[OpenSearchStub]:
    with OpenSearchStub({KEY_ID: SECRET}, region=REGION, service="es") as endpoint:
        yield endpoint


@pytest.fixture
def http(stub: OpenSearchStub) -> OpenSearchHttp:
    return OpenSearchHttp(stub.url, sigv4_auth("es", REGION, signing_session()))


class RecordedSleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> RecordedSleeps:
    return RecordedSleeps()


@pytest.fixture
def client(http: OpenSearchHttp, sleeps: RecordedSleeps) -> BulkClient:
    """Retries without waiting: the backoff's sleeps are recorded instead (jitter fixed at its maximum)."""
    return BulkClient(http, max_attempts=4, backoff=Backoff(sleep=sleeps, random=lambda: 1.0))


@pytest.fixture(scope="session")
def rendered() -> dict[str, RenderedStateMachine]:
    """Every es-bulk-loader variant's state machine and functions, as Terraform deployed them."""
    return rendered_es_bulk_loader()
