"""The fault matrix of the EFS archiver, with Lambda's asynchronous retries replayed as documented.

The archiver makes no AWS API call: CloudWatch Logs invokes it asynchronously, and its only I/O is
the EFS file system. So every file system call it makes (open, pwrite, fsync, flock) fails in turn,
the way EFS fails (EIO, ENOSPC, ETIMEDOUT, EACCES, ENOLCK), and :class:`AsyncLambda` replays what
Lambda then does. Every log event is counted: archived exactly once, or parked with its data in the
on-failure destination (and archived exactly once after the parked payloads are redriven); never
lost, never doubled.
"""

from __future__ import annotations

import copy
import errno
import json
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from devtools.lambda_runtime import FakeLambdaContext
from logpipes.common.cloudwatch_logs import MAX_LEGITIMATE_INFLATED_BYTES
from logpipes.subscription_filter import dayfile, handler
from logpipes.subscription_filter.payload import encode_subscription_event
from tests.firehose_transform.helpers import gzip_bomb

TOKYO_MIDNIGHT = datetime.fromisoformat("2024-04-01T00:00:00+09:00")
DELIVERIES, EVENTS_PER_DELIVERY = 12, 40


@dataclass
class AsyncLambda:
    """Lambda's asynchronous invocation of the archiver, as the Lambda developer guide documents it
    ("How Lambda handles errors and retries with asynchronous invocation"): when the function
    returns an error (its code's, or the runtime's, such as a timeout), Lambda runs it two more
    times (the efs-archiver's maximum_retry_attempts, default 2); then it sends the invocation
    record to the on-failure destination (the module's SQS queue; "Capturing records of Lambda
    asynchronous invocations"), the event itself as ``requestPayload``. The queue may also deliver
    an event more than once without any error: ``deliver_twice`` replays that."""

    retries: int = 2
    attempt: int = 0  # attempts made so far, over every event
    parked: list[dict[str, Any]] = field(default_factory=list)

    def invoke(self, event: dict[str, Any], deliver_twice: bool = False) -> None:
        for _ in range(2 if deliver_twice else 1):
            error: BaseException | None = None
            for _ in range(1 + self.retries):
                self.attempt += 1
                try:
                    handler(copy.deepcopy(event), FakeLambdaContext())
                    break
                except Exception as raised:  # a function error: retried, then parked
                    error = raised
            else:
                self.parked.append(
                    {
                        "version": "1.0",
                        "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": 3},
                        "requestPayload": event,
                        "responseContext": {"functionError": "Unhandled"},
                        "responsePayload": {"errorType": type(error).__name__, "errorMessage": str(error)},
                    }
                )

    def redrive(self) -> None:
        """What the module's README says to do once the cause is fixed: invoke again with each
        parked requestPayload."""
        parked, self.parked = self.parked, []
        for record in parked:
            self.invoke(record["requestPayload"])


class FaultyCalls:
    """Stands in for ``os`` (or ``fcntl``) in the archiver's dayfile module: the calls of ``name``
    that ``fails(attempt, call)`` picks raise OSError(code); call counts restart every attempt."""

    def __init__(self, real: Any, name: str, code: int, fails: Callable[[int, int], bool], lam: AsyncLambda):
        self.real, self.name, self.code, self.fails, self.lam = real, name, code, fails, lam
        self.calls: Counter[int] = Counter()

    def __getattr__(self, attribute: str) -> Any:
        value = getattr(self.real, attribute)
        if attribute != self.name:
            return value

        def faulty(*args: Any, **kwargs: Any) -> Any:
            self.calls[self.lam.attempt] += 1
            if self.fails(self.lam.attempt, self.calls[self.lam.attempt]):
                raise OSError(self.code, os.strerror(self.code))
            return value(*args, **kwargs)

        return faulty


# fault -> (module of dayfile to replace, call, errno)
FAULTS = {
    "pwrite EIO": ("os", "pwrite", errno.EIO),
    "pwrite ENOSPC": ("os", "pwrite", errno.ENOSPC),
    "fsync EIO": ("os", "fsync", errno.EIO),
    "open ETIMEDOUT": ("os", "open", errno.ETIMEDOUT),
    "open EACCES": ("os", "open", errno.EACCES),
    "flock ENOLCK": ("fcntl", "flock", errno.ENOLCK),
}
# schedule -> which calls fail: (attempt number over every event, call number within the attempt)
SCHEDULES: dict[str, Callable[[int, int], bool]] = {
    # The first attempt of every delivery fails after its first such call: part of it is written.
    "first attempt, part-way": lambda attempt, call: attempt % 3 == 1 and call >= 2,
    # The fourth delivery (attempts 4-6) fails every attempt part-way: it is parked, half-written.
    "one delivery exhausts its retries": lambda attempt, call: 4 <= attempt <= 6 and call >= 2,
    "outage": lambda attempt, call: True,
}


def _deliveries() -> tuple[list[dict[str, Any]], set[str]]:
    """Deliveries whose events straddle Tokyo midnight (two day files each), ids all distinct."""
    deliveries, ids = [], set()
    for d in range(DELIVERIES):
        events = []
        for i in range(EVENTS_PER_DELIVERY):
            event_id = f"{d:03d}{i:03d}"
            when = TOKYO_MIDNIGHT + timedelta(seconds=i - EVENTS_PER_DELIVERY // 2 + d)
            events.append((event_id, int(when.timestamp() * 1000), f"event {event_id}"))
            ids.add(event_id)
        deliveries.append(encode_subscription_event("/aws/lambda/orders", f"stream-{d % 3}", events))
    return deliveries, ids


def _archived(root: Path) -> Counter[str]:
    lines: Counter[str] = Counter()
    for path in root.rglob("*.log"):
        lines.update(json.loads(line)["id"] for line in path.read_text().splitlines())
    return lines


def _parked_ids(lam: AsyncLambda) -> set[str]:
    from logpipes.subscription_filter.payload import decode_subscription_event

    ids: set[str] = set()
    for record in lam.parked:
        batch = decode_subscription_event(record["requestPayload"])
        ids.update(batch.ids if batch else [])
    return ids


@pytest.fixture
def archive(archive_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ARCHIVE_LINE_FORMAT", "json")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "CRITICAL")
    dayfile._journals.clear()  # a fresh process: no journal cached from another test
    return archive_root


@pytest.mark.parametrize("schedule", SCHEDULES)
@pytest.mark.parametrize("fault", FAULTS)
def test_file_system_faults(
    fault: str, schedule: str, archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deliveries, ids = _deliveries()
    lam = AsyncLambda()
    module, call, code = FAULTS[fault]
    faulty = FaultyCalls(getattr(dayfile, module), call, code, SCHEDULES[schedule], lam)
    monkeypatch.setattr(dayfile, module, faulty)

    for event in deliveries:
        lam.invoke(event)

    archived = _archived(archive)
    assert max(archived.values(), default=1) == 1, "an event was archived twice"
    parked = _parked_ids(lam)
    assert set(archived) | parked == ids, "an event was lost"
    expected_parked = {
        "first attempt, part-way": 0,
        "one delivery exhausts its retries": 1,
        "outage": DELIVERIES,
    }
    assert len(lam.parked) == expected_parked[schedule]

    monkeypatch.setattr(dayfile, module, faulty.real)  # the cause fixed: redrive the parked payloads
    lam.redrive()
    archived = _archived(archive)
    assert not lam.parked
    assert set(archived) == ids and max(archived.values()) == 1
    print(f"{fault} / {schedule}: {len(ids)} events, {len(parked)} parked, {len(archived)} archived once")


def test_a_delivery_repeated_without_an_error_is_archived_once(archive: Path) -> None:
    deliveries, ids = _deliveries()
    lam = AsyncLambda()
    for event in deliveries:
        lam.invoke(event, deliver_twice=True)
    archived = _archived(archive)
    assert set(archived) == ids and max(archived.values()) == 1 and not lam.parked


@pytest.mark.parametrize(
    "bad",
    [
        {"awslogs": {"data": "not base64!"}},
        {"awslogs": {"data": "H4sIAAAAAAAA"}},  # a gzip header, then nothing
        "bomb",
    ],
    ids=["not base64", "truncated gzip", "gzip bomb"],
)
def test_a_hostile_payload_is_parked_alone(bad: Any, archive: Path) -> None:
    import base64

    if bad == "bomb":
        data = gzip_bomb(MAX_LEGITIMATE_INFLATED_BYTES + 1, b'{"messageType":"DATA_MESSAGE","logEvents":[')
        bad = {"awslogs": {"data": base64.b64encode(data).decode()}}
    deliveries, ids = _deliveries()
    lam = AsyncLambda()
    for event in [*deliveries[:6], bad, *deliveries[6:]]:
        lam.invoke(event)
    assert [record["requestPayload"] for record in lam.parked] == [bad]  # with its data
    assert lam.parked[0]["responsePayload"]["errorType"] == "InvalidPayloadError"
    archived = _archived(archive)
    assert set(archived) == ids and max(archived.values()) == 1


class FailingFsyncs:
    """Stands in for ``os`` in dayfile: records the file each fsync flushes, by name, and fails the
    fsyncs (counted from 1 over the test) listed in ``failing`` with EIO. What ``os.pwrite`` wrote
    after the first failure is recorded too: the lines written again rather than trusted."""

    def __init__(self, failing: set[int]):
        self.failing = failing
        self.flushed: list[str] = []  # file names, in order, failed fsyncs included
        self.written_after_failure: list[bytes] = []

    def __getattr__(self, attribute: str) -> Any:
        return getattr(os, attribute)

    def fsync(self, fd: int) -> None:
        self.flushed.append(Path(os.readlink(f"/proc/self/fd/{fd}")).name)
        if len(self.flushed) in self.failing:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        os.fsync(fd)

    def pwrite(self, fd: int, data: Any, offset: int) -> int:
        if self.failing and len(self.flushed) >= min(self.failing):
            self.written_after_failure.append(bytes(data))
        return os.pwrite(fd, data, offset)


DAY = "2024-04-01.log"
EVENTS = [(f"{i:03d}", int(TOKYO_MIDNIGHT.timestamp() * 1000) + i, f"event {i}") for i in range(10)]
ONE_DAY_FILE = encode_subscription_event("/aws/lambda/orders", "s", EVENTS)
# The first write of a day file fsyncs: the directory (the day file created), the directory (its
# journal created), the day file (3, under the lock), the journal (4, after releasing it).
DAY_FILE_FSYNC, JOURNAL_FSYNC = 3, 4


def _day_file_state(archive: Path) -> tuple[int, int]:
    """(lines of the day file, records of its journal) as the next writer finds them."""
    directory = archive / "aws/lambda/orders"
    return (
        len((directory / DAY).read_bytes().splitlines()),
        len((directory / (DAY + dayfile.JOURNAL_SUFFIX)).read_bytes().splitlines()) - 1,  # the header
    )


def test_a_retry_after_a_failed_fsync_makes_the_lines_durable(archive: Path, monkeypatch) -> None:
    """Linux may mark the pages of a failed fsync clean without their data on disk ("fsyncgate"),
    so a later fsync succeeds and proves nothing: the failed write is taken out under its lock,
    and the retry writes the lines again and flushes them itself."""
    fsyncs = FailingFsyncs({DAY_FILE_FSYNC})
    monkeypatch.setattr(dayfile, "os", fsyncs)
    with pytest.raises(OSError, match="Input/output error"):
        handler(copy.deepcopy(ONE_DAY_FILE), FakeLambdaContext())
    assert fsyncs.flushed == ["orders", "orders", DAY, DAY + ".ids"]  # the undo flushed the journal
    assert _day_file_state(archive) == (0, 0), "the failed write's lines are still in the day file"

    retried = len(fsyncs.flushed)
    result = handler(copy.deepcopy(ONE_DAY_FILE), FakeLambdaContext())  # Lambda's retry
    assert (result["written"], result["duplicates"]) == (10, 0)
    assert fsyncs.flushed[retried:] == [DAY, DAY + ".ids"]
    assert _archived(archive) == Counter({event_id: 1 for event_id, _, _ in EVENTS})


def test_a_failed_fsync_whose_undo_fails_too_is_written_again_and_flushed_by_the_retry(
    archive: Path, monkeypatch
) -> None:
    """The undo's fsync fails as well: the record and lines stay, written again (dirty pages, which
    the next fsync that succeeds really writes), and the retry, which finds its events recorded,
    flushes the day file and the journal before acknowledging them."""
    fsyncs = FailingFsyncs({DAY_FILE_FSYNC, JOURNAL_FSYNC})
    monkeypatch.setattr(dayfile, "os", fsyncs)
    with pytest.raises(OSError) as raised:
        handler(copy.deepcopy(ONE_DAY_FILE), FakeLambdaContext())
    assert _day_file_state(archive) == (10, 1)
    assert any(data.startswith(b"{") for data in fsyncs.written_after_failure), "the lines not rewritten"

    retried = len(fsyncs.flushed)
    result = handler(copy.deepcopy(ONE_DAY_FILE), FakeLambdaContext())
    assert (result["written"], result["duplicates"]) == (0, 10)
    assert fsyncs.flushed[retried:] == [DAY, DAY + ".ids"], "acknowledged lines that no fsync made durable"
    assert _archived(archive) == Counter({event_id: 1 for event_id, _, _ in EVENTS})
    assert "undoing the write failed too" in "".join(getattr(raised.value, "__notes__", []))


def test_a_failed_journal_fsync_writes_the_record_again_and_the_retry_flushes_it(
    archive: Path, monkeypatch
) -> None:
    """The journal's fsync (after the lock) fails: its record is written again, so that any later
    fsync of the journal that succeeds has written it, and the retry flushes it."""
    fsyncs = FailingFsyncs({JOURNAL_FSYNC})
    monkeypatch.setattr(dayfile, "os", fsyncs)
    with pytest.raises(OSError):
        handler(copy.deepcopy(ONE_DAY_FILE), FakeLambdaContext())
    assert _day_file_state(archive) == (10, 1)
    assert [data[:1] for data in fsyncs.written_after_failure] == [b"["], "the record not written again"

    retried = len(fsyncs.flushed)
    result = handler(copy.deepcopy(ONE_DAY_FILE), FakeLambdaContext())
    assert (result["written"], result["duplicates"]) == (0, 10)
    assert fsyncs.flushed[retried:] == [DAY, DAY + ".ids"]
