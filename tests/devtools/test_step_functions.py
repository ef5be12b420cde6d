"""The pure parts of the harness in devtools/step_functions.py."""

from __future__ import annotations

from devtools.step_functions import error_of_traceback


def test_the_error_type_of_a_handler_is_the_class_name_its_traceback_ends_with() -> None:
    output = (
        "es_bulk_loader handler failed (exit 1):\n{}\nTraceback (most recent call last):\n"
        '  File "handlers.py", line 70, in handler\n'
        "logpipes.es_bulk_loader.load.BulkUnavailable: S3 failed while loading the chunk: SlowDown\n"
    )

    assert error_of_traceback(output) == ("BulkUnavailable", "S3 failed while loading the chunk: SlowDown")
    assert error_of_traceback("Traceback\nValueError: bad: input") == ("ValueError", "bad: input")


def test_output_without_an_exception_line_is_a_generic_exception() -> None:
    assert error_of_traceback("") == ("Exception", "")
    assert error_of_traceback("Killed by signal 9") == ("Exception", "Killed by signal 9")
