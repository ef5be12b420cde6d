"""Archive a delivery into day files under the archive root, and seal the days that are over.

Layout: ``<root>/<log group path>/<YYYY-MM-DD>.log`` while the day is open, ``.log.gz`` once
sealed, ``.late.log`` for events that arrive after their day was sealed.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from logpipes.subscription_filter.dayfile import DayFile
from logpipes.subscription_filter.payload import LogBatch
from logpipes.subscription_filter.render import render_lines
from logpipes.subscription_filter.settings import ArchiveSettings

_OPEN_DAY_FILE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.log$")
DIRECTORY_MODE = 0o750


@dataclass(slots=True)
class ArchiveReport:
    """What archiving one delivery did: the handler's metrics and log line."""

    written: int = 0  # lines appended (day files and late files)
    duplicates: int = 0  # events skipped: already archived by an earlier delivery
    late: int = 0  # lines appended to a .late.log because their day was sealed
    files: list[str] = field(default_factory=list)  # files appended to, relative to the root
    sealed: list[str] = field(default_factory=list)  # .log.gz files created, relative to the root


def log_group_directory(root: Path, log_group: str) -> Path:
    """``/aws/lambda/app`` → ``<root>/aws/lambda/app``; a ``.`` or ``..`` component cannot escape."""
    parts = [part if part.strip(".") else part.replace(".", "%2E") for part in log_group.split("/") if part]
    return root.joinpath(*parts) if parts else root / "%2F"


def day_file(directory: Path, day: str) -> DayFile:
    """The day file ``<day>.log`` of a log group's directory, sealed into ``<day>.log.gz``."""
    return DayFile(directory / f"{day}.log", sealed_path=directory / f"{day}.log.gz")


def late_file(directory: Path, day: str) -> DayFile:
    """``<day>.late.log``: where events of a day already sealed go (it is never sealed itself)."""
    return DayFile(directory / f"{day}.late.log")


def seal_time(day: date, zone: ZoneInfo, grace: timedelta) -> datetime:
    """The instant after which ``day`` (in ``zone``) is sealed: its end plus the grace period."""
    next_midnight = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)
    return next_midnight.astimezone(UTC) + grace


def archive_batch(batch: LogBatch, settings: ArchiveSettings, now: datetime) -> ArchiveReport:
    """Append a delivery's events to their day files exactly once, then seal the days that are over."""
    lines_by_day = render_lines(
        batch.events,
        log_group=batch.log_group,
        log_stream=batch.log_stream,
        zone=settings.zone,
        line_format=settings.line_format,
        labels=settings.labels,
    )
    directory = log_group_directory(settings.root, batch.log_group)
    directory.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    report = ArchiveReport()
    for day, day_lines in sorted(lines_by_day.items()):
        target = day_file(directory, day)
        result = target.append(batch.log_stream, day_lines.ids, day_lines.lines)
        if result.sealed:
            target = late_file(directory, day)
            result = target.append(batch.log_stream, day_lines.ids, day_lines.lines)
            report.late += result.written
        report.written += result.written
        report.duplicates += result.duplicates
        report.files.append(str(target.path.relative_to(settings.root)))
    report.sealed = [str(path.relative_to(settings.root)) for path in seal_due_days(directory, settings, now)]
    return report


def seal_due_days(directory: Path, settings: ArchiveSettings, now: datetime) -> list[Path]:
    """Seal the open day files in ``directory`` whose day ended, and that were last written, more
    than the grace period ago."""
    # A day file written less than the grace period ago waits: an async retry of that write
    # (the module keeps retries within the grace period) must find it open, or it would be
    # written again, to the late file.
    unmodified_since = (now - settings.seal_grace).timestamp()
    with os.scandir(directory) as entries:
        due = sorted(
            day
            for entry in entries
            if (day := _open_day(entry.name)) is not None
            and now >= seal_time(day, settings.zone, settings.seal_grace)
            and _last_written(entry) <= unmodified_since  # checked again under the lock
        )
    sealed = [day.isoformat() for day in due if day_file(directory, day.isoformat()).seal(unmodified_since)]
    return [directory / f"{day}.log.gz" for day in sealed]


def _last_written(entry: os.DirEntry[str]) -> float:
    """The file's mtime; +inf once another invocation has sealed (removed) it."""
    try:
        return entry.stat().st_mtime
    except FileNotFoundError:
        return math.inf


def _open_day(file_name: str) -> date | None:
    """The day of an open day file's name (``YYYY-MM-DD.log``), else None."""
    if (match := _OPEN_DAY_FILE.match(file_name)) is None:
        return None
    try:
        return date.fromisoformat(match[1])
    except ValueError:  # 2024-13-45.log was not written by us
        return None


def seal_all(settings: ArchiveSettings, now: datetime) -> list[str]:
    """Seal due days under the whole root (the scheduled sweep for log groups that went quiet)."""
    sealed: list[Path] = []
    for directory, _, files in os.walk(settings.root):
        if any(_open_day(name) for name in files):
            sealed += seal_due_days(Path(directory), settings, now)
    return [str(path.relative_to(settings.root)) for path in sealed]
