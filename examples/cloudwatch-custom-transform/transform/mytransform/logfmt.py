"""logfmt lines (``level=info msg="user signed in" user_id=42 duration_ms=12.5``) to one row each.

The handler calls ``transform`` once per log event. Each dict it returns becomes one JSON line; with
the module's ``columns`` set, the handler keeps exactly those keys, in order, and converts them to the
columns' types (``user_id`` "42" -> 42, ``ts`` epoch millis -> a timestamp), so the Glue table always
matches. Returning nothing drops the event (counted as EventsFilteredByTransform).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the handler passes one; nothing of logpipes is needed at run time
    from logpipes.firehose_transform.extension import LogEvent

# key=value or key="quoted value" (backslash escapes inside the quotes).
_PAIR = re.compile(r'([A-Za-z_][A-Za-z0-9_.-]*)=(?:"((?:[^"\\]|\\.)*)"|(\S*))')
_ESCAPE = re.compile(r"\\(.)")
# Load balancer health checks: noise in an analytics table.
_HEALTH_CHECK_PATHS = frozenset({"/health", "/healthz", "/ping"})


def parse_logfmt(line: str) -> dict[str, str]:
    """The key/value pairs of a logfmt line, values unquoted and unescaped; later keys win."""
    return {
        key: _ESCAPE.sub(r"\1", quoted) if bare == "" else bare for key, quoted, bare in _PAIR.findall(line)
    }


def transform(event: LogEvent) -> Iterable[dict[str, Any]] | None:
    """One row per logfmt event; health checks and lines without a level are dropped."""
    fields = parse_logfmt(event.message)
    if "level" not in fields or fields.get("path") in _HEALTH_CHECK_PATHS:
        return None
    return [
        {
            "ts": event.timestamp,
            "level": fields["level"].lower(),
            "msg": fields.get("msg"),
            "user_id": fields.get("user_id"),
            "duration_ms": fields.get("duration_ms"),
            "log_stream": event.log_stream,
        }
    ]
