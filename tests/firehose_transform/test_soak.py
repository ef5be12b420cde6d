"""Bounds on hostile input, and a soak: 200 maximum-size batches in one warm process.

Peak memory is measured in a fresh interpreter (VmHWM, devtools.memory); time is asserted loosely (the machine
is shared), and linearity by comparing an input with one twice its size.
"""

from __future__ import annotations

import time

import pytest

from logpipes.firehose_transform import handler
from tests.firehose_transform.helpers import cwl_payload, encode, firehose_event, peak_memory_mb, soak

pytestmark = pytest.mark.slow

LAMBDA_REQUEST_LIMIT = 6 * 1024 * 1024


def test_peak_memory_and_time_of_a_giant_single_event() -> None:
    """A 7 MiB message (CloudWatch Logs allows 1 MB): ProcessingFailed, in bounded memory."""
    setup = """
        import time
        from devtools.lambda_runtime import FakeLambdaContext
        from logpipes.firehose_transform import handler
        from tests.firehose_transform.helpers import cwl_payload, encode, firehose_event
        event = firehose_event([encode(cwl_payload(["x" * (7 * 1024 * 1024)]))])
    """
    run = """
        started = time.monotonic()
        result = handler(event, FakeLambdaContext())
        assert [r["result"] for r in result["records"]] == ["ProcessingFailed"], result
        assert time.monotonic() - started < 5
    """
    assert peak_memory_mb(setup, run) < 64


def _tiny_records(count: int) -> dict:
    data = encode(cwl_payload(["a tiny line"]))
    return firehose_event([data] * count)


def test_many_tiny_records_are_linear_and_fit(lambda_context) -> None:
    """A 6 MB request of 16,000 tiny records: every one answered, the response within the limit,
    twice the records in about twice the time."""
    small, large = _tiny_records(8_000), _tiny_records(16_000)
    assert len(str(large)) < LAMBDA_REQUEST_LIMIT
    handler(small, lambda_context)  # warm
    timings = []
    for event in (small, large):
        started = time.perf_counter()
        response = handler(event, lambda_context)
        timings.append(time.perf_counter() - started)
        assert [r["result"] for r in response["records"]] == ["Ok"] * len(event["records"])
    assert timings[1] < 3.5 * timings[0] + 0.05
    setup = """
        from devtools.lambda_runtime import FakeLambdaContext
        from logpipes.firehose_transform import handler
        from tests.firehose_transform.test_soak import _tiny_records
        event = _tiny_records(16_000)
    """
    assert peak_memory_mb(setup, "handler(event, FakeLambdaContext())") < 120


SOAK_SETUP = """
    import base64, gzip, json, random, string
    from devtools.lambda_runtime import FakeLambdaContext
    from logpipes.firehose_transform import app, handler
    from tests.firehose_transform.helpers import cwl_payload, firehose_event

    class Discard:  # accepts every re-ingested record (the stream stands in for nothing here)
        def put_record_batch(self, DeliveryStreamName, Records):
            return {"FailedPutCount": 0, "RequestResponses": [{"RecordId": "r"} for _ in Records]}

    app._client = lambda service, region: Discard()
    rng = random.Random(11)
    words = ["GET", "POST", "/index.html", "/api/v1/orders", "200", "404", "Mozilla/5.0", "curl/8.1"]
    datas = []
    for r in range(36):  # 36 records of ~166 KB base64: a 6 MB request, ~25 MB of output
        lines = [" ".join(rng.choices(words, k=12)) + " " + "".join(rng.choices(string.digits, k=40))
                 for _ in range(3_000)]
        payload = cwl_payload(lines, start_ms=1_700_000_000_000 + r)
        datas.append(base64.b64encode(gzip.compress(json.dumps(payload).encode())).decode())
    event = firehose_event(datas)
    assert len(json.dumps(event)) < 6 * 1024 * 1024, len(json.dumps(event))
    context = FakeLambdaContext()
"""
SOAK_BATCH = """
    result = handler(event, context)
    assert len(result["records"]) == 36
"""


def test_soak_200_maximum_size_batches() -> None:
    report = soak(SOAK_SETUP, SOAK_BATCH, rounds=200)
    rss = report["rss"]
    warm = rss[19]  # after 20 batches
    assert max(rss[20:]) < warm * 1.05, f"memory grew from {warm:.1f} MB to {max(rss[20:]):.1f} MB"
    assert report["fds"][1] <= report["fds"][0], report["fds"]
    assert report["files"][1] == report["files"][0], report["files"]
    assert report["seconds"] < 60
    print(
        f"soak: 200 batches in {report['seconds']:.1f} s, RSS {rss[0]:.1f} -> {warm:.1f} -> {rss[-1]:.1f} MB"
    )
