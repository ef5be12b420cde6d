"""Bounds on hostile input for the EFS archiver, and a soak of 200 maximum-size deliveries in one
warm process: memory flat after warm-up, no file descriptor or temporary file left behind."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from devtools.lambda_runtime import FakeLambdaContext
from logpipes.subscription_filter import handler
from logpipes.subscription_filter.payload import encode_subscription_event
from tests.firehose_transform.helpers import peak_memory_mb, soak

pytestmark = pytest.mark.slow

DAY_MS = 86_400_000
START_MS = 1_711_929_600_000  # 2024-04-01T00:00:00Z


def test_peak_memory_of_a_giant_single_event(tmp_path: Path) -> None:
    """A 7 MiB message (over CloudWatch Logs' 1 MB, within the inflation limit): archived as one
    line, in memory bounded by a few copies of it."""
    setup = """
        from devtools.lambda_runtime import FakeLambdaContext
        from logpipes.subscription_filter import handler
        from logpipes.subscription_filter.payload import encode_subscription_event
        event = encode_subscription_event("/app", "s", [("1", 1_711_929_600_000, "x" * (7 * 1024 * 1024))])
    """
    run = """
        assert handler(event, FakeLambdaContext())["written"] == 1
    """
    assert peak_memory_mb(setup, run, env={"ARCHIVE_ROOT": str(tmp_path)}) < 64


def test_ten_thousand_tiny_events_are_linear(archive_root: Path) -> None:
    """The most events a delivery holds (PutLogEvents' 10,000), and half as many: linear."""

    def delivery(count: int, day: int) -> dict:
        events = [(f"{day}-{i}", START_MS + day * DAY_MS + i, "ok") for i in range(count)]
        return encode_subscription_event("/app/tiny", "s", events)

    handler(delivery(100, 0), FakeLambdaContext())  # warm
    timings = []
    for day, count in ((1, 5_000), (2, 10_000)):
        event = delivery(count, day)
        started = time.perf_counter()
        assert handler(event, FakeLambdaContext())["written"] == count
        timings.append(time.perf_counter() - started)
    assert timings[1] < 3.5 * timings[0] + 0.05


SOAK_SETUP = """
    import os, random, string
    from devtools.lambda_runtime import FakeLambdaContext
    from logpipes.subscription_filter import handler
    from logpipes.subscription_filter.payload import encode_subscription_event

    rng = random.Random(5)
    words = ["GET", "POST", "/index.html", "/api/v1/orders", "200", "404", "Mozilla/5.0", "curl/8.1"]
    lines = [" ".join(rng.choices(words, k=12)) + " " + "".join(rng.choices(string.digits, k=24))
             for _ in range(6_000)]
    context = FakeLambdaContext()
    delivery = [0]

    def event(day):  # ~256 KB of awslogs.data: the most an asynchronous invocation carried
        start = 1_711_929_600_000 + day * 86_400_000
        events = [(f"{day}-{i}", start + i, line) for i, line in enumerate(lines)]
        return encode_subscription_event("/app/soak", "web-1", events)

    size = len(event(0)["awslogs"]["data"])
    assert 200_000 < size <= 256 * 1024, size
"""
SOAK_BATCH = """
    day = delivery[0]
    delivery[0] += 1
    assert handler(event(day), context)["written"] == 6_000
"""


def test_soak_200_maximum_size_deliveries(tmp_path: Path) -> None:
    """Each delivery a new day, so that the per-process journal cache (64 day files) fills during
    warm-up and then stays full: memory is flat after it."""
    report = soak(SOAK_SETUP, SOAK_BATCH, rounds=200, env={"ARCHIVE_ROOT": str(tmp_path)})
    rss = report["rss"]
    warm = rss[69]  # after 70 deliveries: the journal cache is full
    assert max(rss[70:]) < warm * 1.05, f"memory grew from {warm:.1f} MB to {max(rss[70:]):.1f} MB"
    assert report["fds"][1] <= report["fds"][0], report["fds"]
    assert report["files"][1] == report["files"][0], report["files"]
    assert report["seconds"] < 120  # ~30 s on an idle machine: a loose bound, the machine is shared
    assert len(list((tmp_path / "app/soak").glob("*.log"))) == 200
    seconds = report["seconds"]
    print(f"soak: 200 deliveries in {seconds:.1f} s, RSS {rss[0]:.1f} -> {warm:.1f} -> {rss[-1]:.1f} MB")
