"""Users' own transforms for the custom format's tests (TRANSFORM_FUNCTION=<this module>:<name>)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from logpipes.firehose_transform.extension import LogEvent


def orders(event: LogEvent) -> Iterator[dict[str, Any] | str] | None:
    """One row per item of an order; a line of text for a note; nothing for a heartbeat; raises on
    a message that is not JSON (a user's bug: fails only its record)."""
    if event.message == "heartbeat":
        return None
    if event.message.startswith("note:"):
        return iter([event.message.removeprefix("note:").strip()])
    order = json.loads(event.message)
    return (
        {"order": order["id"], "sku": item, "stream": event.log_stream, "at": event.timestamp, "extra": 1}
        for item in order["items"]
    )


def returns_a_number(event: LogEvent) -> int:
    """Not lines: fails its record."""
    return 5


not_callable = 42


def message_as_line(event: LogEvent) -> Iterator[str]:
    """The message as it came: the fault matrix counts a custom transform's lines by it."""
    return iter([event.message])
