"""Benchmark of the subscription_filter archiver: events/s archived on local disk by 4 concurrent
writers, payloads of 1,000 events, against the straightforward script it replaces (open, append and
close the day file for every event, Tokyo time by adding nine hours), measured in the same run.

Ours fsyncs each file once per invocation (the day file under its lock, the journal after releasing
it); the baseline never fsyncs.
Baseline and ours run interleaved, several rounds (bench/_harness.py).
Target (issues 6 and 13): ours >= 5x the baseline in the worst round.

    .venv/bin/python bench/subscription_filter.py [--writers 4] [--payloads 50] [--rounds 5] [--quick]
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import multiprocessing
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "functions")]

from _harness import add_round_options, interleave, report, rounds_of, speedups  # noqa: E402

from devtools.lambda_runtime import FakeLambdaContext  # noqa: E402
from logpipes.subscription_filter.payload import encode_subscription_event  # noqa: E402

SAMPLE = REPO / "demo" / "data" / "subscription_filter" / "apache_combined_2015-05-17T13-17Z.log"
EVENTS_PER_PAYLOAD = 1_000
TARGET_RATIO = 5.0
LABELS = {"system": "web", "env": "prod"}
LOG_GROUP = "/apache/semicomplete"
_APACHE_TIME = re.compile(r"\[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\]")
FORK = multiprocessing.get_context("fork")


def build_payloads(writer: int, payload_count: int) -> list[dict[str, Any]]:
    """Subscription events as CloudWatch Logs sends them: real Apache lines from the sample, one
    log stream per writer at 1,000 events/s starting at the sample's first time (a delivery spans
    about a second, like a busy stream's)."""
    lines = SAMPLE.read_text().splitlines()
    start = datetime.strptime(_APACHE_TIME.search(lines[0])[1], "%d/%b/%Y:%H:%M:%S %z")  # type: ignore[index]
    start_ms = int(start.timestamp() * 1000)
    payloads = []
    for payload in range(payload_count):
        events = []
        for index in range(EVENTS_PER_PAYLOAD):
            serial = payload * EVENTS_PER_PAYLOAD + index
            # 56 digits like CloudWatch Logs' ids; one event per millisecond.
            events.append((f"{writer:04d}{serial:052d}", start_ms + serial, lines[serial % len(lines)]))
        payloads.append(encode_subscription_event(LOG_GROUP, f"web-{writer}", events))
    return payloads


def baseline_handler(event: dict[str, Any], root: str) -> None:
    """What the seed team's Lambda did: one open/append/close per event, Tokyo time = UTC + 9 h."""
    data = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
    directory = os.path.join(root, data["logGroup"].strip("/"))
    os.makedirs(directory, exist_ok=True)
    for log_event in data["logEvents"]:
        utc = datetime.fromtimestamp(log_event["timestamp"] / 1000, UTC).replace(tzinfo=None)
        tokyo = utc + timedelta(hours=9)
        stamp = tokyo.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        line = ",".join([*LABELS.values(), stamp, data["logStream"], log_event["message"]]) + "\n"
        with open(os.path.join(directory, tokyo.strftime("%Y-%m-%d") + ".log"), "a") as day_file:
            day_file.write(line)


def ours_handler(event: dict[str, Any], root: str) -> None:
    from logpipes.subscription_filter import handler

    os.environ["ARCHIVE_ROOT"] = root  # the handler reads its settings per invocation
    handler(event, FakeLambdaContext())


Handler = Callable[[dict[str, Any], str], None]


def _writer(run: Handler, payloads: list[Any], root: str, go: Any, out: Any) -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # Powertools logs and metrics go to stdout; keep the terminal readable
    run(payloads[0], os.path.join(root, "warm-up"))  # imports and first-call costs, like a warm Lambda
    go.wait()
    started = time.perf_counter()
    for event in payloads[1:]:
        run(event, root)
    out.put((started, time.perf_counter()))


def measure(run: Handler, jobs: list[list[Any]]) -> float:
    """Seconds for len(jobs) concurrent writers to archive their payloads (first start to last end)."""
    # Flush what the previous measurement left in the page cache (the baseline never fsyncs):
    # its writeback must not slow the next one's writes and fsyncs.
    os.sync()
    with tempfile.TemporaryDirectory(prefix="bench-subscription-filter-") as root:
        os.environ.update(
            ARCHIVE_TIME_ZONE="Asia/Tokyo",
            ARCHIVE_LABELS=json.dumps(LABELS),
            POWERTOOLS_SERVICE_NAME="bench",
            POWERTOOLS_METRICS_NAMESPACE="logpipes",
        )
        go, out = FORK.Event(), FORK.Queue()
        processes = [FORK.Process(target=_writer, args=(run, job, root, go, out)) for job in jobs]
        for process in processes:
            process.start()
        time.sleep(0.5)
        go.set()
        spans = [out.get(timeout=600) for _ in processes]
        for process in processes:
            process.join()
        lines = sum(path.read_bytes().count(b"\n") for path in Path(root, LOG_GROUP.strip("/")).glob("*.log"))
        expected = sum(len(job) - 1 for job in jobs) * EVENTS_PER_PAYLOAD
        if lines != expected:
            raise AssertionError(f"{run.__name__}: {lines} lines archived, expected {expected}")
    return max(end for _, end in spans) - min(start for start, _ in spans)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument(
        "--payloads",
        type=int,
        default=50,
        help="payloads of 1,000 events per writer (50: ~0.4 s of ours per round)",
    )
    add_round_options(parser, default_rounds=5)
    args = parser.parse_args()
    payload_count, rounds = (5 if args.quick else args.payloads), rounds_of(args)
    # One extra payload per writer warms it up and is not timed.
    jobs = [build_payloads(writer, payload_count + 1) for writer in range(args.writers)]
    seconds = interleave(
        {"baseline": lambda: measure(baseline_handler, jobs), "ours": lambda: measure(ours_handler, jobs)},
        rounds,
    )
    total = args.writers * payload_count * EVENTS_PER_PAYLOAD
    print(f"subscription_filter: {args.writers} concurrent writers, one log group, {total:,} events")
    print(f"per round in payloads of 1,000, on {tempfile.gettempdir()}; median of {rounds} rounds")
    baseline, ours = (total / statistics.median(seconds[name]) for name in ("baseline", "ours"))
    print(f"  baseline (open/append/close per event, no fsync): {baseline:>10,.0f} events/s")
    print(f"  ours (flock + journal, one write + fsync per file): {ours:>9,.0f} events/s")
    print(report("subscription_filter", speedups(seconds["baseline"], seconds["ours"]), TARGET_RATIO))


if __name__ == "__main__":
    main()
