"""Real processes and real fcntl.flock: concurrent writers, concurrent redeliveries, sealing races."""

from __future__ import annotations

import csv
import gzip
import io
import multiprocessing
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from devtools.lambda_runtime import FakeLambdaContext
from logpipes.subscription_filter import handler
from logpipes.subscription_filter.archive import seal_all
from logpipes.subscription_filter.payload import encode_subscription_event
from logpipes.subscription_filter.settings import ArchiveSettings

pytestmark = pytest.mark.slow

# fork: children inherit the test's environment (ARCHIVE_ROOT …) and the imported handler.
FORK = multiprocessing.get_context("fork")
GROUP = "/aws/ecs/checkout"
DAY_START = datetime.fromisoformat("2024-04-01T00:00:00+09:00")


def _message(writer: int, payload: int, event: int) -> str:
    # Varying lengths (up to ~2 KB) and CSV-special characters: torn or interleaved writes show.
    padding = "x" * ((writer * 7919 + payload * 104729 + event * 31) % 2000)
    return f'writer={writer} payload={payload} event={event} "quoted, with comma" {padding}'


def _payloads(
    writer: int, payload_count: int, events_per_payload: int, days: int = 1
) -> list[dict[str, Any]]:
    payloads = []
    for payload in range(payload_count):
        events = []
        for event in range(events_per_payload):
            moment = DAY_START + timedelta(
                days=event % days, seconds=writer * 3000 + payload * 10, milliseconds=event
            )
            event_id = f"{writer:02d}{payload:04d}{event:05d}"
            events.append((event_id, int(moment.timestamp() * 1000), _message(writer, payload, event)))
        payloads.append(encode_subscription_event(GROUP, f"task/{writer}", events))
    return payloads


def _deliver(payloads: list[dict[str, Any]], barrier: Any) -> None:
    barrier.wait()
    context = FakeLambdaContext()
    for event in payloads:
        handler(event, context)


def _run(jobs: list[list[dict[str, Any]]]) -> None:
    barrier = FORK.Barrier(len(jobs))
    processes = [FORK.Process(target=_deliver, args=(job, barrier)) for job in jobs]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=240)
    assert [process.exitcode for process in processes] == [0] * len(processes)


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _expected_messages(writers: int, payload_count: int, events_per_payload: int) -> set[str]:
    return {
        _message(w, p, e)
        for w in range(writers)
        for p in range(payload_count)
        for e in range(events_per_payload)
    }


def test_eight_processes_append_50000_lines_to_one_day_file(archive_root: Path) -> None:
    writers, payload_count, events_per_payload = 8, 25, 250
    _run([_payloads(w, payload_count, events_per_payload) for w in range(writers)])

    day_file = archive_root / "aws/ecs/checkout/2024-04-01.log"
    rows = _rows(day_file.read_text())
    assert len(rows) == writers * payload_count * events_per_payload == 50_000
    messages = [row[4] for row in rows]
    assert len(set(messages)) == len(messages)  # exactly once
    assert set(messages) == _expected_messages(writers, payload_count, events_per_payload)
    for row in rows:  # intact: every field as rendered
        writer = int(row[4].split()[0].removeprefix("writer="))
        assert (
            row[:2] == ["billing", "prod"] and row[2].startswith("2024-04-01T") and row[3] == f"task/{writer}"
        )
    # One write per delivery: each writer's payload is one contiguous block of 250 lines.
    blocks = [messages[i].split()[:2] for i in range(0, len(messages), events_per_payload)]
    for start, block in zip(range(0, len(messages), events_per_payload), blocks, strict=True):
        assert all(m.split()[:2] == block for m in messages[start : start + events_per_payload])


def test_the_same_payloads_delivered_concurrently_by_four_processes(archive_root: Path) -> None:
    payloads = [p for w in range(2) for p in _payloads(w, 10, 200)]
    jobs = []
    for seed in range(4):
        shuffled = payloads[:]
        random.Random(seed).shuffle(shuffled)
        jobs.append(shuffled)
    _run(jobs)
    messages = [row[4] for row in _rows((archive_root / "aws/ecs/checkout/2024-04-01.log").read_text())]
    assert sorted(messages) == sorted(_expected_messages(2, 10, 200))


def _seal_continuously(root: str, stop: Any) -> None:
    settings = ArchiveSettings.from_environment(
        {"ARCHIVE_ROOT": root, "ARCHIVE_TIME_ZONE": "Asia/Tokyo", "ARCHIVE_SEAL_GRACE_SECONDS": "0"}
    )
    while not stop.is_set():
        seal_all(settings, datetime.now(UTC))


def test_sealing_while_four_processes_write_loses_and_doubles_nothing(
    archive_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Grace 0: days are sealed while writers still append to them; every line lands exactly once,
    in the sealed file or in the late file."""
    monkeypatch.setenv("ARCHIVE_SEAL_GRACE_SECONDS", "0")
    stop = FORK.Event()
    sealer = FORK.Process(target=_seal_continuously, args=(str(archive_root), stop))
    sealer.start()
    try:
        _run([_payloads(w, 20, 100, days=10) for w in range(4)])
    finally:
        stop.set()
        sealer.join(timeout=60)
    assert sealer.exitcode == 0

    directory = archive_root / "aws/ecs/checkout"
    messages: list[str] = []
    sealed_days = 0
    for path in sorted(directory.iterdir()):
        if path.name.endswith(".log.gz"):
            sealed_days += 1
            messages += [row[4] for row in _rows(gzip.decompress(path.read_bytes()).decode())]
        elif path.name.endswith(".log"):
            messages += [row[4] for row in _rows(path.read_text())]
    assert sealed_days == 10
    assert not list(directory.glob(".*.tmp"))
    assert sorted(messages) == sorted(_expected_messages(4, 20, 100))
