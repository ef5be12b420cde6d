"""The consumer's configuration, from the environment variables the Terraform module sets."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from logpipes.common.settings import integer, required


@dataclass(frozen=True)
class Settings:
    """The function's configuration, from its environment variables."""

    bucket: str  # SINK_BUCKET
    prefix: str = ""  # SINK_PREFIX: data objects go under <prefix>dt=YYYY-MM-DD/hour=HH/
    dead_letter_prefix: str = "dead-letter/"  # DEAD_LETTER_PREFIX: records that cannot be data go here
    # GZIP_LEVEL: ISA-L's levels, 1 (fastest) to 3 (smallest). Its level 2 compresses JSON lines
    # about 12x faster than zlib's default level 6, into objects about 25% larger.
    gzip_level: int = 2

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        """From SINK_BUCKET (required), SINK_PREFIX, DEAD_LETTER_PREFIX and GZIP_LEVEL (1 to 3)."""
        return cls(
            bucket=required(env, "SINK_BUCKET"),
            prefix=env.get("SINK_PREFIX", cls.prefix),
            dead_letter_prefix=env.get("DEAD_LETTER_PREFIX", cls.dead_letter_prefix),
            gzip_level=integer(env, "GZIP_LEVEL", cls.gzip_level, minimum=1, maximum=3),
        )
