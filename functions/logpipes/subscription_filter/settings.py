"""The archiver's configuration, from the Lambda function's environment variables."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from logpipes.common.settings import ConfigurationError
from logpipes.subscription_filter.render import EVENT_FIELDS, LineFormat

DEFAULT_ROOT = "/mnt/archive"  # the EFS access point's mount path in the Lambda function


@dataclass(frozen=True, slots=True)
class ArchiveSettings:
    """Where day files go, how their lines are written, and how long after its day one is sealed."""

    root: Path
    zone: ZoneInfo
    line_format: LineFormat
    labels: dict[str, str]
    seal_grace: timedelta

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> ArchiveSettings:
        """Read the ARCHIVE_* variables (see the module README); raise ConfigurationError."""
        zone_name = environ.get("ARCHIVE_TIME_ZONE", "UTC")
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ConfigurationError(
                f"ARCHIVE_TIME_ZONE={zone_name!r} (the module's time_zone input) is not an IANA time zone"
            ) from error
        format_name = environ.get("ARCHIVE_LINE_FORMAT", LineFormat.CSV.value)
        try:
            line_format = LineFormat(format_name)
        except ValueError as error:
            raise ConfigurationError(f"ARCHIVE_LINE_FORMAT={format_name!r}: use csv or json") from error
        grace = environ.get("ARCHIVE_SEAL_GRACE_SECONDS", "900")
        if not grace.isdigit():
            raise ConfigurationError(f"ARCHIVE_SEAL_GRACE_SECONDS={grace!r} is not a whole number of seconds")
        return cls(
            root=Path(environ.get("ARCHIVE_ROOT", DEFAULT_ROOT)),
            zone=zone,
            line_format=line_format,
            labels=_labels(environ.get("ARCHIVE_LABELS", "{}")),
            seal_grace=timedelta(seconds=int(grace)),
        )


def _labels(text: str) -> dict[str, str]:
    try:
        labels = json.loads(text)
    except ValueError as error:
        raise ConfigurationError(f"ARCHIVE_LABELS is not JSON: {error}") from error
    if not isinstance(labels, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in labels.items()
    ):
        raise ConfigurationError("ARCHIVE_LABELS must be a JSON object of strings")
    if reserved := sorted(set(labels) & set(EVENT_FIELDS)):
        raise ConfigurationError(f"ARCHIVE_LABELS may not use the event field names {reserved}")
    return labels
