"""logpipes.common.settings: one error, naming the variable, for every bad configuration."""

from __future__ import annotations

from enum import StrEnum

import pytest

from logpipes.common.backoff import Backoff
from logpipes.common.settings import ConfigurationError, choice, integer, required


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


def test_required_names_the_missing_variable() -> None:
    assert required({"A": "x"}, "A") == "x"
    for env in ({}, {"A": ""}):
        with pytest.raises(ConfigurationError, match="environment variable A is not set"):
            required(env, "A")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("x", "N='x' is not a whole number"),
        ("0", "N=0 must be at least 1 and at most 9"),
        ("10", "at most 9"),
    ],
)
def test_integer_out_of_range_or_not_a_number_names_variable_and_value(raw: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        integer({"N": raw}, "N", 5, minimum=1, maximum=9)


def test_integer_default_and_open_bounds() -> None:
    assert integer({}, "N", 5, minimum=1) == 5
    assert integer({"N": ""}, "N", 5) == 5
    assert integer({"N": "-3"}, "N", 5) == -3
    with pytest.raises(ConfigurationError, match=r"N=-3 must be at least 0$"):
        integer({"N": "-3"}, "N", 5, minimum=0)


def test_choice_lists_the_allowed_values() -> None:
    assert choice({}, "C", Colour.RED) is Colour.RED
    assert choice({"C": "blue"}, "C", Colour.RED) is Colour.BLUE
    with pytest.raises(ConfigurationError, match="C='green' must be one of 'red', 'blue'"):
        choice({"C": "green"}, "C", Colour.RED)


def test_every_function_raises_the_one_configuration_error() -> None:
    from logpipes.es_bulk_loader.settings import LoadSettings
    from logpipes.kinesis_kpl.settings import Settings as KplSettings
    from logpipes.s3log_redshift.settings import Settings as RedshiftSettings
    from logpipes.subscription_filter.settings import ArchiveSettings

    readers = [
        lambda: LoadSettings.from_env({"BULK_BYTES": "0"}),
        lambda: KplSettings.from_env({"SINK_BUCKET": "b", "GZIP_LEVEL": "6"}),
        lambda: RedshiftSettings.from_env({"STAGING_BUCKET": "b", "GZIP_LEVEL": "0"}),
        lambda: ArchiveSettings.from_environment({"ARCHIVE_TIME_ZONE": "Asia/Tokio"}),
    ]
    for read in readers:
        with pytest.raises(ConfigurationError):
            read()


def test_backoff_is_full_jitter_capped() -> None:
    top = Backoff(base_seconds=0.5, cap_seconds=4.0, random=lambda: 1.0)
    assert [top.delay(attempt) for attempt in range(5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert Backoff(base_seconds=0.5, cap_seconds=4.0, random=lambda: 0.25).delay(3) == 1.0
