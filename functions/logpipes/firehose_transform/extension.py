"""A user's own transform (OUTPUT_FORMAT ``custom``, TRANSFORM_FUNCTION ``package.module:function``).

The user writes, in their own package (built into the image next to logpipes)::

    from logpipes.firehose_transform.extension import LogEvent

    def transform(event: LogEvent) -> Iterable[dict | str] | None: ...

and the handler keeps everything else: record accounting, the response budget and splitting,
re-ingestion, metrics. Each dict becomes one JSON line (with COLUMNS set: only those keys, in
order, converted to their types, so that the Glue table matches); each str one line as it is, a
"\\n" appended. None or nothing yields no line for the event (counted as filtered). A transform
that raises, or returns or yields anything else, fails only its Firehose record (ProcessingFailed,
with the exception's type and message): never the batch.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from logpipes.common.settings import ConfigurationError
from logpipes.firehose_transform.columns import Column, convert_dict
from logpipes.firehose_transform.transform import InvalidRecord, Payload, Tally

_FUNCTION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One CloudWatch Logs event, as a user's transform sees it."""

    id: str
    timestamp: int  # epoch milliseconds
    message: str
    log_group: str
    log_stream: str
    owner: str


Transform = Callable[[LogEvent], "Iterable[dict[str, Any] | str] | None"]


class TransformFailed(InvalidRecord):
    """The user's transform raised, or returned something that is not lines, for an event."""


def load_transform(name: str) -> Transform:
    """TRANSFORM_FUNCTION (``package.module:function``) imported; raises ConfigurationError naming it
    when it is malformed, does not import, or is not a callable."""
    where = f"TRANSFORM_FUNCTION={name!r} (the variable `transform_function`)"
    if not _FUNCTION_NAME.fullmatch(name):
        raise ConfigurationError(f"{where} must be package.module:function")
    module_name, function_name = name.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigurationError(f"{where}: cannot import {module_name}: {error}") from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise ConfigurationError(f"{where}: {module_name} has no function {function_name}")
    return function


class CustomRenderer:
    """The custom format: the render hook (transform.Renderer) that runs a user's transform."""

    def __init__(self, transform: Transform, columns: list[Column] | None = None) -> None:
        """columns: COLUMNS, when set: a dict line keeps only those keys, converted."""
        self.transform = transform
        self.columns = columns

    def __call__(self, payload: Payload, events: list[dict[str, Any]], tally: Tally) -> bytes:
        """Every line the transform returns for the events; raises InvalidRecord for a malformed
        event and TransformFailed when the transform fails on one."""
        document = payload.document
        lines: list[bytes] = []
        for index, event in enumerate(events):
            log_event = _log_event(document, event)
            try:
                produced = self.transform(log_event)
                count = len(lines)
                if produced is not None:
                    if isinstance(produced, str | bytes | dict) or not isinstance(produced, Iterable):
                        raise TypeError(f"returned a {type(produced).__name__}, not an iterable of lines")
                    lines += [self._line(line, tally) for line in produced]
            except Exception as error:  # the user's code: whatever it raises fails its record alone
                raise TransformFailed(
                    f"the transform failed on log event {index}: {type(error).__name__}: {error}"
                ) from None
            if len(lines) == count:
                tally.events_filtered_by_transform += 1
        return b"".join(lines)

    def _line(self, line: object, tally: Tally) -> bytes:
        if type(line) is str:
            return (line + "\n").encode()
        if isinstance(line, dict):
            if self.columns is not None:
                line = convert_dict(self.columns, line, tally)
            return orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE)
        raise TypeError(f"yielded a {type(line).__name__}, not a dict or a str")


def _log_event(document: dict[str, Any], event: dict[str, Any]) -> LogEvent:
    """The event as a LogEvent; raises InvalidRecord when it is malformed."""
    try:
        message, timestamp = event["message"], event["timestamp"]
        if type(message) is not str or type(timestamp) is not int:
            raise TypeError("message must be a string and timestamp an integer")
        return LogEvent(
            id=str(event["id"]),  # moto sends integers; CloudWatch Logs sends strings
            timestamp=timestamp,
            message=message,
            log_group=document.get("logGroup", ""),
            log_stream=document.get("logStream", ""),
            owner=document.get("owner", ""),
        )
    except (KeyError, TypeError) as error:
        raise InvalidRecord(f"malformed log event: {error!r}") from None
