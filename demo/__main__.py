"""`make demo`: every pipeline end to end on a local moto server, on real sample data.

Starts moto on 127.0.0.1, builds each function's image context (build.py), then runs each
pipeline's demo (demo/<function>.py: ``run(moto, image_uris)``) and tears everything down.

    python -m demo [PIPELINE ...]   (default: every pipeline)
"""

from __future__ import annotations

import importlib
import sys
import time
import traceback

from devtools.lambda_runtime import ensure_built
from devtools.moto_server import MotoServer

PIPELINES = ["firehose_transform", "subscription_filter", "kinesis_kpl", "s3log_redshift", "es_bulk_loader"]


def main(selected: list[str]) -> int:
    unknown = sorted(set(selected) - set(PIPELINES))
    if unknown:
        print(f"unknown pipeline(s) {unknown}; choose from {PIPELINES}", file=sys.stderr)
        return 2
    available = [name for name in PIPELINES if not selected or name in selected]
    failed: list[str] = []
    with MotoServer() as moto:
        print(f"moto server on {moto.endpoint_url}\n")
        for name in available:
            print(f"==== {name} " + "=" * (60 - len(name)))
            started = time.monotonic()
            try:
                image_uri = ensure_built(name)
                importlib.import_module(f"demo.{name}").run(moto, {name: image_uri})
            except Exception:  # one failing pipeline must not hide the others' results
                traceback.print_exc()
                failed.append(name)
            moto.reset()
            print(
                f"---- {name}: {'FAILED' if name in failed else 'ok'} in {time.monotonic() - started:.1f} s\n"
            )
    print(
        f"{len(available) - len(failed)} of {len(available)} pipelines ran end to end"
        + (f"; failed: {failed}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
