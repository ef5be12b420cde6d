"""A write that did not complete, then the payload redelivered: nothing lost or doubled.

A process killed at each step of a write (its page cache survives), and the states a power loss
can leave (records lost, or left with holes, while the lines they describe were flushed).
"""

from __future__ import annotations

import errno
import multiprocessing
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from devtools.lambda_runtime import FakeLambdaContext
from logpipes.subscription_filter import dayfile, handler
from logpipes.subscription_filter.dayfile import DayFile
from logpipes.subscription_filter.payload import encode_subscription_event

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

    real_fsync_path = dayfile._fsync_path
    journal_flushes = 0

    def fsync_path(path: Path, flags: int = 0) -> None:
        nonlocal journal_flushes
        if path.name.endswith(dayfile.JOURNAL_SUFFIX):
            here = journal_flushes == day_file_index
            if here and crash_point == "lock released, before the journal's fsync":
                os._exit(KILLED)
            journal_flushes += 1
        real_fsync_path(path, flags)

    dayfile._write_all = write_all  # this process only: it is about to die
    dayfile._fsync_path = fsync_path
    handler(event, FakeLambdaContext())


@pytest.mark.parametrize("day_file_index", [0, 1], ids=["first day file", "second day file"])
@pytest.mark.parametrize(
    "crash_point",
    [
        "torn journal record",
        "after the journal record",
        "half-way through the lines",
        "after the lines, before returning",
        "lock released, before the journal's fsync",
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
    committed_day_files = day_file_index + (
        crash_point in ("after the lines, before returning", "lock released, before the journal's fsync")
    )
    assert (result["written"], result["duplicates"]) == (
        100 - 50 * committed_day_files,
        50 * committed_day_files,
    )

    directory = archive_root / DIRECTORY
    assert (directory / "2024-03-31.log").read_text().splitlines() == _expected("2024-03-31")
    assert (directory / "2024-04-01.log").read_text().splitlines() == _expected("2024-04-01")
    # A third delivery changes nothing: the journal now knows every event.
    assert handler(PAYLOAD, FakeLambdaContext())["duplicates"] == 100


FAILED = 3


class _FailingDayFileFsync:
    """``os`` for dayfile, whose fsync of the day file ``name`` fails with EIO, and so does the
    fsync after it (the undo's, of the journal) if ``undo_fails``."""

    def __init__(self, name: str, undo_fails: bool):
        self.name, self.undo_fails, self.failures = name, undo_fails, 0

    def __getattr__(self, attribute: str) -> Any:
        return getattr(os, attribute)

    def fsync(self, fd: int) -> None:
        if (self.failures == 1 and self.undo_fails) or (
            not self.failures and os.readlink(f"/proc/self/fd/{fd}").endswith(self.name)
        ):
            self.failures += 1
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        os.fsync(fd)


def _failed_fsync_of(day: str, undo_fails: bool, event: dict[str, Any]) -> None:
    """Run the handler with the day file ``day``'s fsync failing; exit as a failed invocation."""
    dayfile.os = _FailingDayFileFsync(day, undo_fails)  # type: ignore[assignment]  # this process only
    try:
        handler(event, FakeLambdaContext())
    except OSError:
        os._exit(FAILED)


@pytest.mark.parametrize("day_file_index", [0, 1], ids=["first day file", "second day file"])
@pytest.mark.parametrize("undo_fails", [False, True], ids=["write undone", "undo failed too"])
def test_a_failed_fsync_then_redelivery_loses_and_doubles_nothing(
    archive_root: Path, day_file_index: int, undo_fails: bool
) -> None:
    """A failed fsync of the n-th day file: its write is undone under the lock (so the retry writes
    those lines again), or, if the undo fails too, left in place for the retry to flush."""
    day = ["2024-03-31.log", "2024-04-01.log"][day_file_index]
    child = FORK.Process(target=_failed_fsync_of, args=(day, undo_fails, PAYLOAD))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == FAILED

    result = handler(PAYLOAD, FakeLambdaContext())  # Lambda's retry, in another process
    left_in_place = day_file_index + undo_fails
    assert (result["written"], result["duplicates"]) == (100 - 50 * left_in_place, 50 * left_in_place)
    directory = archive_root / DIRECTORY
    assert (directory / "2024-03-31.log").read_text().splitlines() == _expected("2024-03-31")
    assert (directory / "2024-04-01.log").read_text().splitlines() == _expected("2024-04-01")
    assert handler(PAYLOAD, FakeLambdaContext())["duplicates"] == 100


# The states a power loss can leave. A write is acknowledged once its lines, and the journal up to
# its record, are flushed: what is lost is always the tail of writes not acknowledged, and their
# payloads come again.
def _three_writes(root: Path) -> DayFile:
    day = DayFile(root / "d.log")
    for stream in "abc":
        day.append(stream, [f"{stream}1", f"{stream}2"], [f"{stream} one\n", f"{stream} two\n"])
    dayfile._journals.clear()  # the processes that wrote are gone
    return day


def _journal_records(root: Path) -> list[bytes]:
    return (root / "d.log.ids").read_bytes().split(b"\n")[1:-1]


def _redeliver_b_and_c(day: DayFile) -> None:
    for stream in "bc":
        assert (
            day.append(stream, [f"{stream}1", f"{stream}2"], [f"{stream} one\n", f"{stream} two\n"]).written
            == 2
        )


def test_lines_whose_records_were_lost_are_cut_and_written_again(archive_root: Path) -> None:
    day = _three_writes(archive_root)
    journal = archive_root / "d.log.ids"
    journal.write_bytes(journal.read_bytes().rsplit(b"\n", 3)[0] + b"\n")  # b's and c's records lost
    assert day.append("d", ["d1"], ["d one\n"]).written == 1
    assert (archive_root / "d.log").read_text() == "a one\na two\nd one\n"
    _redeliver_b_and_c(day)
    assert (archive_root / "d.log").read_text() == "a one\na two\nd one\nb one\nb two\nc one\nc two\n"


def test_a_record_with_holes_and_the_records_after_it_are_dropped(archive_root: Path) -> None:
    day = _three_writes(archive_root)
    journal = archive_root / "d.log.ids"
    header, first, second, third, _ = journal.read_bytes().split(b"\n")
    holes = b"\0" * 8 + second[8:]  # the first blocks of b's record never reached the disk
    journal.write_bytes(b"\n".join([header, first, holes, third, b""]))
    assert day.append("d", ["d1"], ["d one\n"]).written == 1
    assert (archive_root / "d.log").read_text() == "a one\na two\nd one\n"
    assert len(_journal_records(archive_root)) == 2
    _redeliver_b_and_c(day)
    assert day.append("a", ["a1", "a2"], ["a one\n", "a two\n"]).duplicates == 2


def test_a_journal_lost_with_its_header_cuts_the_whole_first_write(archive_root: Path) -> None:
    day = DayFile(archive_root / "d.log")
    day.append("a", ["a1"], ["a one\n"])
    (archive_root / "d.log.ids").write_bytes(b"logpipes-jour")  # created, then its blocks lost
    dayfile._journals.clear()
    assert day.append("a", ["a1"], ["a one\n"]).written == 1
    assert (archive_root / "d.log").read_text() == "a one\n"


def test_a_day_file_without_its_journal_stops_the_writes(archive_root: Path) -> None:
    day = _three_writes(archive_root)
    before = (archive_root / "d.log").read_bytes()
    (archive_root / "d.log.ids").unlink()  # not a crash: a crash can only lose the journal's blocks
    with pytest.raises(dayfile.JournalCorruptError, match="has no journal"):
        day.append("d", ["d1"], ["d one\n"])
    assert (archive_root / "d.log").read_bytes() == before


def test_a_journal_that_describes_more_than_the_day_file_holds_stops_the_writes(archive_root: Path) -> None:
    day = _three_writes(archive_root)
    # Only the last write's lines can be missing (each writer flushes its lines before the next
    # takes the lock): a file cut into b's lines was edited by hand.
    (archive_root / "d.log").write_text("a one\na two\nb one\n")
    journal = (archive_root / "d.log.ids").read_bytes()
    with pytest.raises(dayfile.JournalCorruptError, match="describes 24 bytes"):
        day.append("d", ["d1"], ["d one\n"])
    assert (archive_root / "d.log").read_text() == "a one\na two\nb one\n"
    assert (archive_root / "d.log.ids").read_bytes() == journal
