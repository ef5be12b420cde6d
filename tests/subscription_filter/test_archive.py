"""Day files on the archive root: exactly once, day boundaries, redelivery, sealing and late events."""

from __future__ import annotations

import base64
import gzip
import json
import os
import zlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from logpipes.subscription_filter import dayfile
from logpipes.subscription_filter.archive import archive_batch, log_group_directory, seal_all, seal_time
from logpipes.subscription_filter.dayfile import DayFile, JournalCorruptError
from logpipes.subscription_filter.payload import LogBatch, decode_subscription_event
from logpipes.subscription_filter.settings import ArchiveSettings, ConfigurationError
from tests.subscription_filter.payloads import CANONICAL_SAMPLES, load_sample

TOKYO_MIDNIGHT = datetime.fromisoformat("2024-04-01T00:00:00+09:00")
GROUP = "/aws/lambda/billing-api"


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _batch(events: list[tuple[str, datetime, str]], stream: str = "stream-1") -> LogBatch:
    return LogBatch(
        GROUP, stream, [i for i, _, _ in events], [_ms(t) for _, t, _ in events], [m for _, _, m in events]
    )


def _settings() -> ArchiveSettings:
    return ArchiveSettings.from_environment(os.environ)


def _now() -> datetime:
    return datetime.now(UTC)


def _age(path: Path, seconds: float, now: datetime | None = None) -> None:
    """Pretend the file was last written ``seconds`` before ``now`` (default: the real now)."""
    moment = (now or datetime.now(UTC)).timestamp() - seconds
    os.utime(path, (moment, moment))


AROUND_MIDNIGHT = [
    ("a", TOKYO_MIDNIGHT - timedelta(milliseconds=1), "last of March"),
    ("b", TOKYO_MIDNIGHT, "first of April"),
    ("c", TOKYO_MIDNIGHT - timedelta(seconds=30), "late March line"),
]


def test_events_on_both_sides_of_tokyo_midnight_go_to_their_days(archive_root: Path) -> None:
    report = archive_batch(_batch(AROUND_MIDNIGHT), _settings(), _now())
    directory = archive_root / "aws/lambda/billing-api"
    assert (directory / "2024-03-31.log").read_text() == (
        "billing,prod,2024-03-31T23:59:59.999+09:00,stream-1,last of March\n"
        "billing,prod,2024-03-31T23:59:30.000+09:00,stream-1,late March line\n"
    )
    assert (directory / "2024-04-01.log").read_text() == (
        "billing,prod,2024-04-01T00:00:00.000+09:00,stream-1,first of April\n"
    )
    assert report.written == 3 and report.duplicates == 0
    assert report.files == ["aws/lambda/billing-api/2024-03-31.log", "aws/lambda/billing-api/2024-04-01.log"]
    # Both days are long over, but the files were just written: a retry may still come.
    assert report.sealed == []


def test_same_payload_delivered_twice_writes_each_line_once(archive_root: Path) -> None:
    first = archive_batch(_batch(AROUND_MIDNIGHT), _settings(), _now())
    before = {p.name: p.read_bytes() for p in (archive_root / "aws/lambda/billing-api").glob("*.log")}
    second = archive_batch(_batch(AROUND_MIDNIGHT), _settings(), _now())
    after = {p.name: p.read_bytes() for p in (archive_root / "aws/lambda/billing-api").glob("*.log")}
    assert (first.written, second.written, second.duplicates) == (3, 0, 3)
    assert after == before


def test_overlapping_redelivery_writes_only_the_new_events(archive_root: Path) -> None:
    archive_batch(_batch(AROUND_MIDNIGHT[:2]), _settings(), _now())
    report = archive_batch(_batch(AROUND_MIDNIGHT), _settings(), _now())
    assert (report.written, report.duplicates) == (1, 2)
    march = (archive_root / "aws/lambda/billing-api/2024-03-31.log").read_text().splitlines()
    assert [line.rsplit(",", 1)[1] for line in march] == ["last of March", "late March line"]


def test_an_event_repeated_within_one_delivery_is_written_once(archive_root: Path) -> None:
    repeated = [AROUND_MIDNIGHT[0], AROUND_MIDNIGHT[0], AROUND_MIDNIGHT[2]]
    report = archive_batch(_batch(repeated), _settings(), _now())
    assert (report.written, report.duplicates) == (2, 1)
    assert len((archive_root / "aws/lambda/billing-api/2024-03-31.log").read_text().splitlines()) == 2


def test_redelivery_is_recognized_by_a_fresh_process(archive_root: Path) -> None:
    """The journal on disk, not the in-process cache, is what makes a redelivery a duplicate."""
    archive_batch(_batch(AROUND_MIDNIGHT), _settings(), _now())
    dayfile._journals.clear()  # a cold Lambda environment
    report = archive_batch(_batch(AROUND_MIDNIGHT), _settings(), _now())
    assert (report.written, report.duplicates) == (0, 3)


def test_a_recreated_journal_is_not_confused_with_the_cached_one(archive_root: Path) -> None:
    directory = archive_root / "aws/lambda/billing-api"
    archive_batch(_batch(AROUND_MIDNIGHT), _settings(), _now())
    for path in directory.iterdir():  # an operator moves the day away; same names come back
        path.unlink()
    report = archive_batch(_batch(AROUND_MIDNIGHT), _settings(), _now())
    assert report.written == 3
    assert len((directory / "2024-03-31.log").read_text().splitlines()) == 2


def test_real_sample_in_json_lines(
    archive_root: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCHIVE_LINE_FORMAT", "json")
    monkeypatch.setenv("ARCHIVE_TIME_ZONE", "UTC")
    batch = decode_subscription_event(load_sample(shared_data, CANONICAL_SAMPLES[0]))
    assert batch is not None
    archive_batch(batch, _settings(), _now())
    assert (archive_root / "testLogGroup/2015-08-24.log").read_text() == (
        '{"system":"billing","env":"prod","timestamp":"2015-08-24T19:03:07.000+00:00","log_group":"testLogGroup",'
        '"log_stream":"testLogStream","id":"eventId1","message":"[ERROR] First test message"}\n'
        '{"system":"billing","env":"prod","timestamp":"2015-08-24T19:03:07.001+00:00","log_group":"testLogGroup",'
        '"log_stream":"testLogStream","id":"eventId2","message":"[ERROR] Second test message"}\n'
    )


@pytest.mark.parametrize(
    ("log_group", "relative"),
    [
        ("/aws/lambda/app", "aws/lambda/app"),
        ("app", "app"),
        ("/a/../../etc", "a/%2E%2E/%2E%2E/etc"),
        ("/", "%2F"),
    ],
)
def test_log_group_directory_stays_under_the_root(log_group: str, relative: str) -> None:
    assert log_group_directory(Path("/mnt/archive"), log_group) == Path("/mnt/archive") / relative


def test_seal_time_is_midnight_in_the_zone_plus_grace() -> None:
    assert seal_time(date(2024, 3, 31), ZoneInfo("Asia/Tokyo"), timedelta(minutes=15)) == datetime(
        2024, 3, 31, 15, 15, tzinfo=UTC
    )


def test_day_is_sealed_after_its_end_plus_grace_in_tokyo(archive_root: Path) -> None:
    settings = _settings()
    directory = archive_root / "aws/lambda/billing-api"
    archive_batch(_batch(AROUND_MIDNIGHT), settings, _now())
    march = directory / "2024-03-31.log"
    content = march.read_bytes()
    _age(march, 60, now=TOKYO_MIDNIGHT)
    _age(directory / "2024-04-01.log", 60, now=TOKYO_MIDNIGHT)
    # 00:14:59 in Tokyo on April 1st: March 31st is over, but within the 15-minute grace.
    assert seal_all(settings, TOKYO_MIDNIGHT + timedelta(minutes=14, seconds=59)) == []
    assert march.exists()
    sealed = seal_all(settings, TOKYO_MIDNIGHT + timedelta(minutes=15))
    assert sealed == ["aws/lambda/billing-api/2024-03-31.log.gz"]
    assert gzip.decompress((directory / "2024-03-31.log.gz").read_bytes()) == content
    assert sorted(p.name for p in directory.iterdir()) == [
        "2024-03-31.log.gz",
        "2024-04-01.log",
        "2024-04-01.log.ids",
    ]


def test_a_recently_written_day_waits_for_retries_before_sealing(archive_root: Path) -> None:
    settings = _settings()
    archive_batch(_batch(AROUND_MIDNIGHT), settings, _now())
    march = archive_root / "aws/lambda/billing-api/2024-03-31.log"
    _age(march, 14 * 60)
    assert seal_all(settings, _now()) == []
    _age(march, 15 * 60 + 1)
    assert seal_all(settings, _now()) == ["aws/lambda/billing-api/2024-03-31.log.gz"]


def test_late_events_go_to_the_late_file_once_and_never_into_the_sealed_one(archive_root: Path) -> None:
    settings = _settings()
    directory = archive_root / "aws/lambda/billing-api"
    archive_batch(_batch(AROUND_MIDNIGHT), settings, _now())
    _age(directory / "2024-03-31.log", 3600)
    assert seal_all(settings, _now()) == ["aws/lambda/billing-api/2024-03-31.log.gz"]
    sealed_bytes = (directory / "2024-03-31.log.gz").read_bytes()

    late = _batch([("d", TOKYO_MIDNIGHT - timedelta(hours=1), "arrived after the seal")], stream="stream-2")
    first, again = archive_batch(late, settings, _now()), archive_batch(late, settings, _now())
    assert (first.written, first.late, again.written, again.duplicates) == (1, 1, 0, 1)
    assert first.files == ["aws/lambda/billing-api/2024-03-31.late.log"]
    assert (directory / "2024-03-31.late.log").read_text() == (
        "billing,prod,2024-03-31T23:00:00.000+09:00,stream-2,arrived after the seal\n"
    )
    assert (directory / "2024-03-31.log.gz").read_bytes() == sealed_bytes
    assert not (directory / "2024-03-31.log").exists()
    # Late files are never sealed: nothing may ever be appended to a .gz.
    _age(directory / "2024-03-31.late.log", 3600)
    assert seal_all(settings, _now() + timedelta(days=30)) == ["aws/lambda/billing-api/2024-04-01.log.gz"]
    assert (directory / "2024-03-31.late.log").exists()


def test_seal_that_crashed_after_its_rename_is_finished_by_the_next_writer(archive_root: Path) -> None:
    settings = _settings()
    directory = archive_root / "aws/lambda/billing-api"
    archive_batch(_batch(AROUND_MIDNIGHT), settings, _now())
    march = directory / "2024-03-31.log"
    # The state a sealer leaves if it dies between the rename and the removal of the source,
    # plus a temporary file of an even earlier attempt.
    (directory / "2024-03-31.log.gz").write_bytes(gzip.compress(march.read_bytes()))
    (directory / ".2024-03-31.log.gz.0123.tmp").write_bytes(b"partial")
    report = archive_batch(_batch([("e", TOKYO_MIDNIGHT - timedelta(hours=2), "after")]), settings, _now())
    assert report.late == 1
    assert sorted(p.name for p in directory.iterdir() if p.name.startswith(("2024-03-31", "."))) == [
        "2024-03-31.late.log",
        "2024-03-31.late.log.ids",
        "2024-03-31.log.gz",
    ]
    assert gzip.decompress((directory / "2024-03-31.log.gz").read_bytes()).count(b"\n") == 2


def test_sealing_removes_temporary_files_of_a_crashed_sealer(archive_root: Path) -> None:
    settings = _settings()
    directory = archive_root / "aws/lambda/billing-api"
    archive_batch(_batch(AROUND_MIDNIGHT), settings, _now())
    (directory / ".2024-03-31.log.gz.dead.tmp").write_bytes(b"partial")
    _age(directory / "2024-03-31.log", 3600)
    seal_all(settings, _now())
    assert not list(directory.glob(".*.tmp"))


def test_scheduled_sweep_seals_every_log_group(archive_root: Path) -> None:
    settings = _settings()
    for group in ("/app/one", "/app/two"):
        archive_batch(LogBatch(group, "s", ["1"], [1_000], ["x"]), settings, _now())
        _age(log_group_directory(archive_root, group) / "1970-01-01.log", 3600)
    assert sorted(seal_all(settings, _now())) == ["app/one/1970-01-01.log.gz", "app/two/1970-01-01.log.gz"]


def test_files_not_written_by_us_are_left_alone(archive_root: Path) -> None:
    directory = archive_root / "notes"
    directory.mkdir()
    (directory / "2024-13-45.log").write_text("not a day\n")
    (directory / "readme.log").write_text("hello\n")
    assert seal_all(_settings(), _now() + timedelta(days=365)) == []


def test_corrupt_journal_stops_the_write(archive_root: Path) -> None:
    day = DayFile(archive_root / "d.log")
    day.append("s", ["1"], ["one\n"])
    with (archive_root / "d.log.ids").open("ab") as journal:
        journal.write(b"garbage\n")
    dayfile._journals.clear()
    with pytest.raises(JournalCorruptError, match="unreadable record"):
        day.append("s", ["2"], ["two\n"])
    assert (archive_root / "d.log").read_text() == "one\n"


def test_ids_of_a_stream_read_while_writing_another_are_checked_when_it_comes_back(
    archive_root: Path,
) -> None:
    day = DayFile(archive_root / "d.log")
    assert day.append("a", ["1", "2"], ["one\n", "two\n"]).written == 2
    dayfile._journals.clear()  # the next writes read stream a's record as another process's
    assert day.append("b", ["3"], ["three\n"]).written == 1
    redelivery = day.append("a", ["2", "4"], ["two\n", "four\n"])
    assert (redelivery.written, redelivery.duplicates) == (1, 1)
    assert (archive_root / "d.log").read_text() == "one\ntwo\nthree\nfour\n"


@pytest.mark.parametrize(
    "older_journal",
    [
        b"logpipes-journal v1 " + b"0" * 32 + b'\n[0,4,["1"]]\n',  # no stream in its records
        b"logpipes-journal v2 " + b"0" * 32 + b'\n[0,4,"0123456789abcdef",["1"]]\n',  # plain ids
    ],
    ids=["v1", "v2"],
)
def test_a_journal_of_another_format_stops_the_writes(archive_root: Path, older_journal: bytes) -> None:
    """A journal this version cannot read is never misread as having no ids: the write fails,
    Lambda retries it, and finally parks it."""
    (archive_root / "d.log").write_text("one\n")
    (archive_root / "d.log.ids").write_bytes(older_journal)
    with pytest.raises(JournalCorruptError, match="not a logpipes-journal v3 journal"):
        DayFile(archive_root / "d.log").append("any stream", ["1", "2"], ["one\n", "two\n"])
    assert (archive_root / "d.log").read_text() == "one\n"


def test_journal_records_hold_the_ids_compressed(archive_root: Path) -> None:
    """1,000 CloudWatch Logs ids of one delivery (56 digits, consecutive) take a few KB."""
    first = 35836385397658012734094474532838187009513834985014738944
    ids = [str(first + serial) for serial in range(1_000)]
    DayFile(archive_root / "d.log").append("s", ids, [f"line {serial}\n" for serial in range(1_000)])
    record = (archive_root / "d.log.ids").read_bytes().split(b"\n")[1]
    start, end, key, encoded = record[1:-1].split(b",")
    assert (int(start), int(end), key) == (
        0,
        (archive_root / "d.log").stat().st_size,
        b'"' + dayfile.stream_key("s").encode() + b'"',
    )
    assert len(record) < 5_000 < len(json.dumps(ids))
    assert json.loads(zlib.decompress(base64.b64decode(encoded.strip(b'"')))) == ids


@pytest.mark.parametrize(
    "encoded_ids",
    [
        b"not base64!",
        base64.b64encode(b"not deflated"),
        base64.b64encode(zlib.compress(b'{"not": "a list"}')),
    ],
    ids=["not base64", "not deflated", "not a list"],
)
def test_corrupt_ids_stop_the_writes_of_their_stream(archive_root: Path, encoded_ids: bytes) -> None:
    day = DayFile(archive_root / "d.log")
    day.append("a", ["1"], ["one\n"])
    key = dayfile.stream_key("a").encode()
    with (archive_root / "d.log.ids").open("ab") as journal:
        journal.write(b'[4,8,"' + key + b'","' + encoded_ids + b'"]\n')
    with (archive_root / "d.log").open("a") as lines:
        lines.write("two\n")
    dayfile._journals.clear()
    with pytest.raises(JournalCorruptError, match="unreadable ids"):
        day.append("a", ["3"], ["three\n"])
    assert (archive_root / "d.log").read_text() == "one\ntwo\n"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ARCHIVE_TIME_ZONE", "Mars/Olympus", "not an IANA time zone"),
        ("ARCHIVE_TIME_ZONE", "../../etc/passwd", "not an IANA time zone"),
        ("ARCHIVE_LINE_FORMAT", "xml", "use csv or json"),
        ("ARCHIVE_LABELS", "[1]", "JSON object of strings"),
        ("ARCHIVE_LABELS", '{"message": "x"}', "event field names"),
        ("ARCHIVE_SEAL_GRACE_SECONDS", "-5", "whole number"),
    ],
)
def test_bad_configuration_is_reported(
    archive_root: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=message):
        _settings()
