"""A user's own transform (OUTPUT_FORMAT=custom, TRANSFORM_FUNCTION): lines out, and a transform
that fails fails only its record, counted (issue 15)."""

from __future__ import annotations

import json

import pytest

from logpipes.common.settings import ConfigurationError
from logpipes.firehose_transform import handler
from logpipes.firehose_transform.batch import InputRecord, transform_batch
from logpipes.firehose_transform.extension import CustomRenderer, LogEvent, load_transform
from tests.firehose_transform.helpers import cwl_payload, decoded, encode, firehose_event
from tests.firehose_transform.test_columns import _metrics

MODULE = "tests.firehose_transform.sample_transforms"
ORDERS = ['{"id": 7, "items": ["a", "b"]}', "heartbeat", "note: hello, world", '{"id": 8, "items": []}']


def _reason(data: str, function: str) -> str:
    """Why the record fails, as the handler logs it."""
    render = CustomRenderer(load_transform(f"{MODULE}:{function}"))
    (record,) = transform_batch([InputRecord("r", data)], render).records
    assert record.result == "ProcessingFailed"
    return record.reason


@pytest.fixture
def custom(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("OUTPUT_FORMAT", "custom")
    monkeypatch.setenv("TRANSFORM_FUNCTION", f"{MODULE}:orders")
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    return monkeypatch


def test_dicts_and_strings_become_lines(custom: pytest.MonkeyPatch, capsys, lambda_context) -> None:
    response = handler(firehose_event([encode(cwl_payload(ORDERS))]), lambda_context)
    lines = decoded(response["records"][0]).decode().split("\n")
    assert [json.loads(line) for line in lines[:2]] == [
        {"order": 7, "sku": sku, "stream": "i-0123456789abcdef0", "at": 1_700_000_000_000, "extra": 1}
        for sku in "ab"
    ]
    assert lines[2:] == ["hello, world", ""]
    metrics = _metrics(capsys)
    assert metrics["EventsFilteredByTransform"] == [2.0]  # the heartbeat, and the order without items
    assert metrics["RecordsFailedByTransform"] == [0.0]


def test_with_columns_only_their_keys_in_order_converted(custom: pytest.MonkeyPatch, lambda_context) -> None:
    columns = [
        {"name": "sku", "type": "string", "source": "$.sku"},
        {"name": "order", "type": "string", "source": "$.order"},
        {"name": "at", "type": "timestamp", "source": "timestamp"},
        {"name": "missing", "type": "int", "source": "$.missing"},
    ]
    custom.setenv("COLUMNS", json.dumps(columns))
    response = handler(firehose_event([encode(cwl_payload(ORDERS[:1]))]), lambda_context)
    assert decoded(response["records"][0]).decode().splitlines() == [
        f'{{"sku":"{sku}","order":"7","at":"2023-11-14 22:13:20.000","missing":null}}' for sku in "ab"
    ]


def test_a_transform_that_raises_fails_only_its_record(
    custom: pytest.MonkeyPatch, capsys, lambda_context
) -> None:
    good = encode(cwl_payload(ORDERS[:1]))
    bad = encode(cwl_payload(["heartbeat", "{not json"]))
    response = handler(firehose_event([good, bad, good]), lambda_context)
    assert [r["result"] for r in response["records"]] == ["Ok", "ProcessingFailed", "Ok"]
    assert _reason(bad, "orders").startswith("the transform failed on log event 1: JSONDecodeError: ")
    capsys.readouterr()
    response = handler(firehose_event([bad]), lambda_context)
    assert _metrics(capsys)["RecordsFailedByTransform"] == [1.0]


def test_a_transform_that_returns_no_lines_fails_its_record(
    custom: pytest.MonkeyPatch, capsys, lambda_context
) -> None:
    custom.setenv("TRANSFORM_FUNCTION", f"{MODULE}:returns_a_number")
    response = handler(firehose_event([encode(cwl_payload(["x"])), encode(cwl_payload([]))]), lambda_context)
    assert [r["result"] for r in response["records"]] == ["ProcessingFailed", "Dropped"]
    assert _reason(encode(cwl_payload(["x"])), "returns_a_number") == (
        "the transform failed on log event 0: TypeError: returned a int, not an iterable of lines"
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("no_colon", "must be package.module:function"),
        ("tests.firehose_transform.nowhere:f", "cannot import"),
        (f"{MODULE}:missing", "has no function missing"),
        (f"{MODULE}:not_callable", "has no function not_callable"),
    ],
)
def test_a_bad_transform_function_fails_naming_it(name: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match="TRANSFORM_FUNCTION") as raised:
        load_transform(name)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    "env",
    [{"OUTPUT_FORMAT": "custom"}, {"OUTPUT_FORMAT": "json", "TRANSFORM_FUNCTION": f"{MODULE}:orders"}],
)
def test_custom_and_transform_function_go_together(env: dict[str, str], monkeypatch, lambda_context) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match="TRANSFORM_FUNCTION"):
        handler(firehose_event([encode(cwl_payload(["x"]))]), lambda_context)


def test_log_event_is_frozen() -> None:
    event = LogEvent("1", 2, "m", "g", "s", "o")
    with pytest.raises(AttributeError):
        event.message = "changed"  # type: ignore[misc]
