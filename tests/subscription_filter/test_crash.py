"""A process killed in the middle of a write, then the payload redelivered: nothing lost or doubled."""

from __future__ import annotations

import multiprocessing
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from logpipes.subscription_filter import dayfile, handler
from logpipes.subscription_filter.payload import encode_subscription_event

from devtools.lambda_runtime import FakeLambdaContext

FORK = multiprocessing.get_context("fork")
KILLED = 137
TOKYO_MIDNIGHT = datetime.fromisoformat("2024-04-01T00:00:00+09:00")
DIRECTORY = "aws/lambda/orders"

# One delivery across Tokyo midnight: two day files, written in day order.
EVENTS = [
    (f"{i:03d}", int((TOKYO_MIDNIGHT + timedelta(seconds=i - 50)).timestamp() * 1000), f"order {i} accepted")
    for i in range(100)
]
PAYLOAD = encode_subscription_event("/aws/lambda/orders", "2024/03/31/[$LATEST]f00d", EVENTS)


def _expected(day: str) -> list[str]:
    return [
        f"billing,prod,{(TOKYO_MIDNIGHT + timedelta(seconds=i - 50)).isoformat()[:19]}.000+09:00,"
        f"2024/03/31/[$LATEST]f00d,order {i} accepted"
        for i in range(100)
        if (i >= 50) == (day == "2024-04-01")
    ]


def _killed_during(crash_point: str, day_file_index: int, event: dict[str, Any]) -> None:
    """Run the handler; kill this process at ``crash_point`` of the write to the n-th day file."""
    real_write_all = dayfile._write_all
    day_writes = 0

    def write_all(fd: int, data: bytes, offset: int) -> None:
        nonlocal day_writes
        is_record = data.startswith(b"[")
        is_lines = not is_record and not data.startswith(b"logpipes-journal")
        if is_record and crash_point == "torn journal record" and day_writes == day_file_index:
            real_write_all(fd, data[: len(data) // 2], offset)
            os._exit(KILLED)
        if is_lines:
            if day_writes == day_file_index:
                if crash_point == "after the journal record":
                    os._exit(KILLED)
                if crash_point == "half-way through the lines":
                    real_write_all(fd, data[: len(data) // 2], offset)
                    os._exit(KILLED)
            day_writes += 1
        real_write_all(fd, data, offset)
        if (
            is_lines
            and crash_point == "after the lines, before returning"
            and day_writes == day_file_index + 1
        ):
            os.fsync(fd)
            os._exit(KILLED)

    dayfile._write_all = write_all  # this process only: it is about to die
    handler(event, FakeLambdaContext())


@pytest.mark.parametrize("day_file_index", [0, 1], ids=["first day file", "second day file"])
@pytest.mark.parametrize(
    "crash_point",
    [
        "torn journal record",
        "after the journal record",
        "half-way through the lines",
        "after the lines, before returning",
    ],
)
def test_crash_then_redelivery_loses_and_doubles_nothing(
    archive_root: Path, crash_point: str, day_file_index: int
) -> None:
    child = FORK.Process(target=_killed_during, args=(crash_point, day_file_index, PAYLOAD))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == KILLED

    # Lambda retries the same payload (here in another process, with a cold cache).
    result = handler(PAYLOAD, FakeLambdaContext())
    committed_day_files = day_file_index + (crash_point == "after the lines, before returning")
    assert (result["written"], result["duplicates"]) == (
        100 - 50 * committed_day_files,
        50 * committed_day_files,
    )

    directory = archive_root / DIRECTORY
    assert (directory / "2024-03-31.log").read_text().splitlines() == _expected("2024-03-31")
    assert (directory / "2024-04-01.log").read_text().splitlines() == _expected("2024-04-01")
    # A third delivery changes nothing: the journal now knows every event.
    assert handler(PAYLOAD, FakeLambdaContext())["duplicates"] == 100
