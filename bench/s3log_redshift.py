"""Benchmark of the s3log_redshift loader: parse + normalise S3 access log lines, and COPYs per object.

1. Lines/s of ours vs the baseline, measured in the same run on the same lines. The baseline is
   Python ``re`` with the RegexSerDe pattern AWS documents for the Athena S3 access-log table: it only
   splits a line into untyped strings (and mis-splits quoted values holding escaped quotes). Ours:
   - ``csv_row``: parse, check and normalise into the staging CSV row (the hot path; target >= 1.2x
     in the worst of the interleaved rounds, bench/_harness.py);
   - ``normalize``: the same for whole objects, plus the source columns and gzip level 1 (what the
     handler does per object, without the S3 calls);
   - ``parse_line``: typed Python values (int, UTC datetime, None), for comparison.
2. COPY statements per 1,000 small log objects with the module's default batching (target <= 10),
   counted from the statements the loader really builds, next to the one-COPY-per-object recipe.

The lines are real-format: each of the 31 real sample lines of ../shared/data/s3_access_logs
(demo/data/s3_access_logs when that is absent) repeated with a new time (several requests per
second, as in a busy log), request id and remote IP; 1% get a User-Agent with escaped quotes.

Run: .venv/bin/python bench/s3log_redshift.py [--lines N] [--rounds R] [--quick]
"""

from __future__ import annotations

import argparse
import gzip
import io
import math
import random
import re
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "functions")]

from _harness import add_round_options, interleave, report, rounds_of, speedups, timed  # noqa: E402

from logpipes.s3log_redshift.dialect import CopyStaged, PostgreSQL, Statement  # noqa: E402
from logpipes.s3log_redshift.events import SourceObject  # noqa: E402
from logpipes.s3log_redshift.loader import Loader, Staging  # noqa: E402
from logpipes.s3log_redshift.normalize import normalize  # noqa: E402
from logpipes.s3log_redshift.parser import csv_row, parse_line  # noqa: E402
from logpipes.s3log_redshift.schema import TableNames  # noqa: E402

SAMPLES = (REPO.parent / "shared" / "data" / "s3_access_logs", REPO / "demo" / "data" / "s3_access_logs")
MODULE_VARIABLES = REPO / "modules" / "s3log-redshift" / "variables.tf"
TARGET = 1.2  # issue 13: csv_row >= 1.2x the baseline's rate, in the worst round

# The Athena documentation's input.regex for S3 server access logs (27 columns, newest fields optional).
ATHENA_REGEX = re.compile(
    r'([^ ]*) ([^ ]*) \[(.*?)\] ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ("[^"]*"|-) (-|[0-9]*) ([^ ]*) '
    r'([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ("[^"]*"|-) ([^ ]*)(?: ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) '
    r"([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*))?.*$"
)


def sample_lines() -> list[str]:
    for folder in SAMPLES:
        if folder.is_dir():
            return [line for path in sorted(folder.glob("*.log")) for line in path.read_text().splitlines()]
    raise SystemExit("no S3 access log samples found")


def real_format_lines(count: int, seed: int = 4) -> list[str]:
    """``count`` lines: the samples with fresh times, request ids and IPs (time order, ~5 per second)."""
    rng = random.Random(seed)
    templates = [line.split(" ") for line in sample_lines()]
    when = datetime(2024, 3, 3, tzinfo=UTC)
    lines = []
    for index in range(count):
        tokens = list(templates[index % len(templates)])
        when += timedelta(milliseconds=rng.randrange(0, 400))
        tokens[2] = when.strftime("[%d/%b/%Y:%H:%M:%S")
        tokens[4] = f"198.51.{rng.randrange(256)}.{rng.randrange(256)}" if tokens[4] != "-" else "-"
        tokens[6] = "".join(rng.choices("0123456789ABCDEF", k=16))
        line = " ".join(tokens)
        if index % 100 == 99:
            line = line.replace('"S3Console/0.4', '"S3Console/0.4 (\\"quoted\\" comment)', 1)
        lines.append(line)
    return lines


def baseline(lines: Sequence[str]) -> int:
    """Split every line with the Athena RegexSerDe pattern; return how many matched."""
    match = ATHENA_REGEX.match
    matched = 0
    for line in lines:
        found = match(line)
        if found is not None:
            found.groups()
            matched += 1
    return matched


def ours_csv(lines: Sequence[str]) -> int:
    return sum(type(csv_row(line)) is str for line in lines)


def ours_typed(lines: Sequence[str]) -> int:
    return sum(not hasattr(parse_line(line), "reason") for line in lines)


def ours_objects(objects: Sequence[bytes]) -> int:
    rows = 0
    for number, data in enumerate(objects):
        out = io.BytesIO()
        with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1, mtime=0) as staged:
            counts = normalize([data], "logs", f"s3-access/{number}", staged, io.BytesIO())
        rows += counts.rows
    return rows


# --- COPY statements per 1,000 objects ------------------------------------------------------------


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def iter_chunks(self, size: int) -> list[bytes]:
        return [self._data[i : i + size] for i in range(0, len(self._data), size)]


class MemoryS3:
    """The few S3 calls the loader makes, in memory."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}

    def get_object(self, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:
        return {"Body": _Body(self.objects[(Bucket, Key)])}

    def put_object(self, Bucket: str, Key: str, Body: bytes, **_: Any) -> None:
        self.objects[(Bucket, Key)] = Body

    def upload_fileobj(self, file: Any, bucket: str, key: str, **_: Any) -> None:
        self.objects[(bucket, key)] = file.read()


class CountingExecutor:
    dialect = PostgreSQL()

    def __init__(self) -> None:
        self.copies = 0
        self.transactions = 0

    def run(self, statements: Sequence[Statement], deadline: float) -> list[int]:
        self.transactions += 1
        self.copies += sum(isinstance(statement, CopyStaged) for statement in statements)
        return [0] * len(statements)


def module_default(variable: str) -> int:
    text = MODULE_VARIABLES.read_text()
    block = text[text.index(f'variable "{variable}"') :]
    return int(re.search(r"default\s*=\s*(\d+)", block)[1])  # type: ignore[index]


def copies_per_thousand_objects(lines: Sequence[str], batch_size: int) -> tuple[int, int]:
    """Stage and load 1,000 small objects (5 lines each) in SQS batches of batch_size."""
    s3, executor = MemoryS3(), CountingExecutor()
    loader = Loader(s3, executor, TableNames("logs", "access_log", "access_log_ledger"), Staging("staging"))
    objects = []
    for number in range(1000):
        key = f"s3-access/2024-03-03-12-{number:04d}"
        s3.objects[("logs", key)] = ("\n".join(lines[number * 5 : number * 5 + 5]) + "\n").encode()
        objects.append(SourceObject("logs", key))
    for start in range(0, len(objects), batch_size):
        batch_id = f"batch-{start}"
        staged = [loader.stage(source, batch_id) for source in objects[start : start + batch_size]]
        loader.load(staged, batch_id, deadline=time.monotonic() + 60)
    return executor.copies, executor.transactions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=120_000, help="lines to normalise (>= 100,000)")
    add_round_options(parser, default_rounds=5)
    args = parser.parse_args()

    lines = real_format_lines(20_000 if args.quick else args.lines)
    objects = ["\n".join(lines[i : i + 2000]).encode() + b"\n" for i in range(0, len(lines), 2000)]
    matched = baseline(lines)
    accepted = ours_csv(lines)
    print(f"{len(lines):,} real-format lines ({sum(map(len, lines)) / len(lines):.0f} chars each on average)")
    print(f"  baseline regex matched {matched:,}; ours accepted {accepted:,} (typed, checked)")
    escaped = next(line for line in lines if '\\"' in line)
    found = ATHENA_REGEX.match(escaped)
    print(f"  on a line with escaped quotes the baseline's User-Agent is {found[17] if found else None!r}")
    print(f"  ours: {parse_line(escaped).user_agent!r}")  # type: ignore[union-attr]
    print()

    baseline_name = "baseline: Athena RegexSerDe regex, untyped strings"
    csv_name = "ours: csv_row (parse + check + normalise to CSV)"
    seconds = interleave(
        {
            baseline_name: timed(lambda: baseline(lines)),
            csv_name: timed(lambda: ours_csv(lines)),
            "ours: normalize objects (+ source columns, gzip 1)": timed(lambda: ours_objects(objects)),
            "ours: parse_line (typed Python values)": timed(lambda: ours_typed(lines)),
        },
        rounds_of(args),
    )
    print(f"{'':52} {'lines/s':>12} {'vs baseline':>12}   (medians of {rounds_of(args)} rounds)")
    for name, spent in seconds.items():
        rate = len(lines) / statistics.median(spent)
        print(f"{name:52} {rate:12,.0f} {statistics.median(speedups(seconds[baseline_name], spent)):11.2f}x")
    result = report("s3log_redshift.csv_row", speedups(seconds[baseline_name], seconds[csv_name]), TARGET)
    print()

    batch_size = module_default("batch_size")
    window = module_default("maximum_batching_window_in_seconds")
    copies, transactions = copies_per_thousand_objects(lines, batch_size)
    print(
        f"1,000 small log objects (5 lines each); module defaults: batch_size {batch_size}, window {window}s"
    )
    print(f"  ours, arriving at once: {copies} COPY statements in {transactions} transactions (target <= 10)")
    print("  one COPY per object (the usual recipe): 1000 COPY statements")
    print("  arriving one by one, a batch closes at the window with 2 COPYs (computed, not measured):")
    for per_minute in (1, 10, 100):
        per_batch = min(batch_size, per_minute * window // 60) or 1
        print(
            f"    {per_minute:>3} objects/min -> {2 * math.ceil(1000 / per_batch):>4} COPYs per 1,000 objects"
        )
    print(result)


if __name__ == "__main__":
    main()
