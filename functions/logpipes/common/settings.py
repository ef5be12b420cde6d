"""Readers of the environment variables the Terraform modules set, with one error for all of them.

Every function reads its configuration at cold start (or on its first invocation) through these, so a
bad value fails the same way everywhere: ``ConfigurationError``, whose message names the variable and
the value it had. Lambda then reports the error on every invocation, and the module's Errors alarm
fires: a misconfigured function never runs on with a guessed default.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import TypeVar

E = TypeVar("E", bound=Enum)


class ConfigurationError(ValueError):
    """An environment variable is missing or has a bad value; the message names it."""


def required(env: Mapping[str, str], name: str) -> str:
    """The variable's value; ConfigurationError when it is unset or empty."""
    value = env.get(name, "")
    if not value:
        raise ConfigurationError(f"environment variable {name} is not set")
    return value


def integer(
    env: Mapping[str, str],
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    """The variable as a whole number (``default`` when unset or empty), within [minimum, maximum]."""
    raw = env.get(name, "")
    try:
        value = int(raw) if raw else default
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a whole number") from None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        low = "" if minimum is None else f"at least {minimum}"
        high = "" if maximum is None else f"at most {maximum}"
        raise ConfigurationError(f"{name}={value} must be {' and '.join(filter(None, (low, high)))}")
    return value


def choice(env: Mapping[str, str], name: str, default: E) -> E:
    """The variable as a member of ``default``'s enumeration (by value); ``default`` when unset."""
    enum = type(default)
    raw = env.get(name, "")
    if not raw:
        return default
    try:
        return enum(raw)
    except ValueError:
        allowed = ", ".join(repr(member.value) for member in enum)
        raise ConfigurationError(f"{name}={raw!r} must be one of {allowed}") from None
